// The main (non-worker) loop thread: periodic timers for the core and modules
// (CoreApi::addTimer) and DNS for callers that are not on a worker. Timer callbacks never run
// on a worker, so a slow one (e.g. a certificate reload check) cannot delay message handling.
#pragma once
#include <chrono>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "core/event/event_loop.h"

namespace sipsd {

class TimerThread {
 public:
  TimerThread();
  ~TimerThread();
  // Safe from any thread, before or after start(); the first run is `every` after start/add.
  void addTimer(std::chrono::milliseconds every, std::function<void()> fn);
  std::string start();
  void stop();  // idempotent; joins the thread
  EventLoop& loop() { return loop_; }

 private:
  struct Timer;
  void arm(std::chrono::milliseconds every, std::function<void()> fn);  // on the loop thread

  EventLoop loop_;
  std::mutex mu_;
  bool started_ = false;
  bool stopped_ = false;
  std::vector<std::pair<std::chrono::milliseconds, std::function<void()>>> pending_;
  std::vector<std::unique_ptr<Timer>> timers_;  // loop thread only once started
};

}  // namespace sipsd

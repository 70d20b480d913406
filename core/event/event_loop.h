// One libevent loop on its own thread, with a queue other threads post work to.
// Workers and the main timer thread are each one EventLoop. libevent types stay out of this
// header (forward declarations only); internal code gets the base through base().
#pragma once
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

struct event_base;
struct evdns_base;

namespace sipsd {

class EventLoop {
 public:
  EventLoop();
  ~EventLoop();
  EventLoop(const EventLoop&) = delete;
  EventLoop& operator=(const EventLoop&) = delete;

  // Creates the base, the wake-up event and the resolver. Returns an error text or "".
  std::string init();
  event_base* base() const;
  // The resolver on this loop, created on first use (null when libevent cannot make one).
  evdns_base* dns();

  // Runs fn on the loop thread. Safe from any thread, including the loop thread itself (then it
  // runs on the next iteration, never re-entrantly). Work posted after the loop ended is dropped.
  void post(std::function<void()> fn);
  // Runs the loop on a new thread; onStart runs first on that thread.
  void startThread(std::function<void()> onStart);
  // Makes run() return after the current callbacks (any thread).
  void quit();
  // Joins the thread started by startThread().
  void join();
  bool onLoopThread() const;

 private:
  void drainPosts();

  struct Impl;
  std::unique_ptr<Impl> impl_;
  std::thread thread_;
  std::mutex mu_;
  std::vector<std::function<void()>> posted_;
  bool wakePending_ = false;
  bool closed_ = false;
};

}  // namespace sipsd

// TimerThread: periodic callbacks on a dedicated libevent loop (see timer_thread.h).
#include "core/event/timer_thread.h"

#include <exception>

#include "core/event/libevent.h"
#include "core/log.h"

namespace sipsd {

struct TimerThread::Timer {
  ev::EventPtr ev;
  std::function<void()> fn;
};

TimerThread::TimerThread() = default;

TimerThread::~TimerThread() {
  stop();
  timers_.clear();  // events are freed before the loop's base (member order)
}

void TimerThread::arm(std::chrono::milliseconds every, std::function<void()> fn) {
  auto t = std::make_unique<Timer>();
  t->fn = std::move(fn);
  t->ev.reset(event_new(
      loop_.base(), -1, EV_PERSIST,
      [](evutil_socket_t, short, void* arg) {
        auto* tm = static_cast<Timer*>(arg);
        try {
          tm->fn();
        } catch (const std::exception& e) {
          logging::write(0, "timer", std::string("timer callback failed: ") + e.what());
        }
      },
      t.get()));
  long ms = long(every.count() > 0 ? every.count() : 1);
  timeval tv{ms / 1000, (ms % 1000) * 1000};
  event_add(t->ev.get(), &tv);
  timers_.push_back(std::move(t));
}

void TimerThread::addTimer(std::chrono::milliseconds every, std::function<void()> fn) {
  std::lock_guard<std::mutex> lk(mu_);
  if (stopped_) return;
  if (!started_) {
    pending_.emplace_back(every, std::move(fn));
    return;
  }
  loop_.post([this, every, fn = std::move(fn)]() mutable { arm(every, std::move(fn)); });
}

std::string TimerThread::start() {
  std::lock_guard<std::mutex> lk(mu_);
  if (started_) return "";
  std::string err = loop_.init();
  if (!err.empty()) return err;
  for (auto& [every, fn] : pending_) arm(every, std::move(fn));
  pending_.clear();
  started_ = true;
  loop_.startThread({});
  return "";
}

void TimerThread::stop() {
  {
    std::lock_guard<std::mutex> lk(mu_);
    if (stopped_) return;
    stopped_ = true;
    if (!started_) return;
  }
  loop_.quit();
  if (loop_.onLoopThread()) return;  // asked by a timer callback: the destructor joins later
  loop_.join();
}

}  // namespace sipsd

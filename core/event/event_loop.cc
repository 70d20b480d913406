// EventLoop: libevent base + eventfd wake-up + cross-thread work queue (see event_loop.h).
#include "core/event/event_loop.h"

#include <sys/eventfd.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <cstring>

#include "core/event/libevent.h"
#include "core/log.h"

namespace sipsd {

struct EventLoop::Impl {
  ev::BasePtr base;
  int wakeFd = -1;
  ev::EventPtr wakeEv;
  ev::DnsBasePtr dns;  // declared after base: freed before it
  bool dnsTried = false;
  std::atomic<std::thread::id> loopThread{};
  ~Impl() {
    dns.reset();
    wakeEv.reset();
    if (wakeFd >= 0) ::close(wakeFd);
  }
};

EventLoop::EventLoop() : impl_(std::make_unique<Impl>()) {}

EventLoop::~EventLoop() {
  if (thread_.joinable()) {
    quit();
    thread_.join();
  }
}

std::string EventLoop::init() {
  impl_->base.reset(event_base_new());
  if (!impl_->base) return "event_base_new failed";
  impl_->wakeFd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
  if (impl_->wakeFd < 0) return std::string("eventfd: ") + std::strerror(errno);
  impl_->wakeEv.reset(event_new(
      impl_->base.get(), impl_->wakeFd, EV_READ | EV_PERSIST,
      [](evutil_socket_t fd, short, void* arg) {
        uint64_t n;
        (void)!::read(fd, &n, sizeof n);
        static_cast<EventLoop*>(arg)->drainPosts();
      },
      this));
  if (!impl_->wakeEv || event_add(impl_->wakeEv.get(), nullptr) != 0) return "cannot add the wake-up event";
  return "";
}

event_base* EventLoop::base() const { return impl_->base.get(); }

evdns_base* EventLoop::dns() {
  if (!impl_->dnsTried) {
    impl_->dnsTried = true;
    // Without a usable /etc/resolv.conf, still serve /etc/hosts and literals.
    evdns_base* d = evdns_base_new(base(), EVDNS_BASE_INITIALIZE_NAMESERVERS | EVDNS_BASE_DISABLE_WHEN_INACTIVE);
    if (!d) {
      d = evdns_base_new(base(), EVDNS_BASE_DISABLE_WHEN_INACTIVE);
      if (d) evdns_base_load_hosts(d, nullptr);
    }
    impl_->dns.reset(d);
    if (!d) logging::write(0, "event", "cannot create a DNS resolver");
  }
  return impl_->dns.get();
}

void EventLoop::post(std::function<void()> fn) {
  bool wake = false;
  {
    std::lock_guard<std::mutex> lk(mu_);
    if (closed_) return;
    posted_.push_back(std::move(fn));
    if (!wakePending_) wakePending_ = wake = true;
  }
  if (wake) {
    uint64_t one = 1;
    (void)!::write(impl_->wakeFd, &one, sizeof one);
  }
}

void EventLoop::drainPosts() {
  std::vector<std::function<void()>> work;
  {
    std::lock_guard<std::mutex> lk(mu_);
    work.swap(posted_);
    wakePending_ = false;
  }
  for (auto& fn : work) fn();
}

void EventLoop::startThread(std::function<void()> onStart) {
  thread_ = std::thread([this, onStart = std::move(onStart)] {
    impl_->loopThread = std::this_thread::get_id();
    if (onStart) onStart();
    event_base_loop(base(), EVLOOP_NO_EXIT_ON_EMPTY);
    std::vector<std::function<void()>> dropped;
    {
      std::lock_guard<std::mutex> lk(mu_);
      closed_ = true;
      dropped.swap(posted_);
    }
  });
}

void EventLoop::quit() {
  post([this] { event_base_loopbreak(base()); });
}

bool EventLoop::onLoopThread() const { return impl_->loopThread.load() == std::this_thread::get_id(); }

void EventLoop::join() {
  if (thread_.joinable()) thread_.join();
}

}  // namespace sipsd

// Server: starts workers and the timer thread, routes calls to the owning worker, and runs
// the graceful stop (see server.h).
#include "core/net/server.h"

#include <sys/resource.h>
#include <sys/socket.h>

#include <algorithm>
#include <cerrno>
#include <condition_variable>
#include <cstring>
#include <mutex>
#include <thread>

#include "core/event/dns_resolver.h"
#include "core/event/timer_thread.h"
#include "core/log.h"
#include "core/net/conn_index.h"
#include "core/net/ip_limiter.h"
#include "core/net/socket_util.h"
#include "core/net/worker.h"

namespace sipsd {
namespace {
constexpr int kWarn = 1, kInfo = 3;  // debug= levels (core/module_api.h LogLevel)

// tcp_max_connections must fit under the process's descriptor limit, with room for the
// listeners, the event loops and what modules open. Raises the soft limit toward the hard one
// when that is enough; otherwise warns at start, so the limit is not discovered as refused
// connections under load.
void checkFdLimit(size_t maxConnections, size_t listenFds, int workers) {
  rlimit rl{};
  if (getrlimit(RLIMIT_NOFILE, &rl) != 0) return;
  // Per worker: epoll, a wake-up pipe/eventfd pair and the spare descriptor; 64 for the rest
  // (log, modules, certificate files, DNS, outbound connects beyond the table).
  rlim_t need = rlim_t(maxConnections + listenFds + size_t(workers) * 4 + 64);
  if (rl.rlim_cur != RLIM_INFINITY && rl.rlim_cur < need) {
    rlim_t want = rl.rlim_max == RLIM_INFINITY ? need : std::min(need, rl.rlim_max);
    if (want > rl.rlim_cur) {
      rlimit up{want, rl.rlim_max};
      if (setrlimit(RLIMIT_NOFILE, &up) == 0) {
        if (logging::enabled(kInfo))
          logging::write(kInfo, "net", "raised the file descriptor limit from " + std::to_string(rl.rlim_cur) +
                                           " to " + std::to_string(want) + " for tcp_max_connections");
        rl.rlim_cur = want;
      }
    }
  }
  if (rl.rlim_cur != RLIM_INFINITY && rl.rlim_cur < need && logging::enabled(kWarn))
    logging::write(kWarn, "net",
                   "tcp_max_connections=" + std::to_string(maxConnections) + " needs about " + std::to_string(need) +
                       " file descriptors but the limit (ulimit -n) is " + std::to_string(rl.rlim_cur) +
                       ": connections beyond it are refused (counted as refused in core.stats); raise the limit or "
                       "lower tcp_max_connections");
}
}  // namespace

struct Server::StopState {
  std::mutex mu;
  std::condition_variable cv;
  bool started = false;
  bool stopRequested = false;
  bool joining = false;
  bool done = false;
};

Server::Server(ServerOptions opts, MessageHandler handler)
    : opts_(std::move(opts)),
      handler_(std::move(handler)),
      index_(std::make_unique<ConnIndex>()),
      timers_(std::make_unique<TimerThread>()),
      stop_(std::make_unique<StopState>()),
      ipLimiter_(std::make_unique<IpLimiter>()) {
  if (opts_.workers <= 0) opts_.workers = int(std::max(1u, std::thread::hardware_concurrency()));
}

Server::~Server() {
  bool running;
  {
    std::lock_guard<std::mutex> lk(stop_->mu);
    running = stop_->started && !stop_->done;
  }
  if (running) stop(std::chrono::milliseconds(0));
  workers_.clear();
  timers_.reset();
}

std::string Server::start(const std::function<std::string()>& beforeServe) {
  {
    std::lock_guard<std::mutex> lk(stop_->mu);
    if (stop_->started) return "server already started";
  }
  for (const auto& l : opts_.listens) {
    if (l.proto == Proto::None) return "listen " + l.addr.str() + ": no protocol";
    if (!opts_.transports.available(l.proto))
      return "listen " + std::string(protoToken(l.proto)) + ":" + l.addr.str() + ": " + TransportRegistry::missing(l.proto);
  }
  for (int i = 0; i < opts_.workers; ++i) {
    workers_.push_back(std::make_unique<Worker>(*this, i));
    std::string err = workers_.back()->init();
    if (!err.empty()) {
      workers_.clear();
      return "worker " + std::to_string(i) + ": " + err;
    }
  }
  bound_.clear();
  for (const auto& l : opts_.listens) {
    // The first worker binds what was asked (port 0 lets the kernel choose); the others bind
    // the address it got, sharing it through SO_REUSEPORT.
    ListenSpec b{l.proto, l.addr};
    std::string busy;
    if (l.addr.port() != 0 && !sock::addressFree(l.proto, l.addr, busy)) {
      workers_.clear();
      bound_.clear();
      return busy;
    }
    for (auto& w : workers_) {
      SockAddr got;
      std::string err = w->bindListen(b, got);
      if (!err.empty()) {
        workers_.clear();
        bound_.clear();
        return err;
      }
      b.addr = got;
    }
    bound_.push_back(b);
  }
  {
    std::vector<LocalAddresses::Listen> ls;
    for (size_t i = 0; i < bound_.size(); ++i) {
      SocketName adv = i < opts_.advertised.size() ? opts_.advertised[i] : SocketName{};
      ls.push_back({bound_[i].proto, bound_[i].addr, adv.host, adv.port});
    }
    local_ = LocalAddresses(std::move(ls), opts_.aliases);
  }
  checkFdLimit(opts_.maxConnections, opts_.listens.size() * workers_.size(), opts_.workers);
  if (beforeServe) {
    if (std::string err = beforeServe(); !err.empty()) {
      workers_.clear();
      bound_.clear();
      return err;
    }
  }
  std::string err = timers_->start();
  if (!err.empty()) {
    workers_.clear();
    return "timer thread: " + err;
  }
  for (auto& w : workers_) w->start();
  std::lock_guard<std::mutex> lk(stop_->mu);
  stop_->started = true;
  return "";
}

void Server::requestStop(std::chrono::milliseconds flushBound) {
  {
    std::lock_guard<std::mutex> lk(stop_->mu);
    if (!stop_->started || stop_->stopRequested) return;
    stop_->stopRequested = true;
  }
  auto deadline = SteadyClock::now() + flushBound;
  for (auto& w : workers_) {
    Worker* wp = w.get();
    wp->loop().post([wp, deadline] { wp->beginStop(deadline); });
  }
}

void Server::wait() {
  std::unique_lock<std::mutex> lk(stop_->mu);
  if (!stop_->started) return;
  if (stop_->joining) {
    stop_->cv.wait(lk, [&] { return stop_->done; });
    return;
  }
  stop_->joining = true;
  lk.unlock();
  for (auto& w : workers_) w->loop().join();
  timers_->stop();
  lk.lock();
  stop_->done = true;
  stop_->cv.notify_all();
}

void Server::stop(std::chrono::milliseconds flushBound) {
  requestStop(flushBound);
  if (Worker::current() && &Worker::current()->server() == this) return;  // a worker cannot join itself
  wait();
}

int Server::currentWorker() const {
  Worker* w = Worker::current();
  return w && &w->server() == this ? w->index() : -1;
}

Worker* Server::pickWorker() {
  return workers_[rr_.fetch_add(1, std::memory_order_relaxed) % workers_.size()].get();
}

Worker* Server::ownerOf(uint64_t connId) {
  int owner = ConnIndex::ownerOf(connId);
  return owner < 0 || owner >= workerCount() ? nullptr : workers_[size_t(owner)].get();
}

bool Server::sendOnConnection(uint64_t connId, std::string data) {
  Worker* w = ownerOf(connId);
  if (!w) return false;
  if (Worker::current() == w) return w->send(connId, std::move(data));
  if (!index_->contains(connId)) return false;
  w->loop().post([w, connId, d = std::move(data)]() mutable { w->send(connId, std::move(d)); });
  return true;
}

uint64_t Server::findConnection(Proto proto, const SockAddr& remote) const {
  return index_->findAny(proto, remote);
}

bool Server::closeConnection(uint64_t connId) {
  Worker* w = ownerOf(connId);
  if (!w) return false;
  if (Worker::current() == w) return w->close(connId);
  if (!index_->contains(connId)) return false;
  w->loop().post([w, connId] { w->close(connId); });
  return true;
}

bool Server::whenDrained(uint64_t connId, std::function<void(size_t room)> fn) {
  Worker* w = ownerOf(connId);
  if (!w) return false;
  if (Worker::current() == w) return w->whenDrained(connId, std::move(fn));
  if (!index_->contains(connId)) return false;
  w->loop().post([w, connId, fn = std::move(fn)]() mutable { w->whenDrained(connId, std::move(fn)); });
  return true;
}

bool Server::sendUdp(const SockAddr& from, const SockAddr& to, std::string_view data,
                     std::function<void(int err)> sent) {
  if (workers_.empty()) return false;
  Worker* cur = Worker::current();
  Worker* w = cur && &cur->server() == this ? cur : workers_[0].get();
  int fd = w->udpSocketFor(from, to.family());
  if (fd < 0) return false;
  if (w == cur && opts_.udpSendBatch) return w->queueUdp(fd, to, data, std::move(sent));  // sent at the round's end
  ssize_t n = ::sendto(fd, data.data(), data.size(), MSG_DONTWAIT | MSG_NOSIGNAL, to.sa(), to.len());
  if (n < 0) {
    if (logging::enabled(kInfo))
      logging::write(kInfo, "net", "UDP to " + to.str() + ": " + std::string(std::strerror(errno)));
    return false;
  }
  w->countUdpOut(data.size());
  return true;
}

void Server::sendTo(Proto proto, const SockAddr& to, std::string data, const ConnectOptions& opt, SendDone done) {
  if (workers_.empty()) {
    if (done) done(false, "server not running");
    return;
  }
  Worker* cur = Worker::current();
  if (cur && &cur->server() == this) {
    cur->sendTo(proto, to, std::move(data), opt, std::move(done), cur->index(), true);
    return;
  }
  Worker* w = pickWorker();
  w->loop().post([w, proto, to, data = std::move(data), opt, done = std::move(done)]() mutable {
    w->sendTo(proto, to, std::move(data), opt, std::move(done), w->index(), true);
  });
}

void Server::resolve(const std::string& host,
                     std::function<void(std::optional<SockAddr> addrNoPort, std::string err)> cb) {
  Worker* cur = Worker::current();
  if (cur && &cur->server() == this) {
    resolveHost(cur->loop(), host, std::move(cb));
    return;
  }
  EventLoop& loop = timers_->loop();
  loop.post([&loop, host, cb = std::move(cb)]() mutable { resolveHost(loop, host, std::move(cb)); });
}

void Server::addTimer(std::chrono::milliseconds every, std::function<void()> fn) {
  timers_->addTimer(every, std::move(fn));
}

std::vector<WorkerStats> Server::stats() const {
  std::vector<WorkerStats> out;
  out.reserve(workers_.size());
  for (auto& w : workers_) out.push_back(w->stats());
  return out;
}

std::optional<SockAddr> Server::listenAddressFor(Proto proto, int family) const {
  for (const auto& b : bound_)
    if (b.proto == proto && (family == 0 || b.addr.family() == family)) return b.addr;
  return std::nullopt;
}

}  // namespace sipsd

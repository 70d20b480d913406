// inotify on the directories of watched files, with a short quiet period before the callback.
#include "tls/dir_notifier.h"

#include <poll.h>
#include <sys/eventfd.h>
#include <sys/inotify.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <climits>
#include <cstdlib>
#include <cstring>

namespace sipsd::tls {
namespace {

// Writes that end (close after write), entries that appear, go or are renamed (new .rN by
// hard link, replace by rename, symlink swaps), metadata changes, and the directory itself
// going away. Not IN_MODIFY: one per write() call, and the close that follows is enough.
constexpr uint32_t kMask = IN_CLOSE_WRITE | IN_CREATE | IN_DELETE | IN_MOVED_FROM | IN_MOVED_TO | IN_ATTRIB |
                           IN_DELETE_SELF | IN_MOVE_SELF;
// Events of one change (temp file, write, link, unlink) arrive within a few ms; wait until they
// have been quiet this long, but never longer than kMaxDelay after the first.
constexpr int kQuietMs = 10;
constexpr auto kMaxDelay = std::chrono::milliseconds(100);

std::string stripSlashes(std::string p) {
  while (p.size() > 1 && p.back() == '/') p.pop_back();
  return p;
}

std::string parentOf(const std::string& p) {
  auto slash = p.rfind('/');
  if (slash == std::string::npos) return ".";
  return slash == 0 ? "/" : p.substr(0, slash);
}

std::string baseOf(const std::string& p) {
  auto slash = p.rfind('/');
  return slash == std::string::npos ? p : p.substr(slash + 1);
}

}  // namespace

DirNotifier::DirNotifier(std::function<void()> onChange) : onChange_(std::move(onChange)) {}

DirNotifier::~DirNotifier() { stop(); }

std::string DirNotifier::start() {
  if (thread_.joinable()) return {};
  fd_ = inotify_init1(IN_NONBLOCK | IN_CLOEXEC);
  if (fd_ < 0) return std::string("inotify_init1: ") + std::strerror(errno);
  wake_ = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
  if (wake_ < 0) {
    std::string e = std::string("eventfd: ") + std::strerror(errno);
    ::close(fd_);
    fd_ = -1;
    return e;
  }
  {
    std::lock_guard lk(mu_);
    applyLocked();
  }
  thread_ = std::thread([this] { run(); });
  return {};
}

void DirNotifier::stop() {
  if (thread_.joinable()) {
    uint64_t one = 1;
    if (::write(wake_, &one, sizeof one) < 0) {
      // The eventfd cannot be full with one write; nothing else to do.
    }
    thread_.join();
  }
  std::lock_guard lk(mu_);
  if (fd_ >= 0) ::close(fd_);
  if (wake_ >= 0) ::close(wake_);
  fd_ = wake_ = -1;
  dirs_.clear();
}

void DirNotifier::watch(const std::vector<std::string>& paths) {
  std::map<std::string, Dir> want;
  for (const auto& raw : paths) {
    const std::string p = stripSlashes(raw);
    struct stat st{}, lst{};
    const bool exists = ::stat(p.c_str(), &st) == 0;
    // The entry in its directory: replaced by rename/link, or deleted and recreated.
    want[parentOf(p)].names.insert(baseOf(p));
    if (exists && S_ISDIR(st.st_mode)) want[p].all = true;  // a hash dir: every entry counts
    if (::lstat(p.c_str(), &lst) == 0 && S_ISLNK(lst.st_mode)) {
      // Secret volumes: NAME -> ..data/NAME, where ..data is a symlink swapped by rename.
      char target[PATH_MAX];
      ssize_t n = ::readlink(p.c_str(), target, sizeof target - 1);
      if (n > 0) {
        target[n] = 0;
        std::string t = target;
        if (t[0] != '/') want[parentOf(p)].names.insert(t.substr(0, t.find('/')));
      }
      if (char* real = ::realpath(p.c_str(), nullptr)) {
        std::string r = real;
        std::free(real);
        want[parentOf(r)].names.insert(baseOf(r));
        if (exists && S_ISDIR(st.st_mode)) want[r].all = true;
      }
    }
  }
  std::lock_guard lk(mu_);
  wanted_ = std::move(want);
  applyLocked();
}

void DirNotifier::applyLocked() {
  if (fd_ < 0) return;
  for (const auto& [dir, d] : dirs_) {
    // Only remove a watch no wanted directory shares (two names of one inode share a wd).
    if (wanted_.count(dir) || d.wd < 0) continue;
    bool shared = false;
    for (const auto& [other, od] : dirs_) shared = shared || (other != dir && od.wd == d.wd && wanted_.count(other));
    if (!shared) inotify_rm_watch(fd_, d.wd);
  }
  dirs_ = wanted_;
  for (auto& [dir, d] : dirs_) {
    // A missing directory cannot be watched; polling still covers it.
    d.wd = inotify_add_watch(fd_, dir.c_str(), kMask);
  }
}

bool DirNotifier::relevant(int wd, const char* name) {
  std::lock_guard lk(mu_);
  for (const auto& [dir, d] : dirs_) {
    if (d.wd != wd) continue;
    if (d.all || !name || !*name || d.names.count(name)) return true;
  }
  return false;
}

void DirNotifier::run() {
  pollfd pf[2] = {{fd_, POLLIN, 0}, {wake_, POLLIN, 0}};
  bool pending = false;
  auto first = std::chrono::steady_clock::now();
  alignas(inotify_event) char buf[8192];
  for (;;) {
    int n = ::poll(pf, 2, pending ? kQuietMs : -1);
    if (n < 0) {
      if (errno == EINTR) continue;
      return;
    }
    if (pf[1].revents) return;
    if (n == 0) {  // quiet period over
      pending = false;
      onChange_();
      continue;
    }
    if (pf[0].revents & POLLIN) {
      for (;;) {
        ssize_t got = ::read(fd_, buf, sizeof buf);
        if (got <= 0) break;
        for (char* p = buf; p < buf + got;) {
          auto* ev = reinterpret_cast<inotify_event*>(p);
          p += sizeof(inotify_event) + ev->len;
          if (ev->mask & IN_IGNORED) continue;
          bool hit = (ev->mask & IN_Q_OVERFLOW) || relevant(ev->wd, ev->len ? ev->name : nullptr);
          if (hit && !pending) {
            pending = true;
            first = std::chrono::steady_clock::now();
          }
        }
      }
    }
    if (pending && std::chrono::steady_clock::now() - first >= kMaxDelay) {
      pending = false;
      onChange_();
    }
  }
}

}  // namespace sipsd::tls

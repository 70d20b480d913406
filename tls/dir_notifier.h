// Wakes the TLS module within milliseconds when a file it reads changes, so a new CRL takes
// effect at once instead of at the next poll. inotify watches the directories that hold the
// watched files (a file replaced by rename or hard link is a directory event) and every watched
// hash directory itself; events are only a hint: the owner then runs its usual stat-signature +
// content-digest check. Changes inotify cannot see (bind mounts changed from outside, network
// file systems) are still found by the owner's polling, which stays on.
#pragma once
#include <functional>
#include <map>
#include <mutex>
#include <set>
#include <string>
#include <thread>
#include <vector>

namespace sipsd::tls {

class DirNotifier {
 public:
  // `onChange` runs on the notifier's own thread once events have been quiet for a few ms.
  explicit DirNotifier(std::function<void()> onChange);
  ~DirNotifier();
  DirNotifier(const DirNotifier&) = delete;
  DirNotifier& operator=(const DirNotifier&) = delete;

  // Starts the thread (once). Returns an error text when inotify is not available; the
  // caller then relies on polling alone.
  std::string start();
  // Stops and joins the thread; safe to call twice.
  void stop();
  bool running() const { return thread_.joinable(); }
  // Watches these files and directories (replacing what was watched before). Works before
  // start() too: the watch set is kept and applied when the thread starts.
  void watch(const std::vector<std::string>& paths);

 private:
  // One watched directory: the entry names that matter in it (empty: every entry).
  struct Dir {
    int wd = -1;
    std::set<std::string> names;
    bool all = false;
  };
  void applyLocked();
  bool relevant(int wd, const char* name);
  void run();

  std::function<void()> onChange_;
  int fd_ = -1;    // inotify
  int wake_ = -1;  // eventfd: stop()
  std::mutex mu_;  // dirs_ and wanted_ (watch() from reloads, lookups from the thread)
  std::map<std::string, Dir> dirs_;
  std::map<std::string, Dir> wanted_;
  std::thread thread_;
};

}  // namespace sipsd::tls

// Notices when files or directories the domains read change on disk. A cheap stat()
// signature (inode, size, mtime in ns of each file and of every hash-dir entry) is checked on
// each tick; only when it moves is the content digest computed, so a touch without a content
// change does not reload. Polling works the same on local disks, bind mounts, NFS and
// symlink-swapped secret volumes, where inotify misses changes.
#pragma once
#include <string>
#include <vector>

namespace sipsd::tls {

class FileWatcher {
 public:
  // Starts watching `paths` as they are now.
  void arm(std::vector<std::string> paths);
  // True when the content of a watched path differs from what arm() (or the last
  // acknowledged change) saw. The new state becomes the reference either way, so a broken
  // file is reported once, not on every tick.
  bool changed();
  const std::vector<std::string>& paths() const { return paths_; }

 private:
  std::string signature() const;
  std::vector<std::string> paths_;
  std::string sig_;
  std::string digest_;
};

}  // namespace sipsd::tls

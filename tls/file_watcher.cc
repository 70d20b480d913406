// stat() signature + content digest change detection.
#include "tls/file_watcher.h"

#include <sys/stat.h>

#include "tls/file_digest.h"

namespace sipsd::tls {
namespace {

void addStat(std::string& out, const std::string& path) {
  struct stat st{};
  if (::stat(path.c_str(), &st) != 0) {
    out += path + ":missing;";
    return;
  }
  out += path + ":" + std::to_string(st.st_ino) + ":" + std::to_string(st.st_size) + ":" +
         std::to_string(st.st_mtim.tv_sec) + "." + std::to_string(st.st_mtim.tv_nsec) + ":" +
         std::to_string(st.st_ctim.tv_sec) + "." + std::to_string(st.st_ctim.tv_nsec) + ";";
  if (!S_ISDIR(st.st_mode)) return;
  for (const auto& n : sortedDirEntries(path)) addStat(out, path + "/" + n);
}

}  // namespace

void FileWatcher::arm(std::vector<std::string> paths) {
  paths_ = std::move(paths);
  sig_ = signature();
  digest_ = digestPaths(paths_);
}

std::string FileWatcher::signature() const {
  std::string s;
  for (const auto& p : paths_) addStat(s, p);
  return s;
}

bool FileWatcher::changed() {
  std::string sig = signature();
  if (sig == sig_) return false;
  sig_ = std::move(sig);
  std::string d = digestPaths(paths_);
  if (d == digest_) return false;
  digest_ = std::move(d);
  return true;
}

}  // namespace sipsd::tls

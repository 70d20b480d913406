// Content fingerprints of files and directories, used to tell a real change on disk from a
// no-op touch (reload and watching).
#pragma once
#include <string>
#include <vector>

namespace sipsd::tls {

// SHA-256 (hex) over every path: a file's bytes, a directory's sorted entry names and their
// bytes; a missing or unreadable path contributes a marker, so its appearance counts too.
std::string digestPaths(const std::vector<std::string>& paths);

// The names in a directory, sorted, without "." and ".." (empty when it cannot be read): the
// order every reader of a directory (digest, watcher, Kamailio's tls.cfg directory) agrees on.
std::vector<std::string> sortedDirEntries(const std::string& dir);

}  // namespace sipsd::tls

// Content fingerprints of files and directories, used to tell a real change on disk from a
// no-op touch (reload and watching).
#pragma once
#include <string>
#include <vector>

namespace sipsd::tls {

// SHA-256 (hex) over every path: a file's bytes, a directory's sorted entry names and their
// bytes; a missing or unreadable path contributes a marker, so its appearance counts too.
std::string digestPaths(const std::vector<std::string>& paths);

}  // namespace sipsd::tls

// Process-wide logging: level set by debug=, stderr by default, syslog optional.
#pragma once
#include <string_view>

namespace sipsd::logging {

void setLevel(int level);
int level();
void useSyslog(bool on);
void write(int level, std::string_view module, std::string_view text);

inline bool enabled(int lvl) { return lvl <= level(); }

}  // namespace sipsd::logging

// Process-wide logging: level set by debug=, stderr by default, syslog optional.
// Everything logged goes through write(), which makes each event exactly one line: control
// bytes (CR, LF, ESC, other C0, DEL) and bytes that are not UTF-8 are escaped (\r \n \x1b),
// so text from the network cannot forge log lines or terminal escapes, and a text longer
// than kMaxText bytes is cut, ending with "…(N bytes)" (N: its full length).
#pragma once
#include <cstddef>
#include <optional>
#include <string>
#include <string_view>

namespace sipsd::logging {

inline constexpr size_t kMaxText = 4096;

void setLevel(int level);
int level();
void useSyslog(bool on);
void write(int level, std::string_view module, std::string_view text);

inline bool enabled(int lvl) { return lvl <= level(); }

// The syslog facility (before useSyslog) and a string put in front of every line; both are
// set once at start, before the workers run.
void setFacility(int facility);
void setPrefix(std::string_view prefix);
// LOG_LOCAL0..7, LOG_DAEMON, LOG_USER... (the LOG_ prefix and case are optional).
std::optional<int> facilityFromName(std::string_view name);
// Kamailio's script level names (L_ALERT, L_CRIT, L_ERR, L_WARN, L_NOTICE, L_INFO, L_DBG) as
// sipsd levels (0 = error .. 4 = debug); nullopt for any other name.
std::optional<int> levelFromName(std::string_view name);

// `text` as write() shows it: escaped and cut after `max` bytes.
void appendEscaped(std::string& out, std::string_view text, size_t max = kMaxText);
std::string escaped(std::string_view text, size_t max = kMaxText);

}  // namespace sipsd::logging

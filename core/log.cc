#include "core/log.h"

#include <syslog.h>
#include <time.h>
#include <unistd.h>

#include <atomic>
#include <cstdio>

#include "core/util/strings.h"

namespace sipsd::logging {
namespace {
std::atomic<int> gLevel{2};
std::atomic<bool> gSyslog{false};
int gFacility = LOG_DAEMON;
std::string gPrefix;
const char* kNames[] = {"ERROR", "WARNING", "NOTICE", "INFO", "DEBUG"};

// Length of the well-formed UTF-8 sequence at s[i] that is not a C1 control, or 0.
size_t utf8Length(std::string_view s, size_t i) {
  const auto b = [&](size_t k) { return static_cast<unsigned char>(s[i + k]); };
  const unsigned char c = b(0);
  size_t n = c >= 0xC2 && c <= 0xDF ? 2 : c >= 0xE0 && c <= 0xEF ? 3 : c >= 0xF0 && c <= 0xF4 ? 4 : 0;
  if (n == 0 || i + n > s.size()) return 0;
  for (size_t k = 1; k < n; ++k)
    if ((b(k) & 0xC0) != 0x80) return 0;
  if (c == 0xC2 && b(1) < 0xA0) return 0;                  // U+0080..U+009F: C1 controls (0x9B is CSI)
  if ((c == 0xE0 && b(1) < 0xA0) || (c == 0xF0 && b(1) < 0x90)) return 0;  // overlong
  if ((c == 0xED && b(1) >= 0xA0) || (c == 0xF4 && b(1) >= 0x90)) return 0;  // surrogates, > U+10FFFF
  return n;
}

bool plain(std::string_view text) {
  for (char ch : text) {
    auto c = static_cast<unsigned char>(ch);
    if (c < 0x20 || c >= 0x7F) return false;
  }
  return true;
}

// "2026-11-30T18:40:01.123+0000 ", recomputed once per second per thread.
void appendTimestamp(std::string& out) {
  struct timespec ts;
  ::clock_gettime(CLOCK_REALTIME, &ts);
  thread_local time_t cachedSec = -1;
  thread_local char secText[32];
  thread_local char zoneText[8];
  if (ts.tv_sec != cachedSec) {
    struct tm tm;
    ::localtime_r(&ts.tv_sec, &tm);
    ::strftime(secText, sizeof secText, "%Y-%m-%dT%H:%M:%S", &tm);
    ::strftime(zoneText, sizeof zoneText, "%z", &tm);
    cachedSec = ts.tv_sec;
  }
  char ms[8];
  std::snprintf(ms, sizeof ms, ".%03d", int(ts.tv_nsec / 1000000) % 1000);
  out += secText;
  out += ms;
  out += zoneText;
  out += ' ';
}

}  // namespace

void appendEscaped(std::string& out, std::string_view text, size_t max) {
  if (text.size() <= max && plain(text)) {
    out += text;
    return;
  }
  static const char kHex[] = "0123456789abcdef";
  size_t i = 0;
  while (i < text.size() && i < max) {
    const auto c = static_cast<unsigned char>(text[i]);
    if (c >= 0x20 && c < 0x7F) {
      out += char(c);
      ++i;
      continue;
    }
    if (c >= 0x80) {
      size_t n = utf8Length(text, i);
      if (n && i + n <= max) {
        out.append(text.substr(i, n));
        i += n;
        continue;
      }
      if (n) break;  // a character that does not fit is left for the "…" note
    }
    switch (c) {
      case '\n': out += "\\n"; break;
      case '\r': out += "\\r"; break;
      case '\t': out += "\\t"; break;
      default:
        out += "\\x";
        out += kHex[c >> 4];
        out += kHex[c & 15];
    }
    ++i;
  }
  if (i < text.size()) out += "\xE2\x80\xA6(" + std::to_string(text.size()) + " bytes)";
}

std::string escaped(std::string_view text, size_t max) {
  std::string out;
  appendEscaped(out, text, max);
  return out;
}

void setLevel(int l) { gLevel = l; }
int level() { return gLevel; }
void setFacility(int facility) { gFacility = facility; }
void setPrefix(std::string_view prefix) { gPrefix = escaped(prefix, 256); }

void useSyslog(bool on) {
  if (on && !gSyslog) openlog("sipsd", LOG_PID, gFacility);
  gSyslog = on;
}

std::optional<int> levelFromName(std::string_view name) {
  // Kamailio's levels above L_ERR are errors here too (sipsd has no alert/critical level).
  static const std::pair<std::string_view, int> kLevels[] = {{"L_ALERT", 0}, {"L_CRIT", 0},   {"L_ERR", 0},
                                                              {"L_WARN", 1},  {"L_NOTICE", 2}, {"L_INFO", 3},
                                                              {"L_DBG", 4}};
  for (const auto& [n, l] : kLevels)
    if (name == n) return l;
  return std::nullopt;
}

std::optional<int> facilityFromName(std::string_view name) {
  static const std::pair<std::string_view, int> kFacilities[] = {
      {"LOCAL0", LOG_LOCAL0}, {"LOCAL1", LOG_LOCAL1}, {"LOCAL2", LOG_LOCAL2}, {"LOCAL3", LOG_LOCAL3},
      {"LOCAL4", LOG_LOCAL4}, {"LOCAL5", LOG_LOCAL5}, {"LOCAL6", LOG_LOCAL6}, {"LOCAL7", LOG_LOCAL7},
      {"DAEMON", LOG_DAEMON}, {"USER", LOG_USER},     {"AUTH", LOG_AUTH},     {"AUTHPRIV", LOG_AUTHPRIV},
      {"CRON", LOG_CRON},     {"FTP", LOG_FTP},       {"KERN", LOG_KERN},     {"LPR", LOG_LPR},
      {"MAIL", LOG_MAIL},     {"NEWS", LOG_NEWS},     {"SYSLOG", LOG_SYSLOG}, {"UUCP", LOG_UUCP}};
  if (name.size() > 4 && str::istartsWith(name, "LOG_")) name.remove_prefix(4);
  for (const auto& [n, f] : kFacilities)
    if (str::iequals(name, n)) return f;
  return std::nullopt;
}

void write(int lvl, std::string_view module, std::string_view text) {
  if (lvl > gLevel) return;
  if (lvl < 0) lvl = 0;
  if (lvl > 4) lvl = 4;
  // One line per event, built in a per-thread buffer and written with one call so lines
  // from several workers never interleave.
  thread_local std::string line;
  line.clear();
  if (gSyslog) {
    static const int prio[] = {LOG_ERR, LOG_WARNING, LOG_NOTICE, LOG_INFO, LOG_DEBUG};
    line += gPrefix;
    line += module;
    line += ": ";
    appendEscaped(line, text);
    syslog(prio[lvl], "%s", line.c_str());
    return;
  }
  appendTimestamp(line);
  line += gPrefix;
  line += kNames[lvl];
  line += ": ";
  line += module;
  line += ": ";
  appendEscaped(line, text);
  line += '\n';
  (void)!::write(2, line.data(), line.size());
}

}  // namespace sipsd::logging

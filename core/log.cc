#include "core/log.h"

#include <syslog.h>
#include <unistd.h>

#include <atomic>
#include <cstdio>
#include <ctime>
#include <string>

namespace sipsd::logging {
namespace {
std::atomic<int> gLevel{2};
std::atomic<bool> gSyslog{false};
const char* kNames[] = {"ERROR", "WARNING", "NOTICE", "INFO", "DEBUG"};
}  // namespace

void setLevel(int l) { gLevel = l; }
int level() { return gLevel; }
void useSyslog(bool on) {
  if (on && !gSyslog) openlog("sipsd", LOG_PID, LOG_DAEMON);
  gSyslog = on;
}

void write(int lvl, std::string_view module, std::string_view text) {
  if (lvl > gLevel) return;
  if (lvl < 0) lvl = 0;
  if (lvl > 4) lvl = 4;
  if (gSyslog) {
    static const int prio[] = {LOG_ERR, LOG_WARNING, LOG_NOTICE, LOG_INFO, LOG_DEBUG};
    syslog(prio[lvl], "%.*s: %.*s", int(module.size()), module.data(), int(text.size()), text.data());
    return;
  }
  // One write() per line so lines from several workers never interleave.
  std::string line;
  line.reserve(text.size() + module.size() + 32);
  line += kNames[lvl];
  line += ": ";
  line += module;
  line += ": ";
  line += text;
  line += '\n';
  (void)!::write(2, line.data(), line.size());
}

}  // namespace sipsd::logging

// CoreApi for configuration checks.
#include "core/config/check_core_api.h"

#include "core/log.h"

namespace sipsd {

void CheckCoreApi::log(int level, std::string_view module, std::string_view text) {
  if (level <= logLevel_) logging::write(level, module, text);
}

void CheckCoreApi::addTimer(std::chrono::milliseconds, std::function<void()>) {
  // No timer thread while checking: the module's periodic work belongs to the running server.
  ++timers_;
}

bool CheckCoreApi::sendReply(ScriptContext&, std::string_view) {
  logging::write(kLogWarn, "core", "sendReply called while only checking the configuration; nothing sent");
  return false;
}

void CheckCoreApi::closeConnection(ScriptContext&) {}

}  // namespace sipsd

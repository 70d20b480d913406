// Fuzz target: the config language — the parser with its error recovery and the checker
// (against the unit tests' registry: core names plus module doubles), then the rendering of
// every diagnostic. Any input must end, without a crash, in a script or in diagnostics.
#include <cstdint>
#include <memory>
#include <string>

#include "core/log.h"
#include "test_registry.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static const bool quiet = (sipsd::logging::setLevel(-1), true);  // warnings per input are noise here
  (void)quiet;
  static const std::unique_ptr<sipsd::Registry> registry = sipsd::test::makeTestRegistry();
  std::string text(reinterpret_cast<const char*>(data), size);
  auto r = sipsd::test::checkScript(text, *registry, "fuzz.cfg");
  (void)r.diags.format();
  if (r.diags.hasErrors() == (r.script != nullptr)) __builtin_trap();  // a script exactly when no error
  return 0;
}

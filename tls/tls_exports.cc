// The module's entry point: the one TlsModule of the process and its export table.
#include "tls/tls_module.h"

extern "C" __attribute__((visibility("default"))) const sipsd::ModuleExports* sipsd_module_exports() {
  static sipsd::tls::TlsModule module;
  return &module.exports();
}

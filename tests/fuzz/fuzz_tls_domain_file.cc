// Fuzz target: the TLS domain file readers (YAML/JSON, and Kamailio's INI tls.cfg recognised
// by content) through DomainFile::load, as modparam("tls", "config", FILE) uses it. The input
// is handed over as an in-memory file (memfd), so no disk I/O per run.
#include <sys/mman.h>
#include <unistd.h>

#include <cstdint>
#include <string>

#include "core/log.h"
#include "tls/domain_file.h"
#include "tls/tls_config.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static const bool quiet = (sipsd::logging::setLevel(-1), true);  // warnings per input are noise here
  (void)quiet;
  static const int fd = ::memfd_create("fuzz-tls-domains", 0);
  static const std::string path = "/proc/self/fd/" + std::to_string(fd);
  if (fd < 0 || ::ftruncate(fd, 0) != 0 || ::pwrite(fd, data, size, 0) != ssize_t(size)) __builtin_trap();
  sipsd::tls::TlsConfig config;
  (void)sipsd::tls::DomainFile::load(path, config, "/nonexistent-main-config-dir");
  return 0;
}

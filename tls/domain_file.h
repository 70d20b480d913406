// The YAML/JSON domain file (modparam("tls", "config", FILE)):
//   server: { default: {...}, "IP:PORT": {...}, "IP:PORT/NAME": {...}, "any/NAME": {...} }
//   client: { default: {...}, "IP:PORT": {...}, "any/ID": {...} }
// Each domain takes the SER setting names or the Media Gateway ones (identity.certificate,
// identity.key, certificate_key, root_certificate, peers.lookup_hash_directory,
// peers.crl_enabled, certificate_directory). Relative paths resolve against the file's folder.
#pragma once
#include <string>

#include "tls/tls_config.h"

namespace sipsd::tls {

class DomainFile {
 public:
  // Reads `path` into `out`. Errors are "FILE:LINE:COL: what". A Kamailio tls.cfg (INI, or a
  // directory of them) is recognised by its content and read by IniDomainFile; `mainConfigDir`
  // is where Kamailio would resolve its relative paths.
  static std::string load(const std::string& path, TlsConfig& out, const std::string& mainConfigDir = "");
};

}  // namespace sipsd::tls

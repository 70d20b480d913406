// Kamailio's tls.cfg (INI) as a domain file: modparam("tls", "config", FILE) takes it as it is.
//   [server:default] [server:IP:PORT] [server:any] [client:default] [client:IP:PORT] [client:any]
//   (also Kamailio's short forms srv/s/cli/c, def/'*', all), and every setting Kamailio documents:
//   method|tls_method, certificate|cert_file, private_key|pkey_file, ca_list|calist_file, ca_path,
//   crl, verify_certificate|verify_cert, require_certificate|require_cert, verify_client,
//   verify_depth, cipher_list, server_name, server_name_mode, server_id.
// The settings land in the same TlsConfig the YAML reader fills. Where sipsd behaves differently
// from Kamailio the reader logs a warning naming FILE:LINE and says what sipsd does instead;
// what cannot work (unknown setting, SSLv3-only method, a section without the name that tells
// it apart) is an error with FILE:LINE:COL. FILE may be a directory: every regular file in it,
// in name order (Kamailio concatenates them).
#pragma once
#include <string>
#include <string_view>

#include "tls/tls_config.h"

namespace sipsd::tls {

class IniDomainFile {
 public:
  // True when `text` is Kamailio's INI format: its first line that is not blank or a comment
  // is a `[side:...]` section header (a YAML domain file never starts so).
  static bool looksLikeIni(std::string_view text);
  // Reads `text` (the contents of `path`) into `out`. `mainConfigDir` is where Kamailio would
  // resolve relative paths (the main config's directory); sipsd resolves them against the
  // file's own directory (SPEC §4) and warns where the two disagree.
  static std::string load(const std::string& path, std::string_view text, const std::string& mainConfigDir,
                          TlsConfig& out);
  // A directory of INI files (Kamailio's config directory form).
  static std::string loadDir(const std::string& dir, const std::string& mainConfigDir, TlsConfig& out);
};

}  // namespace sipsd::tls

// What route scripts see of TLS: the @tls... selects of SPEC §3 and the functions
// is_peer_verified() and tls_set_connect_server_id(id).
#pragma once
#include <vector>

#include "core/module_api.h"

namespace sipsd::tls {

class TlsModule;

SelectExport tlsSelectExport();
std::vector<FunctionExport> tlsFunctions(TlsModule& m);

}  // namespace sipsd::tls

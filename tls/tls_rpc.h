// The TLS RPC methods of SPEC §6: tls.info, tls.list, tls.options, tls.reload, tls.kill.
#pragma once
#include <vector>

#include "core/module_api.h"

namespace sipsd::tls {

class TlsModule;

std::vector<RpcMethod> tlsRpcMethods(TlsModule& m);

}  // namespace sipsd::tls

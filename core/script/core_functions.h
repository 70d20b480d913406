// The core's own script names (SPEC §5 and §3): forward(), forward(host, port),
// forward_udp|forward_tcp|forward_tls(host, port), log([level,] text), create_via(),
// force_rport(), and the core selects of core/parser/core_selects.h.
#pragma once
#include <string>
#include <vector>

#include "core/module_api.h"
#include "core/registry.h"
#include "core/script/proxy_actions.h"

namespace sipsd::script {

// The core function exports. `proxy` may be null only when the script is never run (`-c`):
// the handlers then are never called. `registry` (may be null) lets forward_tls's fixup refuse
// a script that forwards over TLS when no loaded module provides the TLS transport.
std::vector<FunctionExport> coreFunctionExports(ProxyActions* proxy, const Registry* registry);

// Registers the core functions and core selects in `registry` under the owner "core".
// Returns an error text (empty on success).
std::string registerCoreNames(Registry& registry, ProxyActions* proxy);

}  // namespace sipsd::script

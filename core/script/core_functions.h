// The core's own script names (SPEC §5 and §3): forward(), forward(host, port),
// forward_udp|forward_tcp|forward_tls(host, port), log([level,] text), create_via(),
// force_rport(), and the core selects of core/parser/core_selects.h.
#pragma once
#include <functional>
#include <string>
#include <vector>

#include "core/module_api.h"
#include "core/registry.h"
#include "core/script/proxy_actions.h"

namespace sipsd::script {

// The core function exports. `proxy` may be null only when the script is never run (`-c`):
// the handlers then are never called. `registry` (may be null) lets forward_tls's fixup refuse
// a script that forwards over TLS when no loaded module provides the TLS transport.
// `listensOn` (may be empty: no check) tells whether the config has a listen= of a protocol;
// forward_udp|tcp|tls() are refused at load without one (the Via would name no real socket).
using ListensOn = std::function<bool(Proto)>;
std::vector<FunctionExport> coreFunctionExports(ProxyActions* proxy, const Registry* registry,
                                                ListensOn listensOn = {});

// Registers the core functions and core selects in `registry` under the owner "core".
// Returns an error text (empty on success).
std::string registerCoreNames(Registry& registry, ProxyActions* proxy, ListensOn listensOn = {});

}  // namespace sipsd::script

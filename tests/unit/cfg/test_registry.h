// Test helpers: a Registry with the core's names plus test doubles of module functions and
// selects that scripts from SPEC.md and the SER documentation call, and a one-call
// parse+check of a script text.
#pragma once
#include <memory>
#include <string>

#include "cfg/action_tree.h"
#include "cfg/diagnostics.h"
#include "core/registry.h"

namespace sipsd::test {

// Core names (null ProxyActions) + doubles: sl_reply/sl_send_reply(2), xmlrpc_reply(2),
// dispatch_rpc(), http_reply(4), is_peer_verified(), tls_set_connect_server_id(1),
// selects @tls... (any path) and @xmlrpc.method.
std::unique_ptr<Registry> makeTestRegistry();

struct CheckResult {
  std::unique_ptr<cfg::CompiledScript> script;  // null when there were errors
  cfg::Diagnostics diags;
};
// The text is preprocessed first (includes relative to `file`).
CheckResult checkScript(const std::string& text, const Registry& registry, const std::string& file = "test.cfg");

}  // namespace sipsd::test

// Runs compiled routes (cfg/action_tree.h) against one message.
//
// Comparison rules (== != < > <= >=), chosen to match what a SER script author expects:
//  - int with int compares numerically; a string that is entirely a decimal integer compares
//    numerically with an int (`@via[1].port == 5060`), any other string compares as text;
//  - string with string compares byte-wise, case-sensitive (SIP methods are case-sensitive);
//  - a Null value (a select that does not apply to this message, `status` on a request) equals
//    only Null or the empty string, and every ordering comparison with it is false;
//  - `src_ip`/`dst_ip` == network matches the prefix; any other value == network matches when
//    the value is an address inside it; `proto == TLS` (or "tls", checked at load) compares
//    the transport.
// `=~`/`!~` use the regex compiled at load: POSIX extended, case-insensitive (as SER's
// REG_EXTENDED|REG_ICASE), searched anywhere in the text; Null never matches.
#pragma once
#include "cfg/action_tree.h"
#include "core/script_context.h"

namespace sipsd::script {

// Runs route `routeIndex` of `script`. Returns 1 when the route ran to its end (or `return`),
// 0 when the script stopped: break, exit, drop (which also sets ctx.dropped) or a function
// that returned 0. An invalid index returns 1 and does nothing.
int runRoute(const cfg::CompiledScript& script, int routeIndex, ScriptContext& ctx);

// Index of the main request route / main onreply route, or -1 when the script has none.
inline int mainRoute(const cfg::CompiledScript& script) { return script.mainRoute; }
inline int onReplyRoute(const cfg::CompiledScript& script) { return script.onReplyRoute; }

// Maximum nesting of route(NAME) calls; deeper recursion stops the script with an error.
constexpr int kMaxRouteDepth = 100;

}  // namespace sipsd::script

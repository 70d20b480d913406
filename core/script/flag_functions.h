// Kamailio's flags: setflag(N), resetflag(N), isflagset(N) on the message's flags (tm carries
// them with the transaction into failure_route and onreply_route) and setbflag(N[, B]),
// resetbflag(N[, B]), isbflagset(N[, B]) on the flags of branch B (default 0: the R-URI's; in
// failure_route and onreply_route the branch the reply came from). N is 0..31 and B 0..N-1,
// checked at load: a literal or a #!define name.
#pragma once
#include <vector>

#include "core/module_api.h"

namespace sipsd::script {

constexpr int kMaxFlag = 31;

std::vector<FunctionExport> flagFunctionExports();

}  // namespace sipsd::script

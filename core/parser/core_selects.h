// The core's selects of SPEC §3 (@ruri, @from, @to, @contact[N], @via[N], @call_id, @cseq,
// @msg.HEADER, @src, @dst, @http.path, @http.query), resolved at config load.
#pragma once
#include <vector>

#include "core/module_api.h"

namespace sipsd {

std::vector<SelectExport> coreSelectExports();

}  // namespace sipsd

// Kamailio tls modparams that have no sipsd counterpart, or another name here, so a Kamailio
// config loads unchanged: each is accepted, and one that changes nothing logs a warning with
// its FILE:LINE:COL and the reason (never an error).
#pragma once
#include <vector>

#include "core/module_api.h"

namespace sipsd::tls {

class TlsModule;

std::vector<ParamExport> kamailioParams(TlsModule& module);

}  // namespace sipsd::tls

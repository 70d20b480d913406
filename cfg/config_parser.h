// Parses a whole script into its syntax tree, one top-level construct at a time, so that an
// error in one construct is reported and parsing resumes at the next one.
#pragma once
#include "cfg/ast.h"
#include "cfg/error_handler.h"

namespace sipsd::cfg {

// Parses handler.source(); every syntax error is reported through `handler`.
// Returns the constructs that parsed (all of them when there was no error).
ast::Config parseConfig(ErrorHandler& handler);

}  // namespace sipsd::cfg

// The pseudo-variables of the script language itself — $var(name), $avp(name), $null, $rc and
// $retcode — and the assignments `$ru|$du|$var(x)|$avp(x) = a + b ...;`. Names become slots of
// the script being compiled; at run time the handlers only index.
#pragma once
#include <optional>
#include <string>
#include <vector>

#include "cfg/action_tree.h"
#include "core/result.h"

namespace sipsd::cfg {

// Resolves {"$", name[, arg]} when `name` is one of this file's (var, avp, null, rc, retcode);
// nullopt when it is not (the registry's `$` select resolves the others).
std::optional<Result<SelectFn>> resolveLanguagePVar(CompiledScript& script, const std::vector<SelectPart>& parts);

// Where an assignment stores.
struct AssignTarget {
  enum class Kind : uint8_t { Field, Var, Avp };
  Kind kind = Kind::Field;
  std::string ScriptContext::*field = nullptr;  // Field: $ru, $du
  size_t slot = 0;                              // Var: its slot; Avp: its id
  std::string text;                             // "$var(x)", for messages
};

// The target of `$name(arg) = ...`, or why it cannot be assigned.
Result<AssignTarget> assignTarget(CompiledScript& script, const std::string& name, const std::string& arg);

// An operand of the right side with the operator before it ('+' for the first).
struct RhsOperand {
  char op = '+';
  FuncArg arg;
};

// The handler of `target = rhs;`. `*` `/` `%` bind tighter than `+` `-`, all left to right.
// `+` adds when both sides are integers (a Null next to an integer counts as 0) and joins the
// text otherwise (a Null adds nothing); `-` `*` `/` `%` take integers or digit strings. A value
// that is not a number, a division by zero or a string over kMaxScriptValueBytes logs an error
// naming `loc` and leaves the target unchanged (the statement is false).
FunctionHandler makeAssignment(const CompiledScript& script, AssignTarget target, std::vector<RhsOperand> rhs,
                               SourceLoc loc);

}  // namespace sipsd::cfg

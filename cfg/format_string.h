// Format strings (xlog's text): literal text with `$pv`, `$name(arg)` and `@select.path[N]`
// references, split once at config load. `\$` and `\@` stand for the characters themselves; an
// `@` not followed by a known select root (`user@example.com`) and a `$` not followed by a
// name are literal text too.
#pragma once
#include <functional>
#include <string>
#include <vector>

#include "core/module_api.h"

namespace sipsd::cfg {

struct FormatPiece {
  std::string literal;             // text before the reference (unescaped)
  bool hasRef = false;             // false only for a trailing literal
  bool pvar = false;               // `$name(arg)`; else an `@select`
  std::vector<SelectPart> parts;   // the select path; for a pvar: {"$", name[, arg]}
  std::string text;                // the reference as written, for messages
  size_t offset = 0;               // where the reference starts in the format
};

// Splits `format`. `isSelectRoot` tells which `@name` start a select. On a malformed reference
// returns false with `err` and `errOffset` set.
bool splitFormat(const std::string& format, const std::function<bool(const std::string&)>& isSelectRoot,
                 std::vector<FormatPiece>& out, std::string& err, size_t& errOffset);

// One SelectFn producing the interpolated text: literal pieces and the references' values
// (integers as decimal, Null as "<null>", as Kamailio prints it).
SelectFn joinFormat(std::vector<std::string> literals, std::vector<SelectFn> refs);

}  // namespace sipsd::cfg

// Kamailio pseudo-variables (SPEC §8): $rm $ru $rU $rd $rp $si $sp $Ri $Rp $pr $proto $fu $fU
// $fd $ft $tu $tU $td $tt $ci $cs $ua $rs $rr $du $T_reply_code and $hdr(Name). They are the
// select root `$` of the registry: the checker resolves `$name(arg)` as the path
// [`$`, name, arg] once, at config load, into the same SelectFn closures as the @selects.
#pragma once
#include <string_view>

#include "core/module_api.h"

namespace sipsd {

SelectExport corePseudoVarExport();

// The pseudo-variables a script may assign ($ru, $du): the ScriptContext field each sets, or
// null for a read-only or unknown name. (Inline: the config checker uses it without linking
// the parser.)
inline std::string ScriptContext::*assignablePseudoVar(std::string_view name) {
  if (name == "ru") return &ScriptContext::newRuri;
  if (name == "du") return &ScriptContext::dstUri;
  return nullptr;
}

}  // namespace sipsd

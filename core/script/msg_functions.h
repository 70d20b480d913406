// Kamailio-habit core functions that read the message or record edits for its relay
// (SPEC §8): append_hf, remove_hf, is_present_hf, is_method, has_totag,
// mf_process_maxfwd_header, is_myself. Edits go to ScriptContext::edits (core/msg_edits.h)
// and are applied when the request is built for sending.
#pragma once
#include <string>
#include <string_view>
#include <vector>

#include "core/module_api.h"

namespace sipsd::script {

std::vector<FunctionExport> msgFunctionExports();

// Checks a header line for append_hf: "Name: value" (one or more lines, each a header with a
// token name), CRLF added when missing. Returns an error text, or empty and the normalized text.
std::string checkHeaderLines(std::string_view text, std::string& normalized);

}  // namespace sipsd::script

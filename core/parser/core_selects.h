// The core's selects of SPEC §3 (@ruri, @from, @to, @contact[N], @via[N], @call_id, @cseq,
// @msg.HEADER, @src, @dst, @http.path, @http.query), resolved at config load.
#pragma once
#include <functional>
#include <optional>
#include <string_view>
#include <vector>

#include "core/module_api.h"

namespace sipsd {

std::vector<SelectExport> coreSelectExports();

// The URI part of a select path (parts[k..]: nothing, .user, .host, .port, .params.NAME ...)
// over the URI `text` yields for a message (nullopt: Null). Used by the $ru family too.
using UriTextFn = std::function<std::optional<std::string_view>(ScriptContext&)>;
Result<SelectFn> resolveUriSelect(const std::vector<SelectPart>& parts, size_t k, UriTextFn text);

}  // namespace sipsd

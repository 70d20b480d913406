// Serialises RpcValue trees as XML-RPC documents: methodResponse, fault and methodCall.
// Output is always well-formed UTF-8 XML, whatever bytes the values hold (certificate
// fields, peer input), so a client's XML parser never chokes on an answer.
#pragma once
#include <string>
#include <string_view>
#include <vector>

#include "core/rpc_value.h"

namespace sipsd::xmlrpc {

// Appends `text` escaped for XML character data: & < > are escaped, CR is kept as &#13;,
// characters XML 1.0 cannot carry (most C0 controls) and invalid UTF-8 become U+FFFD.
void appendEscaped(std::string& out, std::string_view text);

// Appends <value>...</value> for `v` (nil as <nil/>, integers beyond 32 bits as <i8>).
void appendValue(std::string& out, const RpcValue& v);

std::string response(const RpcValue& result);
// A methodResponse written in parts (a streamed answer, ReplyStreamer): the opening up to the
// result's <struct>, one <member> of it, and the closing after its </struct>.
std::string responseStructOpen();
void appendMember(std::string& out, std::string_view name, const RpcValue& v);
std::string_view responseStructClose();
std::string fault(int code, std::string_view reason);
std::string call(std::string_view method, const std::vector<RpcValue>& params);

}  // namespace sipsd::xmlrpc

// Fuzz target: the XML-RPC <methodCall> reader (whole call, and the method name alone as
// @xmlrpc.method reads it).
#include <cstdint>
#include <string>
#include <string_view>

#include "core/log.h"
#include "modules/xmlrpc/xmlrpc_parser.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static const bool quiet = (sipsd::logging::setLevel(-1), true);  // warnings per input are noise here
  (void)quiet;
  std::string_view doc(reinterpret_cast<const char*>(data), size);
  sipsd::XmlRpcParser parser;
  sipsd::XmlRpcCall call;
  (void)parser.parse(doc, call);
  std::string method;
  sipsd::XmlRpcParser names;
  (void)names.parseMethodName(doc, method);
  return 0;
}

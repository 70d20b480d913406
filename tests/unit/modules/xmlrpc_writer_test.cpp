// XML-RPC writer: exact documents for responses and faults, and escaping of hostile bytes.
#include <doctest/doctest.h>

#include "modules/xmlrpc/xmlrpc_writer.h"

using namespace sipsd;

namespace {
std::string esc(std::string_view s) {
  std::string out;
  xmlrpc::appendEscaped(out, s);
  return out;
}
std::string val(const RpcValue& v) {
  std::string out;
  xmlrpc::appendValue(out, v);
  return out;
}
}  // namespace

TEST_CASE("escaping keeps XML well-formed and UTF-8 valid") {
  CHECK(esc("a<b>&c") == "a&lt;b&gt;&amp;c");
  CHECK(esc("\"quotes' stay") == "\"quotes' stay");
  CHECK(esc("cr\r lf\n tab\t") == "cr&#13; lf\n tab\t");
  CHECK(esc(std::string("nul\0bel\x07", 8)) == "nul\xEF\xBF\xBD" "bel\xEF\xBF\xBD");
  CHECK(esc("\xC3\xA9\xE2\x82\xAC\xF0\x9F\x98\x80") == "\xC3\xA9\xE2\x82\xAC\xF0\x9F\x98\x80");
  CHECK(esc("bad\xC3") == "bad\xEF\xBF\xBD");            // truncated sequence
  CHECK(esc("\xC0\xAF") == "\xEF\xBF\xBD\xEF\xBF\xBD");  // overlong '/'
  CHECK(esc("\xED\xA0\x80") == "\xEF\xBF\xBD\xEF\xBF\xBD\xEF\xBF\xBD");  // UTF-16 surrogate
  CHECK(esc("\xFF") == "\xEF\xBF\xBD");
}

TEST_CASE("values") {
  CHECK(val(RpcValue()) == "<value><nil/></value>");
  CHECK(val(RpcValue(true)) == "<value><boolean>1</boolean></value>");
  CHECK(val(RpcValue(int64_t(-2147483648LL))) == "<value><int>-2147483648</int></value>");
  CHECK(val(RpcValue(int64_t(2147483648LL))) == "<value><i8>2147483648</i8></value>");
  CHECK(val(RpcValue(1.5)) == "<value><double>1.5</double></value>");
  CHECK(val(RpcValue("x&y")) == "<value><string>x&amp;y</string></value>");
  CHECK(val(RpcValue(RpcArray{RpcValue(1)})) == "<value><array><data><value><int>1</int></value></data></array></value>");
  CHECK(val(RpcValue(RpcStruct{{"k<", RpcValue("v")}})) ==
        "<value><struct><member><name>k&lt;</name><value><string>v</string></value></member></struct></value>");
}

TEST_CASE("methodResponse and fault documents") {
  CHECK(xmlrpc::response(RpcValue("sipsd 0.1.0")) ==
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<methodResponse><params><param><value><string>sipsd 0.1.0"
        "</string></value></param></params></methodResponse>\n");
  CHECK(xmlrpc::fault(400, "Access to core.kill denied") ==
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<methodResponse><fault><value><struct>"
        "<member><name>faultCode</name><value><int>400</int></value></member>"
        "<member><name>faultString</name><value><string>Access to core.kill denied</string></value></member>"
        "</struct></value></fault></methodResponse>\n");
}

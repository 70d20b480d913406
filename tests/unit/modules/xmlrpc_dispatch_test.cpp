// The xmlrpc module end to end without sockets: the exported functions and select, run
// against a fake core, answering HTTP requests the way the SER docs' script drives them.
#include <doctest/doctest.h>

#include "core/rpc/core_rpcs.h"
#include "fake_core.h"
#include "modules/xmlrpc/xmlrpc_dispatch.h"
#include "modules/xmlrpc/xmlrpc_writer.h"
#include "tests/unit/error_text.h"

extern "C" const sipsd::ModuleExports* sipsd_module_exports();

using namespace sipsd;
using sipsd::test::FakeCore;
using sipsd::test::httpRequest;

namespace {

bool contains(std::string_view s, std::string_view part) { return s.find(part) != std::string_view::npos; }

std::string bodyOf(const std::string& response) {
  size_t p = response.find("\r\n\r\n");
  REQUIRE(p != std::string::npos);
  return response.substr(p + 4);
}

const FunctionExport& func(const char* name) {
  for (const FunctionExport& f : sipsd_module_exports()->functions)
    if (f.name == name) return f;
  FAIL("no function " << name);
  throw std::logic_error("unreachable");
}

FuncArg str(std::string s) {
  FuncArg a;
  a.str = std::move(s);
  return a;
}

struct Fixture {
  FakeCore core;
  ReceiveInfo rcv;
  Fixture() {
    rcv.proto = Proto::TLS;
    rcv.src = *SockAddr::fromString("127.0.0.1:40000");
    core.methods.push_back({"echo", "Returns its parameters.",
                            [](const std::vector<RpcValue>& p) -> RpcValue { return RpcArray(p.begin(), p.end()); }});
    core.methods.push_back({"boom", "Fails.", [](const std::vector<RpcValue>&) -> RpcValue {
                              throw RpcFault(kRpcInvalidParams, "boom needs nothing");
                            }});
    core.methods.push_back({"oops", "Throws.", [](const std::vector<RpcValue>&) -> RpcValue {
                              throw std::runtime_error("bad thing");
                            }});
  }
};

}  // namespace

TEST_CASE("handleCall: result, unknown method, faults, parse errors") {
  Fixture f;
  xmlrpc::CallOutcome out;
  std::string doc = xmlrpc::handleCall(xmlrpc::call("echo", {RpcValue(7), RpcValue("x")}), f.core.methods, out);
  CHECK(out.faultCode == 0);
  CHECK(out.method == "echo");
  CHECK(contains(doc, "<params><param><value><array><data><value><int>7</int></value>"));

  doc = xmlrpc::handleCall(xmlrpc::call("nope", {}), f.core.methods, out);
  CHECK(out.faultCode == kRpcMethodNotFound);
  CHECK(contains(doc, "<int>-32601</int>"));
  CHECK(contains(doc, "method not found: nope"));

  xmlrpc::handleCall(xmlrpc::call("boom", {}), f.core.methods, out);
  CHECK(out.faultCode == kRpcInvalidParams);
  CHECK(out.faultText == "boom needs nothing");

  xmlrpc::handleCall(xmlrpc::call("oops", {}), f.core.methods, out);
  CHECK(out.faultCode == kRpcInternalError);
  CHECK(out.faultText == "oops: internal error: bad thing");

  doc = xmlrpc::handleCall("<methodCall><methodName>echo</methodName><params><param>", f.core.methods, out);
  CHECK(out.faultCode == kRpcParseError);
  CHECK(contains(doc, "<int>-32700</int>"));
  CHECK(contains(out.faultText, "parse error: line 1, column"));

  xmlrpc::handleCall("", f.core.methods, out);
  CHECK(out.faultCode == kRpcParseError);
  CHECK(contains(out.faultText, "empty request body"));
}

TEST_CASE("dispatch_rpc answers over HTTP/1.1 and keeps the connection") {
  Fixture f;
  std::string body = xmlrpc::call("echo", {RpcValue("hi")});
  SipMsg msg = httpRequest("POST", "HTTP/1.1", body, {{"Content-Type", "text/xml"}});
  ScriptContext ctx(msg, f.rcv, f.core);
  CHECK(func("dispatch_rpc").handler(ctx, {}, nullptr) == 1);
  REQUIRE(f.core.sent.size() == 1);
  const std::string& resp = f.core.sent[0];
  CHECK(resp.rfind("HTTP/1.1 200 OK\r\n", 0) == 0);
  CHECK(contains(resp, "Content-Type: text/xml; charset=utf-8\r\n"));
  CHECK(contains(resp, "Content-Length: " + std::to_string(bodyOf(resp).size()) + "\r\n"));
  CHECK_FALSE(contains(resp, "Connection:"));
  CHECK(contains(bodyOf(resp), "<string>hi</string>"));
  CHECK(ctx.replied);
  CHECK_FALSE(f.core.closed);
}

TEST_CASE("dispatch_rpc honours Connection: close and logs faults with the peer") {
  Fixture f;
  SipMsg msg = httpRequest("POST", "HTTP/1.1", "<methodCall><methodName>", {{"Connection", "close"}});
  ScriptContext ctx(msg, f.rcv, f.core);
  CHECK(func("dispatch_rpc").handler(ctx, {}, nullptr) == 1);
  REQUIRE(f.core.sent.size() == 1);
  CHECK(contains(f.core.sent[0], "Connection: close\r\n"));
  CHECK(contains(f.core.sent[0], "<int>-32700</int>"));
  CHECK(f.core.closed);
  REQUIRE_FALSE(f.core.logs.empty());
  CHECK(contains(f.core.logs.back().second, "fault -32700 for TLS:127.0.0.1:40000"));
}

TEST_CASE("dispatch_rpc refuses non-HTTP messages and reports send failures") {
  Fixture f;
  SipMsg sip;
  sip.kind = SipMsg::Kind::Request;
  sip.method = "MESSAGE";
  ScriptContext ctx(sip, f.rcv, f.core);
  CHECK(func("dispatch_rpc").handler(ctx, {}, nullptr) == -1);
  CHECK(f.core.sent.empty());

  std::string body = xmlrpc::call("echo", {});
  SipMsg msg = httpRequest("POST", "HTTP/1.1", body);
  ScriptContext ctx2(msg, f.rcv, f.core);
  f.core.failSend = true;
  CHECK(func("dispatch_rpc").handler(ctx2, {}, nullptr) == -1);
  CHECK_FALSE(ctx2.replied);
}

TEST_CASE("xmlrpc_reply(\"400\", reason): HTTP 200 with a fault 400") {
  Fixture f;
  const FunctionExport& fe = func("xmlrpc_reply");
  std::vector<FuncArg> args{str("400"), str("Access to core.kill denied")};
  std::shared_ptr<void> fixed;
  REQUIRE(fe.fixup(args, fixed).ok());
  CHECK(args[0].kind == FuncArg::Kind::Int);
  SipMsg msg = httpRequest("GET", "HTTP/1.0", "");
  ScriptContext ctx(msg, f.rcv, f.core);
  CHECK(fe.handler(ctx, args, fixed.get()) == 1);
  REQUIRE(f.core.sent.size() == 1);
  CHECK(f.core.sent[0].rfind("HTTP/1.1 200 OK\r\n", 0) == 0);
  CHECK(bodyOf(f.core.sent[0]) == xmlrpc::fault(400, "Access to core.kill denied"));
  CHECK(contains(f.core.sent[0], "Connection: close\r\n"));  // HTTP/1.0 without keep-alive
  CHECK(f.core.closed);
  REQUIRE_FALSE(f.core.logs.empty());
  CHECK(f.core.logs.back() ==
        std::make_pair(int(kLogNotice), std::string("xmlrpc_reply 400 to TLS:127.0.0.1:40000: Access to core.kill denied")));

  std::vector<FuncArg> bad{str("4x0"), str("r")};
  CHECK(errorText(fe.fixup(bad, fixed)) == "xmlrpc_reply: fault code \"4x0\" is not an integer");
}

TEST_CASE("@xmlrpc.method") {
  Fixture f;
  const SelectExport& sel = sipsd_module_exports()->selects.at(0);
  CHECK(sel.root == "xmlrpc");
  auto resolved = sel.resolve({{"xmlrpc", -1}, {"method", -1}});
  REQUIRE(resolved.ok());
  SelectFn fn = *resolved;
  REQUIRE(fn);
  std::string body = xmlrpc::call("core.kill", {});
  SipMsg msg = httpRequest("POST", "HTTP/1.1", body);
  ScriptContext ctx(msg, f.rcv, f.core);
  Value v = fn(ctx);
  CHECK(v.str() == "core.kill");

  SipMsg empty = httpRequest("GET", "HTTP/1.1", "");
  ScriptContext ctx2(empty, f.rcv, f.core);
  CHECK(fn(ctx2).isNull());

  CHECK(errorText(sel.resolve({{"xmlrpc", -1}, {"params", 2}})) ==
        "unknown select @xmlrpc.params[2] (the xmlrpc module provides @xmlrpc.method)");
  CHECK(errorText(sel.resolve({{"xmlrpc", -1}})) != "");
}

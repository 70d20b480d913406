// The sl module loaded with dlopen: exports, load-time fixups, and the replies it sends.
#define DOCTEST_CONFIG_IMPLEMENT_WITH_MAIN
#include <dlfcn.h>
#include <doctest/doctest.h>

#include <string>
#include <vector>

#include "core/module_api.h"
#include "core/parser/msg_parser.h"
#include "core/proxy/reply_builder.h"
#include "core/proxy/via_builder.h"
#include "tests/unit/error_text.h"

using namespace sipsd;

namespace {

class RecordingCore : public CoreApi {
 public:
  std::vector<std::string> sent;
  std::vector<std::string> logs;
  int closed = 0;
  bool sendOk = true;

  void log(int, std::string_view, std::string_view text) override { logs.emplace_back(text); }
  int logLevel() const override { return kLogDebug; }
  int workerCount() const override { return 1; }
  const std::string& configDir() const override { return dir_; }
  void addTimer(std::chrono::milliseconds, std::function<void()>) override {}
  bool sendReply(ScriptContext&, std::string_view data) override {
    sent.emplace_back(data);
    return sendOk;
  }
  void closeConnection(ScriptContext&) override { ++closed; }
  const std::vector<RpcMethod>& rpcMethods() const override { return rpcs_; }
  void requestShutdown() override {}

 private:
  std::string dir_;
  std::vector<RpcMethod> rpcs_;
};

struct Module {
  void* handle = nullptr;
  const ModuleExports* exports = nullptr;
  Module() {
    handle = dlopen(SL_MODULE_PATH, RTLD_NOW | RTLD_LOCAL);
    if (!handle) {
      const char* why = dlerror();
      FAIL("dlopen " SL_MODULE_PATH ": " << std::string(why ? why : "unknown error"));
    }
    auto entry = reinterpret_cast<SipsdModuleEntry>(dlsym(handle, "sipsd_module_exports"));
    bool found = entry != nullptr;
    REQUIRE_MESSAGE(found, "no sipsd_module_exports");
    exports = entry();
  }
  ~Module() {
    if (handle) dlclose(handle);
  }
  const FunctionExport& fn(const std::string& name) const {
    for (const auto& f : exports->functions)
      if (f.name == name) return f;
    FAIL("no function " << name);
    return exports->functions.front();
  }
};

FuncArg strArg(std::string s) {
  FuncArg a;
  a.kind = FuncArg::Kind::Str;
  a.str = std::move(s);
  return a;
}

FuncArg intArg(int64_t n) {
  FuncArg a;
  a.kind = FuncArg::Kind::Int;
  a.num = n;
  return a;
}

// Fixes up and calls `name` on `text`; returns the handler result.
struct Call {
  std::string text;
  SipMsg msg;
  ReceiveInfo rcv;
  RecordingCore core;
  ScriptContext ctx{msg, rcv, core};
  explicit Call(std::string t) : text(std::move(t)) {
    std::string err;
    REQUIRE_MESSAGE(parseMessage(text, msg, err), err);
    rcv.proto = Proto::TCP;
    rcv.src = *SockAddr::fromString("192.0.2.44:5099");
    rcv.dst = *SockAddr::fromString("127.0.0.1:5060");
  }
  int run(const FunctionExport& f, std::vector<FuncArg> args) {
    std::shared_ptr<void> fixed;
    std::string err = errorText(f.fixup(args, fixed));
    REQUIRE_MESSAGE(err.empty(), err);
    return f.handler(ctx, args, fixed.get());
  }
};

const char* const kRegister =
    "REGISTER sip:registrar.example.com SIP/2.0\r\n"
    "Via: SIP/2.0/TCP 10.0.0.5:5060;branch=z9hG4bKreg;rport\r\n"
    "From: <sip:u@example.com>;tag=a1\r\nTo: <sip:u@example.com>\r\nCall-ID: r1\r\nCSeq: 3 REGISTER\r\n"
    "Content-Length: 0\r\n\r\n";

}  // namespace

TEST_CASE("module exports sl_reply and sl_send_reply") {
  Module m;
  CHECK(m.exports->abiVersion == kModuleAbiVersion);
  CHECK(m.exports->name == "sl");
  for (const char* n : {"sl_reply", "sl_send_reply"}) {
    const FunctionExport& f = m.fn(n);
    CHECK(f.minArgs == 2);
    CHECK(f.maxArgs == 2);
    CHECK(f.routes == unsigned(kRequestRoute));
  }
}

TEST_CASE("fixup validates the code at load") {
  Module m;
  const FunctionExport& f = m.fn("sl_reply");
  std::shared_ptr<void> fixed;
  std::vector<FuncArg> args{strArg("404"), strArg("Not Found")};
  CHECK(f.fixup(args, fixed).ok());
  CHECK(args[0].kind == FuncArg::Kind::Int);
  CHECK(args[0].num == 404);
  args = {strArg("99"), strArg("x")};
  CHECK(errorText(f.fixup(args, fixed)) == "sl_reply: reply code 99 is outside 100..699");
  args = {intArg(700), strArg("x")};
  CHECK(errorText(f.fixup(args, fixed)) == "sl_reply: reply code 700 is outside 100..699");
  args = {strArg("4o4"), strArg("x")};
  CHECK(errorText(f.fixup(args, fixed)) == "sl_reply: reply code \"4o4\" is not an integer");
  args = {intArg(200), strArg("O\r\nK")};
  CHECK(errorText(m.fn("sl_send_reply").fixup(args, fixed)) == "sl_send_reply: reason phrase must not contain a line break");
}

TEST_CASE("SIP request gets a stateless SIP reply") {
  Module m;
  Call c(kRegister);
  CHECK(c.run(m.fn("sl_send_reply"), {strArg("401"), strArg("Unauthorized")}) == 1);
  CHECK(c.ctx.replied);
  REQUIRE(c.core.sent.size() == 1);
  SipMsg rep;
  std::string err;
  REQUIRE(parseMessage(c.core.sent[0], rep, err));
  CHECK(rep.status == 401);
  CHECK(rep.reason == "Unauthorized");
  CHECK(rep.headers[0].value == "SIP/2.0/TCP 10.0.0.5:5060;branch=z9hG4bKreg;rport=5099;received=192.0.2.44");
  CHECK(findHeader(rep, HdrType::To)->value == "<sip:u@example.com>;tag=" + makeToTag(c.msg));
  CHECK(c.core.closed == 0);
}

TEST_CASE("code from a select is checked per message; ACK and replies are not answered") {
  Module m;
  Call c(kRegister);
  FuncArg sel;
  sel.kind = FuncArg::Kind::Select;
  sel.str = "@msg.X-Code";
  sel.select = [](ScriptContext&) { return Value::view("486"); };
  CHECK(c.run(m.fn("sl_reply"), {sel, strArg("Busy")}) == 1);
  CHECK(c.core.sent.at(0).rfind("SIP/2.0 486 Busy\r\n", 0) == 0);
  sel.select = [](ScriptContext&) { return Value::view("1000"); };
  CHECK(c.run(m.fn("sl_reply"), {sel, strArg("Busy")}) == -1);
  CHECK(c.core.sent.size() == 1);

  Call ack("ACK sip:x SIP/2.0\r\nVia: SIP/2.0/TCP h;branch=z9hG4bKa\r\n\r\n");
  CHECK(ack.run(m.fn("sl_reply"), {intArg(200), strArg("OK")}) == -1);
  CHECK(ack.core.sent.empty());

  Call rep("SIP/2.0 200 OK\r\nVia: SIP/2.0/TCP h;branch=z9hG4bKa\r\n\r\n");
  rep.ctx.route = RouteKind::OnReply;
  CHECK(rep.run(m.fn("sl_reply"), {intArg(200), strArg("OK")}) == -1);
  CHECK(rep.core.sent.empty());

  Call failing(kRegister);
  failing.core.sendOk = false;
  CHECK(failing.run(m.fn("sl_reply"), {intArg(200), strArg("OK")}) == -1);
  CHECK_FALSE(failing.ctx.replied);
}

TEST_CASE("a request without Via is answered with the create_via() Via") {
  Module m;
  Call c("OPTIONS sip:x SIP/2.0\r\nCall-ID: q\r\n\r\n");
  CHECK(c.run(m.fn("sl_reply"), {intArg(200), strArg("OK")}) == -1);
  CHECK(c.core.logs.back().find("request has no Via header") != std::string::npos);
  std::string via = "Via: " + createViaValue(c.msg, c.rcv) + "\r\n";
  c.ctx.viaToInsert = &via;
  CHECK(c.run(m.fn("sl_reply"), {intArg(200), strArg("OK")}) == 1);
  CHECK(c.core.sent.back().find("\r\n" + via) != std::string::npos);
}

TEST_CASE("HTTP request gets an HTTP response; Connection: close closes") {
  Module m;
  Call keep("GET /health HTTP/1.1\r\nHost: x\r\n\r\n");
  CHECK(keep.run(m.fn("sl_reply"), {intArg(404), strArg("Not Found")}) == 1);
  // The core's one HTTP writer: Date, Server with version, no Connection header on a 1.1 keep-alive.
  const std::string& sent = keep.core.sent.at(0);
  CHECK(sent.rfind("HTTP/1.1 404 Not Found\r\nDate: ", 0) == 0);
  CHECK(sent.find(" GMT\r\nServer: sipsd/") != std::string::npos);
  CHECK(sent.find("\r\nContent-Type: text/plain\r\nContent-Length: 14\r\n\r\n404 Not Found\n") != std::string::npos);
  CHECK(sent.find("Connection:") == std::string::npos);
  CHECK(keep.core.closed == 0);
  Call close("GET /health HTTP/1.1\r\nConnection: close\r\n\r\n");
  CHECK(close.run(m.fn("sl_reply"), {intArg(200), strArg("OK")}) == 1);
  CHECK(close.core.sent.at(0).find("Connection: close\r\n") != std::string::npos);
  CHECK(close.core.closed == 1);
}

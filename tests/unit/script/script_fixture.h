// Test fixture: a message, where it came from, a CoreApi that records log lines, a registry
// with recording test functions, and compile-and-run of a script text.
#pragma once
#include <doctest/doctest.h>

#include <memory>
#include <string>
#include <vector>

#include "cfg/checker.h"
#include "cfg/config_parser.h"
#include "core/script/core_functions.h"
#include "core/script/executor.h"

namespace sipsd::test {

class RecordingCore : public CoreApi {
 public:
  void log(int level, std::string_view, std::string_view text) override {
    lines.push_back(std::to_string(level) + " " + std::string(text));
  }
  int logLevel() const override { return level; }
  int workerCount() const override { return 1; }
  const std::string& configDir() const override { return dir_; }
  void addTimer(std::chrono::milliseconds, std::function<void()>) override {}
  bool sendReply(ScriptContext&, std::string_view) override { return true; }
  void closeConnection(ScriptContext&) override {}
  const std::vector<RpcMethod>& rpcMethods() const override { return rpcs_; }
  void requestShutdown() override {}

  std::vector<std::string> lines;
  int level = 4;

 private:
  std::string dir_ = ".";
  std::vector<RpcMethod> rpcs_;
};

struct Fixture {
  SipMsg msg;
  ReceiveInfo rcv;
  RecordingCore core;
  Registry registry;
  std::vector<std::string> calls;  // "name(arg,arg)" per call of a test function
  std::unique_ptr<cfg::CompiledScript> script;

  explicit Fixture(ProxyActions* proxy = nullptr) {
    msg.kind = SipMsg::Kind::Request;
    msg.method = "INVITE";
    msg.ruri = "sip:alice@example.com";
    msg.buf = "INVITE sip:alice@example.com SIP/2.0\r\n\r\n";
    rcv.proto = Proto::TLS;
    rcv.src = *SockAddr::fromIpPort("10.1.2.3", 40000);
    rcv.dst = *SockAddr::fromIpPort("127.0.0.1", 5061);
    script::registerCoreNames(registry, proxy);
    // t(ret, ...) records its call and returns `ret` (so 0 tests "stop the script").
    FunctionExport t;
    t.name = "t";
    t.minArgs = 1;
    t.maxArgs = 3;
    t.handler = [this](ScriptContext& ctx, const std::vector<FuncArg>& args, const void*) {
      std::string c = "t(";
      for (size_t i = 0; i < args.size(); ++i) c += (i ? "," : "") + args[i].eval(ctx).text();
      calls.push_back(c + ")");
      return int(args[0].eval(ctx).num());
    };
    registry.addFunction(t, "test");
    SelectExport sel;
    sel.root = "sel";
    sel.resolve = [](const std::vector<SelectPart>& parts) -> Result<SelectFn> {
      std::string what = parts.size() > 1 ? parts[1].name : "";
      if (what == "null") return SelectFn([](ScriptContext&) { return Value(); });
      if (what == "num") return SelectFn([](ScriptContext&) { return Value::view("5060"); });
      if (what == "ip") return SelectFn([](ScriptContext&) { return Value::owned("192.168.1.20"); });
      if (what == "empty") return SelectFn([](ScriptContext&) { return Value::view(""); });
      return fail("unknown");
    };
    registry.addSelect(sel, "test");
  }

  void compile(const std::string& text) {
    std::string src = text;
    cfg::Diagnostics diags;
    cfg::ErrorHandler h(src, "t.cfg", diags);
    auto config = cfg::parseConfig(h);
    script = cfg::Checker(registry, h).compile(config);
    REQUIRE_MESSAGE(!diags.hasErrors(), diags.format());
    REQUIRE(script);
  }

  // Runs the main route (or onreply route for replies); returns runRoute's result.
  int run(const std::string& text) {
    compile(text);
    calls.clear();
    ScriptContext ctx(msg, rcv, core);
    ctx.route = msg.isRequest() ? RouteKind::Request : RouteKind::OnReply;
    int idx = msg.isRequest() ? script::mainRoute(*script) : script::onReplyRoute(*script);
    int r = script::runRoute(*script, idx, ctx);
    dropped = ctx.dropped;
    edits = ctx.edits;
    return r;
  }
  bool dropped = false;
  MsgEdits edits;  // what the run recorded for the relay (append_hf, remove_hf, ...)
};

}  // namespace sipsd::test

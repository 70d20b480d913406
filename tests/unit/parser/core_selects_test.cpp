// Core selects: resolution at load (including rejected paths) and values at run time.
#include <doctest/doctest.h>

#include <map>
#include <string>

#include "core/parser/core_selects.h"
#include "core/parser/msg_parser.h"

using namespace sipsd;

namespace {

class NullCore : public CoreApi {
 public:
  void log(int, std::string_view, std::string_view) override {}
  int logLevel() const override { return 0; }
  int workerCount() const override { return 1; }
  const std::string& configDir() const override { return dir_; }
  void addTimer(std::chrono::milliseconds, std::function<void()>) override {}
  bool sendReply(ScriptContext&, std::string_view) override { return true; }
  void closeConnection(ScriptContext&) override {}
  const std::vector<RpcMethod>& rpcMethods() const override { return rpcs_; }
  void requestShutdown() override {}

 private:
  std::string dir_;
  std::vector<RpcMethod> rpcs_;
};

// Parses "@a.b[2].c" into parts the way the config language does.
std::vector<SelectPart> parts(std::string_view path) {
  std::vector<SelectPart> out;
  if (!path.empty() && path[0] == '@') path.remove_prefix(1);
  while (!path.empty()) {
    size_t dot = path.find('.');
    std::string_view seg = path.substr(0, dot);
    SelectPart p;
    size_t br = seg.find('[');
    if (br != std::string_view::npos) {
      p.index = std::stoi(std::string(seg.substr(br + 1, seg.size() - br - 2)));
      seg = seg.substr(0, br);
    }
    p.name = std::string(seg);
    out.push_back(p);
    path = dot == std::string_view::npos ? std::string_view() : path.substr(dot + 1);
  }
  return out;
}

struct Fixture {
  std::map<std::string, SelectExport> roots;
  SipMsg msg;
  ReceiveInfo rcv;
  NullCore core;
  ScriptContext ctx{msg, rcv, core};
  std::string text;

  Fixture() {
    for (auto& s : coreSelectExports()) roots[s.root] = s;
    rcv.proto = Proto::TLS;
    rcv.src = *SockAddr::fromString("192.0.2.7:40001");
    rcv.dst = *SockAddr::fromString("[::1]:5061");
  }
  void load(std::string t) {
    text = std::move(t);
    std::string err;
    REQUIRE_MESSAGE(parseMessage(text, msg, err), err);
  }
  // Resolves a path; returns the error text (empty on success).
  std::string resolve(std::string_view path, SelectFn& fn) {
    auto p = parts(path);
    auto it = roots.find(p[0].name);
    if (it == roots.end()) return "no root";
    auto resolved = it->second.resolve(p);
    if (!resolved) return resolved.error();
    fn = *resolved;
    return {};
  }
  Value eval(std::string_view path) {
    SelectFn fn;
    std::string err = resolve(path, fn);
    REQUIRE_MESSAGE(err.empty(), path, ": ", err);
    return fn(ctx);
  }
  std::string str(std::string_view path) {
    Value v = eval(path);
    REQUIRE_MESSAGE(v.isStr(), path);
    return std::string(v.str());
  }
};

const char* const kRequest =
    "INVITE sip:bob:pw@biloxi.example.com:5070;transport=tls;lr SIP/2.0\r\n"
    "Via: SIP/2.0/TLS [2001:db8::9]:5061;branch=z9hG4bKtop;rport, SIP/2.0/UDP second.example.com;branch=z9hG4bK2\r\n"
    "v: SIP/2.0/TCP third:5080;branch=z9hG4bK3;received=10.1.1.1;x=y\r\n"
    "Max-Forwards: 70\r\n"
    "To: Bob <sip:bob@biloxi.example.com>\r\n"
    "f: \"Alice\" <sip:alice@atlanta.example.com:5090;user=phone>;tag=9fxced76sl\r\n"
    "Call-ID: 3848276298220188511@atlanta.example.com\r\n"
    "CSeq: 2 INVITE\r\n"
    "Contact: <sip:alice@pc1>;expires=30, <sip:alice@pc2;transport=tls>;q=0.7\r\n"
    "User-Agent: test agent\r\n"
    "X-Custom: one\r\n"
    "X-Custom: two\r\n"
    "Content-Length: 0\r\n\r\n";

}  // namespace

TEST_CASE("request URI selects") {
  Fixture f;
  f.load(kRequest);
  CHECK(f.str("@ruri") == "sip:bob:pw@biloxi.example.com:5070;transport=tls;lr");
  CHECK(f.str("@ruri.user") == "bob");
  CHECK(f.str("@ruri.host") == "biloxi.example.com");
  CHECK(f.eval("@ruri.port").num() == 5070);
  CHECK(f.str("@ruri.params") == ";transport=tls;lr");
  CHECK(f.str("@ruri.params.transport") == "tls");
  CHECK(f.str("@ruri.params.lr") == "");
  CHECK(f.eval("@ruri.params.maddr").isNull());
}

TEST_CASE("From/To selects") {
  Fixture f;
  f.load(kRequest);
  CHECK(f.str("@from") == "\"Alice\" <sip:alice@atlanta.example.com:5090;user=phone>;tag=9fxced76sl");
  CHECK(f.str("@from.uri") == "sip:alice@atlanta.example.com:5090;user=phone");
  CHECK(f.str("@from.tag") == "9fxced76sl");
  CHECK(f.str("@from.name") == "Alice");
  CHECK(f.str("@from.uri.user") == "alice");
  CHECK(f.str("@from.uri.host") == "atlanta.example.com");
  CHECK(f.eval("@from.uri.port").num() == 5090);
  CHECK(f.str("@from.uri.params.user") == "phone");
  CHECK(f.str("@to.uri") == "sip:bob@biloxi.example.com");
  CHECK(f.eval("@to.tag").isNull());
  CHECK(f.str("@to.name") == "Bob");
  CHECK(f.eval("@to.uri.port").isNull());
}

TEST_CASE("Contact selects: [N] is 1-based and counts across values") {
  Fixture f;
  f.load(kRequest);
  CHECK(f.str("@contact") == "<sip:alice@pc1>;expires=30");
  CHECK(f.str("@contact[1].uri") == "sip:alice@pc1");
  CHECK(f.str("@contact[2].uri.params.transport") == "tls");
  CHECK(f.str("@contact[2].q") == "0.7");
  CHECK(f.str("@contact.expires") == "30");
  CHECK(f.str("@contact[1].params.expires") == "30");
  CHECK(f.eval("@contact[3].uri").isNull());
}

TEST_CASE("Via selects: [N] counts across Via headers") {
  Fixture f;
  f.load(kRequest);
  CHECK(f.str("@via") == "SIP/2.0/TLS [2001:db8::9]:5061;branch=z9hG4bKtop;rport");
  CHECK(f.str("@via.host") == "[2001:db8::9]");
  CHECK(f.eval("@via[1].port").num() == 5061);
  CHECK(f.str("@via[1].branch") == "z9hG4bKtop");
  CHECK(f.str("@via[1].transport") == "TLS");
  CHECK(f.str("@via[1].params.rport") == "");
  CHECK(f.str("@via[2].host") == "second.example.com");
  CHECK(f.eval("@via[2].port").isNull());
  CHECK(f.str("@via[3].transport") == "TCP");
  CHECK(f.str("@via[3].received") == "10.1.1.1");
  CHECK(f.str("@via[3].params.x") == "y");
  CHECK(f.eval("@via[4].host").isNull());
}

TEST_CASE("Call-ID, CSeq, @msg.HEADER, src/dst") {
  Fixture f;
  f.load(kRequest);
  CHECK(f.str("@call_id") == "3848276298220188511@atlanta.example.com");
  CHECK(f.str("@cseq") == "2 INVITE");
  CHECK(f.eval("@cseq.num").num() == 2);
  CHECK(f.str("@cseq.method") == "INVITE");
  CHECK(f.str("@msg.user-agent") == "test agent");
  CHECK(f.str("@msg.User_Agent") == "test agent");
  CHECK(f.str("@msg.X-CUSTOM") == "one");
  CHECK(f.str("@msg.X-Custom[2]") == "two");
  CHECK(f.str("@msg.f") == f.str("@msg.From"));
  CHECK(f.str("@msg.via") == f.str("@msg.v"));
  CHECK(f.str("@msg.i") == "3848276298220188511@atlanta.example.com");
  CHECK(f.eval("@msg.X-Absent").isNull());
  CHECK(f.str("@msg") == kRequest);
  CHECK(f.str("@src.ip") == "192.0.2.7");
  CHECK(f.eval("@src.port").num() == 40001);
  CHECK(f.str("@src") == "192.0.2.7:40001");
  CHECK(f.str("@dst.ip") == "::1");
  CHECK(f.eval("@dst.port").num() == 5061);
  CHECK(f.eval("@http.path").isNull());
  CHECK(f.eval("@http.query").isNull());
}

TEST_CASE("selects on a reply and on an HTTP request") {
  Fixture f;
  f.load("SIP/2.0 200 OK\r\nVia: SIP/2.0/UDP a;branch=z9hG4bK1\r\nFrom: <sip:a@b>;tag=x\r\nTo: <sip:c@d>;tag=y\r\n\r\n");
  CHECK(f.eval("@ruri").isNull());
  CHECK(f.eval("@ruri.user").isNull());
  CHECK(f.str("@to.tag") == "y");
  CHECK(f.eval("@call_id").isNull());
  CHECK(f.eval("@cseq.num").isNull());

  Fixture h;
  h.load("POST /RPC2/sub?a=1&b=2 HTTP/1.1\r\nHost: x\r\nContent-Length: 0\r\n\r\n");
  CHECK(h.str("@http.path") == "/RPC2/sub");
  CHECK(h.str("@http.query") == "a=1&b=2");
  CHECK(h.str("@msg.host") == "x");
  CHECK(h.eval("@ruri").isNull());
  h.load("GET http://example.com:8080/health HTTP/1.1\r\n\r\n");
  CHECK(h.str("@http.path") == "/health");
  CHECK(h.str("@http.query") == "");
  h.load("GET http://example.com HTTP/1.1\r\n\r\n");
  CHECK(h.str("@http.path") == "/");
}

TEST_CASE("unknown or malformed select paths are rejected at load, naming the path") {
  Fixture f;
  SelectFn fn;
  CHECK(f.resolve("@ruri.foo", fn) == "unknown select '@ruri.foo': 'foo' is not valid here");
  CHECK(f.resolve("@ruri.user.x", fn) == "unknown select '@ruri.user.x': 'x' is not valid here");
  CHECK(f.resolve("@ruri[2]", fn) == "select '@ruri[2]': 'ruri' does not take an index");
  CHECK(f.resolve("@from.bogus", fn).find("'@from.bogus'") != std::string::npos);
  CHECK(f.resolve("@from.uri.params.a.b", fn).find("'b' is not valid") != std::string::npos);
  CHECK(f.resolve("@to.tag.x", fn).find("unknown select") != std::string::npos);
  CHECK(f.resolve("@contact[0].uri", fn) == "select '@contact[0].uri': index must be 1 or more");
  CHECK(f.resolve("@contact.uri[2]", fn).find("does not take an index") != std::string::npos);
  CHECK(f.resolve("@via[1].nope", fn).find("'nope'") != std::string::npos);
  CHECK(f.resolve("@via.host.x", fn).find("unknown select") != std::string::npos);
  CHECK(f.resolve("@cseq.foo", fn).find("unknown select") != std::string::npos);
  CHECK(f.resolve("@call_id.x", fn).find("unknown select") != std::string::npos);
  CHECK(f.resolve("@msg.a.b", fn).find("unknown select") != std::string::npos);
  CHECK(f.resolve("@src.mac", fn).find("'mac'") != std::string::npos);
  CHECK(f.resolve("@http", fn).find("needs") != std::string::npos);
  CHECK(f.resolve("@http.fragment", fn).find("unknown select") != std::string::npos);
  CHECK(f.resolve("@via.params", fn).empty());
  CHECK(f.resolve("@ruri.params.transport", fn).empty());
}

TEST_CASE("selects on malformed headers yield null, never an error") {
  Fixture f;
  f.load("OPTIONS sip:x@y SIP/2.0\r\nVia: junk\r\nFrom: <broken\r\nCSeq: x\r\nContact: *\r\n\r\n");
  CHECK(f.eval("@via.host").isNull());
  CHECK(f.eval("@from.tag").isNull());
  CHECK(f.eval("@cseq.num").isNull());
  CHECK(f.eval("@contact.uri").isNull());
  CHECK(f.str("@cseq") == "x");
}

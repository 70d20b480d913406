// A streamed XML-RPC answer (ReplyStreamer) on a fake core that plays the worker: turns run only
// when the test lets the "client" drain, chunks stay within the send queue's room, the chunks
// make the same document as the answer built at once, and an answer that cannot be finished is
// cut off by closing the connection (never a complete-looking document).
#include <doctest/doctest.h>

#include <deque>
#include <functional>

#include "fake_core.h"
#include "modules/xmlrpc/reply_streamer.h"
#include "modules/xmlrpc/xmlrpc_dispatch.h"
#include "modules/xmlrpc/xmlrpc_writer.h"

extern "C" const sipsd::ModuleExports* sipsd_module_exports();

using namespace sipsd;
using sipsd::test::FakeCore;
using sipsd::test::httpRequest;

namespace {

bool contains(std::string_view s, std::string_view part) { return s.find(part) != std::string_view::npos; }

// A worker's view of one connection: whenDrained keeps the turn until the test runs it.
class StreamCore : public FakeCore {
 public:
  int currentWorker() const override { return 0; }
  bool whenDrained(uint64_t connId, std::function<void(size_t)> fn) override {
    if (connId != conn || gone) return false;
    pending.push_back(std::move(fn));
    return true;
  }
  bool sendOnConnection(uint64_t connId, std::string data) override {
    if (connId != conn || gone) return false;
    chunks.push_back(std::move(data));
    return true;
  }
  bool closeConnectionById(uint64_t connId) override {
    closedIds.push_back(connId);
    return true;
  }
  // Runs the waiting turns (each may schedule the next) with `room` bytes free; returns how many ran.
  int drain(size_t room, int max = 1000000) {
    int n = 0;
    while (!pending.empty() && n < max) {
      auto fn = std::move(pending.front());
      pending.pop_front();
      fn(room);
      ++n;
    }
    return n;
  }

  uint64_t conn = 77;
  bool gone = false;
  std::deque<std::function<void(size_t)>> pending;
  std::vector<std::string> chunks;
  std::vector<uint64_t> closedIds;
};

// n elements, k per step, each a struct with a ~100-byte string.
class Numbers : public RpcStream {
 public:
  Numbers(int n, int k, int failAt = -1) : n_(n), k_(k), failAt_(failAt) {}
  RpcStruct head() override { return {{"kind", RpcValue("numbers")}}; }
  std::string arrayName() const override { return "items"; }
  bool step(RpcArray& out) override {
    for (int j = 0; j < k_ && i_ < n_; ++j, ++i_) {
      if (i_ == failAt_) throw std::runtime_error("broken at " + std::to_string(i_));
      RpcStruct s;
      s.emplace_back("i", int64_t(i_));
      s.emplace_back("pad", std::string(100, 'x') + "<&>");
      out.emplace_back(std::move(s));
    }
    return i_ < n_;
  }
  RpcStruct tail() override { return {{"count", RpcValue(int64_t(i_))}}; }

 private:
  int n_, k_, failAt_, i_ = 0;
};

std::string dechunk(const std::vector<std::string>& chunks, bool& complete) {
  std::string wire;
  for (const auto& c : chunks) wire += c;
  std::string out;
  complete = false;
  size_t p = 0;
  while (p < wire.size()) {
    size_t eol = wire.find("\r\n", p);
    REQUIRE(eol != std::string::npos);
    size_t size = std::stoul(wire.substr(p, eol - p), nullptr, 16);
    if (size == 0) {
      complete = wire.compare(eol, 4, "\r\n\r\n") == 0 && eol + 4 == wire.size();
      break;
    }
    out += wire.substr(eol + 2, size);
    REQUIRE(wire.compare(eol + 2 + size, 2, "\r\n") == 0);
    p = eol + 4 + size;
  }
  return out;
}

struct Fixture {
  StreamCore core;
  ReceiveInfo rcv;
  Fixture() {
    rcv.proto = Proto::TCP;
    rcv.src = *SockAddr::fromString("127.0.0.1:40000");
    rcv.connId = core.conn;
  }
};

}  // namespace

TEST_CASE("ReplyStreamer: chunked answer, written only as the client drains, equal to the whole answer") {
  Fixture f;
  std::string body = xmlrpc::call("x", {});
  SipMsg msg = httpRequest("POST", "HTTP/1.1", body);
  ScriptContext ctx(msg, f.rcv, f.core);
  std::unique_ptr<RpcStream> s = std::make_unique<Numbers>(2000, 10);
  REQUIRE(xmlrpc::ReplyStreamer::start(ctx, s, "x"));
  CHECK(s == nullptr);
  CHECK(ctx.replied);
  CHECK(xmlrpc::ReplyStreamer::active(f.core.conn));
  // The head went at once, without a length; nothing else until the loop runs a turn.
  REQUIRE(f.core.sent.size() == 1);
  CHECK(f.core.sent[0].rfind("HTTP/1.1 200 OK\r\n", 0) == 0);
  CHECK(contains(f.core.sent[0], "Transfer-Encoding: chunked\r\n"));
  CHECK_FALSE(contains(f.core.sent[0], "Content-Length"));
  CHECK(f.core.chunks.empty());
  // One turn per drain: the client controls the pace.
  CHECK(f.core.drain(1 << 20, 1) == 1);
  CHECK(f.core.chunks.size() == 1);
  CHECK(f.core.pending.size() == 1);
  const size_t room = 16384;
  int turns = f.core.drain(room);
  CHECK(turns > 10);
  for (size_t i = 1; i < f.core.chunks.size(); ++i)  // half the room, plus one element (~260 bytes) at most
    CHECK(f.core.chunks[i].size() <= room / 2 + 300);
  bool complete = false;
  std::string doc = dechunk(f.core.chunks, complete);
  CHECK(complete);
  Numbers again(2000, 10);
  CHECK(doc == xmlrpc::response(drainRpcStream(again)));
  CHECK(f.core.closedIds.empty());  // keep-alive
  CHECK_FALSE(xmlrpc::ReplyStreamer::active(f.core.conn));
}

TEST_CASE("ReplyStreamer: HTTP/1.0 gets the body ended by the connection; Connection: close closes after it") {
  Fixture f;
  std::string body = xmlrpc::call("x", {});
  SipMsg msg = httpRequest("POST", "HTTP/1.0", body);
  ScriptContext ctx(msg, f.rcv, f.core);
  std::unique_ptr<RpcStream> s = std::make_unique<Numbers>(100, 10);
  REQUIRE(xmlrpc::ReplyStreamer::start(ctx, s, "x"));
  CHECK(contains(f.core.sent[0], "Connection: close\r\n"));
  CHECK_FALSE(contains(f.core.sent[0], "chunked"));
  f.core.drain(1 << 20);
  std::string doc;
  for (const auto& c : f.core.chunks) doc += c;
  Numbers again(100, 10);
  CHECK(doc == xmlrpc::response(drainRpcStream(again)));
  CHECK(f.core.closedIds == std::vector<uint64_t>{f.core.conn});

  Fixture g;
  SipMsg msg2 = httpRequest("POST", "HTTP/1.1", body, {{"Connection", "close"}});
  ScriptContext ctx2(msg2, g.rcv, g.core);
  s = std::make_unique<Numbers>(100, 10);
  REQUIRE(xmlrpc::ReplyStreamer::start(ctx2, s, "x"));
  g.core.drain(1 << 20);
  bool complete = false;
  dechunk(g.core.chunks, complete);
  CHECK(complete);
  CHECK(g.core.closedIds == std::vector<uint64_t>{g.core.conn});
}

TEST_CASE("ReplyStreamer: a stream that fails midway or a client that left: cut off, logged, connection closed") {
  Fixture f;
  std::string body = xmlrpc::call("x", {});
  SipMsg msg = httpRequest("POST", "HTTP/1.1", body);
  ScriptContext ctx(msg, f.rcv, f.core);
  std::unique_ptr<RpcStream> s = std::make_unique<Numbers>(1000, 10, 500);
  REQUIRE(xmlrpc::ReplyStreamer::start(ctx, s, "x"));
  f.core.drain(8192);
  bool complete = true;
  dechunk(f.core.chunks, complete);
  CHECK_FALSE(complete);  // no last chunk: the client sees an incomplete body
  CHECK(f.core.closedIds == std::vector<uint64_t>{f.core.conn});
  bool logged = false;
  for (const auto& [level, text] : f.core.logs)
    logged |= level == kLogErr && contains(text, "broken at 500") && contains(text, "abandoned");
  CHECK(logged);
  CHECK_FALSE(xmlrpc::ReplyStreamer::active(f.core.conn));

  Fixture g;
  ScriptContext ctx2(msg, g.rcv, g.core);
  s = std::make_unique<Numbers>(1000, 10);
  REQUIRE(xmlrpc::ReplyStreamer::start(ctx2, s, "x"));
  g.core.drain(8192, 3);
  g.core.gone = true;  // the connection closed: the next turn's send fails
  g.core.drain(8192);
  CHECK(g.core.pending.empty());
  dechunk(g.core.chunks, complete);
  CHECK_FALSE(complete);
}

TEST_CASE("dispatch_rpc streams a method's stream form; without a worker connection it answers at once") {
  Fixture f;
  f.core.methods.push_back({"big", "A streamed answer.", [](const std::vector<RpcValue>&) -> RpcValue {
                              Numbers n(300, 7);
                              return drainRpcStream(n);
                            }});
  f.core.methods.back().stream = [](const std::vector<RpcValue>&) -> std::unique_ptr<RpcStream> {
    return std::make_unique<Numbers>(300, 7);
  };
  const FunctionExport* dispatch = nullptr;
  for (const FunctionExport& fe : sipsd_module_exports()->functions)
    if (fe.name == "dispatch_rpc") dispatch = &fe;
  REQUIRE(dispatch);
  std::string body = xmlrpc::call("big", {});
  SipMsg msg = httpRequest("POST", "HTTP/1.1", body);
  {
    ScriptContext ctx(msg, f.rcv, f.core);
    CHECK(dispatch->handler(ctx, {}, nullptr) == 1);
    CHECK(contains(f.core.sent.back(), "Transfer-Encoding: chunked"));
    // A second request on the same connection while the answer is being written would
    // interleave with it: the connection is closed instead.
    ScriptContext again(msg, f.rcv, f.core);
    CHECK(dispatch->handler(again, {}, nullptr) == -1);
    CHECK(f.core.closed);
    f.core.drain(1 << 20);
    bool complete = false;
    std::string doc = dechunk(f.core.chunks, complete);
    CHECK(complete);
    Numbers n(300, 7);
    CHECK(doc == xmlrpc::response(drainRpcStream(n)));
  }
  // No TCP/TLS connection of a worker (connId 0): one answer with a Content-Length.
  Fixture g;
  g.core.methods = f.core.methods;
  g.rcv.connId = 0;
  ScriptContext ctx(msg, g.rcv, g.core);
  CHECK(dispatch->handler(ctx, {}, nullptr) == 1);
  REQUIRE(g.core.sent.size() == 1);
  CHECK(contains(g.core.sent[0], "Content-Length: "));
  Numbers n(300, 7);
  CHECK(contains(g.core.sent[0], xmlrpc::response(drainRpcStream(n))));
}

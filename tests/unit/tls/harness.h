// Shared test plumbing: a CoreApi stand-in, a module configured from modparams, and a pump
// that moves wire bytes between a client and a server session in memory.
#pragma once
#include <string>
#include <vector>

#include "core/module_api.h"
#include "core/net/sock_addr.h"
#include "tls/tls_module.h"

namespace sipsd::tls::test {

class FakeCore : public CoreApi {
 public:
  void log(int, std::string_view, std::string_view) override {}
  int logLevel() const override { return 2; }
  int workerCount() const override { return 1; }
  const std::string& configDir() const override { return dir_; }
  void addTimer(std::chrono::milliseconds, std::function<void()> fn) override { timers.push_back(std::move(fn)); }
  bool sendReply(ScriptContext&, std::string_view) override { return true; }
  void closeConnection(ScriptContext&) override {}
  const std::vector<RpcMethod>& rpcMethods() const override { return rpcs_; }
  void requestShutdown() override {}
  std::vector<std::function<void()>> timers;

 private:
  std::string dir_ = ".";
  std::vector<RpcMethod> rpcs_;
};

inline ParamValue pv(const std::string& s, const std::string& file = "test.cfg", int line = 1) {
  ParamValue v;
  v.str = s;
  v.loc = SourceLoc{file, line, 1};
  return v;
}
inline ParamValue pvi(int64_t n, const std::string& file = "test.cfg", int line = 1) {
  ParamValue v;
  v.isInt = true;
  v.num = n;
  v.loc = SourceLoc{file, line, 1};
  return v;
}

inline SockAddr addr(const std::string& s) { return *SockAddr::fromString(s); }

inline ConnEndpoints serverEp(const std::string& local = "127.0.0.1:5061", const std::string& remote = "127.0.0.9:40000",
                              uint64_t id = 1) {
  ConnEndpoints ep;
  ep.connId = id;
  ep.local = addr(local);
  ep.remote = addr(remote);
  return ep;
}
inline ConnEndpoints clientEp(const std::string& remote = "127.0.0.1:5061", uint64_t id = 2) {
  ConnEndpoints ep;
  ep.connId = id;
  ep.local = addr("127.0.0.9:40000");
  ep.remote = addr(remote);
  return ep;
}

struct Pumped {
  bool clientOk = true, serverOk = true;
  std::string clientErr, serverErr;
  std::string clientPlain, serverPlain;  // what each side decrypted
};

// Runs the handshake (and delivers whatever was queued) until nothing moves or a side fails.
inline Pumped pump(TransportSession& c, TransportSession& s, bool start = true, Pumped r = {}) {
  std::string c2s, s2c;
  if (start) {
    IoResult st = c.start(c2s);
    if (!st.ok) {
      r.clientOk = false;
      r.clientErr = st.error;
      return r;
    }
  }
  for (int i = 0; i < 50 && (!c2s.empty() || !s2c.empty()); ++i) {
    if (!c2s.empty() && r.serverOk) {
      std::string out;
      IoResult x = s.onReceive(c2s, r.serverPlain, out);
      c2s.clear();
      s2c += out;
      if (!x.ok) r.serverOk = false, r.serverErr = x.error;
    } else {
      c2s.clear();
    }
    if (!s2c.empty() && r.clientOk) {
      std::string out;
      IoResult x = c.onReceive(s2c, r.clientPlain, out);
      s2c.clear();
      c2s += out;
      if (!x.ok) r.clientOk = false, r.clientErr = x.error;
    } else {
      s2c.clear();
    }
  }
  return r;
}

// Client sends `text` to the server (after establishment); returns what the server read.
inline std::string sendC2S(TransportSession& c, TransportSession& s, const std::string& text) {
  std::string wire, plain, back;
  c.encrypt(text, wire);
  s.onReceive(wire, plain, back);
  return plain;
}

}  // namespace sipsd::tls::test

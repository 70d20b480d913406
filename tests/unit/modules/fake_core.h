// A CoreApi that records what a module sends, for the module unit tests, plus a helper that
// builds the SipMsg the core's parser would produce for an HTTP request.
#pragma once
#include <string>
#include <utility>
#include <vector>

#include "core/module_api.h"

namespace sipsd::test {

class FakeCore : public CoreApi {
 public:
  void log(int level, std::string_view, std::string_view text) override { logs.emplace_back(level, std::string(text)); }
  int logLevel() const override { return kLogDebug; }
  int workerCount() const override { return 1; }
  const std::string& configDir() const override { return dir_; }
  void addTimer(std::chrono::milliseconds, std::function<void()>) override {}
  bool sendReply(ScriptContext&, std::string_view data) override {
    if (failSend) return false;
    sent.emplace_back(data);
    return true;
  }
  void closeConnection(ScriptContext&) override { closed = true; }
  const std::vector<RpcMethod>& rpcMethods() const override { return methods; }
  void requestShutdown() override { shutdownRequested = true; }

  std::vector<RpcMethod> methods;
  std::vector<std::string> sent;
  std::vector<std::pair<int, std::string>> logs;
  bool closed = false;
  bool failSend = false;
  bool shutdownRequested = false;

 private:
  std::string dir_ = ".";
};

// An HTTP request as the core parser hands it over (views into caller-owned strings).
inline SipMsg httpRequest(std::string_view method, std::string_view version, std::string_view body,
                          std::vector<std::pair<std::string_view, std::string_view>> headers = {}) {
  SipMsg m;
  m.kind = SipMsg::Kind::HttpRequest;
  m.method = method;
  m.ruri = "/RPC2";
  m.version = version;
  m.body = body;
  for (auto& [name, value] : headers) {
    Header h;
    h.name = name;
    h.value = value;
    m.headers.push_back(h);
  }
  return m;
}

}  // namespace sipsd::test

// The core RPC methods against a fake environment.
#include <doctest/doctest.h>

#include <algorithm>
#include <fstream>
#include <map>
#include <thread>

#include "core/rpc/core_rpcs.h"

using namespace sipsd;

namespace {

struct Env {
  int shutdowns = 0;
  std::vector<RpcMethod> all;
  CoreRpcEnv env;
  Env() {
    env.shutdown = [this] { ++shutdowns; };
    env.stats = [] { return coreStatsValue({{3, 10, 9, 1}, {2, 5, 4, 0}}); };
    env.methods = [this]() -> const std::vector<RpcMethod>& { return all; };
    env.started = std::chrono::steady_clock::now() - std::chrono::seconds(90);
    env.version = "sipsd 0.1.0";
    all = coreRpcMethods(env);
    all.push_back({"tls.info", "TLS counts.", [](const std::vector<RpcValue>&) -> RpcValue { return 0; }});
  }
  RpcValue call(const std::string& name, std::vector<RpcValue> params = {}) {
    for (auto& m : all)
      if (m.name == name) return m.call(params);
    FAIL("no method " << name);
    return {};
  }
};

const RpcValue& member(const RpcValue& v, const std::string& name) {
  for (const auto& [k, x] : std::get<RpcStruct>(v.v))
    if (k == name) return x;
  FAIL("no member " << name);
  throw std::logic_error("unreachable");
}

int faultCode(Env& e, const std::string& name, std::vector<RpcValue> params) {
  try {
    e.call(name, std::move(params));
  } catch (const RpcFault& f) {
    return f.code;
  }
  return 0;
}

}  // namespace

TEST_CASE("core.version and core.uptime") {
  Env e;
  CHECK(std::get<std::string>(e.call("core.version").v) == "sipsd 0.1.0");
  RpcValue up = e.call("core.uptime");
  int64_t secs = std::get<int64_t>(member(up, "uptime").v);
  CHECK(secs >= 90);
  CHECK(secs < 200);
  const std::string& now = std::get<std::string>(member(up, "now").v);
  CHECK(now.size() == 20);
  CHECK(now.back() == 'Z');
  CHECK(std::get<std::string>(member(up, "up_since").v) < now);
}

TEST_CASE("core.kill schedules the stop and still answers") {
  Env e;
  CHECK(std::get<std::string>(e.call("core.kill").v) == "shutting down");
  CHECK(e.shutdowns == 1);
  CHECK(faultCode(e, "core.kill", {RpcValue(9)}) == kRpcInvalidParams);
  CHECK(e.shutdowns == 1);
}

TEST_CASE("core.stats: totals and per worker") {
  Env e;
  RpcValue s = e.call("core.stats");
  CHECK(std::get<int64_t>(member(s, "connections").v) == 5);
  CHECK(std::get<int64_t>(member(s, "messages_in").v) == 15);
  CHECK(std::get<int64_t>(member(s, "messages_out").v) == 13);
  CHECK(std::get<int64_t>(member(s, "errors").v) == 1);
  const auto& workers = std::get<RpcArray>(member(s, "workers").v);
  REQUIRE(workers.size() == 2);
  CHECK(std::get<int64_t>(member(workers[1], "worker").v) == 1);
  CHECK(std::get<int64_t>(member(workers[1], "messages_in").v) == 5);
}

TEST_CASE("system.listMethods and system.methodHelp") {
  Env e;
  RpcValue list = e.call("system.listMethods");
  const auto& names = std::get<RpcArray>(list.v);
  std::vector<std::string> got;
  for (const auto& n : names) got.push_back(std::get<std::string>(n.v));
  CHECK(got == std::vector<std::string>{"core.kill", "core.stats", "core.uptime", "core.version", "system.listMethods",
                                        "system.methodHelp", "tls.info"});
  CHECK(std::get<std::string>(e.call("system.methodHelp", {RpcValue("tls.info")}).v) == "TLS counts.");
  CHECK(faultCode(e, "system.methodHelp", {RpcValue("nope")}) == kRpcMethodNotFound);
  CHECK(faultCode(e, "system.methodHelp", {}) == kRpcInvalidParams);
  CHECK(faultCode(e, "system.methodHelp", {RpcValue(1)}) == kRpcInvalidParams);
  CHECK(faultCode(e, "system.listMethods", {RpcValue(1)}) == kRpcInvalidParams);
}

TEST_CASE("missing environment pieces become faults, not crashes") {
  CoreRpcEnv env;
  auto methods = coreRpcMethods(env);
  for (auto& m : methods) {
    if (m.name == "core.kill" || m.name == "core.stats") {
      CHECK_THROWS_AS(m.call({}), RpcFault);
    }
    if (m.name == "system.listMethods") {
      CHECK(std::get<RpcArray>(m.call({}).v).empty());
    }
  }
}

TEST_CASE("RPC fault codes: README.md's table is the code's") {
  std::ifstream in(std::string(SIPSD_SOURCE_ROOT) + "/README.md");
  REQUIRE(in);
  std::map<int, std::pair<std::string, std::string>> readme;  // code -> constant, meaning
  std::string line;
  bool inSection = false;
  while (std::getline(in, line)) {
    if (line.rfind("#### ", 0) == 0 || line.rfind("### ", 0) == 0) inSection = line == "#### RPC fault codes";
    if (!inSection || line.rfind("| `", 0) != 0) continue;
    // | `CODE` | `CONSTANT` | meaning |
    auto cell = [&](size_t& pos) {
      size_t a = line.find('|', pos), b = line.find('|', a + 1);
      std::string c = line.substr(a + 1, b - a - 1);
      pos = b;
      while (!c.empty() && c.front() == ' ') c.erase(0, 1);
      while (!c.empty() && c.back() == ' ') c.pop_back();
      if (c.size() >= 2 && c.front() == '`' && c.back() == '`') c = c.substr(1, c.size() - 2);
      return c;
    };
    size_t pos = 0;
    std::string code = cell(pos), name = cell(pos), meaning = cell(pos);
    readme[std::stoi(code)] = {name, meaning};
  }
  CHECK(readme.size() == std::size(kRpcFaultTable));
  for (const RpcFaultInfo& f : kRpcFaultTable) {
    auto it = readme.find(f.code);
    REQUIRE_MESSAGE(it != readme.end(), "README.md has no row for fault " << f.code << " (" << f.name << ")");
    CHECK(it->second.first == f.name);
    CHECK(it->second.second == f.meaning);
  }
}

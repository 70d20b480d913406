// Core functions: log levels and text, forward*/create_via/force_rport through ProxyActions.
#include "script_fixture.h"

namespace {
struct FakeProxy : sipsd::ProxyActions {
  std::vector<std::string> calls;
  int ret = 1;
  int forward(sipsd::ScriptContext&, std::optional<std::string_view> host, std::optional<uint16_t> port,
              sipsd::Proto proto) override {
    calls.push_back("forward " + (host ? std::string(*host) : "-") + " " + (port ? std::to_string(*port) : "-") + " " +
                    std::string(proto == sipsd::Proto::None ? "any" : sipsd::protoName(proto)));
    return ret;
  }
  int createVia(sipsd::ScriptContext&) override {
    calls.push_back("create_via");
    return 1;
  }
  int forceRport(sipsd::ScriptContext&) override {
    calls.push_back("force_rport");
    return 1;
  }
};
}  // namespace

TEST_CASE("log writes at its level through CoreApi, default NOTICE; levels above the current one are skipped") {
  sipsd::test::Fixture f;
  f.core.level = 3;
  f.run("route { log(\"plain\"); log(0, \"err\"); log(4, \"debug\"); log(1, @sel.num); }");
  CHECK(f.core.lines == std::vector<std::string>{"2 plain", "0 err", "1 5060"});
}

TEST_CASE("forward variants reach ProxyActions with host, port and protocol") {
  FakeProxy proxy;
  sipsd::test::Fixture f(&proxy);
  // forward_tls() is refused at load unless a transport serves TLS.
  struct TlsDouble : sipsd::Transport {
    SessionResult accept(const sipsd::ConnEndpoints&) override { return sipsd::fail("double"); }
    SessionResult connect(const sipsd::ConnEndpoints&, const sipsd::ConnectOptions&) override { return sipsd::fail("double"); }
  };
  REQUIRE(f.registry.transports().add(sipsd::Proto::TLS, std::make_shared<TlsDouble>(), "tls"));
  f.run("route { forward(); forward(\"10.0.0.1\", 5070); forward_udp(\"a\", \"5071\"); forward_tcp(@sel.ip, @sel.num); "
        "forward_tls(\"b\", 5061); create_via(); force_rport(); }");
  CHECK(proxy.calls == std::vector<std::string>{"forward - - any", "forward 10.0.0.1 5070 any", "forward a 5071 UDP",
                                                "forward 192.168.1.20 5060 TCP", "forward b 5061 TLS", "create_via",
                                                "force_rport"});
}

TEST_CASE("a runtime port that is not a port fails the forward without calling the proxy") {
  FakeProxy proxy;
  sipsd::test::Fixture f(&proxy);
  CHECK(f.run("route { if (!forward(\"h\", @sel.ip)) { t(1, \"failed\"); } }") == 1);
  CHECK(proxy.calls.empty());
  CHECK(f.calls == std::vector<std::string>{"t(1,failed)"});
  REQUIRE(f.core.lines.size() == 1);
  CHECK(f.core.lines[0].find("forward: no valid destination") != std::string::npos);
}

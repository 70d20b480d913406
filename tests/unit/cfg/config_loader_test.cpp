// The config-loading pipeline with a real dlopen'ed module (test_module.cc).
#include <doctest/doctest.h>
#include <dlfcn.h>

#include "core/config/config_loader.h"

using namespace sipsd;

namespace {
LoadOptions opts() {
  LoadOptions o;
  o.moduleDirs.push_back(CFG_TEST_MODULE_DIR);
  return o;
}
std::vector<std::string> moduleLog() {
  void* h = dlopen(CFG_TEST_MODULE_DIR "/sipsd_test_module.so", RTLD_NOW | RTLD_NOLOAD);
  REQUIRE(h);
  auto fn = reinterpret_cast<const std::vector<std::string>* (*)()>(dlsym(h, "sipsd_test_module_log"));
  REQUIRE(reinterpret_cast<void*>(fn) != nullptr);
  std::vector<std::string> copy = *fn();
  dlclose(h);
  return copy;
}
// The module keeps its state while the process lives (modules are never unmapped).
void resetModule() {
  void* h = dlopen(CFG_TEST_MODULE_DIR "/sipsd_test_module.so", RTLD_NOW | RTLD_NOLOAD);
  if (!h) return;  // not loaded yet
  auto fn = reinterpret_cast<void (*)()>(dlsym(h, "sipsd_test_module_reset"));
  if (fn) fn();
  dlclose(h);
}
LoadOptions optsReset() {
  resetModule();
  return opts();
}
std::string errors(const LoadedConfig& c) { return c.diagnostics.format(); }
}  // namespace

TEST_CASE("core globals are applied") {
  auto c = loadConfigText(
      "debug=4\nchildren=3\nlisten=udp:127.0.0.1:5070\nlisten=tcp:[::1]:5071\nlisten=10.0.0.1\n"
      "tcp_connection_lifetime=30 tcp_max_connections=99 tcp_connect_timeout=3 tcp_send_timeout=4\n"
      "tcp_max_message_size=100000\nroute { exit; }\n",
      "/etc/x/t.cfg", LoadOptions());
  REQUIRE_MESSAGE(c->ok(), errors(*c));
  CHECK(c->configDir == "/etc/x");
  CHECK(c->settings.logLevel == 4);
  CHECK(c->settings.children == 3);
  REQUIRE(c->settings.listens.size() == 4);  // the bare address opens udp and tcp
  CHECK(c->settings.listens[0].proto == Proto::UDP);
  CHECK(c->settings.listens[0].addr.str() == "127.0.0.1:5070");
  CHECK(c->settings.listens[1].addr.str() == "[::1]:5071");
  CHECK(c->settings.listens[3].addr.str() == "10.0.0.1:5060");
  CHECK(c->settings.tcpConnectionLifetime == 30);
  CHECK(c->settings.tcpMaxConnections == 99);
  CHECK(c->settings.tcpConnectTimeout == 3);
  CHECK(c->settings.tcpSendTimeout == 4);
  CHECK(c->settings.tcpMaxMessageSize == 100000);
}

TEST_CASE("bad core values are reported at the value") {
  auto c = loadConfigText("debug=9\nlisten=tls:1.2.3.4:99999\nchildren=x\nroute { exit; }\n", "t.cfg", LoadOptions());
  CHECK_FALSE(c->ok());
  CHECK(errors(*c).find("t.cfg:1:7: error: debug=9 is out of range 0..4") != std::string::npos);
  CHECK(errors(*c).find("t.cfg:2:8: error: listen: bad port '99999'") != std::string::npos);
  CHECK(errors(*c).find("t.cfg:3:10: error: children takes an integer, not 'x'") != std::string::npos);
}

TEST_CASE("a module is loaded, configured, claims its globals and blocks (even before loadmodule), and initialised") {
  auto c = loadConfigText(
      "tm_early=1\n"
      "loadmodule \"sipsd_test_module\"\n"
      "modparam(\"sipsd_test_module\", \"count\", 1)\n"  // wrong module name: the module calls itself testmod
      "modparam(\"testmod\", \"count\", \"7\")\n"
      "modparam(\"testmod\", \"name\", \"bob\")\n"
      "tm_domain[1.2.3.4:5061] { a=1 b=\"x\" }\n"
      "listen=tls:127.0.0.1:5061\n"
      "route { tm_func(); if (@tm.anything == \"bob\") { tm_func(\"x\"); } }\n",
      "t.cfg", optsReset());
  CHECK(errors(*c) ==
        "t.cfg:3:10: error: modparam for module 'sipsd_test_module', which is not loaded\n"
        "modparam(\"sipsd_test_module\", \"count\", 1)\n"
        "         ^\n");
  // The module saw its claims in file order; init is skipped because of the error above.
  CHECK(moduleLog() == std::vector<std::string>{"tm_early=1", "count=7", "name=bob", "block 1.2.3.4:5061 items=2"});
}

TEST_CASE("a clean config initialises modules and registers their names") {
  auto c = loadConfigText(
      "loadmodule \"sipsd_test_module\"\nmodparam(\"testmod\", \"count\", 2)\nlisten=tls:127.0.0.1:5061\n"
      "route { tm_func(); }\n",
      "t.cfg", optsReset());
  REQUIRE_MESSAGE(c->ok(), errors(*c));
  CHECK(moduleLog().back() == "init workers=0");
  CHECK(c->registry.function("tm_func", 1));
  REQUIRE(c->registry.rpcs().size() == 1);
  CHECK(c->registry.rpcs()[0].name == "tm.state");
  CHECK(c->modules.size() == 1);
}

TEST_CASE("module errors: not found, unknown param, wrong type, refused value, unclaimed names, failing init") {
  auto c = loadConfigText("loadmodule \"nosuch\"\nroute { exit; }\n", "t.cfg", optsReset());
  CHECK(errors(*c).rfind("t.cfg:1:12: error: module 'nosuch' not found (tried " CFG_TEST_MODULE_DIR "/nosuch.so, ", 0) == 0);

  c = loadConfigText(
      "loadmodule \"sipsd_test_module\"\nmodparam(\"testmod\", \"nope\", 1)\nmodparam(\"testmod\", \"count\", \"x\")\n"
      "modparam(\"testmod\", \"count\", -1)\ntm_bad=1\nwhatever=1\ntls_method=sslv23\nother_block { a=1 }\n"
      "route { exit; }\n",
      "t.cfg", optsReset());
  auto e = errors(*c);
  CHECK(e.find("t.cfg:2:21: error: module 'testmod' has no parameter 'nope'") != std::string::npos);
  CHECK(e.find("t.cfg:3:30: error: parameter 'count' of module 'testmod' takes an integer, not 'x'") != std::string::npos);
  CHECK(e.find("t.cfg:4:30: error: testmod.count: must not be negative") != std::string::npos);
  CHECK(e.find("t.cfg:5:8: error: tm_bad: tm_bad is refused") != std::string::npos);
  CHECK(e.find("t.cfg:6:1: error: unknown parameter 'whatever'") != std::string::npos);
  CHECK(e.find("t.cfg:7:1: error: unknown parameter 'tls_method' (is the tls module loaded?)") != std::string::npos);
  CHECK(e.find("t.cfg:8:1: error: unknown block 'other_block'") != std::string::npos);

  c = loadConfigText("loadmodule \"sipsd_test_module\"\nmodparam(\"testmod\", \"fail_init\", 1)\nroute { exit; }\n", "t.cfg",
                     optsReset());
  CHECK(errors(*c).find("t.cfg:1:12: error: module 'testmod' failed to initialise: told to fail") != std::string::npos);
}

TEST_CASE("listen=tls and forward_tls need a TLS transport module") {
  auto c = loadConfigText("listen=tls:127.0.0.1:5061\nroute { forward_tls(\"127.0.0.1\", 5061); }\n", "t.cfg", LoadOptions());
  auto e = errors(*c);
  CHECK(e.find("t.cfg:1:8: error: listen=tls:127.0.0.1:5061 needs the TLS transport: loadmodule \"tls\"") != std::string::npos);
  CHECK(e.find("t.cfg:2:9: error: forward_tls(): no loaded module provides the TLS transport") != std::string::npos);
}

TEST_CASE("a module given by path, and a file that cannot be read") {
  auto c = loadConfigText("loadmodule \"" CFG_TEST_MODULE_DIR "/sipsd_test_module.so\"\nroute { tm_func(); }\n", "t.cfg",
                          (resetModule(), LoadOptions()));
  CHECK_MESSAGE(c->ok(), errors(*c));
  auto d = loadConfig("/nonexistent/sipsd.cfg", LoadOptions());
  CHECK(errors(*d) == "/nonexistent/sipsd.cfg: error: cannot read the config file: No such file or directory\n");
}

TEST_CASE("listen= advertise (Kamailio syntax, bare and quoted) and alias=") {
  auto c = loadConfigText(
      "listen=udp:10.0.0.1:5060 advertise 203.0.113.7:5080\n"
      "listen=\"tcp:10.0.0.1:5061 advertise sip.example.com\"\n"
      "alias=proxy.example.com\nalias=tls:[2001:db8::1]:5061\nroute { exit; }\n",
      "/etc/x/t.cfg", LoadOptions());
  REQUIRE_MESSAGE(c->ok(), errors(*c));
  REQUIRE(c->settings.listens.size() == 2);
  CHECK(c->settings.listens[0].addr.str() == "10.0.0.1:5060");
  CHECK(c->settings.listens[0].advertiseHost == "203.0.113.7");
  CHECK(c->settings.listens[0].advertisePort == 5080);
  CHECK(c->settings.listens[1].advertiseHost == "sip.example.com");
  CHECK(c->settings.listens[1].advertisePort == 0);
  REQUIRE(c->settings.aliases.size() == 2);
  CHECK(c->settings.aliases[0].host == "proxy.example.com");
  CHECK(c->settings.aliases[0].proto == Proto::None);
  CHECK(c->settings.aliases[1].host == "2001:db8::1");
  CHECK(c->settings.aliases[1].proto == Proto::TLS);
  CHECK(c->settings.aliases[1].port == 5061);

  for (const char* bad : {"listen=udp:10.0.0.1:5060 advertise\n", "listen=\"udp:10.0.0.1 publish x\"\n",
                          "alias=a b\n", "alias=host:99999\n", "listen=\"udp:10.0.0.1 advertise tls:x:1\"\n"}) {
    CAPTURE(bad);
    auto b = loadConfigText(std::string(bad) + "route { exit; }\n", "/etc/x/t.cfg", LoadOptions());
    CHECK_FALSE(b->ok());
  }
}

TEST_CASE("Kamailio modules sipsd has built in load as such; their params apply or are named errors") {
  auto c = loadConfigText(
      "loadmodule \"pv.so\"\nloadmodule \"/usr/lib/kamailio/modules/xlog.so\"\nloadmodule \"sanity\"\n"
      "loadmodule \"maxfwd.so\"\nloadmodule \"textops.so\"\nloadmodule \"textopsx.so\"\nloadmodule \"siputils.so\"\n"
      "loadmodule \"kex.so\"\nloadmodule \"corex.so\"\nloadmodule \"tmx.so\"\n"
      "modparam(\"sanity\", \"autodrop\", 0)\nmodparam(\"sanity\", \"default_checks\", \"1\")\n"
      "modparam(\"sanity\", \"proxy_require\", \"foo, bar\")\n"
      "route { if (!sanity_check(\"17895\", \"7\")) { exit; } sanity_check(); xdbg(\"x $rm\\n\"); }\n",
      "t.cfg", LoadOptions());
  REQUIRE_MESSAGE(c->ok(), errors(*c));
  CHECK(c->registry.module("pv"));
  CHECK(c->registry.module("xlog"));
  CHECK(c->registry.function("sanity_check", 2));
  CHECK(c->modules.empty());  // nothing was dlopen'ed

  c = loadConfigText(
      "loadmodule \"xlog.so\"\nloadmodule \"sanity.so\"\nmodparam(\"xlog\", \"buf_size\", 8192)\n"
      "modparam(\"sanity\", \"autodrop\", 2)\nloadmodule \"pv\"\nloadmodule \"pv.so\"\n"
      "route { sanity_check(\"99999\"); }\n",
      "t.cfg", LoadOptions());
  auto e = errors(*c);
  CHECK(e.find("t.cfg:3:18: error: module 'xlog' is built into sipsd, which has no setting 'buf_size'") != std::string::npos);
  CHECK(e.find("t.cfg:4:32: error: sanity.autodrop: autodrop must be in 0..1, not 2") != std::string::npos);
  CHECK(e.find("t.cfg:6:12: error: module 'pv' is already loaded") != std::string::npos);
}

TEST_CASE("a Kamailio module sipsd lacks is an error naming what is missing") {
  auto c = loadConfigText("loadmodule \"acc.so\"\nloadmodule \"jsonrpcs.so\"\nroute { exit; }\n", "t.cfg", optsReset());
  auto e = errors(*c);
  CHECK(e.find("t.cfg:1:12: error: Kamailio's module 'acc' is not part of sipsd: it brings accounting") !=
        std::string::npos);
  CHECK(e.find("; remove its loadmodule, modparam and function lines") != std::string::npos);
  CHECK(e.find("t.cfg:2:12: error: Kamailio's module 'jsonrpcs' is not part of sipsd: it brings JSON-RPC") !=
        std::string::npos);
}

TEST_CASE("sanity_check() arguments are checked at load") {
  auto c = loadConfigText("loadmodule \"sanity\"\nroute { sanity_check(\"99999\"); }\n", "t.cfg", LoadOptions());
  CHECK(errors(*c).find("t.cfg:2:9: error: sanity_check(): sanity_check: msg_checks 99999 is outside 0..32767") !=
        std::string::npos);
}

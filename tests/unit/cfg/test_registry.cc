// Test registry with module doubles.
#include "test_registry.h"

#include <stdexcept>

#include "cfg/checker.h"
#include "cfg/config_parser.h"
#include "cfg/preprocessor.h"
#include "core/script/core_functions.h"

namespace sipsd::test {

namespace {
// Stands for the tls module's transport: registered for TLS, opens nothing.
class TransportDouble : public Transport {
 public:
  SessionResult accept(const ConnEndpoints&) override { return fail("transport double"); }
  SessionResult connect(const ConnEndpoints&, const ConnectOptions&) override { return fail("transport double"); }
};

FunctionExport fn(const std::string& name, int args) {
  FunctionExport f;
  f.name = name;
  f.minArgs = f.maxArgs = args;
  f.handler = [](ScriptContext&, const std::vector<FuncArg>&, const void*) { return 1; };
  return f;
}
}  // namespace

std::unique_ptr<Registry> makeTestRegistry() {
  auto reg = std::make_unique<Registry>();
  script::registerCoreNames(*reg, nullptr);
  for (auto [name, n] : {std::pair<const char*, int>{"sl_reply", 2}, {"sl_send_reply", 2}, {"xmlrpc_reply", 2},
                         {"dispatch_rpc", 0}, {"http_reply", 4}, {"is_peer_verified", 0},
                         {"tls_set_connect_server_id", 1}})
    reg->addFunction(fn(name, n), "doubles");
  SelectExport tls;
  tls.root = "tls";
  tls.resolve = [](const std::vector<SelectPart>& parts) -> Result<SelectFn> {
    if (parts.size() > 4) return fail("too many parts");
    return SelectFn([](ScriptContext&) { return Value(); });
  };
  reg->addSelect(tls, "doubles");
  SelectExport xmlrpc;
  xmlrpc.root = "xmlrpc";
  xmlrpc.resolve = [](const std::vector<SelectPart>& parts) -> Result<SelectFn> {
    if (parts.size() != 2 || parts[1].name != "method") return fail("only @xmlrpc.method exists");
    return SelectFn([](ScriptContext&) { return Value::view("core.kill"); });
  };
  reg->addSelect(xmlrpc, "doubles");
  // A TLS transport so forward_tls() passes its load-time check.
  if (auto added = reg->transports().add(Proto::TLS, std::make_shared<TransportDouble>(), "tls"); !added)
    throw std::logic_error(added.error());
  return reg;
}

CheckResult checkScript(const std::string& text, const Registry& registry, const std::string& file) {
  CheckResult r;
  cfg::SourceMap map;
  const std::string merged = cfg::Preprocessor(r.diags).run(text, file, map);
  if (r.diags.hasErrors()) return r;
  cfg::ErrorHandler handler(merged, file, r.diags, &map);
  auto config = cfg::parseConfig(handler);
  cfg::Checker checker(registry, handler);
  auto script = checker.compile(config);
  if (!r.diags.hasErrors()) r.script = std::move(script);
  return r;
}

}  // namespace sipsd::test

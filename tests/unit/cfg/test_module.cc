// A small module for the loader tests: a parameter of each type, a function, a select, global
// and block claims, an init that can be told to fail, and a TLS transport that accepts nothing.
#include <string>

#include "core/module_api.h"

namespace {

using namespace sipsd;

struct State {
  int64_t count = 0;
  std::string name;
  std::vector<std::string> log;  // what was claimed/set, in order
  bool failInit = false;
};
State gState;

class NoTransport : public Transport {
 public:
  SessionResult accept(const ConnEndpoints&) override { return fail("test transport"); }
  SessionResult connect(const ConnEndpoints&, const ConnectOptions&) override { return fail("test transport"); }
};

ModuleExports makeExports() {
  ModuleExports m;
  m.name = "testmod";
  m.params.push_back({"count", ParamType::Int, [](const ParamValue& v) -> Result<void> {
                        if (v.num < 0) return fail("must not be negative");
                        gState.count = v.num;
                        gState.log.push_back("count=" + std::to_string(v.num));
                        return {};
                      }});
  m.params.push_back({"name", ParamType::Str, [](const ParamValue& v) -> Result<void> {
                        gState.name = v.str;
                        gState.log.push_back("name=" + v.str);
                        return {};
                      }});
  m.params.push_back({"fail_init", ParamType::Int, [](const ParamValue& v) -> Result<void> {
                        gState.failInit = v.num != 0;
                        return {};
                      }});
  FunctionExport f;
  f.name = "tm_func";
  f.minArgs = 0;
  f.maxArgs = 1;
  f.handler = [](ScriptContext&, const std::vector<FuncArg>&, const void*) { return 1; };
  m.functions.push_back(f);
  m.selects.push_back({"tm", [](const std::vector<SelectPart>&) -> Result<SelectFn> {
                         return SelectFn([](ScriptContext&) { return Value::view(gState.name); });
                       }});
  m.rpcs.push_back({"tm.state", "test", [](const std::vector<RpcValue>&) { return RpcValue(gState.count); }});
  m.transports.push_back({Proto::TLS, std::make_shared<NoTransport>()});
  m.claimGlobal = [](const std::string& name, const ParamValue& v) -> Result<bool> {
    if (name.rfind("tm_", 0) != 0) return false;
    if (name == "tm_bad") return fail("tm_bad is refused");
    gState.log.push_back(name + "=" + v.text());
    return true;
  };
  m.claimBlock = [](const CfgBlock& b) -> Result<bool> {
    if (b.kind != "tm_domain") return false;
    gState.log.push_back("block " + b.selector + " items=" + std::to_string(b.items.size()));
    return true;
  };
  m.init = [](CoreApi& core) -> Result<void> {
    if (gState.failInit) return fail("told to fail");
    gState.log.push_back("init workers=" + std::to_string(core.workerCount()));
    return {};
  };
  m.destroy = [] { gState = State(); };
  return m;
}

}  // namespace

extern "C" const sipsd::ModuleExports* sipsd_module_exports() {
  static const sipsd::ModuleExports exports = makeExports();
  return &exports;
}

// Lets the test read what the module saw (looked up with dlsym).
extern "C" const std::vector<std::string>* sipsd_test_module_log() { return &gState.log; }
extern "C" void sipsd_test_module_reset() { gState = State(); }

// The CoreApi given to modules when the server does not run (`sipsd -c` and tests): logging
// goes to the process log, there are no workers, timers are recorded but never fire, and
// nothing can be sent.
#pragma once
#include <atomic>
#include <string>
#include <vector>

#include "core/config/core_settings.h"
#include "core/module_api.h"
#include "core/registry.h"

namespace sipsd {

class CheckCoreApi : public CoreApi {
 public:
  CheckCoreApi(std::string configDir, int logLevel, const std::vector<RpcMethod>& rpcs,
               const std::vector<ListenAddr>* listens = nullptr, const Registry* registry = nullptr)
      : configDir_(std::move(configDir)), logLevel_(logLevel), rpcs_(rpcs), listens_(listens), registry_(registry) {}

  void log(int level, std::string_view module, std::string_view text) override;
  int logLevel() const override { return logLevel_; }
  int workerCount() const override { return 0; }
  const std::string& configDir() const override { return configDir_; }
  void addTimer(std::chrono::milliseconds every, std::function<void()> fn) override;
  bool sendReply(ScriptContext& ctx, std::string_view data) override;
  void closeConnection(ScriptContext& ctx) override;
  const std::vector<RpcMethod>& rpcMethods() const override { return rpcs_; }
  void requestShutdown() override { shutdownRequested_ = true; }
  std::vector<std::string> listenAddresses(Proto proto) const override {
    return listens_ ? listenAddressesOf(*listens_, proto) : std::vector<std::string>();
  }

  // Modules find each other under `sipsd -c` too (registrar needs usrloc's "location").
  void* moduleApi(const std::string& module, const std::string& name) override {
    const ModuleExports* m = registry_ ? registry_->module(module) : nullptr;
    return m && m->api ? m->api(name) : nullptr;
  }

  size_t timerCount() const { return timers_; }
  bool shutdownRequested() const { return shutdownRequested_; }

 private:
  std::string configDir_;
  int logLevel_;
  const std::vector<RpcMethod>& rpcs_;
  const std::vector<ListenAddr>* listens_;
  const Registry* registry_;
  size_t timers_ = 0;
  std::atomic<bool> shutdownRequested_{false};
};

}  // namespace sipsd

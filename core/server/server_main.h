// Running the server: the engine, the stateless proxy, the core RPCs, signals (SIGTERM/SIGINT
// graceful stop, SIGHUP reload) — everything after the config has loaded.
#pragma once
#include <memory>

#include "core/config/config_loader.h"

namespace sipsd {

class StatelessProxy;

class ServerRunner {
 public:
  ServerRunner();
  ~ServerRunner();
  // Before loadConfig(): gives the loader the forwarding functions and the real CoreApi.
  void prepare(LoadOptions& options);
  // Runs until stopped; returns the process exit code.
  int run(LoadedConfig& cfg);

 private:
  std::unique_ptr<StatelessProxy> proxy_;
};

}  // namespace sipsd

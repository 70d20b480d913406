// What the script's forwarding functions ask of the stateless proxy (core/proxy implements it).
// The core functions forward(), forward_udp/tcp/tls(), create_via() and force_rport() delegate
// here; their return value follows the script convention: > 0 true, < 0 false, 0 stop.
#pragma once
#include <cstdint>
#include <optional>
#include <string_view>

#include "core/net/sock_addr.h"
#include "core/script_context.h"

namespace sipsd {

class ProxyActions {
 public:
  virtual ~ProxyActions() = default;
  // forward() (no host: to the request-URI), forward(host, port) and the proto-specific
  // variants. Proto::None means "as the destination URI says" (forward/forward(host, port)).
  virtual int forward(ScriptContext& ctx, std::optional<std::string_view> host, std::optional<uint16_t> port,
                      Proto proto) = 0;
  virtual int createVia(ScriptContext& ctx) = 0;
  virtual int forceRport(ScriptContext& ctx) = 0;
};

}  // namespace sipsd

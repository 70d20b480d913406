// TransportRegistry: which transport serves which protocol. Modules register transports
// (ModuleExports::transports) at load; the config checker, the script's forward_*() fixups,
// the proxy and the network engine ask it protocol-neutral questions ("can we serve proto X?",
// "what serves X?") instead of naming TLS. Filled while the config loads, read-only afterwards,
// so lookups on the hot path are an array index without a lock.
#pragma once
#include <array>
#include <chrono>
#include <memory>
#include <string>
#include <string_view>

#include "core/net/transport.h"
#include "core/result.h"

namespace sipsd {

class TransportRegistry {
 public:
  // Registers `t` for `proto` on behalf of module `owner`; one transport per protocol.
  [[nodiscard]] Result<void> add(Proto proto, std::shared_ptr<Transport> t, std::string_view owner);
  // The transport serving proto, or null (a core protocol carried as is, or nothing loaded).
  Transport* find(Proto p) const { return size_t(p) < kProtoCount ? byProto_[size_t(p)].get() : nullptr; }
  // Whether sipsd can listen and send over proto: the core's own protocols, or one a loaded
  // module serves.
  bool available(Proto p) const { return isCoreProto(p) || find(p) != nullptr; }
  // Why proto cannot be served, for error messages ("no TLS transport (load the tls module)").
  static std::string missing(Proto p);
  // The shortest handshake and send timeout among the registered transports, bounded by `upTo`.
  std::chrono::milliseconds shortestTimeout(std::chrono::milliseconds upTo) const;

 private:
  std::array<std::shared_ptr<Transport>, kProtoCount> byProto_;
  std::array<std::string, kProtoCount> owner_;
};

}  // namespace sipsd

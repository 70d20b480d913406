// TransportRegistry: registration and protocol-neutral queries (see transport_registry.h).
#include "core/net/transport_registry.h"

#include <algorithm>

namespace sipsd {

Result<void> TransportRegistry::add(Proto proto, std::shared_ptr<Transport> t, std::string_view owner) {
  std::string name(protoName(proto));
  if (!t || size_t(proto) >= kProtoCount || proto == Proto::None) return fail("module " + std::string(owner) + ": a transport needs a protocol and an implementation");
  auto i = size_t(proto);
  if (byProto_[i]) return fail("the " + name + " transport of module " + std::string(owner) + " is already provided by module " + owner_[i]);
  byProto_[i] = std::move(t);
  owner_[i] = owner;
  return {};
}

std::string TransportRegistry::missing(Proto p) {
  // The module that provides a protocol is named after it (tls), the convention a user knows.
  return "no " + std::string(protoName(p)) + " transport (load the " + std::string(protoToken(p)) + " module)";
}

std::chrono::milliseconds TransportRegistry::shortestTimeout(std::chrono::milliseconds upTo) const {
  for (const auto& t : byProto_)
    if (t) upTo = std::min({upTo, t->handshakeTimeout(), t->sendTimeout()});
  return upTo;
}

}  // namespace sipsd

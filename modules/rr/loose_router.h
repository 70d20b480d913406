// Route processing for loose_route() (RFC 3261 §16.4, §16.6 items 6-7, §16.12), with
// Kamailio's return codes. It only reads the request and records its decisions in the
// ScriptContext: Route entries to strip and the request-URI / next hop ($du) to use. The
// forward builder applies them when the request is relayed.
#pragma once
#include <functional>
#include <string>
#include <string_view>

#include "core/script_context.h"

namespace sipsd::rr {

class LooseRouter {
 public:
  // "Is this URI us?" (CoreApi::uriIsMyself in the module; a fake in tests).
  using MyselfFn = std::function<bool(std::string_view uri)>;
  explicit LooseRouter(MyselfFn myself) : myself_(std::move(myself)) {}

  // 1: Route processing done (our entries stripped, or the strict-router case); the next hop
  //    is the next Route ($du) or the request-URI.
  // -1: no Route header (or a malformed one, logged by the caller through `err`).
  // -3: the top Route is not us: a pre-loaded route set; $du is set to it (Kamailio's code).
  int route(ScriptContext& ctx, std::string& err) const;

 private:
  MyselfFn myself_;
};

}  // namespace sipsd::rr

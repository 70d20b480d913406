// LooseRouter: see loose_router.h.
#include "modules/rr/loose_router.h"

#include <vector>

#include "core/parser/msg_parser.h"
#include "core/parser/name_addr_parser.h"
#include "core/parser/param_list.h"
#include "core/parser/parse_util.h"
#include "core/parser/uri_parser.h"

namespace sipsd::rr {

namespace {

// The Route URIs of the request, top first (views into the message).
bool routeUris(const SipMsg& msg, std::vector<std::string_view>& out, std::string& err) {
  out.clear();
  return forEachNameAddr(msg, HdrType::Route, "bad Route header",
                         [&](const Header&, const NameAddr& na) { out.push_back(na.uri); }, err);
}

bool hasLr(std::string_view uriText) {
  SipUri u;
  std::string err;
  return parseUri(uriText, u, err) && findParam(u.params, "lr").has_value();
}

}  // namespace

int LooseRouter::route(ScriptContext& ctx, std::string& err) const {
  const SipMsg& msg = ctx.msg;
  if (!msg.isRequest() || msg.isHttp()) return -1;
  thread_local std::vector<std::string_view> routes;
  if (!routeUris(msg, routes, err)) return -1;
  if (routes.empty()) return -1;
  std::string_view ruri = ctx.newRuri.empty() ? msg.ruri : std::string_view(ctx.newRuri);

  // §16.4: a request-URI we put into a Record-Route means the previous hop was a strict
  // router. Our Record-Route URIs have no user part; a request for a user of ours has one.
  SipUri ru;
  std::string uerr;
  if (parseUri(ruri, ru, uerr) && ru.scheme != SipUri::Scheme::Tel && ru.user.empty() && myself_(ruri)) {
    std::string last(routes.back());
    ctx.edits.stripLastRoute = true;
    ctx.newRuri = std::move(last);
    // The remaining route set (if any entry is left before the one now in the R-URI) decides
    // the next hop when its top is a loose router.
    if (routes.size() > 1 && !myself_(routes.front()) && hasLr(routes.front())) ctx.dstUri = std::string(routes.front());
    return 1;
  }

  size_t ours = 0;
  while (ours < routes.size() && myself_(routes[ours])) ++ours;
  if (ours == 0) {
    // A pre-loaded route set that does not start with us: its top is the next hop.
    ctx.dstUri = std::string(routes.front());
    return -3;
  }
  ctx.edits.stripRoutes = ours;
  if (ours == routes.size()) return 1;  // the request-URI is the next hop
  std::string_view next = routes[ours];
  if (hasLr(next)) {
    ctx.dstUri = std::string(next);
    return 1;
  }
  // §16.6 item 7: the next hop is a strict router. It goes into the request-URI and the
  // request-URI becomes the last Route entry.
  ctx.edits.stripRoutes = ours + 1;
  ctx.edits.appendHeaders += "Route: <" + std::string(ruri) + ">\r\n";
  ctx.newRuri = std::string(next);
  return 1;
}

}  // namespace sipsd::rr

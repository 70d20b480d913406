// Reply relaying: top Via removal and next-hop selection.
#include "core/proxy/reply_forward_builder.h"

#include "core/parser/parse_util.h"

namespace sipsd {

bool buildForwardedReply(const SipMsg& reply, std::string& out, std::string& err) {
  out.clear();
  ViaBody top;
  if (!nthVia(reply, 0, top, err)) {
    if (err.empty()) err = "reply has no Via header";
    return false;
  }
  const Header* hdr = top.header;
  const std::string_view buf = reply.buf;
  size_t cutFrom, cutTo;
  if (top.lastInHeader) {
    cutFrom = parse::offsetIn(buf, hdr->raw);
    cutTo = cutFrom + hdr->raw.size();
  } else {
    // "Via: ours, next" -> "Via: next": drop the via-parm, the comma and the space after it.
    cutFrom = parse::offsetIn(buf, top.raw);
    cutTo = parse::offsetIn(buf, parse::ltrim(top.rest));
  }
  const size_t msgEnd = parse::offsetIn(buf, reply.body) + reply.body.size();
  out.reserve(msgEnd);
  out.append(buf.substr(0, cutFrom));
  out.append(buf.substr(cutTo, msgEnd - cutTo));
  return true;
}

bool nextReplyHop(const SipMsg& reply, ReplyHop& out, std::string& err) {
  out = ReplyHop{};
  if (!nthVia(reply, 1, out.via, err)) {
    if (err.empty()) err = "reply has no second Via to relay it to";
    return false;
  }
  const ViaBody& v = out.via;
  auto proto = protoFromName(v.transport);
  out.proto = proto ? *proto : Proto::None;
  out.reliable = isStreamProto(out.proto);
  if (!v.maddr.empty()) out.host = stripBrackets(v.maddr);
  else if (v.hasReceived && !v.received.empty()) out.host = stripBrackets(v.received);
  else out.host = stripBrackets(v.host);
  auto rport = parse::parseUint(v.rport, 65535);
  if (rport && *rport) out.port = uint16_t(*rport);
  else if (v.port) out.port = v.port;
  else out.port = out.proto == Proto::TLS ? 5061 : 5060;
  return true;
}

}  // namespace sipsd

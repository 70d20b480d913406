// Stateless SIP reply construction.
#include "core/proxy/reply_builder.h"

#include "core/parser/msg_parser.h"
#include "core/parser/name_addr_parser.h"
#include "core/parser/via_parser.h"
#include "core/proxy/via_builder.h"

namespace sipsd {

namespace {

std::string_view fromTagOf(const SipMsg& req) {
  const Header* h = findHeader(req, HdrType::From);
  if (!h) return {};
  NameAddr na;
  std::string_view rest;
  std::string err;
  return parseNameAddr(h->value, na, rest, false, err) ? na.tag : std::string_view();
}

}  // namespace

std::string makeToTag(const SipMsg& req) {
  std::string_view callId, topBranch, cseq;
  if (const Header* h = findHeader(req, HdrType::CallId)) callId = h->value;
  if (const Header* h = findHeader(req, HdrType::CSeq)) cseq = h->value;
  ViaBody v;
  std::string err;
  if (nthVia(req, 0, v, err)) topBranch = v.branch.empty() ? v.raw : v.branch;
  // CSeq is mixed in only for RFC 2543 requests whose top Via carries no branch.
  uint64_t h = keyedHash({callId, fromTagOf(req), topBranch, v.branch.empty() ? cseq : std::string_view()}, 7);
  static const char hex[] = "0123456789abcdef";
  std::string tag = "sd";
  for (int i = 60; i >= 0; i -= 4) tag += hex[(h >> i) & 15];
  return tag;
}

bool buildSipReply(const SipMsg& req, const ReceiveInfo& rcv, int code, std::string_view reason,
                   const SipReplyOptions& opt, std::string& out, std::string& err) {
  out.clear();
  if (req.kind != SipMsg::Kind::Request) {
    err = "cannot reply to a message that is not a SIP request";
    return false;
  }
  if (code < 100 || code > 699) {
    err = "reply code " + std::to_string(code) + " is outside 100..699";
    return false;
  }
  ViaBody top;
  bool badVia = false;
  if (!nthVia(req, 0, top, err)) {
    if (!err.empty() && !opt.verbatimBadVia) return false;
    badVia = !err.empty();
    if (badVia) {
      err.clear();
      top = ViaBody{};
    } else if (opt.createdVia.empty()) {
      err = "request has no Via header to reply to";
      return false;
    }
  }
  out.reserve(256 + req.buf.size() / 2 + opt.body.size() + opt.extraHeaders.size());
  out += "SIP/2.0 ";
  out += std::to_string(code);
  out += ' ';
  out.append(reason);
  out += "\r\n";

  if (!top.header && !badVia) {
    out += "Via: ";
    out.append(opt.createdVia);
    out += "\r\n";
  }
  bool toDone = false;
  std::string tag;
  for (const auto& h : req.headers) {
    switch (h.type) {
      case HdrType::Via:
        if (&h == top.header) {
          // Copy the header line up to the top via-parm, the edited via-parm, then the rest
          // (which holds the line end, so appendLine normalizes it).
          out.append(h.raw.substr(0, size_t(top.raw.data() - h.raw.data())));
          appendViaWithReceived(out, top, rcv.src, opt.forceRport);
          appendLine(out, h.raw.substr(size_t(top.raw.data() + top.raw.size() - h.raw.data())));
        } else {
          appendLine(out, h.raw);
        }
        break;
      case HdrType::To: {
        if (toDone) break;
        toDone = true;
        NameAddr na;
        std::string_view rest;
        std::string perr;
        bool hasTag = parseNameAddr(h.value, na, rest, false, perr) && na.hasTag;
        if (hasTag || code == 100) {
          appendLine(out, h.raw);
        } else {
          out.append(h.raw.substr(0, size_t(h.value.data() + h.value.size() - h.raw.data())));
          out += ";tag=";
          if (opt.toTag.empty()) tag = makeToTag(req);
          out.append(opt.toTag.empty() ? std::string_view(tag) : opt.toTag);
          out += "\r\n";
        }
        break;
      }
      case HdrType::From:
      case HdrType::CallId:
      case HdrType::CSeq:
        appendLine(out, h.raw);
        break;
      default:
        break;
    }
  }
  out += "Server: sipsd\r\n";
  if (!opt.extraHeaders.empty()) {
    out.append(opt.extraHeaders);
    if (out.back() != '\n') out += "\r\n";
  }
  if (!opt.body.empty() && !opt.contentType.empty()) {
    out += "Content-Type: ";
    out.append(opt.contentType);
    out += "\r\n";
  }
  out += "Content-Length: ";
  out += std::to_string(opt.body.size());
  out += "\r\n\r\n";
  out.append(opt.body);
  return true;
}

}  // namespace sipsd

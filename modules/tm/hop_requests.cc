#include "modules/tm/hop_requests.h"

#include "core/parser/cseq_parser.h"
#include "core/parser/msg_parser.h"
#include "core/proxy/via_builder.h"

namespace sipsd::tm {
namespace {

// The parts both requests copy. `to` is the To line to use (empty: the relayed request's).
bool build(std::string_view relayed, std::string_view method, const Header* replyTo, std::string& out,
           std::string& err) {
  SipMsg req;
  if (!parseMessage(relayed, req, err)) return false;
  if (!req.isRequest()) {
    err = "not a request";
    return false;
  }
  const Header* via = findHeader(req, HdrType::Via);
  const Header* from = findHeader(req, HdrType::From);
  const Header* to = replyTo ? replyTo : findHeader(req, HdrType::To);
  const Header* callId = findHeader(req, HdrType::CallId);
  const Header* cseqH = findHeader(req, HdrType::CSeq);
  if (!via || !from || !to || !callId || !cseqH) {
    err = "the relayed request lacks Via, From, To, Call-ID or CSeq";
    return false;
  }
  CSeqBody cseq;
  if (!parseCSeq(cseqH->value, cseq, err)) return false;
  out.clear();
  out.reserve(relayed.size() / 2 + 64);
  out.append(method);
  out += ' ';
  out.append(req.ruri);
  out += " SIP/2.0\r\n";
  // Our Via is the first Via line of what we relayed (the forward builder writes it alone).
  appendLine(out, via->raw);
  for (const auto& h : req.headers)
    if (h.type == HdrType::Route) appendLine(out, h.raw);
  appendLine(out, from->raw);
  appendLine(out, to->raw);
  appendLine(out, callId->raw);
  out += "CSeq: ";
  out.append(cseq.numText);
  out += ' ';
  out.append(method);
  out += "\r\nMax-Forwards: 70\r\nContent-Length: 0\r\n\r\n";
  return true;
}

}  // namespace

bool buildAck(std::string_view relayed, const SipMsg& reply, std::string& out, std::string& err) {
  const Header* to = findHeader(reply, HdrType::To);
  if (!to) {
    err = "the reply has no To";
    return false;
  }
  return build(relayed, "ACK", to, out, err);
}

bool buildCancel(std::string_view relayed, std::string& out, std::string& err) {
  return build(relayed, "CANCEL", nullptr, out, err);
}

}  // namespace sipsd::tm

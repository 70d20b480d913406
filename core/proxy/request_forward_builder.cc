// Forwarded request construction.
#include "core/proxy/request_forward_builder.h"

#include <algorithm>

#include "core/parser/msg_parser.h"
#include "core/parser/parse_util.h"
#include "core/parser/via_parser.h"

namespace sipsd {

int maxForwards(const SipMsg& req) {
  const Header* h = findHeader(req, HdrType::MaxForwards);
  if (!h) return -1;
  auto n = parse::parseUint(parse::trim(h->value), 255);
  return n ? int(*n) : -2;
}

bool maxForwardsExhausted(const SipMsg& req) { return maxForwards(req) == 0; }

bool buildForwardedRequest(const SipMsg& req, const ReceiveInfo& rcv, const LocalVia& self,
                           const ForwardOptions& opt, std::string& out, std::string& err) {
  out.clear();
  if (req.kind != SipMsg::Kind::Request) {
    err = "only SIP requests can be forwarded";
    return false;
  }
  int mf = maxForwards(req);
  if (mf == -2) {
    err = "bad Max-Forwards '" + std::string(findHeader(req, HdrType::MaxForwards)->value.substr(0, 40)) + "'";
    return false;
  }
  if (mf == 0) {
    err = "Max-Forwards is 0 (answer 483 Too Many Hops)";
    return false;
  }
  ViaBody top;
  bool hasTop = nthVia(req, 0, top, err);
  if (!hasTop && !err.empty()) return false;

  std::string branch = opt.branch.empty() ? statelessBranch(req, hasTop ? &top : nullptr) : std::string(opt.branch);
  const std::string_view buf = req.buf;
  // Where the start line's line end finishes.
  size_t startEnd = parse::offsetIn(buf, req.firstLine) + req.firstLine.size();
  while (startEnd < buf.size() && buf[startEnd] != '\n') ++startEnd;
  if (startEnd < buf.size()) ++startEnd;
  const size_t msgEnd = parse::offsetIn(buf, req.body) + req.body.size();

  // Up to four edits of the original bytes, applied in buffer order: the request-URI ($ru), our
  // Via (plus a created Via and Max-Forwards when absent) directly above the first Via or after
  // the start line, the sender's Via with received/rport, and the decremented Max-Forwards value.
  struct Edit {
    size_t pos, len;
    std::string text;
  };
  Edit edits[4];
  size_t nEdits = 0;
  if (!opt.ruri.empty()) {
    Edit& e = edits[nEdits++];
    e.pos = parse::offsetIn(buf, req.ruri);
    e.len = req.ruri.size();
    e.text.assign(opt.ruri);
  }
  Edit& ins = edits[nEdits++];
  ins.pos = hasTop ? parse::offsetIn(buf, top.header->raw) : startEnd;
  ins.len = 0;
  ins.text = "Via: " + makeViaValue(self, branch) + "\r\n";
  if (!hasTop && !opt.createdVia.empty()) {
    ins.text += "Via: ";
    ins.text.append(opt.createdVia);
    ins.text += "\r\n";
  }
  if (mf == -1) ins.text += "Max-Forwards: 70\r\n";
  if (hasTop) {
    Edit& e = edits[nEdits++];
    e.pos = parse::offsetIn(buf, top.raw);
    e.len = top.raw.size();
    appendViaWithReceived(e.text, top, rcv.src, opt.forceRport);
  }
  if (mf > 0) {
    const Header* h = findHeader(req, HdrType::MaxForwards);
    Edit& e = edits[nEdits++];
    e.pos = parse::offsetIn(buf, h->value);
    e.len = h->value.size();
    e.text = std::to_string(mf - 1);
  }
  std::sort(edits, edits + nEdits, [](const Edit& a, const Edit& b) { return a.pos < b.pos; });

  out.reserve(buf.size() + 200);
  size_t from = 0;
  for (size_t i = 0; i < nEdits; ++i) {
    out.append(buf.substr(from, edits[i].pos - from));
    out += edits[i].text;
    from = edits[i].pos + edits[i].len;
  }
  out.append(buf.substr(from, msgEnd - from));
  return true;
}

}  // namespace sipsd

// Forwarded request construction: one pass over the received bytes with a sorted edit list.
#include "core/proxy/request_forward_builder.h"

#include <algorithm>
#include <vector>

#include "core/parser/msg_parser.h"
#include "core/parser/name_addr_parser.h"
#include "core/parser/parse_util.h"
#include "core/parser/via_parser.h"

namespace sipsd {

namespace {

// Replace `len` bytes at `pos` of the received message with text[from, to) of the EditList
// (len 0: insert).
struct Edit {
  size_t pos, len;
  size_t from, to;
};

// The edits of one build. The replacement texts share one buffer instead of a string per edit,
// and both live per worker thread, so a relay allocates nothing for them once warmed up.
struct EditList {
  std::vector<Edit> edits;
  std::string text;

  void clear() {
    edits.clear();
    text.clear();
  }
  // Where the text of the next edit starts: append it to `text`, then call add(pos, len, mark).
  size_t mark() const { return text.size(); }
  void add(size_t pos, size_t len, size_t mark) { edits.push_back({pos, len, mark, text.size()}); }
  void add(size_t pos, size_t len, std::string_view t = {}) {
    size_t m = mark();
    text.append(t);
    add(pos, len, m);
  }
  std::string_view textOf(const Edit& e) const { return std::string_view(text).substr(e.from, e.to - e.from); }

  // Buffer order; stable, so that inserts at the same place keep the order they were added in.
  // An insertion sort: the list is a handful of edits, nearly in order, and std::stable_sort
  // would allocate its merge buffer on every call.
  void sort() {
    auto before = [](const Edit& a, const Edit& b) { return a.pos < b.pos || (a.pos == b.pos && a.len < b.len); };
    for (size_t i = 1; i < edits.size(); ++i) {
      Edit e = edits[i];
      size_t j = i;
      for (; j > 0 && before(e, edits[j - 1]); --j) edits[j] = edits[j - 1];
      edits[j] = e;
    }
  }
};

bool hasLr(std::string_view uri) {
  for (size_t p = uri.find(';'); p != std::string_view::npos; p = uri.find(';', p + 1)) {
    std::string_view rest = uri.substr(p + 1);
    if (parse::istartsWith(rest, "lr") && (rest.size() == 2 || rest[2] == ';' || rest[2] == '=' || rest[2] == '>'))
      return true;
  }
  return false;
}

void appendRecordRoutes(std::string& out, const RecordRouteEdit& rr, const LocalVia& self, const LocalVia& inbound) {
  if (!rr.preset.empty()) {
    out += "Record-Route: <";
    if (rr.preset.find(':') == std::string::npos || !(parse::istartsWith(rr.preset, "sip:") ||
                                                      parse::istartsWith(rr.preset, "sips:")))
      out += "sip:";
    out += rr.preset;
    out += rr.params;
    if (!hasLr(rr.preset)) out += rr.fullLr ? ";lr=on" : ";lr";
    out += ">\r\n";
    return;
  }
  const LocalVia& in = inbound.host.empty() ? self : inbound;
  bool differs = in.proto != self.proto || in.host != self.host || in.port != self.port;
  if (rr.doubleRr && differs) {
    // Top: the side the next hop sees; below: the side the previous hop sees (RFC 3261 §16.6
    // item 4 and Kamailio's double Record-Route). Each side's in-dialog requests then come to
    // the socket that faces them.
    out += "Record-Route: ";
    appendRecordRouteUri(out, self, true, rr.params, rr.fullLr);
    out += "\r\nRecord-Route: ";
    appendRecordRouteUri(out, in, true, rr.params, rr.fullLr);
    out += "\r\n";
    return;
  }
  out += "Record-Route: ";
  appendRecordRouteUri(out, in, false, rr.params, rr.fullLr);
  out += "\r\n";
}

// Removes the first `n` Route entries (across Route headers, in order) and, with `last`, the
// last one: a header loses its whole line when all its entries go, else its value is rewritten
// with what remains.
bool stripRouteEntries(const SipMsg& req, size_t n, bool last, EditList& edits, std::string& err) {
  struct Entry {
    const Header* h;
    std::string_view text;
  };
  thread_local std::vector<Entry> entries;
  entries.clear();
  if (!forEachNameAddr(req, HdrType::Route, "Route",
                       [](const Header& h, const NameAddr& na) { entries.push_back({&h, parse::trim(na.raw)}); }, err))
    return false;
  auto removed = [&](size_t i) { return i < n || (last && i + 1 == entries.size()); };
  const std::string_view buf = req.buf;
  for (size_t i = 0; i < entries.size();) {
    const Header* h = entries[i].h;
    size_t j = i;
    bool any = false, all = true;
    for (; j < entries.size() && entries[j].h == h; ++j) {
      if (removed(j))
        any = true;
      else
        all = false;
    }
    if (any && all) {
      edits.add(parse::offsetIn(buf, h->raw), h->raw.size());
    } else if (any) {
      size_t kept = edits.mark();
      for (size_t k = i; k < j; ++k)
        if (!removed(k)) {
          if (edits.text.size() > kept) edits.text += ", ";
          edits.text.append(entries[k].text);
        }
      edits.add(parse::offsetIn(buf, h->value), h->value.size(), kept);
    }
    i = j;
  }
  return true;
}

bool removedByScript(const MsgEdits& e, const Header& h) {
  for (const std::string& name : e.removeHeaders)
    if (sameHeaderName(h.name, name)) return true;
  return false;
}

}  // namespace

int maxForwards(const SipMsg& req) {
  const Header* h = findHeader(req, HdrType::MaxForwards);
  if (!h) return -1;
  auto n = parse::parseUint(parse::trim(h->value), 255);
  return n ? int(*n) : -2;
}

bool maxForwardsExhausted(const SipMsg& req) { return maxForwards(req) == 0; }

void appendRecordRouteUri(std::string& out, const LocalVia& sock, bool r2, std::string_view params, bool fullLr) {
  out += "<sip:";
  bool v6 = sock.host.find(':') != std::string_view::npos && sock.host.front() != '[';
  if (v6) out += '[';
  out.append(sock.host);
  if (v6) out += ']';
  if (sock.port) {
    out += ':';
    str::appendDecimal(out, sock.port);
  }
  if (sock.proto == Proto::TCP) out += ";transport=tcp";
  if (sock.proto == Proto::TLS) out += ";transport=tls";
  if (r2) out += ";r2=on";
  out += fullLr ? ";lr=on" : ";lr";
  out.append(params);
  out += '>';
}

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

  thread_local std::string ownBranch;  // per thread: no allocation per stateless forward
  ownBranch.clear();
  if (opt.branch.empty()) appendStatelessBranch(ownBranch, req, hasTop ? &top : nullptr);
  const std::string_view branch = opt.branch.empty() ? std::string_view(ownBranch) : opt.branch;
  const std::string_view buf = req.buf;
  // Where the start line's line end finishes.
  size_t startEnd = parse::offsetIn(buf, req.firstLine) + req.firstLine.size();
  while (startEnd < buf.size() && buf[startEnd] != '\n') ++startEnd;
  if (startEnd < buf.size()) ++startEnd;
  const size_t msgEnd = parse::offsetIn(buf, req.body) + req.body.size();
  const MsgEdits* ed = opt.edits && !opt.edits->empty() ? opt.edits : nullptr;

  // Edits of the original bytes, applied in buffer order: our Via (plus a created Via and
  // Max-Forwards when absent) directly above the first Via or after the start line, the sender's
  // Via with received/rport, the decremented Max-Forwards value, then the script's edits.
  thread_local EditList edits;
  edits.clear();
  std::string& t = edits.text;
  size_t m = edits.mark();
  t += "Via: ";
  appendViaValue(t, self, branch);
  t += "\r\n";
  if (!hasTop && !opt.createdVia.empty()) {
    t += "Via: ";
    t.append(opt.createdVia);
    t += "\r\n";
  }
  if (mf == -1) {
    t += "Max-Forwards: ";
    str::appendDecimal(t, ed && ed->maxForwardsInsert > 0 ? ed->maxForwardsInsert : 70);
    t += "\r\n";
  }
  edits.add(hasTop ? parse::offsetIn(buf, top.header->raw) : startEnd, 0, m);
  if (hasTop) {
    m = edits.mark();
    appendViaWithReceived(t, top, rcv.src, opt.forceRport);
    edits.add(parse::offsetIn(buf, top.raw), top.raw.size(), m);
  }
  if (mf > 0) {
    const Header* h = findHeader(req, HdrType::MaxForwards);
    m = edits.mark();
    str::appendDecimal(t, mf - 1);
    edits.add(parse::offsetIn(buf, h->value), h->value.size(), m);
  }
  if (!opt.ruri.empty() && opt.ruri != req.ruri) edits.add(parse::offsetIn(buf, req.ruri), req.ruri.size(), opt.ruri);
  if (ed) {
    if (ed->recordRoute.enabled) {
      m = edits.mark();
      appendRecordRoutes(t, ed->recordRoute, self, opt.inbound);
      edits.add(startEnd, 0, m);
    }
    if ((ed->stripRoutes > 0 || ed->stripLastRoute) &&
        !stripRouteEntries(req, ed->stripRoutes, ed->stripLastRoute, edits, err))
      return false;
    if (!ed->removeHeaders.empty())
      for (const Header& h : req.headers)
        if (removedByScript(*ed, h)) edits.add(parse::offsetIn(buf, h.raw), h.raw.size());
    if (!ed->appendHeaders.empty()) {
      size_t end = req.headers.empty() ? startEnd
                                       : parse::offsetIn(buf, req.headers.back().raw) + req.headers.back().raw.size();
      edits.add(end, 0, ed->appendHeaders);
    }
  }
  // Inserts at the same place keep the order above (our Via before the Record-Route) and come
  // before a line removed at that place; edits inside a removed line are skipped.
  edits.sort();

  out.reserve(buf.size() + edits.text.size());
  size_t from = 0;
  for (const Edit& e : edits.edits) {
    if (e.pos < from) continue;  // inside a removed line
    out.append(buf.substr(from, e.pos - from));
    out += edits.textOf(e);
    from = e.pos + e.len;
  }
  out.append(buf.substr(from, msgEnd - from));
  return true;
}

}  // namespace sipsd

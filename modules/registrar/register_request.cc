// RegisterRequest::parse: To, Call-ID, CSeq, Expires and every Contact of a REGISTER.
#include "modules/registrar/register_request.h"

#include "core/parser/cseq_parser.h"
#include "core/parser/msg_parser.h"
#include "core/parser/name_addr_parser.h"
#include "core/parser/param_list.h"
#include "core/parser/parse_util.h"
#include "core/parser/uri_parser.h"

namespace sipsd::registrar {
namespace {

// "0.5" / "1" / "0.125" -> 500 / 1000 / 125 (RFC 3261 qvalue); -1 when malformed.
int parseQ(std::string_view s) {
  if (s.empty()) return -1;
  int whole = s[0] - '0';
  if (whole < 0 || whole > 1) return -1;
  int frac = 0, digits = 0;
  if (s.size() > 1) {
    if (s[1] != '.') return -1;
    for (char c : s.substr(2)) {
      if (!parse::isDigit(c) || ++digits > 3) return -1;
      frac = frac * 10 + (c - '0');
    }
  }
  while (digits++ < 3) frac *= 10;
  int q = whole * 1000 + frac;
  return q > 1000 ? -1 : q;
}

}  // namespace

bool RegisterRequest::parse(const SipMsg& msg, RegisterRequest& out, std::string& err) {
  const Header* to = findHeader(msg, HdrType::To);
  NameAddr na;
  std::string_view rest;
  if (!to || !parseNameAddr(to->value, na, rest, false, err)) {
    err = "Bad To header";
    return false;
  }
  out.toUri = std::string(na.uri);
  const Header* cid = findHeader(msg, HdrType::CallId);
  if (!cid || cid->value.empty()) {
    err = "Missing Call-ID";
    return false;
  }
  out.callId = std::string(cid->value);
  CSeqBody cs;
  const Header* cseq = findHeader(msg, HdrType::CSeq);
  if (!cseq || !parseCSeq(cseq->value, cs, err)) {
    err = "Bad CSeq";
    return false;
  }
  out.cseq = cs.num;
  if (const Header* ex = findHeader(msg, HdrType::Expires)) {
    auto v = parse::parseUint(parse::trim(ex->value));
    if (!v) {
      err = "Bad Expires header";
      return false;
    }
    out.expires = uint32_t(*v);
  }
  if (const Header* ua = findHeader(msg, HdrType::UserAgent)) out.userAgent = std::string(ua->value);
  for (size_t n = 0;; ++n) {
    NameAddr c;
    std::string cerr;
    if (!nthContact(msg, n, c, cerr)) {
      if (!cerr.empty()) {
        err = "Bad Contact: " + cerr;
        return false;
      }
      break;
    }
    if (c.star) {
      out.star = true;
      continue;
    }
    SipUri uri;
    if (!parseUri(c.uri, uri, cerr)) {
      err = "Bad Contact URI";
      return false;
    }
    RequestedContact rc;
    rc.uri = std::string(c.uri);
    if (auto e = findParam(c.params, "expires")) {
      auto v = parse::parseUint(*e);
      if (!v) {
        err = "Bad Contact expires";
        return false;
      }
      rc.expires = uint32_t(*v);
    }
    if (auto q = findParam(c.params, "q")) {
      rc.q = parseQ(*q);
      if (rc.q < 0) {
        err = "Bad Contact q";
        return false;
      }
    }
    out.contacts.push_back(std::move(rc));
  }
  return true;
}

}  // namespace sipsd::registrar

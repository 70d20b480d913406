// Kamailio's sanity checks (see sanity_checker.h), written from its module documentation.
#include "core/script/sanity_checker.h"

#include "core/parser/cseq_parser.h"
#include "core/parser/msg_parser.h"
#include "core/parser/name_addr_parser.h"
#include "core/parser/parse_util.h"
#include "core/parser/uri_parser.h"
#include "core/parser/via_parser.h"

namespace sipsd {

namespace {

SanityFailure failed(int code, std::string_view reason, std::string detail, std::string extra = {}) {
  SanityFailure f;
  f.code = code;
  f.reason = reason;
  f.detail = std::move(detail);
  f.extraHeader = std::move(extra);
  return f;
}

bool allDigits(std::string_view s) {
  if (s.empty()) return false;
  for (char c : s)
    if (!parse::isDigit(c)) return false;
  return true;
}

// Calls fn(item) for each comma-separated item of a header value, trimmed; quotes are respected.
template <typename Fn>
void forEachItem(std::string_view v, Fn&& fn) {
  bool quoted = false;
  size_t start = 0;
  for (size_t i = 0; i <= v.size(); ++i) {
    if (i < v.size() && v[i] == '"' && (i == 0 || v[i - 1] != '\\')) quoted = !quoted;
    if (i == v.size() || (v[i] == ',' && !quoted)) {
      std::string_view item = parse::trim(v.substr(start, i - start));
      if (!item.empty()) fn(item);
      start = i + 1;
    }
  }
}

// The number of `tag` parameters in ";a=b;tag=x" (header parameters of From/To).
int tagCount(std::string_view params) {
  int n = 0;
  while (!params.empty()) {
    size_t semi = params.find(';', 1);
    std::string_view p = parse::trim(params.substr(params.front() == ';' ? 1 : 0,
                                                   semi == std::string_view::npos ? std::string_view::npos : semi - 1));
    size_t eq = p.find('=');
    if (parse::ieq(parse::trim(p.substr(0, eq)), "tag")) ++n;
    if (semi == std::string_view::npos) break;
    params = params.substr(semi);
  }
  return n;
}

// A Digest credentials value ("Digest username=..., realm=...") has what RFC 2617 §3.2.2
// requires: username, realm, nonce, uri and response, none empty. Another scheme fails when
// `digestOnly`, else passes.
bool credentialsOk(std::string_view value, bool digestOnly) {
  value = parse::trim(value);
  size_t sp = value.find_first_of(" \t");
  std::string_view scheme = value.substr(0, sp);
  if (!parse::ieq(scheme, "Digest")) return !digestOnly;
  if (sp == std::string_view::npos) return false;
  bool username = false, realm = false, nonce = false, uri = false, response = false;
  forEachItem(value.substr(sp + 1), [&](std::string_view item) {
    size_t eq = item.find('=');
    if (eq == std::string_view::npos) return;
    std::string_view name = parse::trim(item.substr(0, eq));
    std::string_view val = parse::trim(item.substr(eq + 1));
    if (val.size() >= 2 && val.front() == '"' && val.back() == '"') val = val.substr(1, val.size() - 2);
    if (val.empty()) return;
    if (parse::ieq(name, "username")) username = true;
    else if (parse::ieq(name, "realm")) realm = true;
    else if (parse::ieq(name, "nonce")) nonce = true;
    else if (parse::ieq(name, "uri")) uri = true;
    else if (parse::ieq(name, "response")) response = true;
  });
  return username && realm && nonce && uri && response;
}

bool uriParses(std::string_view text) {
  SipUri u;
  std::string err;
  return parseUri(text, u, err);
}

// The URI of a From/To header, false when the header is absent or malformed.
bool nameAddrUri(const SipMsg& msg, HdrType type, NameAddr& na) {
  const Header* h = findHeader(msg, type);
  if (!h) return false;
  std::string_view rest;
  std::string err;
  return parseNameAddr(h->value, na, rest, false, err);
}

}  // namespace

SanityFailure SanityChecker::check(const SipMsg& msg, Proto proto, unsigned checks, unsigned uriChecks,
                                   const std::vector<std::string>& proxyRequire) {
  const bool request = msg.isRequest() && !msg.isHttp();
  if (msg.isHttp()) return {};
  std::string err;

  if (request && (checks & kRuriSipVersion) && !parse::ieq(msg.version, "SIP/2.0"))
    return failed(505, "Version Not Supported (R-URI)", "request line version '" + std::string(msg.version) + "'");
  if (request && (checks & kRuriScheme)) {
    std::string_view scheme = msg.ruri.substr(0, msg.ruri.find(':'));
    if (!parse::ieq(scheme, "sip") && !parse::ieq(scheme, "sips") && !parse::ieq(scheme, "tel") &&
        !parse::ieq(scheme, "tels"))
      return failed(416, "Unsupported URI Scheme in Request URI", "request URI scheme '" + std::string(scheme) + "'");
  }
  if (checks & kRequiredHeaders) {
    static constexpr std::pair<HdrType, const char*> kRequired[] = {
        {HdrType::To, "To"}, {HdrType::From, "From"}, {HdrType::CSeq, "CSeq"}, {HdrType::CallId, "Call-ID"},
        {HdrType::Via, "Via"}};
    for (const auto& [type, name] : kRequired)
      if (!findHeader(msg, type))
        return failed(400, request ? "Missing Required Header in Request" : "Missing Required Header in Reply",
                      std::string("no ") + name + " header");
  }
  if (checks & (kViaSipVersion | kViaProtocol)) {
    for (size_t i = 0;; ++i) {
      ViaBody via;
      if (!nthVia(msg, i, via, err)) {
        if (!err.empty()) return failed(400, "Bad Via", "Via " + std::to_string(i + 1) + ": " + err);
        break;
      }
      if ((checks & kViaSipVersion) && !(parse::ieq(via.protoName, "SIP") && via.protoVersion == "2.0"))
        return failed(400, "Bad Via (SIP version)", "Via " + std::to_string(i + 1) + " names " +
                                                         std::string(via.protoName) + "/" + std::string(via.protoVersion));
      if (checks & kViaProtocol) {
        std::string_view t = via.transport;
        if (!(parse::ieq(t, "UDP") || parse::ieq(t, "TCP") || parse::ieq(t, "TLS") || parse::ieq(t, "SCTP") ||
              parse::ieq(t, "WS") || parse::ieq(t, "WSS")))
          return failed(400, "Bad Via (transport)", "Via " + std::to_string(i + 1) + " transport '" + std::string(t) + "'");
      }
    }
  }
  if (checks & (kCseqMethod | kCseqValue)) {
    const Header* h = findHeader(msg, HdrType::CSeq);
    if (!h) return failed(400, "Missing CSeq Header", "no CSeq header");
    std::string_view v = parse::trim(h->value);
    size_t sp = v.find_first_of(" \t");
    std::string_view num = v.substr(0, sp);
    std::string_view method = sp == std::string_view::npos ? std::string_view() : parse::trim(v.substr(sp));
    if ((checks & kCseqValue) && (!allDigits(num) || !parse::parseUint(num, UINT32_MAX)))
      return failed(400, "CSeq number is illegal", "CSeq number '" + std::string(num) + "'");
    if (request && (checks & kCseqMethod) && method != msg.method)
      return failed(400, "CSeq method does not match request method",
                    "CSeq method '" + std::string(method) + "' in a " + std::string(msg.method));
  }
  if (checks & kContentLength) {
    // Content-Length must count exactly the bytes after the header section. On a stream the
    // framer cut the message by it; in a datagram any surplus shows here.
    if (const Header* h = findHeader(msg, HdrType::ContentLength)) {
      auto declared = parse::parseUint(parse::trim(h->value), UINT32_MAX);
      const size_t actual = size_t(msg.buf.data() + msg.buf.size() - msg.body.data());
      if (!declared || (proto == Proto::UDP && *declared != actual) || *declared != msg.body.size())
        return failed(400, "Content-Length mis-match", "Content-Length '" + std::string(parse::trim(h->value)) +
                                                           "' for a body of " + std::to_string(actual) + " bytes");
    }
  }
  if (checks & kExpiresValue) {
    if (const Header* h = findHeader(msg, HdrType::Expires)) {
      std::string_view v = parse::trim(h->value);
      if (!allDigits(v) || !parse::parseUint(v, UINT32_MAX))
        return failed(400, "Expires value is illegal", "Expires '" + std::string(v) + "'");
    }
  }
  if (request && (checks & kProxyRequire)) {
    std::string unsupported;
    for (const Header& h : msg.headers) {
      if (h.type != HdrType::Other || !sameHeaderName(h.name, "Proxy-Require")) continue;
      forEachItem(h.value, [&](std::string_view ext) {
        for (const auto& ok : proxyRequire)
          if (parse::ieq(ok, ext)) return;
        if (!unsupported.empty()) unsupported += ", ";
        unsupported.append(ext);
      });
    }
    if (!unsupported.empty())
      return failed(420, "Bad Extension", "Proxy-Require names " + unsupported, "Unsupported: " + unsupported);
  }
  if (checks & kParseUris) {
    if (request && (uriChecks & kUriRuri) && !uriParses(msg.ruri))
      return failed(400, "Bad Request URI", "request URI '" + std::string(msg.ruri.substr(0, 80)) + "'");
    NameAddr na;
    if ((uriChecks & kUriFrom) && (!nameAddrUri(msg, HdrType::From, na) || !uriParses(na.uri)))
      return failed(400, "Bad From URI", "From URI does not parse");
    if ((uriChecks & kUriTo) && (!nameAddrUri(msg, HdrType::To, na) || !uriParses(na.uri)))
      return failed(400, "Bad To URI", "To URI does not parse");
    if (uriChecks & kUriContact) {
      bool bad = false;
      bool parsed = forEachNameAddr(
          msg, HdrType::Contact, "Contact",
          [&bad](const Header&, const NameAddr& c) {
            if (!c.star && !uriParses(c.uri)) bad = true;
            return true;
          },
          err);
      if (bad || !parsed) return failed(400, "Bad Contact URI", "a Contact URI does not parse");
    }
  }
  if (checks & (kDigest | kAuthorization)) {
    for (const Header& h : msg.headers) {
      if (h.type != HdrType::Other) continue;
      const bool auth = sameHeaderName(h.name, "Authorization");
      const bool proxyAuth = sameHeaderName(h.name, "Proxy-Authorization");
      if (!auth && !proxyAuth) continue;
      // 2048 checks every credentials header and wants Digest; 8192 only Authorization, Digest when it is.
      if (((checks & kDigest) && !credentialsOk(h.value, true)) ||
          ((checks & kAuthorization) && auth && !credentialsOk(h.value, false)))
        return failed(400, "Bad Credentials", std::string(h.name) + " lacks a Digest parameter");
    }
  }
  if (checks & kDuplicateTags) {
    NameAddr na;
    if (nameAddrUri(msg, HdrType::From, na) && tagCount(na.params) > 1)
      return failed(400, "Duplicated From tag", "From has more than one tag");
    if (nameAddrUri(msg, HdrType::To, na) && tagCount(na.params) > 1)
      return failed(400, "Duplicated To tag", "To has more than one tag");
  }
  if (checks & kVia1) {
    ViaBody via;
    if (!nthVia(msg, 0, via, err) || via.host.empty())
      return failed(400, "Bad Via1 header", err.empty() ? "no usable first Via" : "first Via: " + err);
  }
  return {};
}

}  // namespace sipsd

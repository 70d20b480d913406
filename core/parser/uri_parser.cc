// URI parsing: scheme, userinfo, hostport, parameters and headers.
#include "core/parser/uri_parser.h"

#include "core/parser/parse_util.h"

namespace sipsd {

using namespace parse;

namespace {

bool uriError(std::string& err, std::string_view what, std::string_view uri) {
  err = "bad URI '";
  err.append(uri.substr(0, 80));
  err += "': ";
  err.append(what);
  return false;
}

}  // namespace

bool parseUri(std::string_view text, SipUri& u, std::string& err) {
  u = SipUri{};
  text = trim(text);
  u.raw = text;
  size_t colon = text.find(':');
  if (colon == std::string_view::npos) return uriError(err, "missing scheme", text);
  u.schemeText = text.substr(0, colon);
  if (ieq(u.schemeText, "sip")) u.scheme = SipUri::Scheme::Sip;
  else if (ieq(u.schemeText, "sips")) u.scheme = SipUri::Scheme::Sips;
  else if (ieq(u.schemeText, "tel")) u.scheme = SipUri::Scheme::Tel;
  else return uriError(err, "unsupported scheme (sip, sips or tel)", text);
  std::string_view s = text.substr(colon + 1);
  for (char c : s)
    if (static_cast<unsigned char>(c) <= 0x20 || c == 0x7f || c == '<' || c == '>' || c == '"')
      return uriError(err, "invalid character", text);

  if (u.scheme == SipUri::Scheme::Tel) {
    // tel:number;params — the number is kept as `user` so @ruri.user works as in SER.
    size_t semi = s.find(';');
    u.user = s.substr(0, semi);
    if (u.user.empty()) return uriError(err, "empty telephone number", text);
    if (semi != std::string_view::npos) u.params = s.substr(semi);
    return true;
  }

  size_t at = s.find('@');
  if (at != std::string_view::npos) {
    std::string_view userinfo = s.substr(0, at);
    size_t pc = userinfo.find(':');
    u.user = userinfo.substr(0, pc);
    if (pc != std::string_view::npos) u.password = userinfo.substr(pc + 1);
    if (u.user.empty()) return uriError(err, "empty user part", text);
    s = s.substr(at + 1);
  }
  size_t i = 0;
  if (!s.empty() && s[0] == '[') {
    size_t close = s.find(']');
    if (close == std::string_view::npos) return uriError(err, "unterminated IPv6 reference", text);
    for (size_t k = 1; k < close; ++k) {
      char c = s[k];
      if (!(isDigit(c) || (lower(c) >= 'a' && lower(c) <= 'f') || c == ':' || c == '.'))
        return uriError(err, "bad IPv6 reference", text);
    }
    i = close + 1;
  } else {
    while (i < s.size() && (isAlpha(s[i]) || isDigit(s[i]) || s[i] == '.' || s[i] == '-' || s[i] == '_')) ++i;
  }
  if (i == 0) return uriError(err, "missing host", text);
  u.host = s.substr(0, i);
  if (i < s.size() && s[i] == ':') {
    size_t ps = ++i;
    while (i < s.size() && isDigit(s[i])) ++i;
    auto port = parseUint(s.substr(ps, i - ps), 65535);
    if (!port || *port == 0) return uriError(err, "bad port", text);
    u.portText = s.substr(ps, i - ps);
    u.port = uint16_t(*port);
  }
  if (i < s.size() && s[i] != ';' && s[i] != '?') return uriError(err, std::string("unexpected '") + s[i] + "' after host", text);
  s = s.substr(i);
  size_t q = s.find('?');
  u.params = s.substr(0, q);
  if (q != std::string_view::npos) u.headers = s.substr(q + 1);
  return true;
}

}  // namespace sipsd

// Via parsing: sent-protocol, sent-by and the parameters the proxy and selects use.
#include "core/parser/via_parser.h"

#include "core/parser/parse_util.h"

namespace sipsd {

using namespace parse;

namespace {

size_t skipLws(std::string_view s, size_t i) {
  while (i < s.size() && isLws(s[i])) ++i;
  return i;
}

size_t token(std::string_view s, size_t i) {
  while (i < s.size() && isTokenChar(s[i])) ++i;
  return i;
}

bool viaError(std::string& err, std::string_view what, std::string_view s) {
  err = "bad Via: ";
  err.append(what);
  err += " in '";
  err.append(s.substr(0, 60));
  err += '\'';
  return false;
}

}  // namespace

std::string_view stripBrackets(std::string_view host) {
  if (host.size() >= 2 && host.front() == '[' && host.back() == ']') return host.substr(1, host.size() - 2);
  return host;
}

bool parseVia(std::string_view s, ViaBody& v, std::string_view& rest, std::string& err) {
  v = ViaBody{};
  size_t i = skipLws(s, 0);
  const size_t start = i;
  size_t e = token(s, i);
  if (e == i) return viaError(err, "missing protocol name", s);
  v.protoName = s.substr(i, e - i);
  i = skipLws(s, e);
  if (i >= s.size() || s[i] != '/') return viaError(err, "expected '/' after protocol name", s);
  i = skipLws(s, i + 1);
  e = token(s, i);
  if (e == i) return viaError(err, "missing protocol version", s);
  v.protoVersion = s.substr(i, e - i);
  i = skipLws(s, e);
  if (i >= s.size() || s[i] != '/') return viaError(err, "expected '/' after protocol version", s);
  i = skipLws(s, i + 1);
  e = token(s, i);
  if (e == i) return viaError(err, "missing transport", s);
  v.transport = s.substr(i, e - i);
  i = skipLws(s, e);
  if (i == e) return viaError(err, "expected whitespace before sent-by", s);

  // sent-by = host [ ":" port ]
  size_t hs = i;
  if (i < s.size() && s[i] == '[') {
    while (i < s.size() && s[i] != ']') ++i;
    if (i >= s.size()) return viaError(err, "unterminated IPv6 reference", s);
    ++i;
  } else {
    while (i < s.size() && (isAlpha(s[i]) || isDigit(s[i]) || s[i] == '.' || s[i] == '-' || s[i] == '_')) ++i;
  }
  if (i == hs) return viaError(err, "missing host", s);
  v.host = s.substr(hs, i - hs);
  size_t afterHost = i;
  i = skipLws(s, i);
  if (i < s.size() && s[i] == ':') {
    i = skipLws(s, i + 1);
    size_t ps = i;
    while (i < s.size() && isDigit(s[i])) ++i;
    auto port = parseUint(s.substr(ps, i - ps), 65535);
    if (!port || *port == 0) return viaError(err, "bad port", s);
    v.portText = s.substr(ps, i - ps);
    v.port = uint16_t(*port);
    afterHost = i;
    i = skipLws(s, i);
  }
  size_t lastEnd = afterHost;

  // *( SEMI via-params ). The parameters the proxy uses are picked up on the way (what
  // ParamIter would find in v.params, without a second walk over them).
  size_t paramsStart = std::string_view::npos;
  while (i < s.size() && s[i] == ';') {
    if (paramsStart == std::string_view::npos) paramsStart = i;
    i = skipLws(s, i + 1);
    e = token(s, i);
    if (e == i) return viaError(err, "empty parameter", s);
    std::string_view name = s.substr(i, e - i), value;
    i = skipLws(s, e);
    lastEnd = e;
    if (i < s.size() && s[i] == '=') {
      i = skipLws(s, i + 1);
      if (i < s.size() && s[i] == '"') {
        size_t k = i + 1;
        while (k < s.size() && s[k] != '"') k += (s[k] == '\\' && k + 1 < s.size()) ? 2 : 1;
        if (k >= s.size()) return viaError(err, "unterminated quoted parameter", s);
        value = s.substr(i + 1, k - i - 1);
        e = k + 1;
      } else if (i < s.size() && s[i] == '[') {
        e = i;
        while (e < s.size() && s[e] != ']') ++e;
        if (e >= s.size()) return viaError(err, "unterminated IPv6 reference in parameter", s);
        ++e;
        value = s.substr(i, e - i);
      } else {
        e = i;
        while (e < s.size() && (isTokenChar(s[e]) || s[e] == ':')) ++e;
        if (e == i) return viaError(err, "empty parameter value", s);
        value = s.substr(i, e - i);
      }
      lastEnd = e;
      i = skipLws(s, e);
    }
    if (ieq(name, "branch")) v.branch = value;
    else if (ieq(name, "received")) { v.received = value; v.hasReceived = true; }
    else if (ieq(name, "rport")) { v.rport = value; v.hasRport = true; }
    else if (ieq(name, "maddr")) v.maddr = value;
    else if (ieq(name, "ttl")) v.ttl = value;
  }
  if (paramsStart != std::string_view::npos) v.params = s.substr(paramsStart, lastEnd - paramsStart);
  // A trailing comment "(...)" is legal after a via-parm; it carries nothing we use.
  if (i < s.size() && s[i] == '(') {
    int depth = 0;
    for (; i < s.size(); ++i) {
      if (s[i] == '(') ++depth;
      else if (s[i] == ')' && --depth == 0) break;
    }
    if (i >= s.size()) return viaError(err, "unterminated comment", s);
    i = skipLws(s, i + 1);
  }
  if (i < s.size()) {
    if (s[i] != ',') return viaError(err, std::string("unexpected '") + s[i] + "'", s);
    rest = s.substr(i + 1);
    v.lastInHeader = trim(rest).empty();
    if (v.lastInHeader) return viaError(err, "trailing ','", s);
  } else {
    rest = {};
    v.lastInHeader = true;
  }
  v.raw = s.substr(start, lastEnd - start);
  v.rest = rest;
  return true;
}

bool nthVia(const SipMsg& msg, size_t n, ViaBody& out, std::string& err) {
  // The top Via of one message is read by the dispatcher's checks, tm's key, the forward and
  // reply builders — four or five parses of the same text per message without this cache.
  struct TopCache {
    uint64_t parseId = 0;
    const SipMsg* msg = nullptr;
    bool ok = false;
    ViaBody via;
    std::string err;
  };
  thread_local TopCache top;
  if (n == 0 && msg.parseId.value != 0) {
    if (top.parseId != msg.parseId.value || top.msg != &msg) {
      top.parseId = 0;  // stays invalid if the parse below throws
      top.via = ViaBody{};
      top.ok = nthViaUncached(msg, 0, top.via, top.err);
      top.parseId = msg.parseId.value;
      top.msg = &msg;
    }
    out = top.via;
    err = top.err;
    return top.ok;
  }
  return nthViaUncached(msg, n, out, err);
}

bool nthViaUncached(const SipMsg& msg, size_t n, ViaBody& out, std::string& err) {
  err.clear();
  size_t seen = 0;
  for (const auto& h : msg.headers) {
    if (h.type != HdrType::Via) continue;
    std::string_view rest = h.value;
    do {
      if (!parseVia(rest, out, rest, err)) return false;
      if (seen++ == n) {
        out.header = &h;
        return true;
      }
    } while (!rest.empty());
  }
  return false;
}

}  // namespace sipsd

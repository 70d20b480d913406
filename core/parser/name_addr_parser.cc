// name-addr / addr-spec parsing for From, To and Contact.
#include "core/parser/name_addr_parser.h"

#include "core/parser/parse_util.h"

namespace sipsd {

using namespace parse;

namespace {

bool naError(std::string& err, std::string_view what, std::string_view s) {
  err = "bad address: ";
  err.append(what);
  err += " in '";
  err.append(s.substr(0, 80));
  err += '\'';
  return false;
}

// Index just past the closing quote of a quoted string opened at s[i]; npos if unterminated.
size_t skipQuoted(std::string_view s, size_t i) {
  for (++i; i < s.size(); ++i) {
    if (s[i] == '\\') ++i;
    else if (s[i] == '"') return i + 1;
  }
  return std::string_view::npos;
}

}  // namespace

bool parseNameAddr(std::string_view s, NameAddr& out, std::string_view& rest, bool list, std::string& err) {
  out = NameAddr{};
  size_t i = 0;
  while (i < s.size() && isLws(s[i])) ++i;
  const size_t start = i;
  if (i >= s.size()) return naError(err, "empty value", s);
  size_t end = i;  // end of the element's meaningful text

  if (s[i] == '*') {
    out.star = true;
    end = ++i;
  } else {
    // Find '<' (name-addr) before any separator; otherwise this is an addr-spec.
    size_t j = i, lt = std::string_view::npos;
    while (j < s.size()) {
      char c = s[j];
      if (c == '"') {
        j = skipQuoted(s, j);
        if (j == std::string_view::npos) return naError(err, "unterminated quoted display name", s);
        continue;
      }
      if (c == '<') { lt = j; break; }
      if (c == ';' || (list && c == ',')) break;
      ++j;
    }
    if (lt != std::string_view::npos) {
      std::string_view disp = trim(s.substr(i, lt - i));
      if (disp.size() >= 2 && disp.front() == '"' && disp.back() == '"') disp = disp.substr(1, disp.size() - 2);
      out.display = disp;
      size_t gt = s.find('>', lt);
      if (gt == std::string_view::npos) return naError(err, "missing '>'", s);
      out.uri = trim(s.substr(lt + 1, gt - lt - 1));
      if (out.uri.empty()) return naError(err, "empty URI", s);
      end = i = gt + 1;
    } else {
      // addr-spec: parameters after the URI belong to the header (RFC 3261 §20.10).
      size_t k = i;
      while (k < s.size() && s[k] != ';' && !isLws(s[k]) && !(list && s[k] == ',')) ++k;
      out.uri = s.substr(i, k - i);
      if (out.uri.empty() || out.uri.find(':') == std::string_view::npos)
        return naError(err, "expected a URI", s);
      end = i = k;
    }
  }

  // *( SEMI generic-param ). The first tag= is picked up on the way (what findParam would
  // find in out.params, without a second walk over them).
  while (i < s.size() && isLws(s[i])) ++i;
  size_t paramsStart = i;
  while (i < s.size() && s[i] == ';') {
    ++i;
    while (i < s.size() && isLws(s[i])) ++i;
    size_t ns = i;
    while (i < s.size() && isTokenChar(s[i])) ++i;
    if (i == ns) return naError(err, "empty parameter", s);
    std::string_view name = s.substr(ns, i - ns), value;
    end = i;
    while (i < s.size() && isLws(s[i])) ++i;
    if (i < s.size() && s[i] == '=') {
      ++i;
      while (i < s.size() && isLws(s[i])) ++i;
      size_t vs = i;
      if (i < s.size() && s[i] == '"') {
        i = skipQuoted(s, i);
        if (i == std::string_view::npos) return naError(err, "unterminated quoted parameter", s);
        value = s.substr(vs + 1, i - vs - 2);
      } else if (i < s.size() && s[i] == '[') {
        size_t close = s.find(']', i);
        if (close == std::string_view::npos) return naError(err, "unterminated IPv6 reference", s);
        i = close + 1;
        value = s.substr(vs, i - vs);
      } else {
        while (i < s.size() && (isTokenChar(s[i]) || s[i] == ':')) ++i;
        if (i == vs) return naError(err, "empty parameter value", s);
        value = s.substr(vs, i - vs);
      }
      end = i;
      while (i < s.size() && isLws(s[i])) ++i;
    }
    if (!out.hasTag && ieq(name, "tag")) {
      out.tag = value;
      out.hasTag = true;
    }
  }
  if (end > paramsStart) out.params = s.substr(paramsStart, end - paramsStart);
  if (i < s.size()) {
    if (!list || s[i] != ',') return naError(err, std::string("unexpected '") + s[i] + "'", s);
    rest = s.substr(i + 1);
    if (trim(rest).empty()) return naError(err, "trailing ','", s);
  } else {
    rest = {};
  }
  out.raw = s.substr(start, end - start);
  return true;
}

bool nthContact(const SipMsg& msg, size_t n, NameAddr& out, std::string& err) {
  err.clear();
  size_t seen = 0;
  for (const auto& h : msg.headers) {
    if (h.type != HdrType::Contact) continue;
    std::string_view rest = h.value;
    do {
      if (!parseNameAddr(rest, out, rest, true, err)) return false;
      if (seen++ == n) return true;
    } while (!rest.empty());
  }
  return false;
}

}  // namespace sipsd

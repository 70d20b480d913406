// Reply fields for the call mode (see call_reply.h).
#include "call_reply.h"

#include "sip_text.h"

namespace sipsd::bench {
namespace {

char lower(char c) { return (c >= 'A' && c <= 'Z') ? static_cast<char>(c - 'A' + 'a') : c; }

std::string_view trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  return s;
}

// Where the element that starts at `from` ends: the next comma outside <...> and "...", or the end.
std::size_t elementEnd(std::string_view v, std::size_t from) {
  bool quoted = false;
  bool angled = false;
  for (std::size_t i = from; i < v.size(); ++i) {
    const char c = v[i];
    if (quoted) {
      if (c == '\\') ++i;
      else if (c == '"') quoted = false;
    } else if (c == '"') {
      quoted = true;
    } else if (c == '<') {
      angled = true;
    } else if (c == '>') {
      angled = false;
    } else if (c == ',' && !angled) {
      return i;
    }
  }
  return v.size();
}

// The header parameters of a name-addr / addr-spec value: after the '>' of a name-addr, else
// after the URI (where a ';' starts the header's parameters).
std::string_view headerParams(std::string_view v) {
  const std::size_t gt = v.find('>');
  if (v.find('<') != std::string_view::npos && gt != std::string_view::npos) return v.substr(gt + 1);
  const std::size_t semi = v.find(';');
  return semi == std::string_view::npos ? std::string_view() : v.substr(semi);
}

}  // namespace

bool CallReply::parse(std::string_view msg, std::string* error) {
  *this = CallReply();
  status_ = statusCode(msg);
  if (status_ < 0) {
    *error = "not a SIP reply";
    return false;
  }
  const std::size_t hdrEnd = msg.find("\r\n\r\n");
  std::string_view head = msg.substr(0, hdrEnd == std::string_view::npos ? msg.size() : hdrEnd + 2);
  std::size_t eol = head.find("\r\n");
  statusLine_ = head.substr(0, eol);
  head.remove_prefix(eol == std::string_view::npos ? head.size() : eol + 2);
  bool haveCseq = false;
  while (!head.empty()) {
    eol = head.find("\r\n");
    const std::string_view line = head.substr(0, eol);
    head.remove_prefix(eol == std::string_view::npos ? head.size() : eol + 2);
    std::string_view v;
    if (headerIs(line, "call-id", 'i', &v)) {
      callId_ = v;
    } else if (headerIs(line, "cseq", 0, &v)) {
      const std::size_t sp = v.find_first_of(" \t");
      if (sp != std::string_view::npos) cseqMethod_ = trim(v.substr(sp + 1));
      haveCseq = !cseqMethod_.empty();
    } else if (headerIs(line, "to", 't', &v)) {
      to_ = v;
    } else if (headerIs(line, "record-route", 0, &v)) {
      addRoutes(v);
    } else if (contactUri_.empty() && headerIs(line, "contact", 'm', &v)) {
      const std::string_view first = trim(v.substr(0, elementEnd(v, 0)));
      const std::size_t lt = first.find('<');
      const std::size_t gt = first.find('>', lt == std::string_view::npos ? 0 : lt);
      if (lt != std::string_view::npos && gt != std::string_view::npos) contactUri_ = first.substr(lt + 1, gt - lt - 1);
      else contactUri_ = first.substr(0, first.find(';'));
    }
  }
  if (callId_.empty()) {
    *error = "reply without Call-ID: " + std::string(statusLine_);
    return false;
  }
  if (!haveCseq) {
    *error = "reply without a CSeq method: " + std::string(statusLine_);
    return false;
  }
  return true;
}

void CallReply::addRoutes(std::string_view value) {
  std::size_t from = 0;
  while (from <= value.size()) {
    const std::size_t end = elementEnd(value, from);
    const std::string_view entry = trim(value.substr(from, end - from));
    if (!entry.empty()) {
      if (routeCount_ == kMaxRoutes) {
        tooManyRoutes_ = true;
        return;
      }
      routes_[routeCount_++] = entry;
    }
    from = end + 1;
  }
}

bool CallReply::toHasTag() const {
  std::string_view p = headerParams(to_);
  while (!p.empty()) {
    const std::size_t semi = p.find(';');
    if (semi == std::string_view::npos) break;
    p.remove_prefix(semi + 1);
    const std::string_view param = trim(p.substr(0, p.find(';')));
    const std::string_view name = trim(param.substr(0, param.find('=')));
    if (name.size() == 3 && lower(name[0]) == 't' && lower(name[1]) == 'a' && lower(name[2]) == 'g' &&
        param.find('=') != std::string_view::npos && !trim(param.substr(param.find('=') + 1)).empty())
      return true;
  }
  return false;
}

void CallReply::appendRouteHeader(std::string* out) const {
  if (routeCount_ == 0) return;
  out->append("Route: ");
  for (std::size_t i = routeCount_; i-- > 0;) {
    out->append(routes_[i]);
    if (i > 0) out->append(", ");
  }
  out->append("\r\n");
}

}  // namespace sipsd::bench

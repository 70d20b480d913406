// The message parser: start line, header lines (with folding), header classification and the
// Content-Length check. One pass, views only; the only allocation is the headers vector.
#include "core/parser/msg_parser.h"

#include <atomic>
#include <cstring>
#include <optional>

#include "core/parser/header_section.h"
#include "core/parser/parse_util.h"

namespace sipsd {

using namespace parse;

namespace {

struct NameType {
  std::string_view name;
  HdrType type;
};

constexpr NameType kFullNames[] = {
    {"via", HdrType::Via},
    {"from", HdrType::From},
    {"to", HdrType::To},
    {"call-id", HdrType::CallId},
    {"cseq", HdrType::CSeq},
    {"contact", HdrType::Contact},
    {"max-forwards", HdrType::MaxForwards},
    {"content-length", HdrType::ContentLength},
    {"content-type", HdrType::ContentType},
    {"route", HdrType::Route},
    {"record-route", HdrType::RecordRoute},
    {"host", HdrType::Host},
    {"connection", HdrType::Connection},
    {"user-agent", HdrType::UserAgent},
    {"server", HdrType::Server},
    {"supported", HdrType::Supported},
    {"require", HdrType::Require},
    {"expires", HdrType::Expires},
};

// RFC 3261 §7.3.3 compact forms (plus e/s which have no HdrType of their own).
std::string_view compactToFull(char c) {
  switch (lower(c)) {
    case 'i': return "Call-ID";
    case 'm': return "Contact";
    case 'e': return "Content-Encoding";
    case 'l': return "Content-Length";
    case 's': return "Subject";
    case 'k': return "Supported";
    case 't': return "To";
    case 'f': return "From";
    case 'v': return "Via";
    case 'c': return "Content-Type";
    default: return {};
  }
}

// Line 0 means "the message as a whole" (body and cross-header checks).
bool fail(std::string& err, size_t line, std::string_view what) {
  err.clear();
  if (line) err = "line " + std::to_string(line) + ": ";
  err.append(what);
  return false;
}

// Printable excerpt of bad input for error texts (bounded, control characters escaped).
std::string excerpt(std::string_view s) {
  std::string r;
  for (size_t i = 0; i < s.size() && i < 40; ++i) {
    unsigned char c = static_cast<unsigned char>(s[i]);
    if (c < 0x20 || c >= 0x7f) {
      static const char hex[] = "0123456789abcdef";
      r += "\\x";
      r += hex[c >> 4];
      r += hex[c & 15];
    } else {
      r += char(c);
    }
  }
  if (s.size() > 40) r += "...";
  return r;
}

bool parseStartLine(std::string_view line, SipMsg& out, std::string& err) {
  if (istartsWith(line, "SIP/")) {
    // Status-Line = SIP-Version SP Status-Code SP Reason-Phrase
    if (line.size() < 11 || !ieq(line.substr(0, 7), "SIP/2.0") || line[7] != ' ')
      return fail(err, 1, "bad status line '" + excerpt(line) + "' (expected 'SIP/2.0 CODE REASON')");
    std::string_view code = line.substr(8, 3);
    auto n = parseUint(code);
    if (!n || *n < 100 || *n > 699 || (line.size() > 11 && line[11] != ' '))
      return fail(err, 1, "bad status code in '" + excerpt(line) + "' (expected 100..699)");
    out.kind = SipMsg::Kind::Reply;
    out.version = line.substr(0, 7);
    out.status = int(*n);
    out.reason = line.size() > 12 ? line.substr(12) : std::string_view();
    return true;
  }
  if (istartsWith(line, "HTTP/")) return fail(err, 1, "HTTP responses are not accepted");
  // Request-Line = Method SP Request-URI SP Version
  size_t sp1 = line.find(' ');
  if (sp1 == std::string_view::npos || sp1 == 0)
    return fail(err, 1, "bad request line '" + excerpt(line) + "' (expected 'METHOD URI VERSION')");
  std::string_view method = line.substr(0, sp1);
  for (char c : method)
    if (!isTokenChar(c)) return fail(err, 1, "bad character in method '" + excerpt(method) + "'");
  size_t sp2 = line.find(' ', sp1 + 1);
  if (sp2 == std::string_view::npos || sp2 == sp1 + 1)
    return fail(err, 1, "bad request line '" + excerpt(line) + "' (expected 'METHOD URI VERSION')");
  std::string_view uri = line.substr(sp1 + 1, sp2 - sp1 - 1);
  std::string_view version = line.substr(sp2 + 1);
  for (char c : uri)
    if (static_cast<unsigned char>(c) <= 0x20 || c == 0x7f)
      return fail(err, 1, "bad character in request URI '" + excerpt(uri) + "'");
  if (ieq(version, "SIP/2.0")) {
    out.kind = SipMsg::Kind::Request;
  } else if (ieq(version, "HTTP/1.1") || ieq(version, "HTTP/1.0")) {
    out.kind = SipMsg::Kind::HttpRequest;
  } else {
    return fail(err, 1, "unsupported protocol version '" + excerpt(version) + "' (SIP/2.0, HTTP/1.0 or HTTP/1.1)");
  }
  out.method = method;
  out.ruri = uri;
  out.version = version;
  return true;
}

}  // namespace

HdrType headerType(std::string_view name) {
  if (name.size() == 1) {
    std::string_view full = compactToFull(name[0]);
    if (full.empty()) return HdrType::Other;
    name = full;
  }
  // Every header line of every message comes here: compare only with the names of the same
  // first letter instead of all of kFullNames.
  if (name.empty()) return HdrType::Other;
  const char first = lower(name.front());
  for (const auto& nt : kFullNames)
    if (nt.name.front() == first && ieq(name, nt.name)) return nt.type;
  return HdrType::Other;
}

std::string_view expandCompactName(std::string_view name) {
  if (name.size() == 1) {
    std::string_view full = compactToFull(name[0]);
    if (!full.empty()) return full;
  }
  return name;
}

bool sameHeaderName(std::string_view a, std::string_view b) {
  a = expandCompactName(a);
  b = expandCompactName(b);
  if (a.size() != b.size()) return false;
  for (size_t i = 0; i < a.size(); ++i) {
    char x = lower(a[i]), y = lower(b[i]);
    if (x == '_') x = '-';
    if (y == '_') y = '-';
    if (x != y) return false;
  }
  return true;
}

const Header* findHeader(const SipMsg& msg, HdrType type) {
  for (const auto& h : msg.headers)
    if (h.type == type) return &h;
  return nullptr;
}

const Header* findHeader(const SipMsg& msg, std::string_view name) {
  HdrType t = headerType(name);
  if (t != HdrType::Other) return findHeader(msg, t);
  for (const auto& h : msg.headers)
    if (h.type == HdrType::Other && sameHeaderName(h.name, name)) return &h;
  return nullptr;
}

bool parseMessage(std::string_view buf, SipMsg& out, std::string& err) {
  static const ParseLimits kDefaults;
  return parseMessage(buf, out, err, kDefaults);
}

bool parseMessage(std::string_view buf, SipMsg& out, std::string& err, const ParseLimits& limits) {
  // Unique without a shared counter on the hot path: a per-thread block of 2^32 ids.
  static std::atomic<uint64_t> nextBlock{1};
  thread_local uint64_t lastId = nextBlock.fetch_add(1, std::memory_order_relaxed) << 32;
  out.parseId.value = ++lastId;
  out.kind = SipMsg::Kind::Request;
  out.buf = buf;
  out.firstLine = out.method = out.ruri = out.version = out.reason = out.body = {};
  out.status = 0;
  out.headers.clear();
  if (out.headers.capacity() < 32) out.headers.reserve(32);

  const char* const data = buf.data();
  const size_t size = buf.size();
  size_t pos = 0;
  // RFC 3261 §7.5: CRLFs before the start line are ignored (keep-alives on streams).
  while (pos < size && (data[pos] == '\r' || data[pos] == '\n')) ++pos;
  if (pos == size) return fail(err, 1, "empty message");

  // Lines, folding and Content-Length as the framers see them (core/parser/header_section.h).
  framing::Line line;
  if (!framing::lineAt(buf, pos, line)) {
    if (size - pos > limits.maxLineLength) return fail(err, 1, "start line too long");
    return fail(err, 1, "start line not terminated by CRLF");
  }
  size_t nl = line.next - 1;
  size_t end = line.end;
  if (end - pos > limits.maxLineLength)
    return fail(err, 1, "start line too long (" + std::to_string(end - pos) + " bytes, limit " +
                            std::to_string(limits.maxLineLength) + ")");
  out.firstLine = buf.substr(pos, end - pos);
  if (!parseStartLine(out.firstLine, out, err)) return false;
  pos = nl + 1;

  size_t lineNo = 1;
  std::optional<uint64_t> contentLength;
  bool transferEncoding = false;
  for (;;) {
    ++lineNo;
    if (pos >= size) return fail(err, lineNo, "headers not terminated by an empty line (missing CRLF)");
    if (!framing::lineAt(buf, pos, line)) {
      if (size - pos > limits.maxLineLength) return fail(err, lineNo, "header line too long");
      return fail(err, lineNo, "header line not terminated by CRLF");
    }
    nl = line.next - 1;
    end = line.end;
    if (end == pos) {  // the empty line ending the header section
      pos = nl + 1;
      break;
    }
    if (end - pos > limits.maxLineLength)
      return fail(err, lineNo, "header line too long (" + std::to_string(end - pos) + " bytes, limit " +
                                   std::to_string(limits.maxLineLength) + ")");
    if (framing::isContinuation(buf, line)) {
      // Obsolete line folding (RFC 3261 §7.3.1): the value keeps spanning the buffer, and
      // every sub-parser treats the embedded CRLF as whitespace.
      if (out.headers.empty()) return fail(err, lineNo, "continuation line before any header");
      Header& h = out.headers.back();
      size_t start = offsetIn(buf, h.raw);
      if (end - start > limits.maxLineLength)
        return fail(err, lineNo, "folded header '" + excerpt(h.name) + "' too long");
      std::string_view folded = trim(buf.substr(pos, end - pos));
      if (!folded.empty()) {
        size_t vstart = h.value.empty() ? offsetIn(buf, folded) : offsetIn(buf, h.value);
        h.value = buf.substr(vstart, offsetIn(buf, folded) + folded.size() - vstart);
      }
      h.raw = buf.substr(start, nl + 1 - start);
      pos = nl + 1;
      continue;
    }
    size_t i = pos;
    while (i < end && isTokenChar(data[i])) ++i;
    if (i == pos) return fail(err, lineNo, "bad header line '" + excerpt(buf.substr(pos, end - pos)) + "'");
    std::string_view name = buf.substr(pos, i - pos);
    while (i < end && (data[i] == ' ' || data[i] == '\t')) ++i;
    if (i == end || data[i] != ':')
      return fail(err, lineNo, "expected ':' after header name '" + excerpt(name) + "'");
    if (out.headers.size() >= limits.maxHeaders)
      return fail(err, lineNo, "too many headers (limit " + std::to_string(limits.maxHeaders) + ")");
    Header& h = out.headers.emplace_back();
    h.name = name;
    h.type = headerType(name);
    h.value = trim(buf.substr(i + 1, end - i - 1));
    h.raw = buf.substr(pos, nl + 1 - pos);
    if (h.type == HdrType::Other && out.kind == SipMsg::Kind::HttpRequest && ieq(name, "transfer-encoding"))
      transferEncoding = true;
    pos = nl + 1;
  }

  // Content-Length values are checked after folding is complete.
  for (const auto& h : out.headers) {
    if (h.type != HdrType::ContentLength) continue;
    auto n = framing::parseContentLength(h.value);
    if (!n) return fail(err, 0, "bad Content-Length '" + excerpt(h.value) + "'");
    if (contentLength && *contentLength != *n)
      return fail(err, 0, "conflicting Content-Length headers (" + std::to_string(*contentLength) + " and " +
                              std::to_string(*n) + ")");
    contentLength = n;
  }
  if (transferEncoding) return fail(err, 0, "HTTP Transfer-Encoding is not supported (send Content-Length)");

  std::string_view rest = buf.substr(pos);
  if (contentLength) {
    if (rest.size() < *contentLength)
      return fail(err, 0, "body is " + std::to_string(rest.size()) + " bytes but Content-Length says " +
                              std::to_string(*contentLength));
    // RFC 3261 §18.3: bytes past the declared body are discarded.
    out.body = rest.substr(0, size_t(*contentLength));
  } else {
    out.body = rest;
  }
  return true;
}

}  // namespace sipsd

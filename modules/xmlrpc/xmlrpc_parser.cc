// The XML-RPC methodCall reader; see xmlrpc_parser.h for what it accepts.
#include "modules/xmlrpc/xmlrpc_parser.h"

#include <charconv>
#include <cstdint>
#include <limits>

#include "core/util/strings.h"

namespace sipsd {

namespace {

constexpr size_t kMaxNameLen = 64;
constexpr size_t kMaxMethodLen = 256;

using str::trim;
constexpr auto isSpace = str::isLws;
bool isNameStart(char c) { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_' || c == ':'; }
bool isNameChar(char c) { return isNameStart(c) || (c >= '0' && c <= '9') || c == '.' || c == '-'; }

void appendUtf8(std::string& out, uint32_t cp) {
  if (cp < 0x80) {
    out += char(cp);
  } else if (cp < 0x800) {
    out += char(0xC0 | (cp >> 6));
    out += char(0x80 | (cp & 0x3F));
  } else if (cp < 0x10000) {
    out += char(0xE0 | (cp >> 12));
    out += char(0x80 | ((cp >> 6) & 0x3F));
    out += char(0x80 | (cp & 0x3F));
  } else {
    out += char(0xF0 | (cp >> 18));
    out += char(0x80 | ((cp >> 12) & 0x3F));
    out += char(0x80 | ((cp >> 6) & 0x3F));
    out += char(0x80 | (cp & 0x3F));
  }
}

bool parseInt(std::string_view s, int64_t lo, int64_t hi, int64_t& out) {
  s = trim(s);
  if (!s.empty() && s.front() == '+') s.remove_prefix(1);
  if (s.empty() || s.front() == '+') return false;
  auto r = std::from_chars(s.data(), s.data() + s.size(), out);
  return r.ec == std::errc() && r.ptr == s.data() + s.size() && out >= lo && out <= hi;
}

bool parseDouble(std::string_view s, double& out) {
  s = trim(s);
  if (!s.empty() && s.front() == '+') s.remove_prefix(1);
  if (s.empty() || s.front() == '+') return false;
  auto r = std::from_chars(s.data(), s.data() + s.size(), out, std::chars_format::general);
  return r.ec == std::errc() && r.ptr == s.data() + s.size();
}

int base64Digit(char c) {
  if (c >= 'A' && c <= 'Z') return c - 'A';
  if (c >= 'a' && c <= 'z') return c - 'a' + 26;
  if (c >= '0' && c <= '9') return c - '0' + 52;
  if (c == '+') return 62;
  if (c == '/') return 63;
  return -1;
}

// Whitespace anywhere is ignored (MIME line breaks); padding only at the end.
bool decodeBase64(std::string_view in, std::string& out) {
  uint32_t acc = 0;
  int bits = 0;
  size_t pad = 0;
  for (char c : in) {
    if (isSpace(c)) continue;
    if (c == '=') {
      ++pad;
      continue;
    }
    int d = base64Digit(c);
    if (d < 0 || pad) return false;
    acc = (acc << 6) | uint32_t(d);
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      out += char((acc >> bits) & 0xFF);
    }
  }
  return pad <= 2 && bits < 6;
}

}  // namespace

bool XmlRpcParser::fail(std::string what) {
  if (!error_.empty()) return false;  // the first error is the one that explains the rest
  size_t line = 1, col = 1;
  for (size_t i = 0; i < pos_ && i < doc_.size(); ++i) {
    if (doc_[i] == '\n') {
      ++line;
      col = 1;
    } else {
      ++col;
    }
  }
  error_ = "line " + std::to_string(line) + ", column " + std::to_string(col) + ": " + what;
  return false;
}

std::string XmlRpcParser::describeHere() const {
  if (atEnd()) return "end of document";
  std::string s = "\"";
  size_t n = 0;
  for (size_t i = pos_; i < doc_.size() && n < 24; ++i, ++n) {
    char c = doc_[i];
    if (c == '\n' || c == '\r') break;
    s += (static_cast<unsigned char>(c) < 0x20 || c == 0x7F) ? '?' : c;
    if (c == '>') break;
  }
  return s + "\"";
}

bool XmlRpcParser::countValue() {
  if (++values_ > limits_.maxValues) return fail("more than " + std::to_string(limits_.maxValues) + " values in one call");
  return true;
}

bool XmlRpcParser::readName(std::string_view& name) {
  size_t start = pos_;
  if (atEnd() || !isNameStart(doc_[pos_])) return fail("expected an element name, found " + describeHere());
  while (!atEnd() && isNameChar(doc_[pos_])) ++pos_;
  if (pos_ - start > kMaxNameLen) {
    pos_ = start;
    return fail("element name longer than " + std::to_string(kMaxNameLen) + " characters");
  }
  name = doc_.substr(start, pos_ - start);
  return true;
}

bool XmlRpcParser::skipMisc() {
  for (;;) {
    while (!atEnd() && isSpace(doc_[pos_])) ++pos_;
    if (!startsWith("<!--")) return true;
    size_t end = doc_.find("-->", pos_ + 4);
    if (end == std::string_view::npos) return fail("unterminated comment");
    pos_ = end + 3;
  }
}

bool XmlRpcParser::skipProlog() {
  if (startsWith("\xEF\xBB\xBF")) pos_ += 3;
  while (!atEnd() && isSpace(doc_[pos_])) ++pos_;
  if (startsWith("<?xml") && pos_ + 5 < doc_.size() && (isSpace(doc_[pos_ + 5]) || doc_[pos_ + 5] == '?')) {
    size_t end = doc_.find("?>", pos_);
    if (end == std::string_view::npos) return fail("unterminated <?xml ... ?> declaration");
    pos_ = end + 2;
  }
  if (!skipMisc()) return false;
  // DOCTYPE is how entity-expansion attacks start; XML-RPC never needs one.
  if (startsWith("<!DOCTYPE")) return fail("DOCTYPE declarations are not accepted");
  if (startsWith("<?")) return fail("processing instructions are not accepted");
  return true;
}

bool XmlRpcParser::peekOpenTag(std::string_view& name) {
  if (pos_ + 1 >= doc_.size() || doc_[pos_] != '<' || !isNameStart(doc_[pos_ + 1])) return false;
  size_t save = pos_;
  ++pos_;
  bool ok = readName(name);
  pos_ = save;
  return ok;
}

bool XmlRpcParser::expectOpen(std::string_view name, TagEnd& end) {
  std::string_view found;
  if (!peekOpenTag(found)) return fail("expected <" + std::string(name) + ">, found " + describeHere());
  if (found != name) return fail("expected <" + std::string(name) + ">, found <" + std::string(found) + ">");
  size_t start = pos_;
  pos_ += 1 + found.size();
  while (!atEnd() && isSpace(doc_[pos_])) ++pos_;
  if (startsWith("/>")) {
    pos_ += 2;
    end = TagEnd::SelfClosed;
    return true;
  }
  if (startsWith(">")) {
    ++pos_;
    end = TagEnd::Open;
    return true;
  }
  bool attr = !atEnd() && isNameStart(doc_[pos_]);
  pos_ = start;
  return fail(attr ? "attributes are not accepted on <" + std::string(name) + ">"
                   : "malformed tag <" + std::string(name) + ">");
}

bool XmlRpcParser::expectClose(std::string_view name) {
  std::string expected = "</" + std::string(name) + ">";
  if (!startsWith("</")) return fail("expected " + expected + ", found " + describeHere());
  size_t start = pos_;
  pos_ += 2;
  std::string_view found;
  if (atEnd() || !isNameStart(doc_[pos_]) || !readName(found) || found != name) {
    pos_ = start;
    return fail("expected " + expected + ", found " + describeHere());
  }
  while (!atEnd() && isSpace(doc_[pos_])) ++pos_;
  if (!startsWith(">")) {
    pos_ = start;
    return fail("malformed closing tag " + expected);
  }
  ++pos_;
  return true;
}

bool XmlRpcParser::appendEntity(std::string& out) {
  size_t semi = doc_.find(';', pos_ + 1);
  if (semi == std::string_view::npos || semi - pos_ > 12) return fail("unterminated entity reference");
  std::string_view ent = doc_.substr(pos_ + 1, semi - pos_ - 1);
  if (ent == "lt") out += '<';
  else if (ent == "gt") out += '>';
  else if (ent == "amp") out += '&';
  else if (ent == "quot") out += '"';
  else if (ent == "apos") out += '\'';
  else if (ent.size() >= 2 && ent[0] == '#') {
    bool hex = ent[1] == 'x';
    std::string_view digits = ent.substr(hex ? 2 : 1);
    uint32_t cp = 0;
    auto r = std::from_chars(digits.data(), digits.data() + digits.size(), cp, hex ? 16 : 10);
    if (digits.empty() || r.ec != std::errc() || r.ptr != digits.data() + digits.size() || cp == 0 ||
        cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF))
      return fail("invalid character reference &" + std::string(ent) + ";");
    appendUtf8(out, cp);
  } else {
    return fail("unknown entity &" + std::string(ent) + ";");
  }
  pos_ = semi + 1;
  return true;
}

bool XmlRpcParser::readText(std::string& out) {
  while (!atEnd()) {
    size_t stop = doc_.find_first_of(std::string_view("<&\r\0", 4), pos_);
    if (stop == std::string_view::npos) stop = doc_.size();
    out.append(doc_.substr(pos_, stop - pos_));
    pos_ = stop;
    if (atEnd()) break;
    char c = doc_[pos_];
    if (c == '&') {
      if (!appendEntity(out)) return false;
    } else if (c == '\r') {  // XML line-end normalisation: CRLF and lone CR become LF
      out += '\n';
      ++pos_;
      if (startsWith("\n")) ++pos_;
    } else if (c == '\0') {
      return fail("NUL byte in text");
    } else if (startsWith("<![CDATA[")) {
      size_t end = doc_.find("]]>", pos_ + 9);
      if (end == std::string_view::npos) return fail("unterminated CDATA section");
      out.append(doc_.substr(pos_ + 9, end - pos_ - 9));
      pos_ = end + 3;
    } else if (startsWith("<!--")) {
      if (!skipMisc()) return false;
    } else {
      break;  // markup: the caller decides what may follow
    }
  }
  return true;
}

bool XmlRpcParser::parseHead(std::string& method) {
  if (doc_.size() > limits_.maxBytes) {
    error_ = "request body of " + std::to_string(doc_.size()) + " bytes exceeds the limit of " +
             std::to_string(limits_.maxBytes);
    return false;
  }
  if (!skipProlog()) return false;
  if (atEnd()) return fail("empty document, expected <methodCall>");
  TagEnd end;
  if (!expectOpen("methodCall", end)) return false;
  if (end == TagEnd::SelfClosed) return fail("<methodCall/> has no <methodName>");
  if (!skipMisc() || !expectOpen("methodName", end)) return false;
  if (end == TagEnd::SelfClosed) return fail("empty <methodName>");
  size_t start = pos_;
  std::string text;
  if (!readText(text)) return false;
  std::string_view name = trim(text);
  bool valid = !name.empty() && name.size() <= kMaxMethodLen;
  for (char c : name)
    if (!(isNameChar(c) || c == '/')) valid = false;
  if (!valid) {
    pos_ = start;
    return fail("invalid method name \"" + std::string(name.substr(0, 40)) +
                "\" (1-256 characters of A-Z a-z 0-9 _ . : / -)");
  }
  method.assign(name);
  return expectClose("methodName");
}

bool XmlRpcParser::parseParams(std::vector<RpcValue>& params) {
  if (!skipMisc()) return false;
  std::string_view name;
  if (!peekOpenTag(name)) return true;  // no <params>: the caller expects </methodCall>
  if (name != "params") return fail("expected <params> or </methodCall>, found <" + std::string(name) + ">");
  TagEnd end;
  if (!expectOpen("params", end)) return false;
  if (end == TagEnd::SelfClosed) return true;
  for (;;) {
    if (!skipMisc()) return false;
    if (!peekOpenTag(name)) break;
    if (!expectOpen("param", end)) return false;
    if (end == TagEnd::SelfClosed) return fail("<param/> has no <value>");
    RpcValue v;
    if (!skipMisc() || !parseValueElement(v, 0) || !skipMisc() || !expectClose("param")) return false;
    params.push_back(std::move(v));
  }
  return expectClose("params");
}

bool XmlRpcParser::parseValueElement(RpcValue& out, size_t depth) {
  TagEnd end;
  if (!expectOpen("value", end) || !countValue()) return false;
  if (end == TagEnd::SelfClosed) {
    out = RpcValue(std::string());
    return true;
  }
  return parseValueBody(out, depth);
}

bool XmlRpcParser::parseValueBody(RpcValue& out, size_t depth) {
  std::string text;
  if (!readText(text)) return false;
  if (startsWith("</")) {  // untyped value: a string (XML-RPC spec)
    out = RpcValue(std::move(text));
    return expectClose("value");
  }
  std::string_view type;
  if (!peekOpenTag(type)) return fail("expected a type element or </value>, found " + describeHere());
  if (!trim(text).empty()) return fail("text mixed with <" + std::string(type) + "> inside <value>");
  TagEnd end;
  if (!expectOpen(type, end) || !parseTyped(type, end, out, depth)) return false;
  return skipMisc() && expectClose("value");
}

bool XmlRpcParser::parseTyped(std::string_view type, TagEnd end, RpcValue& out, size_t depth) {
  if (type == "array") {
    if (end == TagEnd::SelfClosed) return fail("<array/> has no <data>");
    return parseArray(out, depth);
  }
  if (type == "struct") {
    if (end == TagEnd::SelfClosed) {
      out = RpcValue(RpcStruct{});
      return true;
    }
    return parseStruct(out, depth);
  }
  if (type == "nil") {
    out = RpcValue();
    return end == TagEnd::SelfClosed || (skipMisc() && expectClose("nil"));
  }
  bool known = type == "string" || type == "i4" || type == "int" || type == "i8" || type == "boolean" ||
               type == "double" || type == "dateTime.iso8601" || type == "base64";
  if (!known) return fail("unknown value type <" + std::string(type) + ">");

  size_t textPos = pos_;
  std::string text;
  if (end == TagEnd::Open && (!readText(text) || !expectClose(type))) return false;
  size_t after = pos_;
  pos_ = textPos;  // conversion errors point at the text
  std::string t(type);
  if (type == "string" || type == "dateTime.iso8601") {
    out = RpcValue(std::move(text));
  } else if (type == "i4" || type == "int") {
    int64_t n;
    if (!parseInt(text, std::numeric_limits<int32_t>::min(), std::numeric_limits<int32_t>::max(), n))
      return fail("<" + t + "> needs a 32-bit integer, found \"" + text.substr(0, 40) + "\"");
    out = RpcValue(n);
  } else if (type == "i8") {
    int64_t n;
    if (!parseInt(text, std::numeric_limits<int64_t>::min(), std::numeric_limits<int64_t>::max(), n))
      return fail("<i8> needs a 64-bit integer, found \"" + text.substr(0, 40) + "\"");
    out = RpcValue(n);
  } else if (type == "boolean") {
    std::string_view b = trim(text);
    if (b != "0" && b != "1") return fail("<boolean> needs 0 or 1, found \"" + text.substr(0, 40) + "\"");
    out = RpcValue(b == "1");
  } else if (type == "double") {
    double d;
    if (!parseDouble(text, d)) return fail("<double> needs a number, found \"" + text.substr(0, 40) + "\"");
    out = RpcValue(d);
  } else {  // base64
    std::string bytes;
    if (!decodeBase64(text, bytes)) return fail("<base64> holds invalid base64 data");
    out = RpcValue(std::move(bytes));
  }
  pos_ = after;
  return true;
}

bool XmlRpcParser::parseArray(RpcValue& out, size_t depth) {
  if (depth + 1 > limits_.maxDepth)
    return fail("values nested deeper than " + std::to_string(limits_.maxDepth) + " levels");
  TagEnd end;
  if (!skipMisc() || !expectOpen("data", end)) return false;
  RpcArray items;
  if (end == TagEnd::Open) {
    std::string_view name;
    for (;;) {
      if (!skipMisc()) return false;
      if (!peekOpenTag(name)) break;
      RpcValue v;
      if (!parseValueElement(v, depth + 1)) return false;
      items.push_back(std::move(v));
    }
    if (!expectClose("data")) return false;
  }
  if (!skipMisc() || !expectClose("array")) return false;
  out = RpcValue(std::move(items));
  return true;
}

bool XmlRpcParser::parseStruct(RpcValue& out, size_t depth) {
  if (depth + 1 > limits_.maxDepth)
    return fail("values nested deeper than " + std::to_string(limits_.maxDepth) + " levels");
  RpcStruct members;
  std::string_view tag;
  TagEnd end;
  for (;;) {
    if (!skipMisc()) return false;
    if (!peekOpenTag(tag)) break;
    if (!expectOpen("member", end)) return false;
    if (end == TagEnd::SelfClosed) return fail("<member/> has no <name> and <value>");
    std::string name;
    if (!skipMisc() || !expectOpen("name", end)) return false;
    if (end == TagEnd::Open && (!readText(name) || !expectClose("name"))) return false;
    RpcValue v;
    if (!skipMisc() || !parseValueElement(v, depth + 1) || !skipMisc() || !expectClose("member")) return false;
    members.emplace_back(std::move(name), std::move(v));
  }
  if (!expectClose("struct")) return false;
  out = RpcValue(std::move(members));
  return true;
}

bool XmlRpcParser::parse(std::string_view doc, XmlRpcCall& out) {
  doc_ = doc;
  pos_ = 0;
  values_ = 0;
  error_.clear();
  out = XmlRpcCall{};
  if (!parseHead(out.method) || !parseParams(out.params)) return false;
  if (!skipMisc() || !expectClose("methodCall") || !skipMisc()) return false;
  if (!atEnd()) return fail("unexpected content after </methodCall>: " + describeHere());
  return true;
}

bool XmlRpcParser::parseMethodName(std::string_view doc, std::string& out) {
  doc_ = doc;
  pos_ = 0;
  values_ = 0;
  error_.clear();
  out.clear();
  return parseHead(out);
}

}  // namespace sipsd

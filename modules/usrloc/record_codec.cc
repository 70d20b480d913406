// RecordCodec: bindings <-> text (see record_codec.h).
#include "modules/usrloc/record_codec.h"

#include <algorithm>
#include <charconv>

namespace sipsd::usrloc {
namespace {

constexpr size_t kFields = 13;

void put(std::string& out, std::string_view s) {
  for (char c : s) {
    switch (c) {
      case '%': out += "%25"; break;
      case '\t': out += "%09"; break;
      case '\n': out += "%0A"; break;
      case '\r': out += "%0D"; break;
      default: out += c;
    }
  }
}

int hexVal(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  return -1;
}

bool unescape(std::string_view s, std::string& out) {
  out.clear();
  for (size_t i = 0; i < s.size(); ++i) {
    if (s[i] != '%') {
      out += s[i];
      continue;
    }
    if (i + 2 >= s.size()) return false;
    int h = hexVal(s[i + 1]), l = hexVal(s[i + 2]);
    if (h < 0 || l < 0) return false;
    out += char(h * 16 + l);
    i += 2;
  }
  return true;
}

template <class T>
bool num(std::string_view s, T& out) {
  auto r = std::from_chars(s.data(), s.data() + s.size(), out);
  return r.ec == std::errc() && r.ptr == s.data() + s.size();
}

}  // namespace

std::string RecordCodec::encode(const std::vector<Binding>& bindings) {
  std::string out;
  out.reserve(bindings.size() * 200);
  for (const Binding& b : bindings) {
    put(out, b.contact);
    out += '\t';
    out += std::to_string(b.expires) + '\t' + std::to_string(b.q) + '\t';
    put(out, b.callId);
    out += '\t' + std::to_string(b.cseq) + '\t';
    put(out, b.proto);
    out += '\t';
    put(out, b.source);
    out += '\t' + std::to_string(b.connId) + '\t';
    put(out, b.node);
    out += '\t';
    put(out, b.certSubject);
    out += '\t';
    put(out, b.certFingerprint);
    out += '\t';
    put(out, b.userAgent);
    out += '\t' + std::to_string(b.updated) + '\t' + std::to_string(b.cflags) + '\n';
  }
  return out;
}

std::optional<std::vector<Binding>> RecordCodec::decode(std::string_view text, std::string& err) {
  std::vector<Binding> v;
  size_t lineNo = 0;
  while (!text.empty()) {
    size_t e = text.find('\n');
    std::string_view line = text.substr(0, e);
    text = e == std::string_view::npos ? std::string_view() : text.substr(e + 1);
    ++lineNo;
    if (line.empty()) continue;
    std::vector<std::string_view> f;
    while (true) {
      size_t t = line.find('\t');
      f.push_back(line.substr(0, t));
      if (t == std::string_view::npos) break;
      line = line.substr(t + 1);
    }
    if (f.size() < kFields) {
      err = "binding " + std::to_string(lineNo) + " has " + std::to_string(f.size()) + " fields, expected " +
            std::to_string(kFields);
      return std::nullopt;
    }
    Binding b;
    bool ok = unescape(f[0], b.contact) && num(f[1], b.expires) && num(f[2], b.q) && unescape(f[3], b.callId) &&
              num(f[4], b.cseq) && unescape(f[5], b.proto) && unescape(f[6], b.source) && num(f[7], b.connId) &&
              unescape(f[8], b.node) && unescape(f[9], b.certSubject) && unescape(f[10], b.certFingerprint) &&
              unescape(f[11], b.userAgent) && num(f[12], b.updated) &&
              (f.size() == kFields || num(f[kFields], b.cflags));  // written before cflags: 0
    if (!ok || b.contact.empty()) {
      err = "binding " + std::to_string(lineNo) + " is malformed";
      return std::nullopt;
    }
    v.push_back(std::move(b));
  }
  return v;
}

int64_t RecordCodec::lastExpiry(const std::vector<Binding>& bindings) {
  int64_t m = 0;
  for (const Binding& b : bindings) m = std::max(m, b.expires);
  return m;
}

}  // namespace sipsd::usrloc

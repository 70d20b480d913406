// XML-RPC document writer; see xmlrpc_writer.h.
#include "modules/xmlrpc/xmlrpc_writer.h"

#include <charconv>
#include <cmath>
#include <cstdint>
#include <limits>

namespace sipsd::xmlrpc {

namespace {

constexpr std::string_view kReplacement = "\xEF\xBF\xBD";  // U+FFFD
constexpr std::string_view kProlog = "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n";

// Length of the valid UTF-8 sequence starting at s[i], or 0 when it is not one
// (overlong forms and surrogates included, as RFC 3629 requires).
size_t utf8Length(std::string_view s, size_t i) {
  auto b = [&](size_t k) { return static_cast<unsigned char>(s[k]); };
  unsigned char c = b(i);
  size_t n;
  uint32_t cp;
  if (c >= 0xC2 && c <= 0xDF) {
    n = 2;
    cp = c & 0x1F;
  } else if (c >= 0xE0 && c <= 0xEF) {
    n = 3;
    cp = c & 0x0F;
  } else if (c >= 0xF0 && c <= 0xF4) {
    n = 4;
    cp = c & 0x07;
  } else {
    return 0;
  }
  if (i + n > s.size()) return 0;
  for (size_t k = 1; k < n; ++k) {
    if ((b(i + k) & 0xC0) != 0x80) return 0;
    cp = (cp << 6) | (b(i + k) & 0x3F);
  }
  if ((n == 3 && cp < 0x800) || (n == 4 && (cp < 0x10000 || cp > 0x10FFFF)) || (cp >= 0xD800 && cp <= 0xDFFF))
    return 0;
  if (cp == 0xFFFE || cp == 0xFFFF) return 0;  // not XML characters
  return n;
}

void appendDouble(std::string& out, double d) {
  // XML-RPC has no spelling for these; the common clients (Python, Java) read these forms.
  if (std::isnan(d)) {
    out += "nan";
    return;
  }
  if (std::isinf(d)) {
    out += d > 0 ? "inf" : "-inf";
    return;
  }
  char buf[64];
  auto r = std::to_chars(buf, buf + sizeof buf, d);  // shortest form that reads back exactly
  out.append(buf, size_t(r.ptr - buf));
}

}  // namespace

void appendEscaped(std::string& out, std::string_view text) {
  size_t i = 0;
  while (i < text.size()) {
    unsigned char c = static_cast<unsigned char>(text[i]);
    if (c >= 0x80) {
      size_t n = utf8Length(text, i);
      if (n == 0) {
        out += kReplacement;
        ++i;
      } else {
        out.append(text.substr(i, n));
        i += n;
      }
      continue;
    }
    switch (c) {
      case '&': out += "&amp;"; break;
      case '<': out += "&lt;"; break;
      case '>': out += "&gt;"; break;
      case '\r': out += "&#13;"; break;  // a raw CR would be normalised away by the reader
      case '\n':
      case '\t': out += char(c); break;
      default:
        if (c < 0x20 || c == 0x7F) out += kReplacement;
        else out += char(c);
    }
    ++i;
  }
}

void appendValue(std::string& out, const RpcValue& v) {
  out += "<value>";
  std::visit(
      [&out](const auto& x) {
        using T = std::decay_t<decltype(x)>;
        if constexpr (std::is_same_v<T, std::monostate>) {
          out += "<nil/>";
        } else if constexpr (std::is_same_v<T, bool>) {
          out += x ? "<boolean>1</boolean>" : "<boolean>0</boolean>";
        } else if constexpr (std::is_same_v<T, int64_t>) {
          bool small = x >= std::numeric_limits<int32_t>::min() && x <= std::numeric_limits<int32_t>::max();
          out += small ? "<int>" : "<i8>";
          out += std::to_string(x);
          out += small ? "</int>" : "</i8>";
        } else if constexpr (std::is_same_v<T, double>) {
          out += "<double>";
          appendDouble(out, x);
          out += "</double>";
        } else if constexpr (std::is_same_v<T, std::string>) {
          out += "<string>";
          appendEscaped(out, x);
          out += "</string>";
        } else if constexpr (std::is_same_v<T, RpcArray>) {
          out += "<array><data>";
          for (const RpcValue& item : x) appendValue(out, item);
          out += "</data></array>";
        } else {
          out += "<struct>";
          for (const auto& [name, item] : x) appendMember(out, name, item);
          out += "</struct>";
        }
      },
      v.v);
  out += "</value>";
}

std::string response(const RpcValue& result) {
  std::string out(kProlog);
  out += "<methodResponse><params><param>";
  appendValue(out, result);
  out += "</param></params></methodResponse>\n";
  return out;
}

void appendMember(std::string& out, std::string_view name, const RpcValue& v) {
  out += "<member><name>";
  appendEscaped(out, name);
  out += "</name>";
  appendValue(out, v);
  out += "</member>";
}

std::string responseStructOpen() {
  std::string out(kProlog);
  out += "<methodResponse><params><param><value><struct>";
  return out;
}

std::string_view responseStructClose() { return "</struct></value></param></params></methodResponse>\n"; }

std::string fault(int code, std::string_view reason) {
  std::string out(kProlog);
  out += "<methodResponse><fault><value><struct><member><name>faultCode</name><value><int>";
  out += std::to_string(code);
  out += "</int></value></member><member><name>faultString</name><value><string>";
  appendEscaped(out, reason);
  out += "</string></value></member></struct></value></fault></methodResponse>\n";
  return out;
}

std::string call(std::string_view method, const std::vector<RpcValue>& params) {
  std::string out(kProlog);
  out += "<methodCall><methodName>";
  appendEscaped(out, method);
  out += "</methodName><params>";
  for (const RpcValue& p : params) {
    out += "<param>";
    appendValue(out, p);
    out += "</param>";
  }
  out += "</params></methodCall>\n";
  return out;
}

}  // namespace sipsd::xmlrpc

// name-addr / addr-spec values of From, To and Contact (RFC 3261 §20.10, §20.20, §20.39):
// display name, URI, header parameters (tag, expires, q ...). Contact may hold several.
#pragma once
#include <string>
#include <string_view>

#include "core/parser/parse_util.h"
#include "core/parser/sip_msg.h"

namespace sipsd {

struct NameAddr {
  std::string_view raw;      // the whole element
  std::string_view display;  // without quotes (escapes kept); empty when absent
  std::string_view uri;      // without '<' '>'
  std::string_view params;   // header params ";tag=x;expires=60" incl. the leading ';' (may be empty)
  std::string_view tag;      // empty when absent
  bool hasTag = false;
  bool star = false;         // "Contact: *"
};

// Parses one element at the start of `s`. When `list` is true a ',' outside quotes and
// brackets ends the element and `rest` receives the text after it (empty for the last one).
bool parseNameAddr(std::string_view s, NameAddr& out, std::string_view& rest, bool list, std::string& err);

// The contact with 0-based index `n` counted across all Contact headers.
// Returns false with `err` empty when there are fewer contacts, with `err` set on bad syntax.
bool nthContact(const SipMsg& msg, size_t n, NameAddr& out, std::string& err);

// Calls fn(header, element) for every name-addr of every header of `type`, in message order
// (Route, Record-Route, Contact lists). Stops with false and "HEADERNAME: why" in `err` on bad syntax.
template <typename Fn>
bool forEachNameAddr(const SipMsg& msg, HdrType type, std::string_view headerName, Fn&& fn, std::string& err) {
  for (const Header& h : msg.headers) {
    if (h.type != type) continue;
    std::string_view rest = parse::trim(h.value);
    while (!rest.empty()) {
      NameAddr na;
      std::string_view after;
      if (!parseNameAddr(rest, na, after, true, err)) {
        err = std::string(headerName) + ": " + err;
        return false;
      }
      fn(h, na);
      rest = parse::trim(after);
    }
  }
  return true;
}

}  // namespace sipsd

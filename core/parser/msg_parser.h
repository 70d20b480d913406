// Parses one complete SIP request/reply or HTTP/1.x request (framing is done by the
// transport layer) into a SipMsg of views into the caller's buffer.
#pragma once
#include <cstddef>
#include <string>
#include <string_view>

#include "core/parser/sip_msg.h"

namespace sipsd {

struct ParseLimits {
  size_t maxHeaders = 128;
  size_t maxLineLength = 8192;  // start line, and each header including its folded lines
};

// Parses `buf` into `out` (whose headers vector is reused, so a caller may keep one SipMsg
// per worker). On failure returns false and sets `err` to a one-line reason naming the line.
bool parseMessage(std::string_view buf, SipMsg& out, std::string& err);
bool parseMessage(std::string_view buf, SipMsg& out, std::string& err, const ParseLimits& limits);

// Header type for a header name, full or compact form, case-insensitive.
HdrType headerType(std::string_view name);

// The full name of a compact header form ("v" -> "Via"); other names are returned as given.
std::string_view expandCompactName(std::string_view name);

// True when two header names denote the same header: case-insensitive, compact forms equal
// to their full forms, and '_' equal to '-' (so the script can write @msg.user_agent).
bool sameHeaderName(std::string_view a, std::string_view b);

// First header of a type / by name; null when absent.
const Header* findHeader(const SipMsg& msg, HdrType type);
const Header* findHeader(const SipMsg& msg, std::string_view name);

}  // namespace sipsd

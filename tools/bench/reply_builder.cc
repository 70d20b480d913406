// Fixed-shape 200 OK for the baseline responder (see reply_builder.h).
#include "reply_builder.h"

#include "sip_text.h"

namespace sipsd::bench {
namespace {

bool isToLine(std::string_view line) { return headerIs(line, "to", 't', nullptr); }

bool copied(std::string_view line) {
  return headerIs(line, "via", 'v', nullptr) || headerIs(line, "from", 'f', nullptr) || isToLine(line) ||
         headerIs(line, "call-id", 'i', nullptr) || headerIs(line, "cseq", 0, nullptr);
}

bool hasTag(std::string_view line) {
  for (std::size_t i = line.find(';'); i != std::string_view::npos; i = line.find(';', i + 1)) {
    std::size_t j = i + 1;
    while (j < line.size() && (line[j] == ' ' || line[j] == '\t')) ++j;
    if (line.size() - j >= 4 && (line[j] | 0x20) == 't' && (line[j + 1] | 0x20) == 'a' &&
        (line[j + 2] | 0x20) == 'g' && line[j + 3] == '=')
      return true;
  }
  return false;
}

}  // namespace

bool ReplyBuilder::append200(std::string_view request, std::string* out) {
  if (statusCode(request) >= 0) return false;  // a reply: nothing to answer
  const std::size_t firstEol = request.find("\r\n");
  if (firstEol == std::string_view::npos) return false;
  const std::string_view method = request.substr(0, request.find(' '));
  if (method.empty() || method.size() >= firstEol || method == "ACK") return false;

  const std::size_t hdrEnd = request.find("\r\n\r\n");
  std::string_view headers = request.substr(firstEol + 2, hdrEnd == std::string_view::npos ? std::string_view::npos
                                                                                            : hdrEnd - firstEol);
  out->append("SIP/2.0 200 OK\r\n");
  bool copying = false;
  while (!headers.empty()) {
    const std::size_t eol = headers.find("\r\n");
    const std::string_view line = headers.substr(0, eol);
    headers.remove_prefix(eol == std::string_view::npos ? headers.size() : eol + 2);
    if (line.empty()) break;
    if (line.front() == ' ' || line.front() == '\t') {
      if (copying) out->append(line).append("\r\n");  // folded continuation of a copied header
      continue;
    }
    copying = copied(line);
    if (!copying) continue;
    out->append(line);
    if (isToLine(line) && !hasTag(line)) out->append(";tag=sipsd-baseline");
    out->append("\r\n");
  }
  out->append("Content-Length: 0\r\n\r\n");
  return true;
}

}  // namespace sipsd::bench

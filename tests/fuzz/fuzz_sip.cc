// Fuzz target: everything that reads bytes from the network before the script runs — the
// stream framer (fed in pieces), the datagram check, the SIP/HTTP message parser, the Via,
// CSeq, name-addr and URI parsers on what it found, and the log's escaping of it.
#include <cstdint>
#include <string>
#include <string_view>

#include "core/log.h"
#include "core/net/stream_framer.h"
#include "core/parser/cseq_parser.h"
#include "core/parser/msg_parser.h"
#include "core/parser/name_addr_parser.h"
#include "core/parser/uri_parser.h"
#include "core/parser/via_parser.h"

namespace {

void parseAll(std::string_view raw) {
  thread_local sipsd::SipMsg msg;
  std::string err;
  if (!sipsd::parseMessage(raw, msg, err)) {
    (void)sipsd::logging::escaped(err);
    return;
  }
  sipsd::ViaBody via;
  for (size_t i = 0; i < 8 && sipsd::nthVia(msg, i, via, err); ++i) {
  }
  for (const auto& h : msg.headers) {
    switch (h.type) {
      case sipsd::HdrType::CSeq: {
        sipsd::CSeqBody cs;
        (void)sipsd::parseCSeq(h.value, cs, err);
        break;
      }
      case sipsd::HdrType::From:
      case sipsd::HdrType::To:
      case sipsd::HdrType::Contact: {
        std::string_view rest = h.value;
        sipsd::NameAddr na;
        for (int n = 0; n < 16 && !rest.empty(); ++n) {
          std::string_view in = rest;
          if (!sipsd::parseNameAddr(in, na, rest, h.type == sipsd::HdrType::Contact, err)) break;
          sipsd::SipUri uri;
          (void)sipsd::parseUri(na.uri, uri, err);
          if (rest.size() >= in.size()) break;  // no progress
        }
        break;
      }
      default: break;
    }
  }
  if (msg.isRequest()) {
    sipsd::SipUri uri;
    (void)sipsd::parseUri(msg.ruri, uri, err);
  }
}

class Sink : public sipsd::FramerSink {
 public:
  bool onMessage(std::string_view m) override {
    parseAll(m);
    return true;
  }
  void onPing() override {}
};

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static const bool quiet = (sipsd::logging::setLevel(-1), true);  // warnings per input are noise here
  (void)quiet;
  std::string_view in(reinterpret_cast<const char*>(data), size);
  (void)sipsd::logging::escaped(in);
  auto d = sipsd::StreamFramer::checkDatagram(in, 65536);
  if (d.error.empty() && !d.msg.empty()) parseAll(d.msg);
  // The same bytes as a stream, cut into pieces whose sizes the first byte chooses.
  sipsd::StreamFramer framer(65536);
  Sink sink;
  size_t step = size ? 1 + static_cast<unsigned char>(in[0]) % 97 : 1;
  for (size_t off = 0; off < size; off += step)
    if (!framer.feed(in.substr(off, step), sink).empty()) break;
  return 0;
}

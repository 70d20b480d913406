// What save() needs from a REGISTER, copied out of the message: the registration may be
// computed after the script run (on the AoR's home worker or the Redis thread), when the
// message buffer is gone.
#pragma once
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "core/parser/sip_msg.h"

namespace sipsd::registrar {

struct RequestedContact {
  std::string uri;
  std::optional<uint32_t> expires;  // ;expires= on the contact
  int q = -1;                       // ;q= * 1000, -1 when absent
};

struct RegisterRequest {
  std::string toUri;
  std::string callId;
  uint32_t cseq = 0;
  std::optional<uint32_t> expires;  // Expires header
  bool star = false;                // Contact: *
  std::vector<RequestedContact> contacts;
  std::string userAgent;

  // Reads a REGISTER; false with a reason fit for a 400 reply.
  static bool parse(const SipMsg& msg, RegisterRequest& out, std::string& err);
};

}  // namespace sipsd::registrar

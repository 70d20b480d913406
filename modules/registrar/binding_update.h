// RFC 3261 §10.3 steps 6-8 as a pure function: the AoR's current bindings plus one REGISTER
// give the new bindings, or the error to answer. Pure so that it can run wherever the AoR's
// writes are serialized (home worker, Redis thread) and again after a lost race.
#pragma once
#include <cstdint>
#include <string>

#include "modules/registrar/register_request.h"
#include "modules/usrloc/location_api.h"

namespace sipsd::registrar {

struct RegistrarParams {
  uint32_t defaultExpires = 3600;
  uint32_t minExpires = 60;     // 0: no minimum
  uint32_t maxExpires = 86400;  // 0: no maximum
  uint32_t maxContacts = 0;     // 0: no limit
};

// Where the REGISTER came from and who sent it: stored with each binding it writes.
struct RegisterSource {
  std::string proto;  // "udp" "tcp" "tls"
  std::string source; // ip:port
  uint64_t connId = 0;
  std::string node;
  std::string certSubject;
  std::string certFingerprint;
  uint32_t cflags = 0;  // branch flags of the REGISTER (setbflag() before save())
};

class BindingUpdate {
 public:
  static usrloc::UpdateResult compute(const RegisterRequest& req, const RegisterSource& src,
                                      const usrloc::AorRecord* current, int64_t now, const RegistrarParams& p);
  // "Contact: <uri>;expires=N" lines for the live bindings (the 200's list).
  static std::string contactHeaders(const usrloc::AorRecord* rec, int64_t now);
};

}  // namespace sipsd::registrar

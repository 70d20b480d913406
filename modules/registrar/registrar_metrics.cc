#include "modules/registrar/registrar_metrics.h"

#include <string>

namespace sipsd::registrar {

size_t RegistrarMetrics::slotOf(int status) {
  if (status < 300) return kAccepted;
  for (size_t i = 0; i < sizeof(kCodes) / sizeof(kCodes[0]); ++i)
    if (kCodes[i] == status) return 1 + i;
  return kOther;
}

void RegistrarMetrics::write(MetricsWriter& w) const {
  w.family("sipsd_registrar_registrations_accepted_total", "counter",
           "REGISTER requests answered 2xx (bindings stored, removed or queried).");
  w.sample("sipsd_registrar_registrations_accepted_total", {}, count(kAccepted));
  w.family("sipsd_registrar_registrations_refused_total", "counter",
           "REGISTER requests answered with an error, by code (403 from the script's certificate rule, 423 "
           "interval too brief, 400 malformed or out of order, 503 too many contacts or Redis unavailable, "
           "other: any other code).");
  for (size_t i = 0; i < sizeof(kCodes) / sizeof(kCodes[0]); ++i) {
    std::string code = std::to_string(kCodes[i]);
    w.sample("sipsd_registrar_registrations_refused_total", {{"code", code}}, count(1 + i));
  }
  w.sample("sipsd_registrar_registrations_refused_total", {{"code", "other"}}, count(kOther));
}

}  // namespace sipsd::registrar

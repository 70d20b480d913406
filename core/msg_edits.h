// The per-message edit list: what the script asked to change in a request before it is relayed
// (append_hf, remove_hf, mf_process_maxfwd_header, record_route, loose_route). Script functions
// only record here; core/proxy/request_forward_builder applies the list when the request is
// built for sending (forward(), tm's t_relay()), so the received bytes stay untouched, the
// script's conditions (is_present_hf) see the message as received, and every branch of a
// transaction gets the same edits.
#pragma once
#include <cstddef>
#include <string>
#include <vector>

namespace sipsd {

// record_route() / record_route_preset(): the Record-Route to insert on top.
struct RecordRouteEdit {
  bool enabled = false;
  // Two Record-Routes (r2=on) when the outgoing transport or socket differs from the incoming
  // one (rr's enable_double_rr); the builder decides, since only it knows the outgoing socket.
  bool doubleRr = true;
  std::string params;  // extra URI parameters before ";lr", e.g. ";ftag=a1b2" (append_fromtag)
  std::string preset;  // record_route_preset(): this URI, as is, instead of our socket addresses
  bool fullLr = false;  // rr's enable_full_lr: write ";lr=on" (for UAs that want a value), not ";lr"
};

struct MsgEdits {
  std::string appendHeaders;               // complete header lines ("Name: value\r\n"), after the last header
  std::vector<std::string> removeHeaders;  // header names: every instance is removed
  size_t stripRoutes = 0;                  // leading Route entries (across Route headers) removed
  bool stripLastRoute = false;             // the last Route entry removed (strict-router fix-up)
  int maxForwardsInsert = 0;               // Max-Forwards to insert when absent (0: the default 70)
  RecordRouteEdit recordRoute;

  bool empty() const {
    return appendHeaders.empty() && removeHeaders.empty() && stripRoutes == 0 && !stripLastRoute &&
           maxForwardsInsert == 0 && !recordRoute.enabled;
  }
};

}  // namespace sipsd

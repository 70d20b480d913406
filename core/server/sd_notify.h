// The systemd readiness protocol (sd_notify(3)) without libsystemd: one datagram per state change
// to the unix socket named by $NOTIFY_SOCKET (a path, or "@name" for the abstract namespace).
// Type=notify units learn READY=1 once every worker's listeners are bound, RELOADING=1 / READY=1
// around a SIGHUP reload, STOPPING=1 at a graceful stop. Without $NOTIFY_SOCKET nothing is sent.
#pragma once
#include <string>
#include <string_view>

namespace sipsd {

class SdNotify {
 public:
  // Reads $NOTIFY_SOCKET once; later changes to the environment are not seen.
  SdNotify();
  bool enabled() const { return !socket_.empty(); }
  // Sends `state` ("READY=1", "STOPPING=1", newline-separated assignments); returns "" or why
  // it could not (never blocks: a full socket buffer is an error, not a wait).
  std::string send(std::string_view state) const;
  // "RELOADING=1\nMONOTONIC_USEC=..." as systemd wants it (the reload's start on CLOCK_MONOTONIC).
  static std::string reloadingState();

 private:
  std::string socket_;  // as given; '@' first means abstract
};

}  // namespace sipsd

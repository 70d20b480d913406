// The server transaction state machine of RFC 3261 §17.2 (INVITE: Figure 7 with RFC 6026's
// Accepted state; non-INVITE: Figure 8) as a table. tm's layer performs the actions.
#pragma once
#include <cstdint>

namespace sipsd::tm {

// Trying: non-INVITE received, nothing sent yet. Proceeding: a provisional was sent (INVITE
// starts here: tm sends 100 Trying at once). Accepted: a 2xx to an INVITE went upstream.
enum class ServerState : uint8_t { Trying, Proceeding, Completed, Confirmed, Accepted, Terminated };

enum class ServerEvent : uint8_t {
  Retransmission,  // the request arrived again
  Send1xx,         // a provisional goes upstream (relayed or local)
  Send2xx,         // a 2xx goes upstream
  SendFinal,       // a 300-699 goes upstream
  Ack,             // the ACK for our non-2xx final (INVITE only)
  TimerG,          // retransmit the non-2xx final (INVITE over UDP)
  TimerH,          // no ACK came: give up
};

enum ServerAction : uint16_t {
  kSaNone = 0,
  kSaSend = 1 << 0,        // send the reply of the event
  kSaResendLast = 1 << 1,  // send the last reply again
  kSaStartG = 1 << 2,      // retransmit the final over UDP (T1 doubling to T2) ...
  kSaStartH = 1 << 3,      // ... until the ACK comes or 64*T1 passed
  kSaStopG = 1 << 4,
  kSaWait = 1 << 5,        // done upstream: keep the transaction T4 to absorb retransmissions
  kSaEnd = 1 << 6,         // delete the transaction now
};

struct ServerStep {
  ServerState next;
  uint16_t actions;
};

ServerStep serverStep(bool invite, ServerState state, ServerEvent event);

// A final answer already went upstream.
inline bool serverAnswered(ServerState s) { return s >= ServerState::Completed; }

const char* serverStateName(ServerState s);

}  // namespace sipsd::tm

// The client transaction state machine of RFC 3261 §17.1 (INVITE: Figure 5, non-INVITE:
// Figure 6) as a table: what a branch does for each event in each state. tm's layer performs
// the actions; the table holds no I/O so it is tested on its own.
#pragma once
#include <cstdint>

namespace sipsd::tm {

// Calling: INVITE sent, no reply yet. Trying: non-INVITE sent, no reply yet.
enum class ClientState : uint8_t { Calling, Trying, Proceeding, Completed, Terminated };

enum class ClientEvent : uint8_t {
  Provisional,     // 1xx received
  Final2xx,        // 2xx received
  FinalOther,      // 300-699 received
  Retransmit,      // timer A (INVITE) / E (non-INVITE) fired
  Timeout,         // timer B / F or fr_timer / fr_inv_timer fired
  TransportError,  // the send failed (connect refused, handshake, queue full)
};

enum ClientAction : uint16_t {
  kCaNone = 0,
  kCaStopRetransmit = 1 << 0,  // no more retransmissions of the request
  kCaRetransmit = 1 << 1,      // send the request again, double the interval (capped at T2 for non-INVITE)
  kCaPassUp = 1 << 2,          // hand the reply to the response context (forward / best-response)
  kCaSendAck = 1 << 3,         // hop-by-hop ACK for a non-2xx final (again for a retransmitted final)
  kCaLocal408 = 1 << 4,        // the branch ends with a locally made 408 (487 when it was cancelled)
  kCaLocal503 = 1 << 5,        // the branch ends with a locally made 503
  kCaUseT2 = 1 << 6,           // non-INVITE in Proceeding: retransmit every T2
  kCaFrInv = 1 << 7,           // INVITE got a provisional: the timeout becomes fr_inv_timer
  kCaSendCancel = 1 << 8,      // INVITE timed out after a provisional: CANCEL the branch (timer C)
};

struct ClientStep {
  ClientState next;
  uint16_t actions;
};

ClientStep clientStep(bool invite, ClientState state, ClientEvent event);

// A branch in Completed or Terminated has its final answer.
inline bool clientFinal(ClientState s) { return s == ClientState::Completed || s == ClientState::Terminated; }

const char* clientStateName(ClientState s);

}  // namespace sipsd::tm

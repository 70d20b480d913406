#include "modules/tm/client_fsm.h"

namespace sipsd::tm {
namespace {

using S = ClientState;
constexpr int kEvents = 6;

// Rows: state (Calling/Trying, Proceeding, Completed, Terminated); columns: ClientEvent.
// A final received after the branch ended (its own retransmission, or the UAS's answer after
// tm gave up on it and sent CANCEL) is ACKed again when non-2xx and forwarded when 2xx (§16.7
// step 5: every 2xx to an INVITE goes upstream).
constexpr ClientStep kInvite[4][kEvents] = {
    // Calling
    {{S::Proceeding, kCaStopRetransmit | kCaPassUp | kCaFrInv},
     {S::Terminated, kCaStopRetransmit | kCaPassUp},
     {S::Completed, kCaStopRetransmit | kCaPassUp | kCaSendAck},
     {S::Calling, kCaRetransmit},
     {S::Terminated, kCaStopRetransmit | kCaLocal408},
     {S::Terminated, kCaStopRetransmit | kCaLocal503}},
    // Proceeding
    {{S::Proceeding, kCaPassUp},
     {S::Terminated, kCaPassUp},
     {S::Completed, kCaPassUp | kCaSendAck},
     {S::Proceeding, kCaNone},
     {S::Terminated, kCaLocal408 | kCaSendCancel},
     {S::Terminated, kCaLocal503}},
    // Completed
    {{S::Completed, kCaNone},
     {S::Completed, kCaPassUp},
     {S::Completed, kCaSendAck},
     {S::Completed, kCaNone},
     {S::Completed, kCaNone},
     {S::Completed, kCaNone}},
    // Terminated
    {{S::Terminated, kCaNone},
     {S::Terminated, kCaPassUp},
     {S::Terminated, kCaSendAck},
     {S::Terminated, kCaNone},
     {S::Terminated, kCaNone},
     {S::Terminated, kCaNone}},
};

constexpr ClientStep kNonInvite[4][kEvents] = {
    // Trying
    {{S::Proceeding, kCaPassUp | kCaUseT2},
     {S::Completed, kCaStopRetransmit | kCaPassUp},
     {S::Completed, kCaStopRetransmit | kCaPassUp},
     {S::Trying, kCaRetransmit},
     {S::Terminated, kCaStopRetransmit | kCaLocal408},
     {S::Terminated, kCaStopRetransmit | kCaLocal503}},
    // Proceeding
    {{S::Proceeding, kCaPassUp},
     {S::Completed, kCaStopRetransmit | kCaPassUp},
     {S::Completed, kCaStopRetransmit | kCaPassUp},
     {S::Proceeding, kCaRetransmit},
     {S::Terminated, kCaStopRetransmit | kCaLocal408},
     {S::Terminated, kCaStopRetransmit | kCaLocal503}},
    // Completed: retransmitted finals are absorbed (timer K)
    {{S::Completed, kCaNone},
     {S::Completed, kCaNone},
     {S::Completed, kCaNone},
     {S::Completed, kCaNone},
     {S::Completed, kCaNone},
     {S::Completed, kCaNone}},
    // Terminated
    {{S::Terminated, kCaNone},
     {S::Terminated, kCaNone},
     {S::Terminated, kCaNone},
     {S::Terminated, kCaNone},
     {S::Terminated, kCaNone},
     {S::Terminated, kCaNone}},
};

int row(ClientState s) {
  switch (s) {
    case S::Calling:
    case S::Trying: return 0;
    case S::Proceeding: return 1;
    case S::Completed: return 2;
    case S::Terminated: return 3;
  }
  return 3;
}

}  // namespace

ClientStep clientStep(bool invite, ClientState state, ClientEvent event) {
  const auto& table = invite ? kInvite : kNonInvite;
  return table[row(state)][int(event)];
}

const char* clientStateName(ClientState s) {
  switch (s) {
    case S::Calling: return "Calling";
    case S::Trying: return "Trying";
    case S::Proceeding: return "Proceeding";
    case S::Completed: return "Completed";
    case S::Terminated: return "Terminated";
  }
  return "?";
}

}  // namespace sipsd::tm

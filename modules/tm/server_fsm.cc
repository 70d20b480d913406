#include "modules/tm/server_fsm.h"

namespace sipsd::tm {
namespace {

using S = ServerState;
constexpr int kEvents = 7;
constexpr int kStates = 6;

// Columns: Retransmission, Send1xx, Send2xx, SendFinal, Ack, TimerG, TimerH.
constexpr ServerStep kInvite[kStates][kEvents] = {
    // Trying (not used for INVITE: 100 Trying goes out at once; behaves as Proceeding)
    {{S::Trying, kSaNone}, {S::Proceeding, kSaSend}, {S::Accepted, kSaSend | kSaWait},
     {S::Completed, kSaSend | kSaStartG | kSaStartH}, {S::Trying, kSaNone}, {S::Trying, kSaNone},
     {S::Trying, kSaNone}},
    // Proceeding
    {{S::Proceeding, kSaResendLast}, {S::Proceeding, kSaSend}, {S::Accepted, kSaSend | kSaWait},
     {S::Completed, kSaSend | kSaStartG | kSaStartH}, {S::Proceeding, kSaNone}, {S::Proceeding, kSaNone},
     {S::Proceeding, kSaNone}},
    // Completed: final sent, waiting for the ACK
    {{S::Completed, kSaResendLast}, {S::Completed, kSaNone}, {S::Completed, kSaNone},
     {S::Completed, kSaNone}, {S::Confirmed, kSaStopG | kSaWait}, {S::Completed, kSaResendLast | kSaStartG},
     {S::Terminated, kSaStopG | kSaEnd}},
    // Confirmed: ACK came; absorb ACK retransmissions (timer I)
    {{S::Confirmed, kSaNone}, {S::Confirmed, kSaNone}, {S::Confirmed, kSaNone}, {S::Confirmed, kSaNone},
     {S::Confirmed, kSaNone}, {S::Confirmed, kSaNone}, {S::Confirmed, kSaNone}},
    // Accepted: more 2xx (other branches, retransmissions) still go upstream
    {{S::Accepted, kSaNone}, {S::Accepted, kSaNone}, {S::Accepted, kSaSend}, {S::Accepted, kSaNone},
     {S::Accepted, kSaNone}, {S::Accepted, kSaNone}, {S::Accepted, kSaNone}},
    // Terminated
    {{S::Terminated, kSaNone}, {S::Terminated, kSaNone}, {S::Terminated, kSaNone}, {S::Terminated, kSaNone},
     {S::Terminated, kSaNone}, {S::Terminated, kSaNone}, {S::Terminated, kSaNone}},
};

constexpr ServerStep kNonInvite[kStates][kEvents] = {
    // Trying: a retransmission before any reply is absorbed silently
    {{S::Trying, kSaNone}, {S::Proceeding, kSaSend}, {S::Completed, kSaSend | kSaWait},
     {S::Completed, kSaSend | kSaWait}, {S::Trying, kSaNone}, {S::Trying, kSaNone}, {S::Trying, kSaNone}},
    // Proceeding
    {{S::Proceeding, kSaResendLast}, {S::Proceeding, kSaSend}, {S::Completed, kSaSend | kSaWait},
     {S::Completed, kSaSend | kSaWait}, {S::Proceeding, kSaNone}, {S::Proceeding, kSaNone},
     {S::Proceeding, kSaNone}},
    // Completed (timer J: the final is resent for each retransmission)
    {{S::Completed, kSaResendLast}, {S::Completed, kSaNone}, {S::Completed, kSaNone}, {S::Completed, kSaNone},
     {S::Completed, kSaNone}, {S::Completed, kSaNone}, {S::Completed, kSaNone}},
    // Confirmed, Accepted: not used for non-INVITE
    {{S::Confirmed, kSaNone}, {S::Confirmed, kSaNone}, {S::Confirmed, kSaNone}, {S::Confirmed, kSaNone},
     {S::Confirmed, kSaNone}, {S::Confirmed, kSaNone}, {S::Confirmed, kSaNone}},
    {{S::Accepted, kSaNone}, {S::Accepted, kSaNone}, {S::Accepted, kSaNone}, {S::Accepted, kSaNone},
     {S::Accepted, kSaNone}, {S::Accepted, kSaNone}, {S::Accepted, kSaNone}},
    // Terminated
    {{S::Terminated, kSaNone}, {S::Terminated, kSaNone}, {S::Terminated, kSaNone}, {S::Terminated, kSaNone},
     {S::Terminated, kSaNone}, {S::Terminated, kSaNone}, {S::Terminated, kSaNone}},
};

}  // namespace

ServerStep serverStep(bool invite, ServerState state, ServerEvent event) {
  const auto& table = invite ? kInvite : kNonInvite;
  return table[int(state)][int(event)];
}

const char* serverStateName(ServerState s) {
  switch (s) {
    case S::Trying: return "Trying";
    case S::Proceeding: return "Proceeding";
    case S::Completed: return "Completed";
    case S::Confirmed: return "Confirmed";
    case S::Accepted: return "Accepted";
    case S::Terminated: return "Terminated";
  }
  return "?";
}

}  // namespace sipsd::tm

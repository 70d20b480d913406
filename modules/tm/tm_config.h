// tm's settings (modparams) and the RFC 3261 timer values derived from them.
#pragma once
#include <cstdint>

namespace sipsd::tm {

struct TmConfig {
  int64_t t1 = 500;          // ms, RTT estimate (RFC 3261 T1)
  int64_t t2 = 4000;         // ms, cap of non-INVITE retransmission intervals (T2)
  int64_t t4 = 5000;         // ms, how long the network may hold a message (T4): timers I, K
  int64_t frTimer = 30000;   // ms, final reply timeout while a branch has no reply (fr_timer)
  int64_t frInvTimer = 120000;  // ms, INVITE final reply timeout after a provisional (fr_inv_timer)
  int maxBranches = 12;      // branches per transaction (parallel + serial)
  // failure_reply_mode: 0 the replies of every branch compete for the final answer; 3 when a
  // failure_route starts new branches, those of the earlier ones no longer do.
  int failureReplyMode = 0;

  int64_t timerB() const { return 64 * t1; }  // INVITE client transaction timeout (also F, H)
};

}  // namespace sipsd::tm

// One proxy transaction (RFC 3261 §16/§17): the server transaction towards the sender and the
// client transactions (branches) it relayed the request on. It keeps the bytes it needs
// (the received request, the last reply sent upstream, the request relayed on each branch,
// the best final reply so far) and no parsed structures; everything else is a few integers.
#pragma once
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "core/net/transport.h"
#include "core/script_context.h"
#include "modules/tm/client_fsm.h"
#include "modules/tm/server_fsm.h"

namespace sipsd::tm {

struct Branch {
  ClientState state = ClientState::Calling;
  bool ready = false;          // resolved and sent at least once
  bool cancelWanted = false;   // CANCEL once a provisional arrives (§9.1)
  bool cancelSent = false;
  bool cancelDone = false;     // the CANCEL got its reply (or gave up)
  bool gotProvisional = false;
  Proto proto = Proto::UDP;
  SockAddr dest;
  ConnectOptions connect;
  std::string request;         // the bytes relayed on this branch (retransmissions, ACK, CANCEL)
  std::string cancel;          // the CANCEL sent on this branch, for its retransmissions
  int64_t retransAt = 0;       // timer A / E (0: off)
  int64_t retransIval = 0;
  int64_t timeoutAt = 0;       // timer B / F, fr_timer, fr_inv_timer (0: off)
  int64_t cancelAt = 0;        // retransmission of the CANCEL (0: off)
  int64_t cancelIval = 0;
  int64_t cancelEnd = 0;       // give up on the CANCEL (timer F)
  int code = 0;                // final status of the branch (received or local)
  uint32_t bflags = 0;         // the script's branch flags when it was relayed (setbflag())
};

struct Transaction {
  uint64_t id = 0;
  bool invite = false;
  bool canceled = false;        // a CANCEL matched it
  bool inRoute = false;         // a failure_route runs on it now
  ServerState state = ServerState::Trying;
  std::string key;              // in the worker's server transaction table
  std::string request;          // the request as received
  ReceiveInfo rcv;              // where it came from (session cleared)
  std::string ruri;             // $ru at the first relay (failure_route starts from it)
  std::string lastReply;        // last reply sent upstream (for request retransmissions, timer G)
  int lastCode = 0;
  int64_t gAt = 0, gIval = 0;   // timer G (0: off)
  int64_t hAt = 0;              // timer H (0: off)
  int64_t endAt = 0;            // delete then (wait after completion; 0: not yet)
  int64_t scheduledAt = 0;      // its deadline in the worker's TimerHeap (0: none)
  // best final so far (§16.7): status, and the reply bytes when it was received (else local)
  int bestCode = 0;
  int bestBranch = -1;          // whose final bestCode is (failure_route sees its branch flags)
  std::string bestReply;
  // script settings
  int onReply = -1;             // onreply_route index
  int onFailure = -1;           // failure_route index
  int onBranch = -1;            // branch_route index (t_on_branch)
  int64_t frTimer = 0;          // 0: the modparam
  int64_t frInvTimer = 0;
  // The script's message flags and $avp values as of the last t_relay(); failure_route and
  // onreply_route start from them and leave their changes here.
  uint32_t flags = 0;
  AvpList avps;
  std::vector<Branch> branches;

  size_t accounted = 0;         // memoryBytes() as last added to the worker's total
  uint64_t keyHash = 0;         // published in the InviteDirectory (0: not published)
  uint64_t indexHash = 0;       // KeyIndex::keyHash(key) it is indexed under (key empty: not indexed)

  // Bytes held for this transaction: the struct, its branches and the heap blocks of its
  // buffers (the figure tm.stats reports and the README quotes).
  size_t memoryBytes() const {
    size_t n = sizeof(Transaction) + heapBytes(key) + heapBytes(request) + heapBytes(ruri) + heapBytes(lastReply) +
               heapBytes(bestReply) + branches.capacity() * sizeof(Branch) + avps.heapBytes();
    for (const auto& b : branches)
      n += heapBytes(b.request) + heapBytes(b.cancel) + heapBytes(b.connect.profile) + heapBytes(b.connect.serverName);
    return n;
  }
  // A string's heap block (short strings live inside the object).
  static size_t heapBytes(const std::string& s) { return s.capacity() > 15 ? s.capacity() + 1 : 0; }

  // Sets a buffer, reusing its block when it is large enough; else a block of exactly the size
  // (assign() would double the old capacity, and a reused transaction would hold and report
  // up to twice the bytes a new one does).
  static void fill(std::string& to, std::string_view v) {
    if (v.size() > to.capacity())
      to = std::string(v);
    else
      to.assign(v);
  }

  // Back to a new transaction's state for reuse (TxTable's free list), keeping the heap blocks
  // of its strings and branch vector so the next transaction fills them without malloc; a
  // string block larger than `keepBytes` is released (the list must not hoard big buffers).
  void recycle(size_t keepBytes) {
    std::string k = std::move(key), rq = std::move(request), ru = std::move(ruri), lr = std::move(lastReply),
                br = std::move(bestReply);
    std::vector<Branch> bs = std::move(branches);
    bs.clear();
    *this = Transaction{};
    auto keep = [keepBytes](std::string& to, std::string& from) {
      if (from.capacity() <= keepBytes) {
        from.clear();
        to = std::move(from);
      }
    };
    keep(key, k);
    keep(request, rq);
    keep(ruri, ru);
    keep(lastReply, lr);
    keep(bestReply, br);
    branches = std::move(bs);
  }
};

}  // namespace sipsd::tm

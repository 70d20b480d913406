// ul.dump as an RpcStream: the location table walked and written a bounded piece at a time, so
// that dispatch_rpc can send a table of any size whole, as the client reads, while the worker
// keeps serving SIP between pieces (modules/xmlrpc/reply_streamer.h).
//
// Two phases, both run on the worker that owns the replica: first the walk collects the live
// records a few thousand per step (LocationTable::walkSome, ~0.1-0.3 ms a step); then each step
// turns the next `emitBudget` of them into RPC values. Records are immutable and shared, so the
// snapshot costs one pointer per AoR (16 bytes) and shows each AoR as it was when its bucket was
// walked; `now` (the dump's start) decides which contacts are live and their seconds left.
#pragma once
#include <cstdint>
#include <string>
#include <vector>

#include "core/rpc_value.h"
#include "modules/usrloc/location_table.h"

namespace sipsd::usrloc {

// One AoR as ul.dump and ul.lookup show it: {aor, contacts: [...]}, live contacts only. Brief:
// each contact is only its URI ({contact}), as Kamailio's `ul.dump brief` keeps it short.
RpcValue recordValue(const AorRecord& r, int64_t now, bool brief = false);

class DumpStream : public RpcStream {
 public:
  struct Options {
    bool brief = false;
    std::string store = "memory";  // "memory", or the Redis connection's state
    std::string node;              // this node's node_address ("" on a lone node)
    size_t walkBudget = 2000;      // records collected per step
    size_t emitBudget = 32;        // AoRs written per step
  };
  DumpStream(const LocationTable& table, int64_t now, Options opt);

  RpcStruct head() override;
  std::string arrayName() const override { return "records"; }
  bool step(RpcArray& out) override;
  RpcStruct tail() override;

 private:
  const LocationTable& table_;
  const int64_t now_;
  const Options opt_;
  LocationTable::Walk walk_;
  bool walked_ = false;
  std::vector<RecordPtr> records_;
  size_t next_ = 0;  // the next record of records_ to write
  int64_t aors_ = 0;
  int64_t contacts_ = 0;
};

}  // namespace sipsd::usrloc

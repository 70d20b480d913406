// One worker's replica of the location table. Touched only on its worker's thread (reads by
// lookup()/registered()/RPCs, writes by posted updates), so it needs no lock. Records are
// shared with the other replicas; the map keys view the record's own AoR string.
#pragma once
#include <cstdint>
#include <map>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "modules/usrloc/binding.h"

namespace sipsd::usrloc {

class LocationTable {
 public:
  // byContact: keep the contact -> AoR index getByContact() reads. Only a node with a
  // node_address (a cluster) is sent requests whose R-URI is a contact; elsewhere the index
  // would cost ~70 bytes per binding on every replica for nothing.
  explicit LocationTable(bool byContact = true) : contactIndex_(byContact) {}
  // Stores `rec` unless the replica already holds a newer (or the same) version of the AoR.
  // An empty record is a tombstone: it keeps the version so a late older write cannot revive it.
  void apply(const RecordPtr& rec);
  // The live record for `aor` (null for none or a tombstone).
  RecordPtr get(std::string_view aor) const;
  // The record holding a binding with this contact URI registered on `node`; index set.
  // Always null on a table made without the contact index.
  RecordPtr getByContact(std::string_view contact, const std::string& node, size_t& index) const;
  // Drops records whose bindings all expired before `now` and tombstones older than `keep` s.
  size_t sweep(int64_t now, int64_t keep);
  // The same over the next part of the table only: about `budget` records (whole hash buckets,
  // at most 8 * budget buckets), going on from where the previous call stopped and round the
  // table. A worker sweeps its replica this way so that no sweep stalls its messages for
  // longer than `budget` records take, whatever the size of the table (a whole sweep of
  // 100,000 records costs ~20 ms, tools/bench/usrloc_lookup_bench.cc). Returns the records dropped.
  size_t sweepSome(int64_t now, int64_t keep, size_t budget);
  // Calls fn for every live record (RPC dump).
  template <class Fn>
  void forEach(Fn&& fn) const {
    for (const auto& [k, r] : byAor_)
      if (!r->bindings.empty()) fn(r);
  }
  size_t size() const { return byAor_.size(); }
  // A walk over the live records in parts (ul.dump), so that no call stalls the worker for
  // long: each call appends the live records of the next buckets (about `budget` records, at
  // most 8 * budget buckets) to `out` and returns false once the whole table was walked. The
  // table may change between calls: a bucket shows its records as they are when it is walked.
  // A rehash (the table grew) restarts the walk with `out` cleared, so no AoR is missed or
  // listed twice.
  struct Walk {
    size_t bucket = 0;
    size_t buckets = 0;  // the bucket count the walk runs over (0: not started)
  };
  bool walkSome(Walk& w, size_t budget, std::vector<RecordPtr>& out) const;
  // What Redis holds after a reload, by AoR (keys view the records' own AoR strings).
  using Snapshot = std::unordered_map<std::string_view, RecordPtr>;
  // Makes the replica equal to `snap` (a reload after a (re)connect): records it lacks are
  // dropped (deleted elsewhere while this node was away), records whose version differs take
  // its version (older or newer), records only it has are added. The live counts follow.
  // Returns the records dropped (not replaced). One pass over the replica and the snapshot.
  size_t reconcile(const Snapshot& snap);

  // The /metrics gauges: contacts with expires > now, and AoRs with at least one. Kept as
  // records are stored, replaced and dropped (never a walk of the table): exact at the second,
  // swept or not. Costs the expiry seconds passed since the last sweep tick (one or two).
  struct LiveCounts {
    uint64_t aors = 0;
    uint64_t contacts = 0;
  };
  LiveCounts live(int64_t now) const;

 private:
  void indexContacts(const AorRecord& r, bool add);
  void insert(const RecordPtr& rec);  // the AoR must not be in the replica
  static bool droppable(const AorRecord& r, int64_t now, int64_t keep);
  void drop(std::unordered_map<std::string_view, RecordPtr>::iterator it);
  // Adds (+1) or takes out (-1) what `r` contributes to the live counts.
  void count(const AorRecord& r, int sign);
  // Moves the counts on to `now`: takes out what expired since the last call.
  void advance(int64_t now);

  std::unordered_map<std::string_view, RecordPtr> byAor_;
  // contact URI -> AoR, for requests routed here by another node with the contact as R-URI.
  std::unordered_multimap<std::string_view, std::string_view> byContact_;
  const bool contactIndex_;
  size_t sweepBucket_ = 0;                 // where the next sweepSome() goes on
  std::vector<std::string_view> sweepDue_; // sweepSome()'s / reconcile()'s finds, kept for its capacity
  // The bindings with expires > countedTo_ and the AoRs with one of them, and when they leave
  // the counts: a calendar of the seconds (countedTo_, countedTo_ + kCalendarSeconds], one slot
  // per second (slot = second % kCalendarSeconds; a store costs one slot update per binding,
  // no tree walk, no allocation), and the few expiries further ahead (long registrations) by
  // second in `later_`, moved into the calendar as their second comes near. A wall clock
  // stepping back leaves the contacts expiring in the skipped seconds uncounted until they
  // are rewritten.
  struct Slot {
    uint32_t aors = 0;
    uint32_t contacts = 0;
  };
  static constexpr int64_t kCalendarSeconds = 8192;  // a power of 2; 64 KiB per replica
  void change(Slot& s, uint32_t aors, int sign);
  LiveCounts counted_;
  int64_t countedTo_ = 0;
  std::vector<Slot> calendar_ = std::vector<Slot>(size_t(kCalendarSeconds));
  std::map<int64_t, Slot> later_;
};

}  // namespace sipsd::usrloc

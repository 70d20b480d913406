// The interface usrloc offers the registrar (CoreApi::moduleApi("usrloc", "location")).
// Header-only and abstract: the registrar calls it through the vtable, so neither module links
// the other.
//
// Reads are local: every worker holds a replica of the whole table and reads it on its own
// thread without locks. Writes go to one serialization point per AoR (the AoR's home worker in
// memory, Redis with a compare-and-set when db_url is set), and their result is published to
// every worker's replica before `done` runs, so a phone that got its 200 is visible everywhere.
#pragma once
#include <functional>
#include <string>
#include <string_view>
#include <vector>

#include "modules/usrloc/binding.h"

namespace sipsd::usrloc {

// What an update computes from the current record.
struct UpdateResult {
  int code = 200;                 // != 200: answer this, write nothing
  std::string reason = "OK";
  std::string extraHeaders;       // e.g. "Min-Expires: 60\r\n" for a 423
  bool write = false;             // store `bindings` (else reply with the current record)
  std::vector<Binding> bindings;  // the new set (empty + write: remove the AoR)
};

// What `done` learns: the code to answer and the record as stored afterwards.
struct UpdateOutcome {
  int code = 200;
  std::string reason = "OK";
  std::string extraHeaders;
  RecordPtr record;  // may be null (no bindings)
};

class LocationApi {
 public:
  using Compute = std::function<UpdateResult(const AorRecord* current)>;
  using Done = std::function<void(const UpdateOutcome&)>;

  virtual ~LocationApi() = default;
  // The AoR key for a SIP URI ("user@host", or "user" without use_domain); "" if unusable.
  virtual std::string aorOf(std::string_view uri) const = 0;
  // The record on `worker`'s replica (call on that worker's thread); null when none.
  virtual RecordPtr get(int worker, std::string_view aor) const = 0;
  // The binding registered on this node whose contact URI is `contact` (a request another node
  // routed here); null when none. `index` gets the binding's position in the record.
  virtual RecordPtr getByContact(int worker, std::string_view contact, size_t& index) const = 0;
  // Serialized write. `compute` runs at the AoR's serialization point with the current record
  // (may be on another thread: it must own what it uses); `done` runs once the outcome is
  // known and, for a write, stored and visible on every worker (on any thread).
  virtual void update(std::string aor, Compute compute, Done done) = 0;
  // This node's SIP URI in a cluster (modparam node_address), "" for a lone node.
  virtual const std::string& nodeAddress() const = 0;
};

}  // namespace sipsd::usrloc

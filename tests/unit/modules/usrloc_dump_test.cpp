// ul.dump in parts: LocationTable::walkSome (the table walked a bounded piece per call, whole and
// each AoR once even when the table is rehashed or changed between calls) and DumpStream (the
// RpcStream dispatch_rpc writes as the client reads).
#include <doctest/doctest.h>

#include <algorithm>
#include <set>
#include <string>
#include <vector>

#include "modules/usrloc/dump_stream.h"
#include "modules/usrloc/location_table.h"

using namespace sipsd;
using sipsd::usrloc::AorRecord;
using sipsd::usrloc::Binding;
using sipsd::usrloc::DumpStream;
using sipsd::usrloc::LocationTable;
using sipsd::usrloc::RecordPtr;

namespace {

constexpr int64_t kNow = 1'000'000;

RecordPtr record(const std::string& aor, uint64_t version, std::vector<int64_t> expiries) {
  auto r = std::make_shared<AorRecord>();
  r->aor = aor;
  r->version = version;
  r->written = kNow - 10;
  for (size_t i = 0; i < expiries.size(); ++i) {
    Binding b;
    b.contact = "sip:" + aor + "@10.0.0." + std::to_string(i + 1) + ":5060";
    b.expires = expiries[i];
    b.proto = "udp";
    b.source = "10.0.0.1:5060";
    b.callId = "cid-" + aor;
    b.cseq = 1;
    r->bindings.push_back(std::move(b));
  }
  return r;
}

std::string name(int i) { return "user" + std::to_string(i); }

void fill(LocationTable& t, int from, int to) {
  for (int i = from; i < to; ++i) t.apply(record(name(i), 1, {kNow + 600}));
}

// Walks to the end with `budget`, calling between(calls) after each call; returns the AoRs.
template <class Between>
std::vector<std::string> walkAll(const LocationTable& t, size_t budget, int& calls, Between between) {
  LocationTable::Walk w;
  std::vector<RecordPtr> out;
  calls = 0;
  bool more = true;
  while (more) {
    more = t.walkSome(w, budget, out);
    between(++calls);
    REQUIRE(calls < 100000);
  }
  std::vector<std::string> aors;
  for (const RecordPtr& r : out) aors.push_back(r->aor);
  std::sort(aors.begin(), aors.end());
  return aors;
}

std::vector<std::string> names(int from, int to) {
  std::vector<std::string> v;
  for (int i = from; i < to; ++i) v.push_back(name(i));
  std::sort(v.begin(), v.end());
  return v;
}

// Every element of a DumpStream, stepped to the end.
RpcArray stepAll(DumpStream& s, int& steps) {
  RpcArray items;
  steps = 0;
  while (s.step(items)) REQUIRE(++steps < 100000);
  return items;
}

const RpcStruct& st(const RpcValue& v) { return std::get<RpcStruct>(v.v); }
const RpcValue& member(const RpcStruct& s, const std::string& n) {
  for (const auto& [k, v] : s)
    if (k == n) return v;
  FAIL("no member " << n);
  throw std::logic_error("unreachable");
}

}  // namespace

TEST_CASE("walkSome: the whole table in bounded parts, each AoR once") {
  LocationTable t(false);
  fill(t, 0, 5000);
  int calls = 0;
  auto got = walkAll(t, 100, calls, [](int) {});
  CHECK(got == names(0, 5000));
  CHECK(calls >= 5000 / 100);  // never more than ~budget records a call

  LocationTable empty(false);
  CHECK(walkAll(empty, 100, calls, [](int) {}).empty());
}

TEST_CASE("walkSome: a rehash between calls restarts the walk: no AoR missed or listed twice") {
  LocationTable t(false);
  fill(t, 0, 1000);
  int calls = 0;
  bool grown = false;
  auto got = walkAll(t, 50, calls, [&](int n) {
    if (n == 3 && !grown) {  // mid-walk: the table grows to 8x, so it rehashes
      fill(t, 1000, 8000);
      grown = true;
    }
  });
  CHECK(grown);
  CHECK(got == names(0, 8000));
}

TEST_CASE("walkSome: records removed, replaced or expired between calls") {
  LocationTable t(false);
  fill(t, 0, 2000);
  int calls = 0;
  auto got = walkAll(t, 100, calls, [&](int n) {
    if (n != 2) return;
    // A removal (tombstone, a newer empty version) and a refresh of records anywhere in the table.
    for (int i = 0; i < 2000; i += 10) t.apply(record(name(i), 2, {}));
    for (int i = 5; i < 2000; i += 10) t.apply(record(name(i), 2, {kNow + 900}));
  });
  // Each AoR at most once; tombstones (no bindings) never listed; the untouched all there.
  std::set<std::string> unique(got.begin(), got.end());
  CHECK(unique.size() == got.size());
  for (int i = 0; i < 2000; ++i) {
    bool listed = unique.count(name(i)) != 0;
    if (i % 10 == 0) continue;  // removed: listed only if its bucket was walked before
    CHECK_MESSAGE(listed, name(i));
  }
}

TEST_CASE("DumpStream: every live AoR in small steps, counts, head and tail") {
  LocationTable t(false);
  fill(t, 0, 300);
  t.apply(record("twice", 1, {kNow + 60, kNow + 120}));
  t.apply(record("expired", 1, {kNow - 1}));         // not swept yet: not shown
  t.apply(record("partly", 1, {kNow - 5, kNow + 30}));  // only its live contact
  t.apply(record("gone", 1, {}));                     // a tombstone
  DumpStream::Options o;
  o.walkBudget = 16;
  o.emitBudget = 7;
  o.node = "sip:10.0.0.9:5060";
  DumpStream s(t, kNow, o);
  RpcStruct head = s.head();
  CHECK(std::get<std::string>(member(head, "store").v) == "memory");
  CHECK(std::get<std::string>(member(head, "node").v) == "sip:10.0.0.9:5060");
  CHECK(s.arrayName() == "records");
  int steps = 0;
  RpcArray items = stepAll(s, steps);
  CHECK(steps > 300 / 7);  // bounded pieces
  std::vector<std::string> aors;
  int64_t contacts = 0;
  for (const RpcValue& v : items) {
    aors.push_back(std::get<std::string>(member(st(v), "aor").v));
    const auto& cts = std::get<RpcArray>(member(st(v), "contacts").v);
    contacts += int64_t(cts.size());
    if (aors.back() == "partly") {
      REQUIRE(cts.size() == 1);
      CHECK(std::get<int64_t>(member(st(cts[0]), "expires").v) == 30);
    }
  }
  std::sort(aors.begin(), aors.end());
  auto want = names(0, 300);
  want.push_back("partly");
  want.push_back("twice");
  std::sort(want.begin(), want.end());
  CHECK(aors == want);
  RpcStruct tail = s.tail();
  CHECK(std::get<int64_t>(member(tail, "aors").v) == 302);
  CHECK(std::get<int64_t>(member(tail, "contacts").v) == contacts);
  CHECK(contacts == 300 + 2 + 1);
}

TEST_CASE("DumpStream brief: AoRs and contact URIs only; drainRpcStream gives the same answer") {
  LocationTable t(false);
  fill(t, 0, 50);
  DumpStream::Options o;
  o.brief = true;
  DumpStream s(t, kNow, o);
  RpcValue all = drainRpcStream(s);
  const RpcStruct& top = st(all);
  // head, the array, then tail: table store records aors contacts
  std::vector<std::string> keys;
  for (const auto& [k, v] : top) keys.push_back(k);
  CHECK(keys == std::vector<std::string>{"table", "store", "records", "aors", "contacts"});
  const auto& recs = std::get<RpcArray>(member(top, "records").v);
  REQUIRE(recs.size() == 50);
  for (const RpcValue& r : recs) {
    const auto& cts = std::get<RpcArray>(member(st(r), "contacts").v);
    REQUIRE(cts.size() == 1);
    REQUIRE(st(cts[0]).size() == 1);
    CHECK(st(cts[0])[0].first == "contact");
  }
}

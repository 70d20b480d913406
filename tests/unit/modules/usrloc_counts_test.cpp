// usrloc's live counts (the /metrics gauges sipsd_usrloc_aors / sipsd_usrloc_contacts): kept by
// each replica as records are stored, refreshed, removed, expire and are swept, and checked
// against a walk of the table (what the gauges used to cost at every scrape).
#include <doctest/doctest.h>

#include <deque>
#include <functional>
#include <random>
#include <string>
#include <vector>

#include "core/metrics/metrics_writer.h"
#include "fake_core.h"
#include "modules/usrloc/location.h"
#include "modules/usrloc/location_table.h"

using namespace sipsd;
using sipsd::usrloc::AorRecord;
using sipsd::usrloc::Binding;
using sipsd::usrloc::LocationTable;
using sipsd::usrloc::RecordPtr;

namespace {

Binding bindingAt(std::string contact, int64_t expires) {
  Binding b;
  b.contact = std::move(contact);
  b.expires = expires;
  return b;
}

RecordPtr record(std::string aor, uint64_t version, std::vector<int64_t> expiries, int64_t written = 100) {
  auto r = std::make_shared<AorRecord>();
  r->aor = std::move(aor);
  r->version = version;
  r->written = written;
  for (size_t i = 0; i < expiries.size(); ++i)
    r->bindings.push_back(bindingAt("sip:" + r->aor + "@h" + std::to_string(i), expiries[i]));
  return r;
}

// The reference: what a walk of the replica finds live at `now`.
LocationTable::LiveCounts walk(const LocationTable& t, int64_t now) {
  LocationTable::LiveCounts c;
  t.forEach([&](const RecordPtr& r) {
    uint64_t live = 0;
    for (const Binding& b : r->bindings) live += b.expires > now;
    c.contacts += live;
    c.aors += live != 0;
  });
  return c;
}

void checkCounts(const LocationTable& t, int64_t now, uint64_t aors, uint64_t contacts) {
  INFO("at " << now);
  LocationTable::LiveCounts c = t.live(now);
  CHECK(c.aors == aors);
  CHECK(c.contacts == contacts);
  LocationTable::LiveCounts w = walk(t, now);
  CHECK(w.aors == aors);
  CHECK(w.contacts == contacts);
}

}  // namespace

TEST_CASE("live counts: insert, refresh, exact expiry at the second with or without a sweep, removal") {
  LocationTable t;
  checkCounts(t, 100, 0, 0);
  t.apply(record("alice", 1, {300, 500}));
  t.apply(record("bob", 1, {400}));
  checkCounts(t, 100, 2, 3);
  // Expiry: a contact stops counting at its second, before any sweep ran.
  checkCounts(t, 299, 2, 3);
  checkCounts(t, 300, 2, 2);
  checkCounts(t, 400, 1, 1);  // bob's only contact: bob goes too
  checkCounts(t, 500, 0, 0);
  // Refresh (a REGISTER rewrites alice): the old bindings' counts leave, the new ones come.
  t.apply(record("alice", 2, {900}));
  checkCounts(t, 350, 2, 2);
  checkCounts(t, 450, 1, 1);
  // An older version arriving late changes nothing.
  t.apply(record("alice", 1, {300, 500, 700}));
  checkCounts(t, 350, 2, 2);
  // The sweep moves the counts on and drops bob's expired record: the counts stay exact.
  CHECK(t.sweepSome(450, 60, 1000) == 1);
  checkCounts(t, 450, 1, 1);
  checkCounts(t, 899, 1, 1);
  checkCounts(t, 900, 0, 0);
  // Removal (Expires: 0 for every contact, ul.rm): a tombstone counts nothing.
  t.apply(record("alice", 3, {}));
  checkCounts(t, 450, 0, 0);
  // A tombstone blocks an older write; a newer one counts again.
  t.apply(record("alice", 2, {900}));
  checkCounts(t, 450, 0, 0);
  t.apply(record("alice", 4, {1000}));
  checkCounts(t, 450, 1, 1);
  // The whole-table sweep keeps them too.
  CHECK(t.sweep(1000, 60) == 1);
  checkCounts(t, 1000, 0, 0);
  CHECK(t.size() == 0);
}

TEST_CASE("live counts: records already (partly) expired when they arrive, as a Redis reload brings them") {
  LocationTable t;
  CHECK(t.sweepSome(1000, 60, 1000) == 0);  // the replica's counts are at 1000
  t.apply(record("old", 1, {900}));           // expired before it came: stored, not counted
  t.apply(record("half", 1, {950, 1200}));    // one of two contacts live
  t.apply(record("new", 1, {1100, 1100}));    // two contacts expiring in the same second
  checkCounts(t, 1000, 2, 3);
  // Applying the same versions again (the reload after a reconnect) counts nothing twice.
  t.apply(record("half", 1, {950, 1200}));
  t.apply(record("new", 1, {1100, 1100}));
  checkCounts(t, 1000, 2, 3);
  // A record that arrives between two sweep ticks and expires before the next one.
  t.apply(record("brief", 1, {1001}));
  checkCounts(t, 1000, 3, 4);
  checkCounts(t, 1001, 2, 3);
  CHECK(t.sweepSome(1101, 60, 1000) == 3);  // old, brief, new
  checkCounts(t, 1101, 1, 1);
  t.apply(record("half", 2, {}));
  checkCounts(t, 1101, 0, 0);
}

TEST_CASE("live counts: long registrations (beyond the 8192 s calendar) count, expire and are removed alike") {
  LocationTable t;
  CHECK(t.sweepSome(100, 60, 1000) == 0);
  t.apply(record("far", 1, {100 + 8192 + 5, 300}));  // one contact far ahead, one near
  t.apply(record("edge", 1, {100 + 8192}));          // just inside the calendar
  checkCounts(t, 100, 2, 3);
  // The far second comes within the calendar exactly (8192 s ahead) and is removed there.
  CHECK(t.sweepSome(105, 60, 1000) == 0);
  checkCounts(t, 105, 2, 3);
  t.apply(record("far", 2, {}));
  checkCounts(t, 105, 1, 1);
  t.apply(record("far", 3, {50000}));
  checkCounts(t, 8291, 2, 2);
  checkCounts(t, 8292, 1, 1);  // edge's second
  CHECK(t.sweepSome(20000, 60, 1000) == 1);  // hours later in one step: edge is dropped
  checkCounts(t, 20000, 1, 1);
  checkCounts(t, 50000, 0, 0);
  CHECK(t.sweepSome(50000, 60, 1000) == 1);
  checkCounts(t, 50000, 0, 0);
}

TEST_CASE("live counts: a wall clock stepping back does not make them go wrong later") {
  LocationTable t;
  t.apply(record("a", 1, {500}));
  CHECK(t.sweepSome(600, 60, 1000) == 1);
  t.apply(record("b", 1, {700}));
  CHECK(t.sweepSome(550, 60, 1000) == 0);  // back in time: b is still live and counted
  checkCounts(t, 550, 1, 1);
  checkCounts(t, 700, 0, 0);
}

TEST_CASE("live counts: random writes, removals, sweeps and clock steps always equal a walk of the table") {
  LocationTable t;
  std::mt19937 rng(12);
  std::vector<uint64_t> versions(200, 0);
  int64_t now = 1000;
  for (int step = 0; step < 50000; ++step) {
    size_t i = rng() % versions.size();
    std::string aor = "u" + std::to_string(i);
    switch (rng() % 8) {
      case 0:
        t.apply(record(aor, ++versions[i], {}));  // removed
        break;
      case 1:
        t.apply(record(aor, versions[i] > 1 ? versions[i] - 1 : 1, {now + 50}));  // a late older write
        break;
      case 2:
        t.sweepSome(now, 5, 20);
        break;
      case 3:
        // Time goes on by 0..3 s; now and then by hours (past the calendar's 8192 s).
        now += int64_t(rng() % 50 == 0 ? rng() % 20000 : rng() % 4);
        break;
      default: {
        // A (re)registration with 1..3 contacts, some expiring soon, some already expired, a few
        // long ones (beyond the calendar, kept aside until their second comes near).
        std::vector<int64_t> exp;
        for (size_t k = 0, n = 1 + rng() % 3; k < n; ++k) {
          const unsigned kind = rng() % 20;
          if (kind == 0) exp.push_back(now + int64_t(rng() % 30000));
          else if (kind == 1) exp.push_back(now + 8190 + int64_t(rng() % 5));  // the calendar's edge
          else exp.push_back(now - 3 + int64_t(rng() % 30));
        }
        t.apply(record(aor, ++versions[i], exp, now));
      }
    }
    LocationTable::LiveCounts c = t.live(now), w = walk(t, now);
    if (c.aors != w.aors || c.contacts != w.contacts) {
      FAIL("step " << step << " at " << now << ": counts " << c.aors << "/" << c.contacts << ", walk " << w.aors
                   << "/" << w.contacts);
    }
  }
}

namespace {

// Two workers whose posted jobs run when the test says so, each as "current" worker.
class TwoWorkers : public test::FakeCore {
 public:
  int workerCount() const override { return 2; }
  int currentWorker() const override { return current; }
  bool postToWorker(int worker, std::function<void()> fn) override {
    queues[size_t(worker)].push_back(std::move(fn));
    return true;
  }
  void addMetricsProvider(std::string, MetricsProvider fn) override { provider = std::move(fn); }
  void runAll() {
    for (bool ran = true; ran;) {
      ran = false;
      for (int w = 0; w < 2; ++w)
        while (!queues[size_t(w)].empty()) {
          auto fn = std::move(queues[size_t(w)].front());
          queues[size_t(w)].pop_front();
          current = w;
          fn();
          current = -1;
          ran = true;
        }
    }
  }
  // /metrics as scraped on `worker`.
  std::string scrape(int worker) {
    current = worker;
    MetricsWriter w;
    provider(w);
    current = -1;
    return w.text();
  }

  int current = -1;
  std::deque<std::function<void()>> queues[2];
  MetricsProvider provider;
};

bool has(const std::string& text, const std::string& line) { return text.find(line + "\n") != std::string::npos; }

usrloc::LocationApi::Compute writes(std::vector<Binding> b) {
  return [b](const AorRecord*) {
    usrloc::UpdateResult u;
    u.write = true;
    u.bindings = b;
    return u;
  };
}

}  // namespace

TEST_CASE("usrloc /metrics on every worker: writes, removal (ul.rm's path), records published from Redis") {
  TwoWorkers core;
  usrloc::Location loc;
  REQUIRE(loc.init(core).ok());
  REQUIRE(core.provider);
  loc.addWorker(0);
  const int64_t now = usrloc::unixNow();
  int answered = 0;
  auto done = [&](const usrloc::UpdateOutcome& o) {
    CHECK(o.code == 200);
    ++answered;
  };
  // save(): alice with two contacts, bob with one, each written by its home worker.
  loc.update("alice", writes({bindingAt("sip:a@h1", now + 600), bindingAt("sip:a@h2", now + 300)}), done);
  loc.update("bob", writes({bindingAt("sip:b@h1", now + 600)}), done);
  core.runAll();
  CHECK(answered == 2);
  for (int w = 0; w < 2; ++w) {
    std::string m = core.scrape(w);
    CHECK(has(m, "sipsd_usrloc_aors 2"));
    CHECK(has(m, "sipsd_usrloc_contacts 3"));
  }
  // ul.rm alice: the same write ul.rm makes (no bindings), published to both replicas.
  loc.update("alice", [](const AorRecord* cur) {
    usrloc::UpdateResult u;
    u.write = cur != nullptr;
    return u;
  }, done);
  core.runAll();
  CHECK(answered == 3);
  for (int w = 0; w < 2; ++w) {
    std::string m = core.scrape(w);
    CHECK(has(m, "sipsd_usrloc_aors 1"));
    CHECK(has(m, "sipsd_usrloc_contacts 1"));
  }
  // Redis: another node's change arrives on the usrloc thread (no current worker), and a reload
  // brings the whole table again (the same versions: nothing counted twice) plus a record that
  // expired while it was on its way.
  auto carol = record("carol", 7, {now + 600, now + 900});
  loc.publish(carol, nullptr);
  core.runAll();
  loc.publishBatch({carol, record("dave", 3, {now - 5}), record("erin", 2, {now + 60})});
  core.runAll();
  for (int w = 0; w < 2; ++w) {
    std::string m = core.scrape(w);
    CHECK(has(m, "sipsd_usrloc_aors 3"));       // bob, carol, erin
    CHECK(has(m, "sipsd_usrloc_contacts 4"));
  }
  // Another node removed carol.
  loc.publish(record("carol", 8, {}), nullptr);
  core.runAll();
  std::string m = core.scrape(1);
  CHECK(has(m, "sipsd_usrloc_aors 2"));
  CHECK(has(m, "sipsd_usrloc_contacts 2"));
  // Off a worker there is no replica to read: no gauges rather than a wrong one.
  MetricsWriter off;
  core.provider(off);
  CHECK(off.text().find("sipsd_usrloc_aors") == std::string::npos);
}

namespace {

LocationTable::Snapshot snapshotOf(const std::vector<RecordPtr>& recs) {
  LocationTable::Snapshot s;
  for (const RecordPtr& r : recs) s.emplace(std::string_view(r->aor), r);
  return s;
}

}  // namespace

TEST_CASE("reload reconcile: the replica becomes what Redis holds, removals included, counts follow") {
  const int64_t now = 1000;
  LocationTable t;  // with the contact index, as on a cluster node
  auto alice = record("alice", 5, {now + 600});
  auto bob = record("bob", 4, {now + 600, now + 300});
  auto carol = record("carol", 9, {now + 900});
  t.apply(alice);
  t.apply(bob);
  t.apply(carol);
  t.apply(record("dave", 2, {}));  // a tombstone from before the disconnect
  checkCounts(t, now, 3, 4);
  // While this node was away: alice was removed (ul.rm / Expires: 0 on another node), Redis
  // holds an older carol (restored from an older dump), bob is unchanged, erin is new.
  auto olderCarol = record("carol", 7, {now + 100, now + 200});
  auto erin = record("erin", 3, {now + 50});
  auto redis = snapshotOf({record("bob", 4, {now + 600, now + 300}), olderCarol, erin});
  CHECK(t.reconcile(redis) == 2);  // alice and the tombstone
  CHECK(t.get("alice") == nullptr);
  CHECK(t.get("bob") == bob);  // same version: the replica's record stays
  CHECK(t.get("carol") == olderCarol);
  CHECK(t.get("erin") == erin);
  CHECK(t.size() == 3);
  checkCounts(t, now, 3, 5);
  checkCounts(t, now + 150, 2, 3);  // erin and carol's first contact expired
  size_t index = 9;
  CHECK(t.getByContact("sip:alice@h0", "", index) == nullptr);  // the index forgot alice
  CHECK(t.getByContact("sip:carol@h1", "", index) == olderCarol);
  CHECK(index == 1);
  CHECK(t.getByContact("sip:erin@h0", "", index) == erin);
  // A later change applies as usual; an empty Redis empties the replica.
  t.apply(record("alice", 6, {now + 600}));
  checkCounts(t, now, 4, 6);
  CHECK(t.reconcile(LocationTable::Snapshot{}) == 4);
  CHECK(t.size() == 0);
  checkCounts(t, now, 0, 0);
  CHECK(t.live(now + 1000).contacts == 0);  // nothing left behind in the calendar
}

TEST_CASE("reload reconcile on every worker: after the reload's batch, AoRs gone from Redis leave every replica") {
  TwoWorkers core;
  usrloc::Location loc;
  REQUIRE(loc.init(core).ok());
  loc.addWorker(0);
  const int64_t now = usrloc::unixNow();
  auto alice = record("alice", 5, {now + 600});
  auto bob = record("bob", 6, {now + 600});
  loc.publishBatch({alice, bob});
  core.runAll();
  for (int w = 0; w < 2; ++w) CHECK(has(core.scrape(w), "sipsd_usrloc_contacts 2"));
  // The reconnect's reload finds bob only; a change for carol arrived while it ran.
  auto carol = record("carol", 8, {now + 300});
  loc.publishBatch({bob});
  loc.publish(carol, nullptr);
  loc.reconcile(std::make_shared<const LocationTable::Snapshot>(snapshotOf({bob, carol})));
  core.runAll();
  for (int w = 0; w < 2; ++w) {
    CHECK(loc.get(w, "alice") == nullptr);
    CHECK(loc.get(w, "bob") == bob);
    CHECK(loc.get(w, "carol") == carol);
    std::string m = core.scrape(w);
    CHECK(has(m, "sipsd_usrloc_aors 2"));
    CHECK(has(m, "sipsd_usrloc_contacts 2"));
  }
  bool logged = false;
  for (const auto& [level, text] : core.logs)
    logged |= text.find("reloaded the location table from Redis: 2 AoRs, 1 no longer in Redis removed") !=
              std::string::npos;
  CHECK(logged);
}

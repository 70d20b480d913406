// tm's per-worker tables: TimerHeap (one deadline per slot, moved and removed in place, popped
// earliest first, checked against a brute-force model under random operations) and TxTable
// (ids that find exactly their transaction, slots reused with new ids, the bounded free lists
// that hand back objects with their buffers and nothing else of the previous transaction).
#include <doctest/doctest.h>

#include <map>
#include <random>
#include <set>
#include <string>
#include <vector>

#include "modules/tm/timer_heap.h"
#include "modules/tm/tx_table.h"

using namespace sipsd::tm;

TEST_CASE("TimerHeap: one deadline per slot, earliest first") {
  TimerHeap h;
  h.set(3, 300);
  h.set(1, 100);
  h.set(7, 200);
  h.set(3, 50);  // moved earlier: replaces, no second entry
  CHECK(h.size() == 3);
  CHECK(h.nextDue() == 50);
  CHECK(h.dueOf(3) == 50);
  h.set(3, 400);  // moved later
  CHECK(h.nextDue() == 100);
  h.remove(7);
  h.remove(7);  // twice: harmless
  CHECK(h.dueOf(7) == 0);
  uint32_t slot = 0;
  CHECK_FALSE(h.popDue(99, slot));
  REQUIRE(h.popDue(1000, slot));
  CHECK(slot == 1);
  REQUIRE(h.popDue(1000, slot));
  CHECK(slot == 3);
  CHECK_FALSE(h.popDue(1000, slot));
  CHECK(h.empty());
}

TEST_CASE("TimerHeap agrees with a brute-force model under random set/remove/pop") {
  TimerHeap h;
  std::map<uint32_t, int64_t> model;  // slot -> due
  std::multiset<int64_t> dues;        // the same deadlines, ordered
  std::mt19937_64 rng(11);
  int64_t now = 0;
  for (int i = 0; i < 200000; ++i) {
    auto op = rng() % 10;
    uint32_t slot = uint32_t(rng() % 3000);
    if (op < 5) {
      int64_t due = now + int64_t(rng() % 5000) + 1;
      h.set(slot, due);
      if (model.count(slot)) dues.erase(dues.find(model[slot]));
      model[slot] = due;
      dues.insert(due);
    } else if (op < 7) {
      h.remove(slot);
      if (model.count(slot)) dues.erase(dues.find(model[slot]));
      model.erase(slot);
    } else {
      now += int64_t(rng() % 50);
      uint32_t got;
      while (h.popDue(now, got)) {
        REQUIRE(model.count(got) == 1);
        int64_t due = model[got];
        REQUIRE(due <= now);
        REQUIRE(due == *dues.begin());  // nothing earlier is left
        dues.erase(dues.begin());
        model.erase(got);
      }
      REQUIRE((dues.empty() || *dues.begin() > now));
    }
    REQUIRE(h.size() == model.size());
  }
  for (const auto& [s, d] : model) CHECK(h.dueOf(s) == d);
}

TEST_CASE("TxTable: ids find exactly their transaction; a reused slot gets a new id") {
  TxTable t(0xfffffffeULL);  // the sequence wraps past 0 within the test
  Transaction* a = t.create(true);
  Transaction* b = t.create(false);
  REQUIRE(a);
  REQUIRE(b);
  CHECK(a->invite);
  CHECK_FALSE(b->invite);
  CHECK(a->id != 0);
  CHECK(a->id < (uint64_t(1) << 56));
  CHECK(t.find(a->id) == a);
  CHECK(t.find(b->id) == b);
  CHECK(t.atSlot(TxTable::slotOf(b->id)) == b);
  CHECK(t.size() == 2);
  const uint64_t oldA = a->id;
  t.release(a);
  CHECK(t.find(oldA) == nullptr);
  CHECK(t.size() == 1);
  Transaction* c = t.create(true);
  REQUIRE(c);
  CHECK(TxTable::slotOf(c->id) == TxTable::slotOf(oldA));  // the slot came back ...
  CHECK(c->id != oldA);                                    // ... under another id
  CHECK(t.find(oldA) == nullptr);                          // a late reply to the old one misses
  CHECK(t.find(c->id) == c);
  CHECK(t.find(0) == nullptr);
  CHECK(t.find(c->id + (uint64_t(1) << 30)) == nullptr);  // slot out of range
}

TEST_CASE("TxTable: finished transactions come back empty but with their buffers, bounded") {
  TxTable t(1);
  Transaction* a = t.create(true);
  a->request.assign(900, 'r');
  a->key.assign(60, 'k');
  a->lastReply.assign(TxTable::kKeepBytes + 1, 'x');  // too big to keep
  a->bestCode = 486;
  a->branches.resize(2);
  a->branches[0].request.assign(700, 'b');
  a->branches[0].code = 408;
  a->onFailure = 3;
  a->endAt = 123;
  a->accounted = 5000;
  const char* block = a->request.data();
  t.release(a);
  CHECK(t.pooled() == 1);

  Transaction* n = t.create(false);  // another list: a fresh object
  CHECK(n->request.capacity() < 900);
  Transaction* r = t.create(true);
  REQUIRE(r == a);  // the INVITE object came back
  CHECK(t.pooled() == 0);
  CHECK(r->request.empty());
  CHECK(r->request.capacity() >= 900);
  CHECK(r->request.data() == block);  // same heap block: no malloc to fill it again
  CHECK(r->key.empty());
  CHECK(r->lastReply.capacity() <= 15);  // the big block was released
  CHECK(r->branches.empty());
  CHECK(r->branches.capacity() >= 2);
  CHECK(r->bestCode == 0);
  CHECK(r->onFailure == -1);
  CHECK(r->endAt == 0);
  CHECK(r->accounted == 0);
  CHECK(r->scheduledAt == 0);
  CHECK(r->state == ServerState::Trying);
  CHECK(r->invite);

  // The lists never hold more than kPoolMax objects each.
  std::vector<Transaction*> many;
  for (size_t i = 0; i < TxTable::kPoolMax + 100; ++i) many.push_back(t.create(false));
  for (Transaction* x : many) t.release(x);
  CHECK(t.pooled() == TxTable::kPoolMax);
  std::set<uint64_t> ids;
  for (size_t i = 0; i < 1000; ++i) ids.insert(t.create(false)->id);
  CHECK(ids.size() == 1000);
}

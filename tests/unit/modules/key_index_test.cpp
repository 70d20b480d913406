// tm's KeyIndex (open addressing, backward-shift deletion): every key stays findable through
// inserts, growth and deletions in any order, including keys whose hashes collide outright or
// share a home slot and wrap around the end of the table.
#include <doctest/doctest.h>

#include <algorithm>
#include <memory>
#include <random>
#include <string>
#include <vector>

#include "modules/tm/key_index.h"
#include "modules/tm/transaction.h"

using namespace sipsd::tm;

namespace {

struct Entry {
  std::unique_ptr<Transaction> tx;
  uint64_t hash;
};

Entry make(const std::string& key, uint64_t hash) {
  Entry e{std::make_unique<Transaction>(), hash};
  e.tx->key = key;
  return e;
}

}  // namespace

TEST_CASE("KeyIndex finds what it holds and nothing else, through growth and deletions") {
  KeyIndex idx;
  std::vector<Entry> live;
  std::mt19937_64 rng(7);
  for (int i = 0; i < 5000; ++i) {
    std::string key = "z9hG4bK" + std::to_string(i) + "|h:5060|INVITE";
    // Every 7th key collides outright with the previous one; others cluster on few home slots,
    // some at the table's last slots so probe sequences wrap.
    uint64_t hash = (i % 7 == 0 && i) ? live.back().hash : (i % 3 == 0 ? (rng() | 1023) : rng() % 64);
    live.push_back(make(key, hash));
    idx.insert(hash, live.back().tx.get());
  }
  CHECK(idx.size() == live.size());
  std::shuffle(live.begin(), live.end(), rng);
  for (size_t n = 0; n < live.size(); ++n) {
    if (n % 2 == 0) continue;
    idx.erase(live[n].hash, live[n].tx.get());
  }
  size_t kept = 0;
  for (size_t n = 0; n < live.size(); ++n) {
    const std::string& key = live[n].tx->key;
    if (n % 2) {
      CHECK(idx.find(live[n].hash, key) == nullptr);
    } else {
      ++kept;
      CHECK(idx.find(live[n].hash, key) == live[n].tx.get());
    }
  }
  CHECK(idx.size() == kept);
  CHECK(idx.find(12345, "never inserted") == nullptr);
  // Erasing something that is not there changes nothing.
  Transaction stranger;
  idx.erase(live[0].hash, &stranger);
  CHECK(idx.size() == kept);
}

TEST_CASE("KeyIndex hashes differ for different keys and agree for equal ones") {
  CHECK(KeyIndex::keyHash("z9hG4bKa|h:5060|INVITE") == KeyIndex::keyHash(std::string("z9hG4bKa|h:5060|INVITE")));
  CHECK(KeyIndex::keyHash("z9hG4bKa|h:5060|INVITE") != KeyIndex::keyHash("z9hG4bKa|h:5060|BYE"));
}

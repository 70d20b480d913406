// One worker's server transactions by their key (branch_id.h serverKey): an open-addressing
// table of (hash, transaction) with linear probing. It replaced an unordered_map<std::string,
// Transaction*>, which kept a second copy of every key in a node of its own and, per lookup,
// walked bucket chains with a modulo per node: with tens of thousands of finished transactions
// kept for the wait timer, that map was ~4 % of the proxy's CPU. Here a lookup is one probe
// sequence in a flat array; the full key is compared (in the transaction) only when the 64-bit
// hashes agree, so a hash collision costs time, never a wrong match.
#pragma once
#include <cstdint>
#include <string_view>
#include <vector>

namespace sipsd::tm {

struct Transaction;

class KeyIndex {
 public:
  // The transaction whose key is `key` (hash: keyHash(key)), or null.
  Transaction* find(uint64_t hash, std::string_view key) const;
  // Adds tx (its key must not be in the index yet).
  void insert(uint64_t hash, Transaction* tx);
  // Removes tx if it is in the index under `hash`.
  void erase(uint64_t hash, const Transaction* tx);
  size_t size() const { return used_; }

  // The hash find/insert/erase expect: keyed with a per-process secret, so nobody outside can
  // choose keys that pile up on one probe sequence.
  static uint64_t keyHash(std::string_view key);

 private:
  struct Slot {
    uint64_t hash = 0;
    Transaction* tx = nullptr;  // null: free
  };
  void grow();

  // Power-of-two size, at most half full: with linear probing a miss (every new request looks
  // its key up first) walks ~(1 + 1/(1-a)^2)/2 slots at load a: 8.5 at 3/4, 2.5 at 1/2, for
  // 16 bytes more per open transaction.
  std::vector<Slot> slots_;
  size_t used_ = 0;
};

}  // namespace sipsd::tm

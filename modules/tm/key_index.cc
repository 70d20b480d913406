// KeyIndex: linear probing with backward-shift deletion (no tombstones, so a table that sees
// millions of transactions come and go keeps short probe sequences).
#include "modules/tm/key_index.h"

#include "core/proxy/via_builder.h"
#include "modules/tm/transaction.h"

namespace sipsd::tm {

uint64_t KeyIndex::keyHash(std::string_view key) { return keyedHash({key}, 0x746d); }

Transaction* KeyIndex::find(uint64_t hash, std::string_view key) const {
  if (slots_.empty()) return nullptr;
  const size_t mask = slots_.size() - 1;
  for (size_t i = hash & mask;; i = (i + 1) & mask) {
    const Slot& s = slots_[i];
    if (!s.tx) return nullptr;
    if (s.hash == hash && s.tx->key == key) return s.tx;
  }
}

void KeyIndex::insert(uint64_t hash, Transaction* tx) {
  if ((used_ + 1) * 2 > slots_.size()) grow();
  const size_t mask = slots_.size() - 1;
  size_t i = hash & mask;
  while (slots_[i].tx) i = (i + 1) & mask;
  slots_[i] = Slot{hash, tx};
  ++used_;
}

void KeyIndex::erase(uint64_t hash, const Transaction* tx) {
  if (slots_.empty()) return;
  const size_t mask = slots_.size() - 1;
  size_t i = hash & mask;
  while (slots_[i].tx != tx) {
    if (!slots_[i].tx) return;  // not here
    i = (i + 1) & mask;
  }
  // Backward shift: move later entries of the run into the hole when their home slot does not
  // lie cyclically in (hole, their position], so every entry stays reachable from its home.
  for (size_t j = i;;) {
    j = (j + 1) & mask;
    if (!slots_[j].tx) break;
    size_t home = slots_[j].hash & mask;
    bool stays = i <= j ? (i < home && home <= j) : (i < home || home <= j);
    if (stays) continue;
    slots_[i] = slots_[j];
    i = j;
  }
  slots_[i] = Slot{};
  --used_;
}

void KeyIndex::grow() {
  std::vector<Slot> old;
  old.swap(slots_);
  slots_.resize(old.empty() ? 1024 : old.size() * 2);
  used_ = 0;
  for (const Slot& s : old)
    if (s.tx) insert(s.hash, s.tx);
}

}  // namespace sipsd::tm

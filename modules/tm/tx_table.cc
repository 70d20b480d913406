// TxTable: slot allocation, ids, and the bounded free lists.
#include "modules/tm/tx_table.h"

#include <utility>

namespace sipsd::tm {

Transaction* TxTable::create(bool invite) {
  uint32_t slot;
  if (!freeSlots_.empty()) {
    slot = freeSlots_.back();
    freeSlots_.pop_back();
  } else {
    if (slots_.size() >= kMaxSlots) return nullptr;
    slot = uint32_t(slots_.size());
    slots_.emplace_back();
  }
  auto& pool = pool_[invite ? 1 : 0];
  std::unique_ptr<Transaction> tx;
  if (!pool.empty()) {
    tx = std::move(pool.back());
    pool.pop_back();
  } else {
    tx = std::make_unique<Transaction>();
  }
  // 32 bits of sequence above the slot: ids stay below 2^56 (tm_layer packs a branch index
  // beside one) and a slot comes back with the same id only after 2^32 reuses.
  uint64_t seq = seq_++ & 0xffffffffULL;
  if (seq == 0) seq = seq_++ & 0xffffffffULL;  // id 0 is never valid
  tx->id = (seq << kSlotBits) | slot;
  tx->invite = invite;
  Transaction* out = tx.get();
  slots_[slot] = std::move(tx);
  ++open_;
  return out;
}

void TxTable::release(Transaction* tx) {
  const uint32_t slot = slotOf(tx->id);
  if (slot >= slots_.size() || slots_[slot].get() != tx) return;
  std::unique_ptr<Transaction> owned = std::move(slots_[slot]);
  freeSlots_.push_back(slot);
  --open_;
  auto& pool = pool_[owned->invite ? 1 : 0];
  if (pool.size() >= kPoolMax) return;  // freed here
  owned->recycle(kKeepBytes);
  pool.push_back(std::move(owned));
}

}  // namespace sipsd::tm

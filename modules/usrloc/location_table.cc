// LocationTable: one worker's replica (see location_table.h).
#include "modules/usrloc/location_table.h"

#include <iterator>

namespace sipsd::usrloc {

void LocationTable::indexContacts(const AorRecord& r, bool add) {
  if (!contactIndex_) return;
  for (const Binding& b : r.bindings) {
    std::string_view c = b.contact;
    if (add) {
      byContact_.emplace(c, std::string_view(r.aor));
      continue;
    }
    auto [lo, hi] = byContact_.equal_range(c);
    for (auto it = lo; it != hi; ++it)
      if (it->second.data() == r.aor.data()) {
        byContact_.erase(it);
        break;
      }
  }
}

void LocationTable::apply(const RecordPtr& rec) {
  auto it = byAor_.find(rec->aor);
  if (it != byAor_.end()) {
    if (it->second->version >= rec->version) return;
    // The key views the old record's string: erase and insert instead of assigning.
    indexContacts(*it->second, false);
    byAor_.erase(it);
  }
  byAor_.emplace(std::string_view(rec->aor), rec);
  indexContacts(*rec, true);
}

RecordPtr LocationTable::get(std::string_view aor) const {
  auto it = byAor_.find(aor);
  if (it == byAor_.end() || it->second->bindings.empty()) return nullptr;
  return it->second;
}

RecordPtr LocationTable::getByContact(std::string_view contact, const std::string& node, size_t& index) const {
  auto [lo, hi] = byContact_.equal_range(contact);
  for (auto it = lo; it != hi; ++it) {
    RecordPtr r = get(it->second);
    if (!r) continue;
    for (size_t i = 0; i < r->bindings.size(); ++i)
      if (r->bindings[i].contact == contact && r->bindings[i].node == node) {
        index = i;
        return r;
      }
  }
  return nullptr;
}

bool LocationTable::droppable(const AorRecord& r, int64_t now, int64_t keep) {
  if (r.bindings.empty()) return r.written + keep < now;
  for (const Binding& b : r.bindings)
    if (b.expires > now) return false;
  return true;
}

void LocationTable::drop(std::unordered_map<std::string_view, RecordPtr>::iterator it) {
  indexContacts(*it->second, false);
  byAor_.erase(it);
}

size_t LocationTable::sweep(int64_t now, int64_t keep) {
  size_t dropped = 0;
  for (auto it = byAor_.begin(); it != byAor_.end();) {
    if (!droppable(*it->second, now, keep)) {
      ++it;
      continue;
    }
    auto next = std::next(it);
    drop(it);
    it = next;
    ++dropped;
  }
  return dropped;
}

size_t LocationTable::sweepSome(int64_t now, int64_t keep, size_t budget) {
  const size_t buckets = byAor_.bucket_count();
  // Buckets are a stable order between rehashes; a rehash (the table grew) only moves where
  // the cursor points, so a record may wait one more round.
  if (sweepBucket_ >= buckets) sweepBucket_ = 0;
  sweepDue_.clear();
  size_t visited = 0;
  for (size_t scanned = 0; visited < budget && scanned < buckets && scanned < 8 * budget; ++scanned) {
    for (auto it = byAor_.begin(sweepBucket_); it != byAor_.end(sweepBucket_); ++it) {
      ++visited;
      if (droppable(*it->second, now, keep)) sweepDue_.push_back(it->first);
    }
    if (++sweepBucket_ == buckets) sweepBucket_ = 0;
  }
  // Erased after the walk: erasing invalidates the bucket's local iterators. Each key views
  // its own record's AoR, which stays alive until its node is erased.
  for (std::string_view aor : sweepDue_) drop(byAor_.find(aor));
  return sweepDue_.size();
}

}  // namespace sipsd::usrloc

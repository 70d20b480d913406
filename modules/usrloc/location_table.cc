// LocationTable: one worker's replica (see location_table.h).
#include "modules/usrloc/location_table.h"

namespace sipsd::usrloc {

void LocationTable::indexContacts(const AorRecord& r, bool add) {
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

size_t LocationTable::sweep(int64_t now, int64_t keep) {
  size_t dropped = 0;
  for (auto it = byAor_.begin(); it != byAor_.end();) {
    const AorRecord& r = *it->second;
    bool drop;
    if (r.bindings.empty()) {
      drop = r.written + keep < now;
    } else {
      drop = true;
      for (const Binding& b : r.bindings)
        if (b.expires > now) drop = false;
    }
    if (!drop) {
      ++it;
      continue;
    }
    indexContacts(r, false);
    it = byAor_.erase(it);
    ++dropped;
  }
  return dropped;
}

}  // namespace sipsd::usrloc

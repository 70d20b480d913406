// LocationTable: one worker's replica (see location_table.h).
#include "modules/usrloc/location_table.h"

#include <algorithm>
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
    count(*it->second, -1);
    byAor_.erase(it);
  }
  insert(rec);
}

void LocationTable::insert(const RecordPtr& rec) {
  byAor_.emplace(std::string_view(rec->aor), rec);
  indexContacts(*rec, true);
  count(*rec, +1);
}

size_t LocationTable::reconcile(const Snapshot& snap) {
  // Collected first, dropped after the walk: erasing while walking is fine, but inserting
  // (below) may rehash, so the two are kept apart. Each key views its record's AoR, alive
  // until its node is erased.
  sweepDue_.clear();
  size_t removed = 0;
  for (const auto& [aor, rec] : byAor_) {
    auto s = snap.find(aor);
    if (s == snap.end()) {
      ++removed;
      sweepDue_.push_back(aor);
    } else if (s->second != rec && s->second->version != rec->version) {
      sweepDue_.push_back(aor);
    }
  }
  for (std::string_view aor : sweepDue_) drop(byAor_.find(aor));
  for (const auto& [aor, rec] : snap)
    if (byAor_.find(aor) == byAor_.end()) insert(rec);
  return removed;
}

void LocationTable::change(Slot& s, uint32_t aors, int sign) {
  if (sign > 0) {
    s.aors += aors;
    s.contacts += 1;
    counted_.aors += aors;
    counted_.contacts += 1;
  } else {
    s.aors -= aors;
    s.contacts -= 1;
    counted_.aors -= aors;
    counted_.contacts -= 1;
  }
}

void LocationTable::count(const AorRecord& r, int sign) {
  // An AoR is live until its last contact expires: it is counted with the binding that expires
  // last. Bindings that expired by countedTo_ were taken out by advance() (or never counted).
  const Binding* last = nullptr;
  for (const Binding& b : r.bindings)
    if (!last || b.expires > last->expires) last = &b;
  for (const Binding& b : r.bindings) {
    if (b.expires <= countedTo_) continue;
    const uint32_t aors = &b == last ? 1 : 0;
    if (b.expires - countedTo_ <= kCalendarSeconds) {
      change(calendar_[size_t(b.expires & (kCalendarSeconds - 1))], aors, sign);
      continue;
    }
    if (sign > 0) {
      change(later_[b.expires], aors, sign);
      continue;
    }
    auto it = later_.find(b.expires);
    if (it == later_.end()) continue;  // cannot happen: every counted expiry has its place
    change(it->second, aors, sign);
    if (it->second.contacts == 0) later_.erase(it);
  }
}

void LocationTable::advance(int64_t now) {
  if (now <= countedTo_) return;
  // The calendar's seconds up to now (all of it after a long pause) leave the counts, and
  // their slots are free for the seconds kCalendarSeconds further on.
  const int64_t passed = std::min(now - countedTo_, kCalendarSeconds);
  for (int64_t sec = countedTo_ + 1; sec <= countedTo_ + passed; ++sec) {
    Slot& s = calendar_[size_t(sec & (kCalendarSeconds - 1))];
    counted_.aors -= s.aors;
    counted_.contacts -= s.contacts;
    s = Slot{};
  }
  countedTo_ = now;
  auto it = later_.begin();
  for (; it != later_.end() && it->first <= now; ++it) {
    counted_.aors -= it->second.aors;
    counted_.contacts -= it->second.contacts;
  }
  for (; it != later_.end() && it->first - now <= kCalendarSeconds; ++it) {
    Slot& s = calendar_[size_t(it->first & (kCalendarSeconds - 1))];
    s.aors += it->second.aors;
    s.contacts += it->second.contacts;
  }
  later_.erase(later_.begin(), it);
}

LocationTable::LiveCounts LocationTable::live(int64_t now) const {
  // What expired since the last advance() (the sweep's tick, 100 ms ago: a second or two at
  // most) is still counted: take it out of a copy.
  LiveCounts c = counted_;
  if (now <= countedTo_) return c;
  const int64_t passed = std::min(now - countedTo_, kCalendarSeconds);
  for (int64_t sec = countedTo_ + 1; sec <= countedTo_ + passed; ++sec) {
    const Slot& s = calendar_[size_t(sec & (kCalendarSeconds - 1))];
    c.aors -= s.aors;
    c.contacts -= s.contacts;
  }
  for (auto it = later_.begin(); it != later_.end() && it->first <= now; ++it) {
    c.aors -= it->second.aors;
    c.contacts -= it->second.contacts;
  }
  return c;
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
  count(*it->second, -1);
  byAor_.erase(it);
}

size_t LocationTable::sweep(int64_t now, int64_t keep) {
  advance(now);
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
  advance(now);
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

bool LocationTable::walkSome(Walk& w, size_t budget, std::vector<RecordPtr>& out) const {
  const size_t buckets = byAor_.bucket_count();
  if (w.buckets != buckets) {  // the first call, or the table was rehashed since the last one
    w.buckets = buckets;
    w.bucket = 0;
    out.clear();
  }
  size_t visited = 0;
  for (size_t scanned = 0; w.bucket < buckets && visited < budget && scanned < 8 * budget; ++scanned, ++w.bucket)
    for (auto it = byAor_.begin(w.bucket); it != byAor_.end(w.bucket); ++it, ++visited)
      if (!it->second->bindings.empty()) out.push_back(it->second);
  return w.bucket < buckets;
}

}  // namespace sipsd::usrloc

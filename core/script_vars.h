// Kamailio's script variables: what `$var(name)` and `$avp(name)` hold. Names are resolved to
// slots when the config is checked; a running script only indexes.
//  - $var: per worker thread and per compiled script, kept across messages (Kamailio keeps them
//    per process); a never assigned one reads 0, as in Kamailio.
//  - $avp: per message, and carried by tm with the transaction into its failure_route and
//    onreply_route (ScriptContext::avps). One value per name: the last assigned.
#pragma once
#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "core/value.h"

namespace sipsd {

// Longest string a $var or $avp keeps; a longer assignment fails with an error (it would
// otherwise let a looping script grow a worker's or a transaction's memory without bound).
constexpr size_t kMaxScriptValueBytes = 8192;

// A value a script stored. Its string block is reused by later assignments of the same slot.
struct StoredValue {
  Value::Kind kind = Value::Kind::Null;
  int64_t num = 0;
  std::string str;

  // False when v is a string longer than kMaxScriptValueBytes (nothing is stored then).
  bool set(const Value& v) {
    switch (v.kind()) {
      case Value::Kind::Null: kind = Value::Kind::Null; break;
      case Value::Kind::Int:
        kind = Value::Kind::Int;
        num = v.num();
        break;
      case Value::Kind::Str:
        if (v.str().size() > kMaxScriptValueBytes) return false;
        str.assign(v.str());  // may alias str itself ($var(x) = $var(x)): assign handles it
        kind = Value::Kind::Str;
        break;
    }
    return true;
  }
  // A view of the string: valid until the slot is assigned again.
  Value get() const {
    switch (kind) {
      case Value::Kind::Int: return Value::integer(num);
      case Value::Kind::Str: return Value::view(str);
      case Value::Kind::Null: break;
    }
    return Value();
  }
};

// The $var names of one compiled script. Values live per thread (see scriptVar()); this object
// is their owner's identity, so two scripts compiled in one process (tests, sipsd -c) never
// see each other's values.
struct ScriptVarSpace {
  ScriptVarSpace();
  uint64_t id;  // unique in the process (an address could be reused by the next script)
  std::vector<std::string> names;
  size_t slot(const std::string& name) {
    for (size_t i = 0; i < names.size(); ++i)
      if (names[i] == name) return i;
    names.push_back(name);
    return names.size() - 1;
  }
};

// The calling thread's value of slot `slot` of `space`. The thread's slot array is made on
// the first access and reused for every later message.
StoredValue& scriptVar(const ScriptVarSpace& space, size_t slot);

// The $avp values of a message or transaction: (name id, value) pairs, few per message, so a
// linear search. Empty (no allocation) unless the script assigns one.
struct AvpList {
  std::vector<std::pair<uint32_t, StoredValue>> items;

  const StoredValue* find(uint32_t id) const {
    for (const auto& [k, v] : items)
      if (k == id) return &v;
    return nullptr;
  }
  // Assigns; Null deletes (Kamailio's `$avp(x) = $null;`). False when the value is too long.
  bool set(uint32_t id, const Value& v) {
    for (size_t i = 0; i < items.size(); ++i) {
      if (items[i].first != id) continue;
      if (v.isNull()) {
        items.erase(items.begin() + std::ptrdiff_t(i));
        return true;
      }
      return items[i].second.set(v);
    }
    if (v.isNull()) return true;
    StoredValue s;
    if (!s.set(v)) return false;
    items.emplace_back(id, std::move(s));
    return true;
  }
  bool empty() const { return items.empty(); }
  // Heap bytes held (tm adds them to the transaction's figure).
  size_t heapBytes() const {
    size_t n = items.capacity() * sizeof(items[0]);
    for (const auto& [k, v] : items)
      if (v.str.capacity() > 15) n += v.str.capacity() + 1;
    return n;
  }
};

}  // namespace sipsd

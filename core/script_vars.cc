// Per-thread storage of $var values.
#include "core/script_vars.h"

#include <atomic>

namespace sipsd {

namespace {
std::atomic<uint64_t> nextSpaceId{1};
}  // namespace

ScriptVarSpace::ScriptVarSpace() : id(nextSpaceId.fetch_add(1, std::memory_order_relaxed)) {}

StoredValue& scriptVar(const ScriptVarSpace& space, size_t slot) {
  // One script runs in a worker at a time; its values stay with the thread (Kamailio: with the
  // process) from message to message.
  struct PerThread {
    uint64_t owner = 0;
    std::vector<StoredValue> values;
  };
  thread_local PerThread t;
  if (t.owner != space.id) [[unlikely]] {
    t.owner = space.id;
    t.values.assign(space.names.size(), StoredValue{});
  }
  return t.values[slot];
}

}  // namespace sipsd

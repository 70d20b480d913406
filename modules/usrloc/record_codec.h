// The text form of an AoR's bindings in Redis and on the cluster's change channel: one line per
// binding, tab-separated fields, '%' escapes for tab, newline, CR and '%'. Fields are appended
// at the end only, so nodes of different versions read each other's records.
#pragma once
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "modules/usrloc/binding.h"

namespace sipsd::usrloc {

class RecordCodec {
 public:
  static std::string encode(const std::vector<Binding>& bindings);
  // nullopt when the text is not a record (names the problem in `err`).
  static std::optional<std::vector<Binding>> decode(std::string_view text, std::string& err);
  // The latest expiry of the bindings (unix seconds), 0 when there are none.
  static int64_t lastExpiry(const std::vector<Binding>& bindings);
};

}  // namespace sipsd::usrloc

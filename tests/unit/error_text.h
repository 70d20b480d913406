// Test helper: a Result's error text, "" when it succeeded, so a CHECK on it shows the message
// the user would see.
#pragma once
#include <string>

#include "core/result.h"

namespace sipsd {

template <class T>
std::string errorText(const Result<T>& r) {
  return r.ok() ? std::string() : r.error();
}

}  // namespace sipsd

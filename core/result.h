// Result<T>: a value or the reason there is none, for errors that cross a module boundary
// (what a module implements for the core, what the core offers modules). Replaces the
// "std::string& err out-parameter, empty means OK" convention: the type says a failure is
// possible and [[nodiscard]] makes ignoring it a compile error under -Werror.
#pragma once
#include <optional>
#include <string>
#include <type_traits>
#include <utility>

namespace sipsd {

// The failure side: a human-readable reason (logged as is, so it names the file/peer/setting).
struct Error {
  std::string message;
};

// Builds the failure side; `return fail("no such domain");` converts to any Result<T>.
[[nodiscard]] inline Error fail(std::string message) { return Error{std::move(message)}; }

template <class T>
class [[nodiscard]] Result {
 public:
  Result(T value) : value_(std::move(value)) {}  // NOLINT: implicit, so `return value;` works
  Result(Error e) : error_(std::move(e.message)) {}
  // `return "text";` in a Result<bool> function would otherwise compile as success (a pointer
  // converts to true): failures are spelled fail("text").
  Result(const char*) requires std::is_same_v<T, bool> = delete;

  bool ok() const { return value_.has_value(); }
  explicit operator bool() const { return ok(); }
  // Only when ok().
  T& value() & { return *value_; }
  const T& value() const& { return *value_; }
  T&& value() && { return std::move(*value_); }
  T* operator->() { return &*value_; }
  const T* operator->() const { return &*value_; }
  T& operator*() & { return *value_; }
  const T& operator*() const& { return *value_; }
  // Only when !ok().
  const std::string& error() const { return error_; }

 private:
  std::optional<T> value_;
  std::string error_;
};

template <>
class [[nodiscard]] Result<void> {
 public:
  Result() = default;
  Result(Error e) : failed_(true), error_(std::move(e.message)) {}

  bool ok() const { return !failed_; }
  explicit operator bool() const { return ok(); }
  const std::string& error() const { return error_; }

 private:
  bool failed_ = false;
  std::string error_;
};

// Bridges a helper inside one file that still says "" for success to a boundary that returns
// Result<void>.
[[nodiscard]] inline Result<void> okUnless(std::string errorText) {
  if (errorText.empty()) return {};
  return fail(std::move(errorText));
}

}  // namespace sipsd

// The value a select or keyword yields to the script: nothing, an integer, or a string.
// Strings usually view the message buffer; computed strings (certificate fields) are owned.
#pragma once
#include <cstdint>
#include <string>
#include <string_view>

namespace sipsd {

class Value {
 public:
  enum class Kind : uint8_t { Null, Int, Str };

  Value() = default;
  static Value null() { return Value(); }
  static Value integer(int64_t v) {
    Value r;
    r.kind_ = Kind::Int;
    r.num_ = v;
    return r;
  }
  static Value boolean(bool v) { return integer(v ? 1 : 0); }
  // A view that must outlive the script run (message buffer, config strings).
  static Value view(std::string_view s) {
    Value r;
    r.kind_ = Kind::Str;
    r.view_ = s;
    return r;
  }
  static Value owned(std::string s) {
    Value r;
    r.kind_ = Kind::Str;
    r.owned_ = std::move(s);
    r.isOwned_ = true;
    return r;
  }

  Kind kind() const { return kind_; }
  bool isNull() const { return kind_ == Kind::Null; }
  bool isInt() const { return kind_ == Kind::Int; }
  bool isStr() const { return kind_ == Kind::Str; }
  int64_t num() const { return num_; }
  std::string_view str() const { return isOwned_ ? std::string_view(owned_) : view_; }
  // Null and empty strings and 0 are false, as in SER's select framework.
  bool truthy() const {
    switch (kind_) {
      case Kind::Null: return false;
      case Kind::Int: return num_ != 0;
      case Kind::Str: return !str().empty();
    }
    return false;
  }
  // Text form used when a value is compared as a string or printed.
  std::string text() const { return isInt() ? std::to_string(num_) : std::string(str()); }

 private:
  Kind kind_ = Kind::Null;
  bool isOwned_ = false;
  int64_t num_ = 0;
  std::string_view view_;
  std::string owned_;
};

}  // namespace sipsd

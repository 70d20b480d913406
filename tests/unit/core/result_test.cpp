// core/result.h: the error type of the module ABI (what a hook returns to the core).
#include "core/result.h"

#include <doctest/doctest.h>

#include <string>
#include <type_traits>

using namespace sipsd;

TEST_SUITE("unit") {

// A string literal must not silently become Result<bool>(true) (pointer to bool): a claim hook
// that wrote `return "bad value";` would report success. Failures are spelled fail("...").
static_assert(!std::is_convertible_v<const char*, Result<bool>>);
static_assert(std::is_convertible_v<Error, Result<bool>>);
static_assert(std::is_convertible_v<std::string, Result<std::string>>);

TEST_CASE("result: value, failure, and okUnless for \"\"-means-OK helpers") {
  Result<bool> taken = true;
  REQUIRE(taken.ok());
  CHECK(*taken);
  Result<bool> notMine = false;
  REQUIRE(notMine.ok());
  CHECK_FALSE(*notMine);
  Result<bool> bad = fail("k.cfg:3:1: tls_method: unknown method 'SSLv2'");
  CHECK_FALSE(bad.ok());
  CHECK(bad.error() == "k.cfg:3:1: tls_method: unknown method 'SSLv2'");

  Result<void> ok;
  CHECK(ok.ok());
  CHECK(okUnless("").ok());
  Result<void> refused = okUnless("must not be negative");
  CHECK_FALSE(refused.ok());
  CHECK(refused.error() == "must not be negative");
}

}  // TEST_SUITE

// Golden files: every data/NAME.cfg is parsed and checked against the test registry; its
// diagnostics must equal data/NAME.expected exactly (an empty file: the script is accepted).
// SIPSD_UPDATE_GOLDEN=1 rewrites the .expected files (review the diff before committing).
#include <doctest/doctest.h>

#include <algorithm>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "test_registry.h"

namespace fs = std::filesystem;
using namespace sipsd;

namespace {
std::string slurp(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}
}  // namespace

TEST_CASE("golden: scripts and their diagnostics") {
  auto reg = test::makeTestRegistry();
  std::vector<fs::path> cfgs;
  for (const auto& e : fs::directory_iterator(CFG_TEST_DATA))
    if (e.path().extension() == ".cfg") cfgs.push_back(e.path());
  std::sort(cfgs.begin(), cfgs.end());
  REQUIRE(cfgs.size() >= 10);
  const bool update = std::getenv("SIPSD_UPDATE_GOLDEN") != nullptr;
  // Scripts are named relative to the data directory, so include_file finds its neighbours
  // and diagnostics do not depend on where the tree is checked out.
  const fs::path cwd = fs::current_path();
  fs::current_path(CFG_TEST_DATA);
  for (const auto& p : cfgs) {
    CAPTURE(p.filename().string());
    auto r = test::checkScript(slurp(p), *reg, p.filename().string());
    fs::path expectedPath = p;
    expectedPath.replace_extension(".expected");
    std::string got = r.diags.format();
    if (update) {
      std::ofstream(expectedPath, std::ios::binary) << got;
      continue;
    }
    REQUIRE(fs::exists(expectedPath));
    CHECK(got == slurp(expectedPath));
    // A script named ok_* must be accepted, err_* rejected.
    if (p.filename().string().rfind("ok_", 0) == 0) CHECK(r.script != nullptr);
    if (p.filename().string().rfind("err_", 0) == 0) CHECK(r.script == nullptr);
  }
  fs::current_path(cwd);
}

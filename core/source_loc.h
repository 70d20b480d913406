// Where a piece of configuration came from; carried by every diagnostic.
#pragma once
#include <string>

namespace sipsd {

struct SourceLoc {
  std::string file;
  int line = 0;
  int col = 0;

  std::string str() const { return file + ":" + std::to_string(line) + ":" + std::to_string(col); }
};

}  // namespace sipsd

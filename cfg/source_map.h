// Where each line of the preprocessed config text came from. The preprocessor merges included
// files and blanks skipped blocks into one text for the parser; every diagnostic position in
// that text is mapped back here to the real FILE:LINE:COL and that file's own line text.
#pragma once
#include <string>
#include <vector>

#include "core/source_loc.h"

namespace sipsd::cfg {

class SourceMap {
 public:
  // A defined name replaced by its value on an output line (columns 1-based). Any column
  // inside the value maps to the name; columns after it shift by the length difference.
  struct Span {
    int outCol = 0;
    int outLen = 0;
    int origCol = 0;
    int origLen = 0;
  };

  // Registers a source file and its text; returns its index for addLine().
  int addFile(const std::string& name, std::string text);
  // Appends the next output line: line `origLine` of file `file`.
  void addLine(int file, int origLine, std::vector<Span> spans = {});

  // The real position of output line `outLine`, column `outCol` (both 1-based).
  SourceLoc locate(int outLine, int outCol) const;
  // Line `line` of the registered file named `file` ("" when unknown).
  std::string lineText(const std::string& file, int line) const;
  int lineCount() const { return int(lines_.size()); }

 private:
  struct File {
    std::string name;
    std::string text;
    std::vector<size_t> lineStarts;
  };
  struct Line {
    int file = 0;
    int line = 0;
    std::vector<Span> spans;
  };
  std::vector<File> files_;
  std::vector<Line> lines_;
};

}  // namespace sipsd::cfg

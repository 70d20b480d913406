// Collected config errors and their gcc-like rendering:
//   FILE:LINE:COL: error: what
//   <the offending line>
//       ^
#pragma once
#include <string>
#include <vector>

#include "core/source_loc.h"

namespace sipsd::cfg {

struct Diagnostic {
  SourceLoc loc;
  std::string message;
  std::string lineText;  // the source line at loc (may be empty when unknown)
  bool note = false;     // "note:" follow-up to the previous error
};

class Diagnostics {
 public:
  void error(SourceLoc loc, std::string message, std::string lineText = {});
  void note(SourceLoc loc, std::string message, std::string lineText = {});
  bool hasErrors() const { return errors_ > 0; }
  int errorCount() const { return errors_; }
  const std::vector<Diagnostic>& items() const { return items_; }
  // All diagnostics, each followed by its line and a caret under the column.
  std::string format() const;

 private:
  std::vector<Diagnostic> items_;
  int errors_ = 0;
};

std::string formatDiagnostic(const Diagnostic& d);
// The first line only, `FILE:LINE:COL: error: what`, for one-line-per-event logs (syslog).
std::string formatDiagnosticLine(const Diagnostic& d);

}  // namespace sipsd::cfg

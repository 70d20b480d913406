// Rendering of config diagnostics.
#include "cfg/diagnostics.h"

namespace sipsd::cfg {

void Diagnostics::error(SourceLoc loc, std::string message, std::string lineText) {
  items_.push_back({std::move(loc), std::move(message), std::move(lineText), false});
  ++errors_;
}

void Diagnostics::note(SourceLoc loc, std::string message, std::string lineText) {
  items_.push_back({std::move(loc), std::move(message), std::move(lineText), true});
}

std::string formatDiagnostic(const Diagnostic& d) {
  std::string out;
  if (d.loc.line > 0)
    out += d.loc.str();
  else
    out += d.loc.file;
  out += d.note ? ": note: " : ": error: ";
  out += d.message;
  out += '\n';
  if (d.loc.line > 0 && !d.lineText.empty()) {
    out += d.lineText;
    out += '\n';
    // Keep tabs so the caret lines up under the column in a terminal, as gcc does.
    for (int i = 0; i + 1 < d.loc.col && size_t(i) < d.lineText.size(); ++i)
      out += d.lineText[size_t(i)] == '\t' ? '\t' : ' ';
    out += "^\n";
  }
  return out;
}

std::string Diagnostics::format() const {
  std::string out;
  for (const auto& d : items_) out += formatDiagnostic(d);
  return out;
}

}  // namespace sipsd::cfg

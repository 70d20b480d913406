// Rendering of config diagnostics.
#include "cfg/diagnostics.h"

#include "core/log.h"

namespace sipsd::cfg {

void Diagnostics::error(SourceLoc loc, std::string message, std::string lineText) {
  items_.push_back({std::move(loc), std::move(message), std::move(lineText), false});
  ++errors_;
}

void Diagnostics::note(SourceLoc loc, std::string message, std::string lineText) {
  items_.push_back({std::move(loc), std::move(message), std::move(lineText), true});
}

namespace {
// A source line longer than this is shown as a window around the column.
constexpr size_t kMaxShownLine = 240;
}  // namespace

std::string formatDiagnosticLine(const Diagnostic& d) {
  std::string out = d.loc.line > 0 ? d.loc.str() : d.loc.file;
  out += d.note ? ": note: " : ": error: ";
  // Messages may echo config values of any size (a 1 MB cipher_list) or bytes that would
  // drive a terminal: escaped and bounded as the log does.
  logging::appendEscaped(out, d.message);
  return out;
}

std::string formatDiagnostic(const Diagnostic& d) {
  std::string out = formatDiagnosticLine(d);
  out += '\n';
  if (d.loc.line > 0 && !d.lineText.empty()) {
    std::string_view text = d.lineText;
    size_t caret = d.loc.col > 0 ? size_t(d.loc.col - 1) : 0;
    std::string line;
    if (text.size() > kMaxShownLine) {
      size_t from = caret > kMaxShownLine / 2 ? caret - kMaxShownLine / 2 : 0;
      if (from > 0) line = "...";
      line += text.substr(from, kMaxShownLine);
      if (from + kMaxShownLine < text.size()) line += "...";
      caret = caret - from + (from > 0 ? 3 : 0);
      text = line;
    }
    out += text;
    out += '\n';
    // Keep tabs so the caret lines up under the column in a terminal, as gcc does.
    for (size_t i = 0; i < caret && i < text.size(); ++i) out += text[i] == '\t' ? '\t' : ' ';
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

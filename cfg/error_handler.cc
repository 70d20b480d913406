// Source positions → line/column, and diagnostics at nodes or iterators.
#include "cfg/error_handler.h"

#include <algorithm>

namespace sipsd::cfg {

ErrorHandler::ErrorHandler(const std::string& source, std::string file, Diagnostics& diags, const SourceMap* map)
    : source_(source),
      file_(std::move(file)),
      diags_(diags),
      positions_(source.begin(), source.end()),
      map_(map),
      lastErrorAt_(source.begin()) {
  lineStarts_.push_back(0);
  for (size_t i = 0; i < source.size(); ++i)
    if (source[i] == '\n') lineStarts_.push_back(i + 1);
}

SourceLoc ErrorHandler::locate(Iterator where) const {
  size_t off = size_t(where - source_.begin());
  auto it = std::upper_bound(lineStarts_.begin(), lineStarts_.end(), off);
  size_t line = size_t(it - lineStarts_.begin());  // 1-based
  size_t col = off - lineStarts_[line - 1] + 1;
  if (map_) return map_->locate(int(line), int(col));
  return SourceLoc{file_, int(line), int(col)};
}

SourceLoc ErrorHandler::locate(const x3::position_tagged& node) const {
  if (node.id_first < 0) return SourceLoc{file_, 0, 0};
  auto range = positions_.position_of(node);
  return locate(range.begin());
}

std::string ErrorHandler::lineText(int line) const {
  if (line <= 0 || size_t(line) > lineStarts_.size()) return {};
  size_t b = lineStarts_[size_t(line) - 1];
  size_t e = source_.find('\n', b);
  if (e == std::string::npos) e = source_.size();
  if (e > b && source_[e - 1] == '\r') --e;
  return source_.substr(b, e - b);
}

std::string ErrorHandler::lineText(const SourceLoc& loc) const {
  if (map_) return map_->lineText(loc.file, loc.line);
  return loc.file == file_ ? lineText(loc.line) : std::string();
}

void ErrorHandler::error(Iterator where, const std::string& message) {
  lastErrorAt_ = where;
  error(locate(where), message);
}

void ErrorHandler::error(const x3::position_tagged& node, const std::string& message) {
  if (node.id_first >= 0) lastErrorAt_ = positions_.position_of(node).begin();
  error(locate(node), message);
}

void ErrorHandler::error(const SourceLoc& loc, const std::string& message) {
  // A statement's error can surface again as its enclosing construct fails at the same spot.
  if (!diags_.items().empty()) {
    const Diagnostic& prev = diags_.items().back();
    if (!prev.note && prev.message == message && prev.loc.file == loc.file && prev.loc.line == loc.line && prev.loc.col == loc.col) return;
  }
  diags_.error(loc, message, lineText(loc));
}

void ErrorHandler::note(const SourceLoc& loc, const std::string& message) {
  diags_.note(loc, message, lineText(loc));
}

}  // namespace sipsd::cfg

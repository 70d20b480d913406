// Output line → source file, line and column.
#include "cfg/source_map.h"

namespace sipsd::cfg {

int SourceMap::addFile(const std::string& name, std::string text) {
  File f;
  f.name = name;
  f.text = std::move(text);
  f.lineStarts.push_back(0);
  for (size_t i = 0; i < f.text.size(); ++i)
    if (f.text[i] == '\n') f.lineStarts.push_back(i + 1);
  files_.push_back(std::move(f));
  return int(files_.size()) - 1;
}

void SourceMap::addLine(int file, int origLine, std::vector<Span> spans) {
  lines_.push_back(Line{file, origLine, std::move(spans)});
}

SourceLoc SourceMap::locate(int outLine, int outCol) const {
  if (lines_.empty()) return SourceLoc{};
  if (outLine < 1) outLine = 1;
  // Past the last line (the end of the text): the line after the last one, as without a map.
  if (size_t(outLine) > lines_.size()) {
    const Line& last = lines_.back();
    return SourceLoc{files_[size_t(last.file)].name, last.line + outLine - int(lines_.size()), outCol};
  }
  const Line& l = lines_[size_t(outLine) - 1];
  int col = outCol;
  int shift = 0;
  for (const Span& s : l.spans) {
    if (outCol < s.outCol) break;
    if (outCol < s.outCol + s.outLen) {
      col = s.origCol;
      shift = 0;
      break;
    }
    shift = (s.origCol + s.origLen) - (s.outCol + s.outLen);
    col = outCol + shift;
  }
  return SourceLoc{files_[size_t(l.file)].name, l.line, col};
}

std::string SourceMap::lineText(const std::string& file, int line) const {
  for (const File& f : files_) {
    if (f.name != file) continue;
    if (line <= 0 || size_t(line) > f.lineStarts.size()) return {};
    size_t b = f.lineStarts[size_t(line) - 1];
    size_t e = f.text.find('\n', b);
    if (e == std::string::npos) e = f.text.size();
    if (e > b && f.text[e - 1] == '\r') --e;
    return f.text.substr(b, e - b);
  }
  return {};
}

}  // namespace sipsd::cfg

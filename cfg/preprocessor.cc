// The config preprocessor: directives, conditional blocks, includes and define substitution.
#include "cfg/preprocessor.h"

#include <cerrno>
#include <cstring>
#include <fstream>
#include <sstream>

#include "core/util/strings.h"

namespace sipsd::cfg {

namespace {

bool identStart(char c) { return std::isalpha(static_cast<unsigned char>(c)) || c == '_'; }
bool identChar(char c) { return std::isalnum(static_cast<unsigned char>(c)) || c == '_'; }
bool blank(char c) { return c == ' ' || c == '\t' || c == '\r'; }

bool validName(const std::string& s) {
  if (s.empty() || !identStart(s[0])) return false;
  for (char c : s)
    if (!identChar(c)) return false;
  return true;
}

// Spaces, tabs and the CR of a CRLF line.
std::string trim(std::string_view s) { return std::string(str::trim(s, " \t\r")); }

// Copies the string literal starting at line[i] (a '"', or a '\'' which has no escapes) to
// `out`; returns the index after it.
size_t copyString(const std::string& line, size_t i, std::string& out) {
  const char quote = line[i];
  size_t j = i + 1;
  while (j < line.size() && line[j] != quote) j += quote == '"' && line[j] == '\\' && j + 1 < line.size() ? 2 : 1;
  if (j < line.size()) ++j;
  out.append(line, i, j - i);
  return j;
}

// Copies a `@select.path[N]` or `$pv` / `$name(arg)` name starting at line[i]: never substituted.
size_t copyReference(const std::string& line, size_t i, std::string& out) {
  size_t j = i + 1;
  if (line[i] == '@') {
    while (j < line.size() && (identChar(line[j]) || line[j] == '.' || line[j] == '-' || line[j] == '[' || line[j] == ']'))
      ++j;
  } else {
    while (j < line.size() && identChar(line[j])) ++j;
    if (j < line.size() && line[j] == '(') {
      size_t close = line.find(')', j);
      j = close == std::string::npos ? line.size() : close + 1;
    }
  }
  out.append(line, i, j - i);
  return j;
}

// Copies one token of `s` at i to `out` and returns the index after it: a string or a
// reference whole, a word through onWord(word, start, out), anything else as it is.
template <typename OnWord>
size_t copyToken(const std::string& s, size_t i, std::string& out, OnWord onWord) {
  char c = s[i];
  if (c == '"' || c == '\'') return copyString(s, i, out);
  if (c == '@' || c == '$') return copyReference(s, i, out);
  size_t e = i;
  while (e < s.size() && identChar(s[e])) ++e;
  if (e == i) {
    out += c;
    return i + 1;
  }
  if (identStart(c))
    onWord(s.substr(i, e - i), i, out);
  else
    out.append(s, i, e - i);  // a number, or a word glued to one: not a whole word
  return e;
}

// Directives Kamailio has that sipsd does not implement: named in the error.
constexpr const char* kUnsupported[] = {"subst", "substdef", "substdefs", "defenv", "defenvs", "trydefenv",
                                        "trydefenvs", "ifexp", "defexp", "defexps", "ifenv", "ifnenv"};
constexpr const char* kCompatMarkers[] = {"KAMAILIO", "SER", "OPENSER", "ALL", "MAXCOMPAT"};

}  // namespace

std::string Preprocessor::defineFromCommandLine(const std::string& spec) {
  auto eq = spec.find('=');
  std::string name = spec.substr(0, eq);
  if (!validName(name)) return "'" + name + "' is not a valid name for -A (letters, digits and _)";
  Define d;
  if (eq != std::string::npos) {
    d.value = spec.substr(eq + 1);
    d.hasValue = true;
  }
  d.where = SourceLoc{"-A " + spec, 0, 0};
  defines_[name] = std::move(d);
  return {};
}

std::string Preprocessor::run(const std::string& text, const std::string& file, SourceMap& map) {
  map_ = &map;
  out_.clear();
  conds_.clear();
  inComment_ = false;
  processFile(text, file, 0);
  // A file whose last line has no newline ends there: positions at its end stay on that line.
  if (!text.empty() && text.back() != '\n' && !out_.empty() && out_.back() == '\n') out_.pop_back();
  map_ = nullptr;
  return std::move(out_);
}

void Preprocessor::error(const SourceLoc& at, const std::string& message) {
  diags_.error(at, message, map_ ? map_->lineText(at.file, at.line) : std::string());
}

void Preprocessor::emit(const std::string& line, int fileIndex, int lineNo, std::vector<SourceMap::Span> spans) {
  out_ += line;
  out_ += '\n';
  map_->addLine(fileIndex, lineNo, std::move(spans));
}

void Preprocessor::processFile(const std::string& text, const std::string& file, int depth) {
  const int fileIndex = map_->addFile(file, text);
  std::vector<std::string> lines;
  for (size_t b = 0; b < text.size();) {
    size_t e = text.find('\n', b);
    if (e == std::string::npos) e = text.size();
    lines.push_back(text.substr(b, e - b));
    b = e + 1;
  }
  const size_t condBase = conds_.size();
  const bool outerComment = inComment_;
  inComment_ = false;
  for (size_t i = 0; i < lines.size(); ++i) {
    const int lineNo = int(i) + 1;
    int skipLines = 0;
    if (!inComment_ && directive(lines[i], lineNo, fileIndex, file, depth, condBase, skipLines, lines)) {
      // The directive's own line (and its continuation lines) were emitted as empty lines.
      i += size_t(skipLines);
      continue;
    }
    if (!active()) {
      emit({}, fileIndex, lineNo);
      continue;
    }
    std::vector<SourceMap::Span> spans;
    std::string out = substitute(lines[i], spans, SourceLoc{file, lineNo, 1});
    emit(out, fileIndex, lineNo, std::move(spans));
  }
  while (conds_.size() > condBase) {
    error(conds_.back().open, "unterminated " + conds_.back().text + ": no #!endif before the end of " + file);
    conds_.pop_back();
  }
  inComment_ = outerComment;
}

bool Preprocessor::directive(const std::string& line, int lineNo, int fileIndex, const std::string& file, int depth,
                             size_t condBase, int& skipLines, const std::vector<std::string>& lines) {
  size_t p = 0;
  while (p < line.size() && blank(line[p])) ++p;
  const SourceLoc at{file, lineNo, int(p) + 1};
  bool marked = line.compare(p, 2, "#!") == 0 || line.compare(p, 2, "!!") == 0;
  size_t w = marked ? p + 2 : p;
  size_t we = w;
  while (we < line.size() && identChar(line[we])) ++we;
  const std::string word = line.substr(w, we - w);
  const bool isInclude = word == "include_file" || word == "import_file";
  if (!marked) {
    // include_file/import_file also stand without a mark, as a statement of their own.
    if (!isInclude || (we < line.size() && !blank(line[we]) && line[we] != '"')) return false;
  }
  emit({}, fileIndex, lineNo);
  const std::string shown = (marked ? line.substr(p, 2) : std::string()) + word;
  size_t r = we;
  auto skipBlanks = [&] {
    while (r < line.size() && blank(line[r])) ++r;
  };
  auto readName = [&](std::string& name) -> bool {
    skipBlanks();
    size_t b = r;
    while (r < line.size() && identChar(line[r])) ++r;
    name = line.substr(b, r - b);
    if (!validName(name)) {
      error(SourceLoc{file, lineNo, int(b) + 1}, shown + " needs a name (letters, digits and _)");
      return false;
    }
    return true;
  };
  // Only blanks and a comment may follow the arguments.
  auto expectEnd = [&] {
    skipBlanks();
    if (r < line.size() && line[r] != '#' && line.compare(r, 2, "//") != 0)
      error(SourceLoc{file, lineNo, int(r) + 1}, "unexpected text after " + shown);
  };
  const bool live = active();

  if (word == "ifdef" || word == "ifndef") {
    std::string name;
    if (!marked || !readName(name)) return marked;
    expectEnd();
    Cond c;
    c.parentActive = live;
    c.taken = (defines_.count(name) > 0) == (word == "ifdef");
    c.open = at;
    c.text = shown + " " + name;
    conds_.push_back(std::move(c));
    return true;
  }
  if (word == "else" || word == "endif") {
    if (!marked) return false;
    expectEnd();
    if (conds_.size() == condBase) {
      error(at, shown + " without #!ifdef or #!ifndef" + (condBase ? " in this file" : ""));
      return true;
    }
    if (word == "endif") {
      conds_.pop_back();
    } else if (conds_.back().inElse) {
      error(at, "a second " + shown + " for " + conds_.back().text + " (line " +
                    std::to_string(conds_.back().open.line) + ")");
    } else {
      conds_.back().inElse = true;
    }
    return true;
  }
  if (word == "define" || word == "trydef" || word == "redefine") {
    std::string name;
    if (!marked) return false;
    if (!readName(name)) return true;
    std::string value = trim(line.substr(r));
    // A value may go on over lines ending in a backslash.
    while (!value.empty() && value.back() == '\\' && size_t(lineNo + skipLines) < lines.size()) {
      value.pop_back();
      ++skipLines;
      emit({}, fileIndex, lineNo + skipLines);
      value = trim(value) + " " + trim(lines[size_t(lineNo + skipLines - 1)]);
    }
    if (!live) return true;
    auto it = defines_.find(name);
    if (it != defines_.end()) {
      if (word == "trydef") return true;
      if (word == "define") {
        error(at, name + " is already defined");
        if (it->second.where.line > 0)
          diags_.note(it->second.where, "defined here", map_->lineText(it->second.where.file, it->second.where.line));
        else
          diags_.note(SourceLoc{it->second.where.file, 0, 0}, "defined on the command line");
        return true;
      }
    }
    Define d;
    d.value = value;
    d.hasValue = !value.empty();
    d.where = at;
    defines_[name] = std::move(d);
    return true;
  }
  if (word == "undef") {
    std::string name;
    if (!marked) return false;
    if (!readName(name)) return true;
    expectEnd();
    if (live) defines_.erase(name);
    return true;
  }
  if (isInclude) {
    skipBlanks();
    if (r >= line.size() || line[r] != '"') {
      error(SourceLoc{file, lineNo, int(r) + 1}, shown + " needs a quoted file name");
      return true;
    }
    size_t close = line.find('"', r + 1);
    if (close == std::string::npos) {
      error(SourceLoc{file, lineNo, int(r) + 1}, "unterminated file name after " + shown);
      return true;
    }
    std::string path = line.substr(r + 1, close - r - 1);
    r = close + 1;
    skipBlanks();
    if (r < line.size() && line[r] == ';') ++r;
    expectEnd();
    if (path.empty()) {
      error(at, shown + " needs a file name");
      return true;
    }
    if (live) include(path, word == "include_file", at, file, depth);
    return true;
  }
  for (const char* m : kCompatMarkers)
    if (word == m) return true;
  for (const char* u : kUnsupported)
    if (word == u) {
      error(at, "preprocessor directive '" + shown + "' is not supported by sipsd");
      return true;
    }
  error(at, word.empty() ? "expected a preprocessor directive after '" + line.substr(p, 2) + "'"
                         : "unknown preprocessor directive '" + shown + "'");
  return true;
}

void Preprocessor::include(const std::string& path, bool required, const SourceLoc& at, const std::string& file,
                           int depth) {
  const char* what = required ? "include_file" : "import_file";
  if (depth + 1 > kMaxIncludeDepth) {
    error(at, std::string(what) + " nested deeper than " + std::to_string(kMaxIncludeDepth) +
                  " files (does a file include itself?)");
    return;
  }
  std::string resolved = path;
  if (path.front() != '/') {
    resolved = str::resolvePath(path, str::dirOf(file));
  }
  std::ifstream in(resolved, std::ios::binary);
  if (!in) {
    // import_file skips a missing file silently, as in Kamailio; include_file needs it.
    if (required) error(at, std::string("cannot read included file '") + resolved + "': " + std::strerror(errno));
    return;
  }
  std::stringstream ss;
  ss << in.rdbuf();
  processFile(ss.str(), resolved, depth + 1);
}

bool Preprocessor::expand(const std::string& name, std::string& out, std::vector<std::string>& stack,
                          const SourceLoc& at) {
  for (const auto& s : stack)
    if (s == name) {
      std::string chain;
      for (const auto& n : stack) chain += n + " -> ";
      error(at, "define " + stack.front() + " expands to itself (" + chain + name + ")");
      return false;
    }
  const std::string& value = defines_.at(name).value;
  stack.push_back(name);
  bool ok = true;
  for (size_t i = 0; i < value.size() && ok;)
    i = copyToken(value, i, out, [&](const std::string& word, size_t, std::string& o) {
      auto it = defines_.find(word);
      if (it != defines_.end() && it->second.hasValue)
        ok = expand(word, o, stack, at);
      else
        o += word;
    });
  stack.pop_back();
  return ok;
}

std::string Preprocessor::substitute(const std::string& line, std::vector<SourceMap::Span>& spans,
                                     const SourceLoc& at) {
  if (defines_.empty() && !inComment_ && line.find("/*") == std::string::npos) return line;
  std::string out;
  out.reserve(line.size());
  for (size_t i = 0; i < line.size();) {
    if (inComment_) {
      size_t end = line.find("*/", i);
      size_t stop = end == std::string::npos ? line.size() : end + 2;
      out.append(line, i, stop - i);
      i = stop;
      if (end != std::string::npos) inComment_ = false;
      continue;
    }
    char c = line[i];
    if (c == '/' && i + 1 < line.size() && line[i + 1] == '*') {
      inComment_ = true;
      out += "/*";
      i += 2;
    } else if (c == '#' || (c == '/' && i + 1 < line.size() && line[i + 1] == '/')) {
      out.append(line, i);
      break;
    } else {
      i = copyToken(line, i, out, [&](const std::string& word, size_t at0, std::string& o) {
        auto it = defines_.find(word);
        if (it == defines_.end() || !it->second.hasValue) {
          o += word;
          return;
        }
        std::string value;
        std::vector<std::string> stack;
        if (!expand(word, value, stack, SourceLoc{at.file, at.line, int(at0) + 1})) value = word;
        spans.push_back(SourceMap::Span{int(o.size()) + 1, int(value.size()), int(at0) + 1, int(word.size())});
        o += value;
      });
    }
  }
  return out;
}

}  // namespace sipsd::cfg

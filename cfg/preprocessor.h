// The config preprocessor (SPEC §8), run before parsing, as Kamailio's:
//   #!define NAME [value]   #!trydef NAME [value]   #!redefine NAME [value]   #!undef NAME
//   #!ifdef NAME   #!ifndef NAME   #!else   #!endif        (nested; `!!` works like `#!`)
//   include_file "path"   import_file "path"                (also with `#!` / `!!` in front)
//   #!KAMAILIO #!SER #!OPENSER #!ALL #!MAXCOMPAT            (compatibility markers: accepted, no effect)
// A name defined with a value is replaced by that value wherever it stands as a whole word in
// the config body, outside strings, comments, @selects and $pseudo-variables; values are
// expanded again (a define may use another), a define that expands to itself is an error.
// Skipped blocks become empty lines and included files are merged in; the SourceMap keeps
// every output line's real file and line, so diagnostics point there.
#pragma once
#include <map>
#include <string>
#include <vector>

#include "cfg/diagnostics.h"
#include "cfg/source_map.h"

namespace sipsd::cfg {

class Preprocessor {
 public:
  // Included files nest at most this deep (a file that includes itself stops here).
  static constexpr int kMaxIncludeDepth = 10;

  explicit Preprocessor(Diagnostics& diags) : diags_(diags) {}

  // A command-line define (-A NAME or -A NAME=value). Returns an error text for a bad name.
  std::string defineFromCommandLine(const std::string& spec);

  // Preprocesses `text`, the content of `file`; included files are read from disk, relative to
  // the directory of the file that includes them. Errors go to the Diagnostics; returns the
  // merged text, whose lines `map` describes.
  std::string run(const std::string& text, const std::string& file, SourceMap& map);

 private:
  struct Define {
    std::string value;
    bool hasValue = false;
    SourceLoc where;  // line 0: from the command line
  };
  struct Cond {
    bool parentActive = true;
    bool taken = false;  // the condition of the #!ifdef/#!ifndef
    bool inElse = false;
    SourceLoc open;
    std::string text;  // "#!ifdef NAME", for messages
  };

  void processFile(const std::string& text, const std::string& file, int depth);
  bool active() const { return conds_.empty() || (conds_.back().parentActive && conds_.back().taken != conds_.back().inElse); }
  // Handles a `#!`/`!!`/include line; returns false when the line is not a directive.
  bool directive(const std::string& line, int lineNo, int fileIndex, const std::string& file, int depth,
                 size_t condBase, int& skipLines, const std::vector<std::string>& lines);
  void include(const std::string& path, bool required, const SourceLoc& at, const std::string& file, int depth);
  // Replaces defined names in a body line; records the spans for the source map.
  std::string substitute(const std::string& line, std::vector<SourceMap::Span>& spans, const SourceLoc& at);
  bool expand(const std::string& name, std::string& out, std::vector<std::string>& stack, const SourceLoc& at);
  void emit(const std::string& line, int fileIndex, int lineNo, std::vector<SourceMap::Span> spans = {});
  void error(const SourceLoc& at, const std::string& message);

  Diagnostics& diags_;
  SourceMap* map_ = nullptr;
  std::string out_;
  std::map<std::string, Define> defines_;
  std::vector<Cond> conds_;
  bool inComment_ = false;  // inside /* ... */ across body lines
};

}  // namespace sipsd::cfg

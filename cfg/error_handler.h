// The one error handler of the config language: the grammar reports expectation failures
// through it, annotate_on_success records every node's source range in it, and the checker
// reports semantic errors against those nodes. All of them become FILE:LINE:COL diagnostics.
#pragma once
#include <boost/spirit/home/x3/support/ast/position_tagged.hpp>
#include <string>
#include <vector>

#include "cfg/diagnostics.h"
#include "cfg/source_map.h"

namespace sipsd::cfg {

namespace x3 = boost::spirit::x3;
using Iterator = std::string::const_iterator;

class ErrorHandler {
 public:
  // `map` (may be null) maps positions in a preprocessed `source` back to the real files.
  ErrorHandler(const std::string& source, std::string file, Diagnostics& diags, const SourceMap* map = nullptr);

  // Called by x3::annotate_on_success for every rule attribute.
  template <typename Ast>
  void tag(Ast& ast, Iterator first, Iterator last) {
    positions_.annotate(ast, first, last);
  }

  SourceLoc locate(Iterator where) const;
  SourceLoc locate(const x3::position_tagged& node) const;
  std::string lineText(int line) const;
  // The text of the line `loc` names, in its own file.
  std::string lineText(const SourceLoc& loc) const;
  // Where in source() the last error reported at an iterator or node was (for resynchronising).
  Iterator lastErrorAt() const { return lastErrorAt_; }

  void error(Iterator where, const std::string& message);
  void error(const x3::position_tagged& node, const std::string& message);
  void error(const SourceLoc& loc, const std::string& message);
  void note(const SourceLoc& loc, const std::string& message);

  const std::string& source() const { return source_; }
  const std::string& file() const { return file_; }
  Diagnostics& diagnostics() { return diags_; }

 private:
  const std::string& source_;
  std::string file_;
  Diagnostics& diags_;
  x3::position_cache<std::vector<Iterator>> positions_;
  std::vector<size_t> lineStarts_;  // offset of each line's first char
  const SourceMap* map_ = nullptr;
  Iterator lastErrorAt_;
};

}  // namespace sipsd::cfg

// Declarations of the config grammar (Spirit X3): the skipper and the top-level item rule.
// The definitions live in grammar_def.h and are instantiated once, in grammar.cc, so that
// only one translation unit pays for the template expansion.
#pragma once
#include <boost/spirit/home/x3.hpp>
#include <boost/spirit/home/x3/support/utility/error_reporting.hpp>
#include <functional>

#include "cfg/ast.h"
#include "cfg/error_handler.h"

namespace sipsd::cfg::parser {

namespace x3 = boost::spirit::x3;

// ASCII whitespace. Spirit's own character classes assert (or call isspace with a negative
// char) on bytes >= 0x80, which a stray byte in a config must never reach; the grammar uses
// explicit ASCII sets instead.
inline const auto asciiSpace = x3::char_(" \t\n\r\v\f");

// Whitespace, `# to end of line`, `// to end of line` (Kamailio's lexer takes both) and
// `/* ... */` comments.
inline const auto skipper = asciiSpace | ((x3::lit('#') | "//") >> *(x3::char_ - x3::eol)) |
                            (x3::lit("/*") >> *(x3::char_ - "*/") >> "*/");
using SkipperType = std::remove_cv_t<decltype(skipper)>;

using PhraseContext = x3::phrase_parse_context<SkipperType>::type;
using ContextType = x3::context<x3::error_handler_tag, std::reference_wrapper<ErrorHandler>, PhraseContext>;

// One top-level construct: a global assignment, loadmodule, modparam, a cfg block or a route.
// The config parser calls it in a loop so that it can resynchronise after an error.
struct TopItemClass;
using TopItemType = x3::rule<TopItemClass, ast::TopItem>;
BOOST_SPIRIT_DECLARE(TopItemType)

const TopItemType& topItem();

// Where character `index` of the decoded value of the string literal starting at `literal` (its
// opening quote) stands in the source: escapes take several source characters and "a" "b"
// spans a gap. Decodes as the grammar does, so diagnostics inside strings point exactly.
Iterator sourceOfStringChar(Iterator literal, Iterator end, size_t index);

}  // namespace sipsd::cfg::parser

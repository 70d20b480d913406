// The single instantiation of the config grammar for std::string iterators.
#include "cfg/grammar_def.h"

namespace sipsd::cfg::parser {

BOOST_SPIRIT_INSTANTIATE(TopItemType, Iterator, ContextType)

const TopItemType& topItem() { return topItemRule; }

}  // namespace sipsd::cfg::parser

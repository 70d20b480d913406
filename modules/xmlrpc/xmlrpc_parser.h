// A strict, bounded reader for XML-RPC <methodCall> documents. It knows just enough XML for
// XML-RPC (elements without attributes, text, entities, CDATA, comments, the <?xml?> prolog)
// and refuses the rest (DOCTYPE, processing instructions), so no entity expansion tricks and
// no unbounded recursion: nesting depth, value count and document size are capped.
#pragma once
#include <cstddef>
#include <string>
#include <string_view>
#include <vector>

#include "core/rpc_value.h"

namespace sipsd {

struct XmlRpcCall {
  std::string method;
  std::vector<RpcValue> params;
};

struct XmlRpcLimits {
  size_t maxBytes = 1 << 20;  // larger bodies are refused before parsing
  size_t maxDepth = 32;       // nested <array>/<struct> levels
  size_t maxValues = 65536;   // <value> elements in one call
};

class XmlRpcParser {
 public:
  explicit XmlRpcParser(XmlRpcLimits limits = {}) : limits_(limits) {}

  // Parses a whole methodCall. On failure returns false and error() says where and why
  // ("line 3, column 14: expected </value>, found <int>").
  bool parse(std::string_view doc, XmlRpcCall& out);
  // Reads only up to <methodName> (what @xmlrpc.method needs); the params are not checked.
  bool parseMethodName(std::string_view doc, std::string& out);

  const std::string& error() const { return error_; }

 private:
  enum class TagEnd { Open, SelfClosed };

  bool parseHead(std::string& method);
  bool parseParams(std::vector<RpcValue>& params);
  bool parseValueBody(RpcValue& out, size_t depth);  // after <value>, consumes </value>
  bool parseTyped(std::string_view type, TagEnd end, RpcValue& out, size_t depth);
  bool parseArray(RpcValue& out, size_t depth);
  bool parseStruct(RpcValue& out, size_t depth);
  bool parseValueElement(RpcValue& out, size_t depth);  // <value>...</value> or <value/>
  bool countValue();

  // Lexical helpers.
  bool skipProlog();
  bool skipMisc();  // whitespace and comments
  bool peekOpenTag(std::string_view& name);
  bool expectOpen(std::string_view name, TagEnd& end);
  bool expectClose(std::string_view name);
  bool readText(std::string& out);  // character data up to the next markup (CDATA included)
  bool readName(std::string_view& name);
  bool appendEntity(std::string& out);
  bool fail(std::string what);
  std::string describeHere() const;  // what is at pos_, for "found ..." in errors
  bool atEnd() const { return pos_ >= doc_.size(); }
  bool startsWith(std::string_view s) const { return doc_.substr(pos_, s.size()) == s; }

  XmlRpcLimits limits_;
  std::string_view doc_;
  size_t pos_ = 0;
  size_t values_ = 0;
  std::string error_;
};

}  // namespace sipsd

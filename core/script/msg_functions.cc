// Kamailio-habit message functions (see msg_functions.h).
#include "core/script/msg_functions.h"

#include <memory>

#include "core/parser/msg_parser.h"
#include "core/parser/name_addr_parser.h"
#include "core/parser/parse_util.h"
#include "core/parser/uri_parser.h"

namespace sipsd::script {

namespace {

bool isToken(std::string_view s) {
  if (s.empty()) return false;
  for (char c : s)
    if (!parse::isTokenChar(c)) return false;
  return true;
}

// A header name argument: literal, checked at load. Via is the core's: removing it would send
// replies astray.
Result<void> fixupHeaderName(std::vector<FuncArg>& args, bool forRemoval) {
  FuncArg& a = args[0];
  if (a.kind == FuncArg::Kind::Select) return {};
  if (a.kind == FuncArg::Kind::Int) return fail("a header name is expected, not the number " + std::to_string(a.num));
  a.str = std::string(parse::trim(a.str));
  if (!a.str.empty() && a.str.back() == ':') a.str.pop_back();
  if (!isToken(a.str)) return fail("'" + a.str + "' is not a header name");
  if (forRemoval && headerType(a.str) == HdrType::Via) return fail("Via headers are managed by the core; remove_hf(\"Via\") is refused");
  return {};
}

std::string_view methodOf(const SipMsg& m) {
  if (m.isRequest()) return m.method;
  const Header* h = findHeader(m, HdrType::CSeq);
  if (!h) return {};
  std::string_view v = parse::trim(h->value);
  size_t i = 0;
  while (i < v.size() && parse::isDigit(v[i])) ++i;
  return parse::trim(v.substr(i));
}

int boolResult(bool b) { return b ? 1 : -1; }

// Max-Forwards: the value, -1 when absent, -2 when malformed.
int maxForwardsOf(const SipMsg& m) {
  const Header* h = findHeader(m, HdrType::MaxForwards);
  if (!h) return -1;
  auto n = parse::parseUint(parse::trim(h->value), 255);
  return n ? int(*n) : -2;
}

}  // namespace

std::string checkHeaderLines(std::string_view text, std::string& normalized) {
  normalized.clear();
  if (parse::trim(text).empty()) return "the header text is empty";
  while (!text.empty()) {
    size_t nl = text.find('\n');
    std::string_view line = text.substr(0, nl);
    text = nl == std::string_view::npos ? std::string_view() : text.substr(nl + 1);
    if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
    if (line.empty()) {
      if (!parse::trim(text).empty()) return "an empty line inside the header text would end the header section";
      break;
    }
    if (line.find('\r') != std::string_view::npos) return "a bare CR in the header text";
    if (line.front() != ' ' && line.front() != '\t') {
      size_t colon = line.find(':');
      if (colon == std::string_view::npos) return "'" + std::string(line.substr(0, 40)) + "' is not 'Name: value'";
      std::string_view name = parse::trim(line.substr(0, colon));
      if (!isToken(name)) return "'" + std::string(name) + "' is not a header name";
      if (headerType(name) == HdrType::Via) return "Via headers are managed by the core";
    } else if (normalized.empty()) {
      return "the header text starts with a continuation line";
    }
    normalized.append(line);
    normalized += "\r\n";
  }
  return {};
}

std::vector<FunctionExport> msgFunctionExports() {
  std::vector<FunctionExport> out;

  // append_hf("X-Foo: bar\r\n"): appended after the last header when the request is relayed
  // (in branch_route: to that branch only, as remove_hf).
  out.push_back({"append_hf", 1, 1,
                 [](std::vector<FuncArg>& args, std::shared_ptr<void>&) -> Result<void> {
                   FuncArg& a = args[0];
                   if (a.kind == FuncArg::Kind::Select) return {};
                   if (a.kind == FuncArg::Kind::Int) return fail("append_hf takes a header line \"Name: value\\r\\n\"");
                   std::string norm;
                   std::string err = checkHeaderLines(a.str, norm);
                   if (!err.empty()) return fail(err);
                   a.str = std::move(norm);
                   return {};
                 },
                 [](ScriptContext& ctx, const std::vector<FuncArg>& args, const void*) -> int {
                   if (args[0].kind != FuncArg::Kind::Select) {
                     ctx.edits.appendHeaders += args[0].str;
                     return 1;
                   }
                   Value v = args[0].eval(ctx);
                   std::string norm;
                   std::string err = checkHeaderLines(v.isInt() ? v.text() : std::string(v.str()), norm);
                   if (!err.empty()) {
                     ctx.core.log(kLogErr, "core", "append_hf: " + err);
                     return -1;
                   }
                   ctx.edits.appendHeaders += norm;
                   return 1;
                 },
                 kRequestRoute | kBranchRoute});

  // remove_hf("Name"): every header of that name (compact forms included) is left out of the
  // relayed request. True when the message has such a header.
  out.push_back({"remove_hf", 1, 1,
                 [](std::vector<FuncArg>& args, std::shared_ptr<void>&) { return fixupHeaderName(args, true); },
                 [](ScriptContext& ctx, const std::vector<FuncArg>& args, const void*) -> int {
                   Value v = args[0].eval(ctx);
                   std::string name = v.text();
                   if (!isToken(name) || headerType(name) == HdrType::Via) {
                     ctx.core.log(kLogErr, "core", "remove_hf: '" + name + "' is not a header name it may remove");
                     return -1;
                   }
                   bool present = findHeader(ctx.msg, std::string_view(name)) != nullptr;
                   for (const auto& n : ctx.edits.removeHeaders)
                     if (sameHeaderName(n, name)) return boolResult(present);
                   ctx.edits.removeHeaders.push_back(std::move(name));
                   return boolResult(present);
                 },
                 kRequestRoute | kBranchRoute});

  // is_present_hf("Name"): the message as received has the header.
  out.push_back({"is_present_hf", 1, 1,
                 [](std::vector<FuncArg>& args, std::shared_ptr<void>&) { return fixupHeaderName(args, false); },
                 [](ScriptContext& ctx, const std::vector<FuncArg>& args, const void*) -> int {
                   Value v = args[0].eval(ctx);
                   std::string name = v.text();
                   return boolResult(findHeader(ctx.msg, std::string_view(name)) != nullptr);
                 },
                 kAnyRoute});

  // is_method("INVITE|ACK"): the request's method (a reply's CSeq method) is one of them.
  out.push_back({"is_method", 1, 1,
                 [](std::vector<FuncArg>& args, std::shared_ptr<void>& fixed) -> Result<void> {
                   const FuncArg& a = args[0];
                   if (a.kind != FuncArg::Kind::Str) return fail("is_method takes a string literal such as \"INVITE|ACK\"");
                   auto methods = std::make_shared<std::vector<std::string>>();
                   std::string_view rest = a.str;
                   while (true) {
                     size_t bar = rest.find('|');
                     std::string_view m = parse::trim(rest.substr(0, bar));
                     if (!isToken(m)) return fail("'" + a.str + "' is not a list of methods separated by '|'");
                     methods->emplace_back(m);
                     if (bar == std::string_view::npos) break;
                     rest = rest.substr(bar + 1);
                   }
                   fixed = methods;
                   return {};
                 },
                 [](ScriptContext& ctx, const std::vector<FuncArg>&, const void* fixed) -> int {
                   std::string_view m = methodOf(ctx.msg);
                   for (const auto& want : *static_cast<const std::vector<std::string>*>(fixed))
                     if (parse::ieq(m, want)) return 1;
                   return -1;
                 },
                 kAnyRoute});

  // has_totag(): the To header has a tag (an in-dialog request).
  out.push_back({"has_totag", 0, 0, nullptr,
                 [](ScriptContext& ctx, const std::vector<FuncArg>&, const void*) -> int {
                   const Header* h = findHeader(ctx.msg, HdrType::To);
                   if (!h) return -1;
                   NameAddr na;
                   std::string_view rest;
                   std::string err;
                   return boolResult(parseNameAddr(h->value, na, rest, false, err) && na.hasTag && !na.tag.empty());
                 },
                 kAnyRoute});

  // mf_process_maxfwd_header(N), Kamailio's return codes: 2 the header was absent and
  // Max-Forwards: N is inserted on relay; 1 present and not 0 (decremented on relay); -1 it is 0
  // (the script answers 483); -2 malformed.
  out.push_back({"mf_process_maxfwd_header", 1, 1,
                 [](std::vector<FuncArg>& args, std::shared_ptr<void>& fixed) -> Result<void> {
                   FuncArg& a = args[0];
                   int64_t n = a.num;
                   if (a.kind == FuncArg::Kind::Select) return fail("the Max-Forwards value must be a number 1..255");
                   if (a.kind == FuncArg::Kind::Str) {
                     auto v = parse::parseUint(parse::trim(a.str), 100000);
                     if (!v) return fail("'" + a.str + "' is not a number 1..255");
                     n = int64_t(*v);
                   }
                   if (n < 1 || n > 255) return fail("Max-Forwards " + std::to_string(n) + " is not in 1..255");
                   fixed = std::make_shared<int>(int(n));
                   return {};
                 },
                 [](ScriptContext& ctx, const std::vector<FuncArg>&, const void* fixed) -> int {
                   if (!ctx.msg.isRequest() || ctx.msg.isHttp()) return -2;
                   int mf = maxForwardsOf(ctx.msg);
                   if (mf == -2) {
                     ctx.core.log(kLogNotice, "core", "mf_process_maxfwd_header: malformed Max-Forwards from " + ctx.rcv.src.str());
                     return -2;
                   }
                   if (mf == 0) return -1;
                   if (mf > 0) return 1;
                   ctx.edits.maxForwardsInsert = *static_cast<const int*>(fixed);
                   return 2;
                 },
                 kRequestRoute});

  // is_myself("sip:host:port;transport=x") or is_myself("host[:port]"): the core's answer.
  out.push_back({"is_myself", 1, 1,
                 [](std::vector<FuncArg>& args, std::shared_ptr<void>&) -> Result<void> {
                   if (args[0].kind == FuncArg::Kind::Str && args[0].str.empty()) return fail("is_myself needs a URI or host");
                   return {};
                 },
                 [](ScriptContext& ctx, const std::vector<FuncArg>& args, const void*) -> int {
                   Value v = args[0].eval(ctx);
                   std::string text = v.text();
                   return boolResult(!text.empty() && ctx.core.uriIsMyself(text));
                 },
                 kAnyRoute});
  return out;
}

}  // namespace sipsd::script

#include "modules/tm/branch_id.h"

#include <algorithm>
#include <charconv>
#include <string>

#include "core/parser/parse_util.h"
#include "core/parser/via_parser.h"

namespace sipsd::tm {
namespace {

bool readHex(std::string_view& s, uint64_t& out, bool last) {
  size_t end = last ? s.size() : s.find('.');
  if (end == std::string_view::npos || end == 0 || end > 16) return false;
  auto r = std::from_chars(s.data(), s.data() + end, out, 16);
  if (r.ec != std::errc() || r.ptr != s.data() + end) return false;
  s.remove_prefix(last ? end : end + 1);
  return true;
}

}  // namespace

std::string_view writeBranch(const BranchId& id, BranchText& out) {
  char* p = std::copy(kBranchPrefix.begin(), kBranchPrefix.end(), out.data);
  char* end = out.data + sizeof out.data;
  p = std::to_chars(p, end, uint64_t(id.worker), 16).ptr;
  *p++ = '.';
  p = std::to_chars(p, end, id.tx, 16).ptr;
  *p++ = '.';
  p = std::to_chars(p, end, uint64_t(id.branch), 16).ptr;
  return std::string_view(out.data, size_t(p - out.data));
}

std::string makeBranch(const BranchId& id) {
  BranchText t;
  return std::string(writeBranch(id, t));
}

std::optional<BranchId> parseBranch(std::string_view branch) {
  if (branch.substr(0, kBranchPrefix.size()) != kBranchPrefix) return std::nullopt;
  std::string_view s = branch.substr(kBranchPrefix.size());
  uint64_t w, tx, b;
  if (!readHex(s, w, false) || !readHex(s, tx, false) || !readHex(s, b, true)) return std::nullopt;
  if (w > 4096 || b > 255) return std::nullopt;
  return BranchId{int(w), tx, int(b)};
}

bool serverKeyInto(const SipMsg& req, std::string_view matchMethod, std::string& key) {
  key.clear();
  ViaBody top;
  std::string err;
  if (!nthVia(req, 0, top, err)) return false;
  if (top.branch.size() <= 7 || !parse::istartsWith(top.branch, "z9hG4bK")) return false;
  key.reserve(top.branch.size() + top.host.size() + matchMethod.size() + 10);
  key.append(top.branch);
  key += '|';
  // sent-by: host is case-insensitive; the default port is written out so "h" == "h:5060".
  for (char c : top.host) key += parse::lower(c);
  key += ':';
  char port[8];
  auto r = std::to_chars(port, port + sizeof port, unsigned(top.port ? top.port : 5060));
  key.append(port, size_t(r.ptr - port));
  key += '|';
  key.append(matchMethod);
  return true;
}

std::string serverKey(const SipMsg& req, std::string_view matchMethod) {
  std::string key;
  serverKeyInto(req, matchMethod, key);
  return key;
}

}  // namespace sipsd::tm

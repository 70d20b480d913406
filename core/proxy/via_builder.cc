// Via editing and construction for the reply and forward builders.
#include "core/proxy/via_builder.h"

#include <random>
#include <vector>

#include "core/parser/cseq_parser.h"
#include "core/parser/msg_parser.h"
#include "core/parser/name_addr_parser.h"
#include "core/parser/param_list.h"
#include "core/parser/parse_util.h"

namespace sipsd {

namespace {

uint64_t processSecret() {
  static const uint64_t secret = [] {
    std::random_device rd;
    return (uint64_t(rd()) << 32) ^ uint64_t(rd());
  }();
  return secret;
}

uint64_t mix(uint64_t x) {  // splitmix64 finalizer
  x ^= x >> 30;
  x *= 0xbf58476d1ce4e5b9ull;
  x ^= x >> 27;
  x *= 0x94d049bb133111ebull;
  x ^= x >> 31;
  return x;
}

void appendHex(std::string& out, uint64_t v) {
  static const char hex[] = "0123456789abcdef";
  for (int i = 60; i >= 0; i -= 4) out += hex[(v >> i) & 15];
}

struct Edit {
  size_t pos;   // offset in the via-parm text
  size_t len;   // bytes replaced
  std::string text;
};

}  // namespace

uint64_t keyedHash(std::initializer_list<std::string_view> parts, uint64_t seed) {
  uint64_t h = 0xcbf29ce484222325ull ^ mix(processSecret() + seed);
  for (std::string_view p : parts) {
    for (unsigned char c : p) {
      h ^= c;
      h *= 0x100000001b3ull;
    }
    h ^= 0xff;  // separator: ("ab","c") differs from ("a","bc")
    h *= 0x100000001b3ull;
  }
  return mix(h);
}

bool appendViaWithReceived(std::string& out, const ViaBody& v, const SockAddr& src, bool forceRport) {
  const std::string_view raw = v.raw;
  const std::string ip = src.ip();
  const std::string port = std::to_string(src.port());
  bool fillRport = (v.hasRport && v.rport.empty()) || (forceRport && !v.hasRport);
  auto sentBy = SockAddr::fromIpPort(stripBrackets(v.host), 0);
  bool hostDiffers = !sentBy || !sentBy->sameIp(src);
  bool setReceived = hostDiffers || fillRport || (v.hasRport && forceRport);

  std::vector<Edit> edits;
  bool haveReceived = false, haveRport = false;
  ParamIter it(v.params);
  Param p;
  while (it.next(p)) {
    size_t at = parse::offsetIn(raw, p.raw);
    if (parse::ieq(p.name, "rport")) {
      haveRport = true;
      if (fillRport) edits.push_back({at, p.raw.size(), "rport=" + port});
    } else if (parse::ieq(p.name, "received")) {
      haveReceived = true;
      if (setReceived && p.value != ip) edits.push_back({at, p.raw.size(), "received=" + ip});
    }
  }
  std::string tail;
  if (setReceived && !haveReceived) tail += ";received=" + ip;
  if (fillRport && !haveRport) tail += ";rport=" + port;

  size_t from = 0;
  for (const Edit& e : edits) {
    out.append(raw.substr(from, e.pos - from));
    out += e.text;
    from = e.pos + e.len;
  }
  out.append(raw.substr(from));
  out += tail;
  return !edits.empty() || !tail.empty();
}

std::string statelessBranch(const SipMsg& req, const ViaBody* top) {
  uint64_t a, b;
  if (top && parse::istartsWith(top->branch, "z9hG4bK")) {
    // The incoming branch identifies the transaction; the request-URI separates spirals.
    a = keyedHash({top->branch, top->host, top->portText, req.ruri}, 1);
    b = keyedHash({top->branch, top->host, top->portText, req.ruri}, 2);
  } else {
    std::string_view callId, fromTag, cseqNum, via = top ? top->raw : std::string_view();
    if (const Header* h = findHeader(req, HdrType::CallId)) callId = h->value;
    if (const Header* h = findHeader(req, HdrType::From)) {
      NameAddr na;
      std::string_view rest;
      std::string err;
      if (parseNameAddr(h->value, na, rest, false, err)) fromTag = na.tag;
    }
    if (const Header* h = findHeader(req, HdrType::CSeq)) {
      CSeqBody c;
      std::string err;
      if (parseCSeq(h->value, c, err)) cseqNum = c.numText;
    }
    a = keyedHash({callId, fromTag, cseqNum, via, req.ruri}, 3);
    b = keyedHash({callId, fromTag, cseqNum, via, req.ruri}, 4);
  }
  std::string br = "z9hG4bKsd";
  appendHex(br, a);
  appendHex(br, b);
  return br;
}

std::string makeViaValue(const LocalVia& self, std::string_view branch, bool rport) {
  std::string v = "SIP/2.0/";
  std::string_view proto = protoName(self.proto);
  v.append(proto.empty() ? std::string_view("UDP") : proto);
  v += ' ';
  bool v6 = self.host.find(':') != std::string_view::npos && self.host.front() != '[';
  if (v6) v += '[';
  v.append(self.host);
  if (v6) v += ']';
  if (self.port) v += ":" + std::to_string(self.port);
  v += ";branch=";
  v.append(branch);
  if (rport) v += ";rport";
  return v;
}

std::string createViaValue(const SipMsg& req, const ReceiveInfo& rcv) {
  LocalVia sender;
  sender.proto = rcv.proto == Proto::None ? Proto::TCP : rcv.proto;
  std::string ip = rcv.src.ip();
  sender.host = ip;
  sender.port = rcv.src.port();
  std::string branch = "z9hG4bKcv";
  appendHex(branch, keyedHash({rcv.src.str(), req.firstLine, req.body}, 5));
  std::string v = makeViaValue(sender, branch, false);
  v += ";rport=" + std::to_string(sender.port);
  return v;
}

void appendLine(std::string& out, std::string_view raw) {
  if (!raw.empty() && raw.back() == '\n') raw.remove_suffix(1);
  if (!raw.empty() && raw.back() == '\r') raw.remove_suffix(1);
  out.append(raw);
  out += "\r\n";
}

}  // namespace sipsd

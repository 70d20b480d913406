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
  bool fillRport = (v.hasRport && v.rport.empty()) || (forceRport && !v.hasRport);
  // A sent-by written exactly as we print the source address is that address: the common case
  // needs no inet_pton.
  std::string_view sentByHost = stripBrackets(v.host);
  bool hostDiffers = sentByHost != ip;
  if (hostDiffers) {
    auto sentBy = SockAddr::fromIpPort(sentByHost, 0);
    hostDiffers = !sentBy || !sentBy->sameIp(src);
  }
  bool setReceived = hostDiffers || fillRport || (v.hasRport && forceRport);
  if (!setReceived) {  // then fillRport is false too: nothing to change
    out.append(raw);
    return false;
  }

  // The parameters come in buffer order, so the edited via-parm is written in one pass.
  bool haveReceived = false, haveRport = false;
  size_t from = 0;
  ParamIter it(v.params);
  Param p;
  while (it.next(p)) {
    size_t at = parse::offsetIn(raw, p.raw);
    if (parse::ieq(p.name, "rport")) {
      haveRport = true;
      if (!fillRport) continue;
      out.append(raw.substr(from, at - from));
      out += "rport=";
      str::appendDecimal(out, src.port());
    } else if (parse::ieq(p.name, "received")) {
      haveReceived = true;
      if (p.value == ip) continue;
      out.append(raw.substr(from, at - from));
      out += "received=";
      out += ip;
    } else {
      continue;
    }
    from = at + p.raw.size();
  }
  out.append(raw.substr(from));
  if (!haveReceived) {
    out += ";received=";
    out += ip;
  }
  if (fillRport && !haveRport) {
    out += ";rport=";
    str::appendDecimal(out, src.port());
  }
  return from != 0 || !haveReceived || (fillRport && !haveRport);
}

std::string statelessBranch(const SipMsg& req, const ViaBody* top) {
  std::string br;
  appendStatelessBranch(br, req, top);
  return br;
}

void appendStatelessBranch(std::string& out, const SipMsg& req, const ViaBody* top) {
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
  out += "z9hG4bKsd";
  appendHex(out, a);
  appendHex(out, b);
}

std::string makeViaValue(const LocalVia& self, std::string_view branch, bool rport) {
  std::string v;
  appendViaValue(v, self, branch, rport);
  return v;
}

void appendViaValue(std::string& v, const LocalVia& self, std::string_view branch, bool rport) {
  v += "SIP/2.0/";
  std::string_view proto = protoName(self.proto);
  v.append(proto.empty() ? std::string_view("UDP") : proto);
  v += ' ';
  bool v6 = self.host.find(':') != std::string_view::npos && self.host.front() != '[';
  if (v6) v += '[';
  v.append(self.host);
  if (v6) v += ']';
  if (self.port) {
    v += ':';
    str::appendDecimal(v, self.port);
  }
  v += ";branch=";
  v.append(branch);
  if (rport) v += ";rport";
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

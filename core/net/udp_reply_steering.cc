// UdpReplySteering: the classic BPF program (see udp_reply_steering.h). Classic BPF has no
// loops, so the scan is unrolled: per payload offset k, "is the word at k 'z9hG'?"; a hit jumps
// to one verification block with X = k. Absolute and indirect loads past the end of the
// datagram would end the program with 0 (= socket 0), so lengths are checked first: the whole
// datagram for the first bytes, then once per block of offsets for everything a hit in the
// block reads.
#include "core/net/udp_reply_steering.h"

#include <sys/socket.h>

#include <cerrno>
#include <cstring>

namespace sipsd {
namespace {

constexpr uint32_t word(std::string_view s, size_t at) {
  return uint32_t(uint8_t(s[at])) << 24 | uint32_t(uint8_t(s[at + 1])) << 16 | uint32_t(uint8_t(s[at + 2])) << 8 |
         uint32_t(uint8_t(s[at + 3]));
}

sock_filter stmt(uint16_t code, uint32_t k) { return sock_filter{code, 0, 0, k}; }
sock_filter jump(uint16_t code, uint32_t k, uint8_t jt, uint8_t jf) { return sock_filter{code, jt, jf, k}; }

constexpr unsigned kBlock = 32;         // offsets per length check
constexpr unsigned kFirst = 8;          // "SIP/2.0 " comes first
constexpr unsigned kMarkerRead = 11;    // bytes a hit at k reads: "z9hG4bKtm" W "."

}  // namespace

std::vector<sock_filter> UdpReplySteering::program() {
  static_assert(kWorkerBranchPrefix.size() == 9, "the verification below reads the prefix as 4+4+1 bytes");
  std::vector<sock_filter> p;
  // Placeholders for far jumps are patched once the verification block's place is known.
  std::vector<size_t> toVerify, toFail;
  // A datagram too short to hold a reply with a branch: hash. Then: only replies.
  p.push_back(stmt(BPF_LD | BPF_W | BPF_LEN, 0));
  p.push_back(jump(BPF_JMP | BPF_JGE | BPF_K, kFirst + kMarkerRead, 1, 0));
  p.push_back(stmt(BPF_RET | BPF_K, kNoChoice));
  p.push_back(stmt(BPF_LD | BPF_W | BPF_ABS, 0));
  p.push_back(jump(BPF_JMP | BPF_JEQ | BPF_K, word("SIP/", 0), 1, 0));
  p.push_back(stmt(BPF_RET | BPF_K, kNoChoice));
  for (unsigned block = kFirst; block < kFirst + kScanBytes; block += kBlock) {
    // Every hit in this block reads below block + kBlock - 1 + kMarkerRead.
    p.push_back(stmt(BPF_LDX | BPF_W | BPF_LEN, 0));
    p.push_back(stmt(BPF_LD | BPF_IMM, block + kBlock - 1 + kMarkerRead));
    p.push_back(jump(BPF_JMP | BPF_JGT | BPF_X, 0, 0, 1));  // needed > length: stop
    toFail.push_back(p.size());
    p.push_back(stmt(BPF_JMP | BPF_JA, 0));
    for (unsigned k = block; k < block + kBlock; ++k) {
      p.push_back(stmt(BPF_LD | BPF_W | BPF_ABS, k));
      p.push_back(jump(BPF_JMP | BPF_JEQ | BPF_K, word(kWorkerBranchPrefix, 0), 0, 2));
      p.push_back(stmt(BPF_LDX | BPF_IMM, k));
      toVerify.push_back(p.size());
      p.push_back(stmt(BPF_JMP | BPF_JA, 0));
    }
  }
  // Nothing found in the scanned bytes.
  const size_t fail = p.size();
  p.push_back(stmt(BPF_RET | BPF_K, kNoChoice));
  // X = offset of "z9hG": the rest of the prefix, the one-digit worker index and its '.'.
  const size_t verify = p.size();
  p.push_back(stmt(BPF_LD | BPF_W | BPF_IND, 4));
  p.push_back(jump(BPF_JMP | BPF_JEQ | BPF_K, word(kWorkerBranchPrefix, 4), 0, 13));
  p.push_back(stmt(BPF_LD | BPF_B | BPF_IND, 8));
  p.push_back(jump(BPF_JMP | BPF_JEQ | BPF_K, uint8_t(kWorkerBranchPrefix[8]), 0, 11));
  p.push_back(stmt(BPF_LD | BPF_B | BPF_IND, 10));
  p.push_back(jump(BPF_JMP | BPF_JEQ | BPF_K, '.', 0, 9));
  p.push_back(stmt(BPF_LD | BPF_B | BPF_IND, 9));
  p.push_back(jump(BPF_JMP | BPF_JGE | BPF_K, '0', 0, 7));
  p.push_back(jump(BPF_JMP | BPF_JGT | BPF_K, '9', 2, 0));
  p.push_back(stmt(BPF_ALU | BPF_SUB | BPF_K, '0'));
  p.push_back(stmt(BPF_RET | BPF_A, 0));
  p.push_back(jump(BPF_JMP | BPF_JGE | BPF_K, 'a', 0, 3));  // 'a'..'f': 10..15
  p.push_back(jump(BPF_JMP | BPF_JGT | BPF_K, 'f', 2, 0));
  p.push_back(stmt(BPF_ALU | BPF_SUB | BPF_K, 'a' - 10));
  p.push_back(stmt(BPF_RET | BPF_A, 0));
  // Mismatch exits of the verification block land here.
  p.push_back(stmt(BPF_RET | BPF_K, kNoChoice));
  for (size_t at : toVerify) p[at].k = uint32_t(verify - at - 1);
  for (size_t at : toFail) p[at].k = uint32_t(fail - at - 1);
  return p;
}

bool UdpReplySteering::attach(int fd, std::string& err) {
  std::vector<sock_filter> p = program();
  sock_fprog prog{static_cast<unsigned short>(p.size()), p.data()};
  if (setsockopt(fd, SOL_SOCKET, SO_ATTACH_REUSEPORT_CBPF, &prog, sizeof prog) == 0) return true;
  err = std::strerror(errno);
  return false;
}

}  // namespace sipsd

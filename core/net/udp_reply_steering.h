// Steers a UDP reply to the worker that owns its transaction. Every worker reads its own socket
// of one SO_REUSEPORT group, and the kernel picks the socket by a hash of the addresses: a
// reply from a next hop lands on whichever worker that peer's address hashes to, which is
// often not the worker that relayed the request (for TLS->UDP, the one owning the TLS
// connection). tm then posts the reply across — a copy, an eventfd write, a wake-up of the
// other worker and a second parse, several microseconds per reply.
//
// A classic BPF program attached to the group (SO_ATTACH_REUSEPORT_CBPF) looks at the start of
// each datagram: a reply ("SIP/...") whose first "z9hG4bK..." is a worker branch —
// kWorkerBranchPrefix, the owner's worker index as one lowercase hex digit, '.' — goes to the
// socket of that index, which is that worker's (workers join the group in index order). Anything
// else, and any worker index the group lacks, returns an out-of-range index, for which the
// kernel falls back to its hash. It is a hint only: a reply the program misses is posted as before.
#pragma once
#include <linux/filter.h>

#include <string>
#include <string_view>
#include <vector>

namespace sipsd {

// Branch prefix of requests a worker sends and wants the replies of (tm's branches).
constexpr std::string_view kWorkerBranchPrefix = "z9hG4bKtm";

class UdpReplySteering {
 public:
  // The program (exposed for tests). Scans the first kScanBytes bytes of the payload.
  static std::vector<sock_filter> program();
  // Attaches it to fd's reuseport group; false with `err` when the kernel refuses.
  static bool attach(int fd, std::string& err);

  static constexpr unsigned kScanBytes = 768;
  static constexpr unsigned kNoChoice = 0xffffffffu;  // "use the hash"
};

}  // namespace sipsd

// What the location service stores: the bindings of one address-of-record (RFC 3261 §10).
// An AorRecord is immutable once published: every worker's replica holds the same
// shared_ptr, so a record is built once, shared without copies and read without locks.
#pragma once
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

namespace sipsd::usrloc {

struct Binding {
  std::string contact;      // the Contact URI (without < >)
  int64_t expires = 0;      // absolute, unix seconds
  int q = -1;               // q-value * 1000; -1 when the contact gave none
  std::string callId;
  uint32_t cseq = 0;
  // Where the REGISTER came from: the phone is reachable there (over its connection for TCP/TLS).
  std::string proto;        // "udp" "tcp" "tls"
  std::string source;       // "ip:port" ("[v6]:port")
  uint64_t connId = 0;      // the connection the REGISTER came on (0 for UDP)
  // The node that holds the connection: its SIP URI in a cluster (db_url), "" on a lone node.
  std::string node;
  std::string certSubject;      // peer certificate subject CN (TLS), "" otherwise
  std::string certFingerprint;  // SHA-256 of the peer certificate, hex
  std::string userAgent;
  int64_t updated = 0;      // unix seconds of the last REGISTER that wrote it
  uint32_t cflags = 0;      // the script's branch flags at save() (setbflag()); lookup() restores them
};

struct AorRecord {
  std::string aor;
  uint64_t version = 0;            // grows with every write of this AoR (cluster-wide with Redis)
  std::vector<Binding> bindings;   // empty: removed (a tombstone that keeps the version)
  int64_t written = 0;             // unix seconds of the write (tombstones are purged after a while)
};

using RecordPtr = std::shared_ptr<const AorRecord>;

}  // namespace sipsd::usrloc

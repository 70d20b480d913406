// An IPv4/IPv6 socket address with the textual forms the script and logs use.
#pragma once
#include <netinet/in.h>
#include <sys/socket.h>

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace sipsd {

enum class Proto : uint8_t { None, UDP, TCP, TLS };
constexpr size_t kProtoCount = 4;  // values of Proto, for tables indexed by it

// A byte stream (a connection with framing, replies on the same connection) rather than datagrams.
constexpr bool isStreamProto(Proto p) { return p != Proto::None && p != Proto::UDP; }
// Served by the core alone; any other protocol needs a transport a module registers.
constexpr bool isCoreProto(Proto p) { return p == Proto::UDP || p == Proto::TCP; }

std::string_view protoName(Proto p);                 // "UDP" "TCP" "TLS"
std::string_view protoToken(Proto p);                // "udp" "tcp" "tls" (listen=, metrics labels)
std::optional<Proto> protoFromName(std::string_view);  // case-insensitive

class SockAddr {
 public:
  SockAddr() = default;
  SockAddr(const sockaddr* sa, socklen_t len);
  // Parses "1.2.3.4", "::1", "[::1]" with a separate port.
  static std::optional<SockAddr> fromIpPort(std::string_view ip, uint16_t port);
  // Parses "1.2.3.4:5060" or "[::1]:5060".
  static std::optional<SockAddr> fromString(std::string_view ipPort);

  const sockaddr* sa() const { return reinterpret_cast<const sockaddr*>(&ss_); }
  sockaddr* sa() { return reinterpret_cast<sockaddr*>(&ss_); }
  socklen_t len() const { return len_; }
  void setLen(socklen_t l) { len_ = l; }
  int family() const { return ss_.ss_family; }
  bool valid() const { return len_ != 0; }

  std::string ip() const;        // "1.2.3.4" or "::1"
  uint16_t port() const;
  std::string str() const;       // "1.2.3.4:5060" or "[::1]:5060"
  bool sameIp(const SockAddr& o) const;
  bool operator==(const SockAddr& o) const;  // same family, ip and port

 private:
  sockaddr_storage ss_{};
  socklen_t len_ = 0;
};

struct SockAddrHash {
  size_t operator()(const SockAddr& a) const;
};

}  // namespace sipsd

// Core global settings and the listen= syntax.
#include "core/config/core_settings.h"

#include <algorithm>
#include <cctype>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "core/log.h"
#include "core/util/strings.h"

namespace sipsd {

namespace {

std::optional<int64_t> intValue(const ParamValue& v) {
  if (v.isInt) return v.num;
  return str::toNumber<int64_t>(v.str);
}

std::optional<bool> boolValue(const ParamValue& v) {
  if (auto n = intValue(v)) return *n != 0;
  for (std::string_view t : {"yes", "on", "true"})
    if (str::iequals(v.str, t)) return true;
  for (std::string_view f : {"no", "off", "false"})
    if (str::iequals(v.str, f)) return false;
  return std::nullopt;
}

std::string setInt(const std::string& name, const ParamValue& v, int64_t lo, int64_t hi, auto& field) {
  auto n = intValue(v);
  if (!n) return name + " takes an integer, not '" + v.text() + "'";
  if (*n < lo || *n > hi) return name + "=" + std::to_string(*n) + " is out of range " + std::to_string(lo) + ".." + std::to_string(hi);
  field = static_cast<std::remove_reference_t<decltype(field)>>(*n);
  return {};
}

}  // namespace

std::string parseHostPort(std::string_view t, Proto& proto, std::string& host, uint16_t& port) {
  const std::string text(t);
  proto = Proto::None;
  port = 0;
  if (auto c = t.find(':'); c != std::string_view::npos && c <= 3) {
    if (auto p = protoFromName(t.substr(0, c)); p && *p != Proto::None) {
      proto = *p;
      t.remove_prefix(c + 1);
    }
  }
  std::string_view portText;
  if (!t.empty() && t.front() == '[') {
    auto close = t.find(']');
    if (close == std::string_view::npos) return "missing ']' in '" + text + "'";
    host = std::string(t.substr(1, close - 1));
    std::string_view rest = t.substr(close + 1);
    if (!rest.empty()) {
      if (rest.front() != ':') return "expected ':PORT' after ']' in '" + text + "'";
      portText = rest.substr(1);
    }
  } else {
    if (std::count(t.begin(), t.end(), ':') > 1) return "write IPv6 addresses in brackets (got '" + text + "')";
    auto c = t.find(':');
    host = std::string(t.substr(0, c));
    if (c != std::string_view::npos) portText = t.substr(c + 1);
  }
  if (host.empty()) return "no host in '" + text + "'";
  for (char ch : host)
    if (!(std::isalnum(static_cast<unsigned char>(ch)) || ch == '.' || ch == '-' || ch == '_' || ch == ':'))
      return "'" + host + "' is not a host name or address";
  if (!portText.empty()) {
    auto n = str::toNumber<int>(portText);
    if (!n || *n < 1 || *n > 65535)
      return "bad port '" + std::string(portText) + "' in '" + text + "'";
    port = uint16_t(*n);
  }
  return {};
}

std::string parseListen(const std::string& whole, const SourceLoc& loc, std::vector<ListenAddr>& out) {
  // `ADDR advertise HOST[:PORT]`
  std::string text = whole, advHost;
  uint16_t advPort = 0;
  if (auto sp = whole.find_first_of(" \t"); sp != std::string::npos) {
    text = whole.substr(0, sp);
    std::string_view rest = std::string_view(whole).substr(sp);
    while (!rest.empty() && (rest.front() == ' ' || rest.front() == '\t')) rest.remove_prefix(1);
    if (rest.substr(0, 9) != "advertise" || rest.size() < 10 || (rest[9] != ' ' && rest[9] != '\t'))
      return "listen: expected 'advertise HOST[:PORT]' after the address in '" + whole + "'";
    rest.remove_prefix(9);
    while (!rest.empty() && (rest.front() == ' ' || rest.front() == '\t')) rest.remove_prefix(1);
    while (!rest.empty() && (rest.back() == ' ' || rest.back() == '\t')) rest.remove_suffix(1);
    Proto ap;
    std::string err = parseHostPort(rest, ap, advHost, advPort);
    if (!err.empty()) return "listen: advertise: " + err;
    if (ap != Proto::None) return "listen: advertise takes HOST[:PORT], without a protocol ('" + whole + "')";
  }
  std::string_view t = text;
  std::vector<Proto> protos = {Proto::UDP, Proto::TCP};
  if (auto c = t.find(':'); c != std::string_view::npos && c <= 3) {
    if (auto p = protoFromName(t.substr(0, c)); p && *p != Proto::None) {
      protos = {*p};
      t.remove_prefix(c + 1);
    }
  }
  std::string ip;
  std::string_view portText;
  if (!t.empty() && t.front() == '[') {
    auto close = t.find(']');
    if (close == std::string_view::npos) return "listen: missing ']' in '" + text + "'";
    ip = std::string(t.substr(1, close - 1));
    std::string_view rest = t.substr(close + 1);
    if (!rest.empty()) {
      if (rest.front() != ':') return "listen: expected ':PORT' after ']' in '" + text + "'";
      portText = rest.substr(1);
    }
  } else {
    auto colons = std::count(t.begin(), t.end(), ':');
    if (colons > 1) return "listen: write IPv6 addresses in brackets, e.g. tls:[::1]:5061 (got '" + text + "')";
    auto c = t.find(':');
    ip = std::string(t.substr(0, c));
    if (c != std::string_view::npos) portText = t.substr(c + 1);
  }
  if (ip.empty()) return "listen: no address in '" + text + "'";
  for (Proto p : protos) {
    int port = p == Proto::TLS ? 5061 : 5060;
    if (!portText.empty()) {
      if (!str::toNumber(portText, port) || port < 1 || port > 65535)
        return "listen: bad port '" + std::string(portText) + "' in '" + text + "'";
    }
    auto addr = SockAddr::fromIpPort(ip, uint16_t(port));
    if (!addr) return "listen: '" + ip + "' is not an IPv4 or IPv6 address";
    out.push_back(ListenAddr{p, *addr, whole, loc, advHost, advPort});
  }
  return {};
}

std::string localAddressProblem(const SockAddr& addr) {
  auto any = SockAddr::fromIpPort(addr.ip(), 0);  // port 0: only the address is tested
  if (!any) return "not an IP address";
  const SockAddr& probe = *any;
  int fd = ::socket(probe.family(), SOCK_DGRAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return std::strerror(errno);
  std::string err;
  if (::bind(fd, probe.sa(), probe.len()) != 0) err = std::strerror(errno);
  ::close(fd);
  return err;
}

std::vector<std::string> listenAddressesOf(const std::vector<ListenAddr>& listens, Proto proto) {
  std::vector<std::string> r;
  for (const auto& l : listens)
    if (l.proto == proto) r.push_back(l.addr.str());
  return r;
}

std::string applyCoreGlobal(CoreSettings& s, const std::string& name, const ParamValue& v, bool& known) {
  known = true;
  if (name == "debug" || name == "log_level") return setInt(name, v, kLogErr, kLogDebug, s.logLevel);
  if (name == "children") return setInt(name, v, 0, 1024, s.children);
  if (name == "listen") return parseListen(v.text(), v.loc, s.listens);
  if (name == "alias") {
    AliasAddr a;
    std::string err = parseHostPort(v.text(), a.proto, a.host, a.port);
    if (!err.empty()) return "alias: " + err;
    s.aliases.push_back(std::move(a));
    return {};
  }
  if (name == "mpath") {
    // A list of directories separated by ':', as Kamailio's mpath.
    const std::string& t = v.text();
    for (size_t b = 0;;) {
      size_t e = std::min(t.find(':', b), t.size());
      if (e == b) return "mpath has an empty directory in '" + t + "'";
      s.mpath.push_back(t.substr(b, e - b));
      if (e == t.size()) return {};
      b = e + 1;
    }
  }
  if (name == "log_facility") {
    auto f = logging::facilityFromName(v.text());
    if (!f) return "log_facility takes a syslog facility (LOG_LOCAL0..LOG_LOCAL7, LOG_DAEMON, LOG_USER...), not '" + v.text() + "'";
    s.logFacility = *f;
    return {};
  }
  if (name == "log_prefix") {
    s.logPrefix = v.text();
    return {};
  }
  if (name == "tcp_connection_lifetime") return setInt(name, v, 1, 86400 * 7, s.tcpConnectionLifetime);
  if (name == "tcp_max_connections") return setInt(name, v, 1, 10000000, s.tcpMaxConnections);
  if (name == "tcp_connect_timeout") return setInt(name, v, 1, 3600, s.tcpConnectTimeout);
  if (name == "tcp_send_timeout") return setInt(name, v, 1, 3600, s.tcpSendTimeout);
  if (name == "tcp_max_message_size") return setInt(name, v, 1024, 64 * 1024 * 1024, s.tcpMaxMessageSize);
  if (name == "tcp_max_send_queue") return setInt(name, v, 4096, 1024 * 1024 * 1024, s.tcpMaxSendQueue);
  if (name == "tcp_msg_read_timeout") return setInt(name, v, 1, 3600, s.tcpMsgReadTimeout);
  if (name == "tcp_max_connections_per_ip") return setInt(name, v, 0, 10000000, s.tcpMaxConnectionsPerIp);
  if (name == "tcp_connect_backoff") return setInt(name, v, 0, 3600, s.tcpConnectBackoff);
  if (name == "tcp_connect_backoff_max") return setInt(name, v, 1, 86400, s.tcpConnectBackoffMax);
  if (name == "udp_reply_steering") {
    auto b = boolValue(v);
    if (!b) return "udp_reply_steering takes yes/no, not '" + v.text() + "'";
    s.udpReplySteering = *b;
    return {};
  }
  if (name == "udp_send_batch") {
    auto b = boolValue(v);
    if (!b) return "udp_send_batch takes yes/no, not '" + v.text() + "'";
    s.udpSendBatch = *b;
    return {};
  }
  if (name == "log_stderror") {
    auto b = boolValue(v);
    if (!b) return "log_stderror takes yes/no, not '" + v.text() + "'";
    s.logStderr = *b;
    return {};
  }
  if (name == "max_while_loops") return setInt(name, v, 0, 1000000000, s.maxWhileLoops);
  if (name == "memdbg" || name == "memlog") {
    // Kamailio's log levels for its own allocator's debug and status messages. sipsd uses the
    // C++ allocator and has no such messages, so the value is only checked (an integer, as
    // Kamailio takes a log level there).
    int level = 0;
    return setInt(name, v, -1000, 1000, level);
  }
  if (name == "enable_sctp") {
    // Kamailio: 0/no, 1/yes, 2 = auto (on when the system supports it). sipsd has no SCTP.
    auto n = intValue(v);
    auto b = boolValue(v);
    if (n == 2 || (b && !*b)) return {};
    if (!b) return "enable_sctp takes yes/no (or 2, auto), not '" + v.text() + "'";
    return "enable_sctp=" + v.text() + ": sipsd has no SCTP transport (UDP, TCP and TLS only); write enable_sctp=no";
  }
  if (name == "fork") {
    // SER habit: sipsd always stays in the foreground, so only the value is checked.
    if (!boolValue(v)) return "fork takes yes/no, not '" + v.text() + "'";
    return {};
  }
  known = false;
  return {};
}

}  // namespace sipsd

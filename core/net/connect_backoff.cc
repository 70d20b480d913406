#include "core/net/connect_backoff.h"

#include <algorithm>
#include <functional>

namespace sipsd {

namespace {

constexpr std::string_view kConnectPrefix = "TCP connect to ";
constexpr std::string_view kHandshakePrefix = "TLS handshake to ";

}  // namespace

size_t ConnectBackoff::KeyHash::operator()(const Key& k) const {
  return SockAddrHash()(k.addr) ^ (std::hash<std::string>()(k.domainKey) * 31) ^ size_t(k.proto);
}

ConnectBackoff::ConnectBackoff(std::chrono::milliseconds base, std::chrono::milliseconds cap, size_t maxEntries)
    : base_(base), cap_(std::max(cap, base)), maxEntries_(std::max<size_t>(maxEntries, 1)) {}

const std::string* ConnectBackoff::blocked(Proto proto, const SockAddr& to, const std::string& domainKey,
                                           Clock::time_point now) const {
  if (entries_.empty()) return nullptr;
  auto it = entries_.find(Key{proto, to, domainKey});
  if (it == entries_.end() || now >= it->second.until) return nullptr;
  return &it->second.reason;
}

std::chrono::milliseconds ConnectBackoff::failed(Proto proto, const SockAddr& to, const std::string& domainKey,
                                                 std::string reason, Clock::time_point now) {
  if (!enabled()) return std::chrono::milliseconds(0);
  Key key{proto, to, domainKey};
  auto it = entries_.find(key);
  if (it == entries_.end()) {
    if (entries_.size() >= maxEntries_) prune(now);
    it = entries_.emplace(std::move(key), Entry{now, std::chrono::milliseconds(0), {}}).first;
  }
  Entry& e = it->second;
  e.reason = std::move(reason);
  // An attempt that was already under way when the back-off began changes nothing.
  if (e.period.count() != 0 && now < e.until) return e.period;
  // Failing again soon after a back-off ended: the destination is still broken, wait longer.
  e.period = (e.period.count() == 0 || now - e.until >= cap_) ? base_ : std::min(e.period * 2, cap_);
  e.until = now + e.period;
  return e.period;
}

void ConnectBackoff::succeeded(Proto proto, const SockAddr& to, const std::string& domainKey) {
  if (!entries_.empty()) entries_.erase(Key{proto, to, domainKey});
}

void ConnectBackoff::prune(Clock::time_point now) {
  for (auto it = entries_.begin(); it != entries_.end();)
    it = now - it->second.until >= cap_ ? entries_.erase(it) : std::next(it);
  if (entries_.size() < maxEntries_) return;
  auto soonest = std::min_element(entries_.begin(), entries_.end(),
                                  [](const auto& a, const auto& b) { return a.second.until < b.second.until; });
  entries_.erase(soonest);
}

std::string ConnectBackoff::failureText(const SockAddr& to, bool handshake, std::string_view why) {
  std::string t(handshake ? kHandshakePrefix : kConnectPrefix);
  t += to.str();
  t += " failed";
  // "connect failed: Connection refused", "...: error:0A00045C:SSL routines::tlsv13 alert
  // certificate required": the words after the last colon say what happened.
  if (auto colon = why.rfind(':'); colon != std::string_view::npos) why.remove_prefix(colon + 1);
  while (!why.empty() && why.front() == ' ') why.remove_prefix(1);
  if (why.empty()) return t;
  t += " (";
  for (char ch : why.substr(0, 80)) t += (ch >= 0x20 && ch < 0x7f) ? ch : '?';
  t += ')';
  return t;
}

bool ConnectBackoff::isFailureText(const std::string& err) {
  return err.starts_with(kConnectPrefix) || err.starts_with(kHandshakePrefix);
}

}  // namespace sipsd

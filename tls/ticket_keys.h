// Session ticket keys: a ring of up to three keys. New tickets are encrypted with the newest
// key; tickets made with an older key are still accepted (and renewed) until the key falls off
// the ring. Shared by every domain of a module so tickets survive a reload; the ring itself is
// an immutable snapshot swapped atomically on rotation.
#pragma once
#include <openssl/ssl.h>

#include <array>
#include <atomic>
#include <chrono>
#include <cstdint>
#include <memory>
#include <vector>

namespace sipsd::tls {

class TicketKeyRing {
 public:
  static constexpr size_t kMaxKeys = 3;
  explicit TicketKeyRing(std::chrono::seconds lifetime);

  // Adds a fresh newest key, dropping the oldest beyond kMaxKeys.
  void rotate();
  // Rotates when the newest key is older than the lifetime. Returns true when it rotated.
  bool rotateIfDue();
  size_t size() const;
  std::chrono::seconds lifetime() const { return lifetime_; }

  // OpenSSL's ticket key callback (SSL_CTX_set_tlsext_ticket_key_evp_cb); finds the ring via
  // the domain attached to the SSL_CTX.
  static int callback(SSL* ssl, unsigned char keyName[16], unsigned char* iv, EVP_CIPHER_CTX* cctx,
                      EVP_MAC_CTX* hctx, int enc);
  // `tls13`: the connection negotiated TLS 1.3, where every accepted ticket is renewed.
  int handle(unsigned char keyName[16], unsigned char* iv, EVP_CIPHER_CTX* cctx, EVP_MAC_CTX* hctx, int enc,
             bool tls13) const;

 private:
  struct Key {
    std::array<unsigned char, 16> name;
    std::array<unsigned char, 32> aes;
    std::array<unsigned char, 32> hmac;
    std::chrono::steady_clock::time_point created;
  };
  using Ring = std::vector<Key>;  // newest first

  std::chrono::seconds lifetime_;
  std::atomic<std::shared_ptr<const Ring>> ring_;
};

}  // namespace sipsd::tls

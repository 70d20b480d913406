// Ticket key ring rotation and the OpenSSL ticket callback.
#include "tls/ticket_keys.h"

#include <openssl/core_names.h>
#include <openssl/evp.h>
#include <openssl/rand.h>

#include <cstring>

#include "tls/tls_domain.h"

namespace sipsd::tls {

TicketKeyRing::TicketKeyRing(std::chrono::seconds lifetime) : lifetime_(lifetime) {
  ring_.store(std::make_shared<const Ring>());
  rotate();
}

void TicketKeyRing::rotate() {
  Key k;
  if (RAND_bytes(k.name.data(), int(k.name.size())) != 1 || RAND_bytes(k.aes.data(), int(k.aes.size())) != 1 ||
      RAND_bytes(k.hmac.data(), int(k.hmac.size())) != 1) {
    return;  // keep the current ring: no weak keys
  }
  k.created = std::chrono::steady_clock::now();
  auto old = ring_.load();
  auto next = std::make_shared<Ring>();
  next->push_back(k);
  for (const auto& o : *old) {
    if (next->size() == kMaxKeys) break;
    next->push_back(o);
  }
  ring_.store(std::move(next));
}

bool TicketKeyRing::rotateIfDue() {
  auto r = ring_.load();
  if (!r->empty() && std::chrono::steady_clock::now() - r->front().created < lifetime_) return false;
  rotate();
  return true;
}

size_t TicketKeyRing::size() const { return ring_.load()->size(); }

int TicketKeyRing::callback(SSL* ssl, unsigned char keyName[16], unsigned char* iv, EVP_CIPHER_CTX* cctx,
                            EVP_MAC_CTX* hctx, int enc) {
  const TlsDomain* d = TlsDomain::fromCtx(SSL_get_SSL_CTX(ssl));
  if (!d || !d->ticketKeys()) return enc ? -1 : 0;
  return d->ticketKeys()->handle(keyName, iv, cctx, hctx, enc, SSL_version(ssl) >= TLS1_3_VERSION);
}

int TicketKeyRing::handle(unsigned char keyName[16], unsigned char* iv, EVP_CIPHER_CTX* cctx, EVP_MAC_CTX* hctx,
                          int enc, bool tls13) const {
  auto r = ring_.load();
  if (r->empty()) return enc ? -1 : 0;
  const Key* k = nullptr;
  bool newest = true;
  if (enc) {
    k = &r->front();
    std::memcpy(keyName, k->name.data(), 16);
    if (RAND_bytes(iv, EVP_CIPHER_get_iv_length(EVP_aes_256_cbc())) != 1) return -1;
    if (EVP_EncryptInit_ex(cctx, EVP_aes_256_cbc(), nullptr, k->aes.data(), iv) != 1) return -1;
  } else {
    for (size_t i = 0; i < r->size(); ++i) {
      if (std::memcmp((*r)[i].name.data(), keyName, 16) == 0) {
        k = &(*r)[i];
        newest = i == 0;
        break;
      }
    }
    if (!k) return 0;  // unknown or retired key: full handshake
    if (EVP_DecryptInit_ex(cctx, EVP_aes_256_cbc(), nullptr, k->aes.data(), iv) != 1) return -1;
  }
  char digest[] = "SHA256";
  OSSL_PARAM params[] = {
      OSSL_PARAM_construct_octet_string(OSSL_MAC_PARAM_KEY, const_cast<unsigned char*>(k->hmac.data()), k->hmac.size()),
      OSSL_PARAM_construct_utf8_string(OSSL_MAC_PARAM_DIGEST, digest, 0), OSSL_PARAM_construct_end()};
  if (EVP_MAC_CTX_set_params(hctx, params) != 1) return -1;
  if (enc) return 1;
  // 2: accept and issue a fresh ticket. Always in TLS 1.3: a 1.3 client uses each ticket once
  // (RFC 8446 C.4), so without a renewal every other reconnect would be a full handshake. In
  // TLS 1.2 a ticket stays valid and is renewed only once a newer key encrypts.
  return tls13 || !newest ? 2 : 1;
}

}  // namespace sipsd::tls

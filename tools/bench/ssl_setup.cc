// Client and server SSL_CTX construction for sipsd-bench and sipsd-baseline.
#include "ssl_setup.h"

namespace sipsd::bench {
namespace {

bool loadIdentity(SSL_CTX* ctx, const TlsFiles& files, std::string* error) {
  if (files.cert.empty() && files.key.empty()) return true;
  if (files.cert.empty() || files.key.empty()) {
    *error = "a certificate needs both --cert and --key";
    return false;
  }
  if (SSL_CTX_use_certificate_chain_file(ctx, files.cert.c_str()) != 1) {
    *error = "cannot load certificate " + files.cert + ": " + takeSslErrors();
    return false;
  }
  if (SSL_CTX_use_PrivateKey_file(ctx, files.key.c_str(), SSL_FILETYPE_PEM) != 1) {
    *error = "cannot load private key " + files.key + ": " + takeSslErrors();
    return false;
  }
  if (SSL_CTX_check_private_key(ctx) != 1) {
    *error = "private key " + files.key + " does not match certificate " + files.cert;
    takeSslErrors();
    return false;
  }
  return true;
}

bool loadCa(SSL_CTX* ctx, const std::string& ca, std::string* error) {
  if (SSL_CTX_load_verify_locations(ctx, ca.c_str(), nullptr) != 1) {
    *error = "cannot load CA list " + ca + ": " + takeSslErrors();
    return false;
  }
  return true;
}

SslCtxPtr baseCtx(const SSL_METHOD* method, std::string* error) {
  SslCtxPtr ctx(SSL_CTX_new(method));
  if (!ctx) {
    *error = "SSL_CTX_new failed: " + takeSslErrors();
    return nullptr;
  }
  SSL_CTX_set_min_proto_version(ctx.get(), TLS1_2_VERSION);
  // Writes are retried from the connection's own buffer, which may move between attempts.
  SSL_CTX_set_mode(ctx.get(), SSL_MODE_ENABLE_PARTIAL_WRITE | SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER);
  return ctx;
}

}  // namespace

SslCtxPtr makeClientCtx(const TlsFiles& files, std::string* error) {
  SslCtxPtr ctx = baseCtx(TLS_client_method(), error);
  if (!ctx || !loadIdentity(ctx.get(), files, error)) return nullptr;
  if (!files.ca.empty()) {
    if (!loadCa(ctx.get(), files.ca, error)) return nullptr;
    SSL_CTX_set_verify(ctx.get(), SSL_VERIFY_PEER, nullptr);
  } else {
    SSL_CTX_set_verify(ctx.get(), SSL_VERIFY_NONE, nullptr);
  }
  // Client-side cache only; sessions are resumed explicitly per client when asked.
  SSL_CTX_set_session_cache_mode(ctx.get(), SSL_SESS_CACHE_CLIENT | SSL_SESS_CACHE_NO_INTERNAL_STORE);
  return ctx;
}

SslCtxPtr makeServerCtx(const TlsFiles& files, std::string* error) {
  if (files.cert.empty() || files.key.empty()) {
    *error = "a TLS server needs --cert and --key";
    return nullptr;
  }
  SslCtxPtr ctx = baseCtx(TLS_server_method(), error);
  if (!ctx || !loadIdentity(ctx.get(), files, error)) return nullptr;
  // Without a session id context OpenSSL refuses to resume sessions of verified clients
  // (the handshake fails with an internal_error alert).
  static constexpr unsigned char kSidCtx[] = "sipsd-baseline";
  SSL_CTX_set_session_id_context(ctx.get(), kSidCtx, sizeof kSidCtx - 1);
  if (!files.ca.empty()) {
    if (!loadCa(ctx.get(), files.ca, error)) return nullptr;
    STACK_OF(X509_NAME)* names = SSL_load_client_CA_file(files.ca.c_str());
    if (names != nullptr) SSL_CTX_set_client_CA_list(ctx.get(), names);  // ctx takes ownership
    SSL_CTX_set_verify(ctx.get(), SSL_VERIFY_PEER | SSL_VERIFY_FAIL_IF_NO_PEER_CERT, nullptr);
  }
  return ctx;
}

}  // namespace sipsd::bench

// RAII owners for the OpenSSL objects the benchmark tools use, and the error-queue text helper.
// Kept local to tools/bench so the tools build without the TLS module.
#pragma once
#include <openssl/err.h>
#include <openssl/ssl.h>

#include <memory>
#include <string>

namespace sipsd::bench {

struct SslCtxFree { void operator()(SSL_CTX* p) const { SSL_CTX_free(p); } };
struct SslFree { void operator()(SSL* p) const { SSL_free(p); } };
struct SslSessionFree { void operator()(SSL_SESSION* p) const { SSL_SESSION_free(p); } };

using SslCtxPtr = std::unique_ptr<SSL_CTX, SslCtxFree>;
using SslPtr = std::unique_ptr<SSL, SslFree>;
using SslSessionPtr = std::unique_ptr<SSL_SESSION, SslSessionFree>;

// Drains the thread's OpenSSL error queue into one line ("" when empty), so a failure names
// the library's reason and a stale entry never leaks into the next connection's diagnosis.
inline std::string takeSslErrors() {
  std::string out;
  char buf[256];
  while (unsigned long e = ERR_get_error()) {
    ERR_error_string_n(e, buf, sizeof buf);
    if (!out.empty()) out += "; ";
    out += buf;
  }
  return out;
}

}  // namespace sipsd::bench

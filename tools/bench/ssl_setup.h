// Builds the client and server SSL_CTX of the benchmark tools from certificate file names.
#pragma once
#include "ssl_handles.h"

#include <string>

namespace sipsd::bench {

struct TlsFiles {
  std::string cert;  // PEM chain, leaf first ("" = none)
  std::string key;   // PEM key ("" = none)
  std::string ca;    // PEM CA list to verify the peer ("" = no verification / no client certs asked)
};

// A client context: TLS 1.2+, verifies the server against files.ca when given, presents
// files.cert/key when given.  On failure returns null and sets *error to a message naming the file.
SslCtxPtr makeClientCtx(const TlsFiles& files, std::string* error);

// A server context: TLS 1.2+, files.cert/key required; with files.ca it requires and verifies
// a client certificate.  On failure returns null and sets *error.
SslCtxPtr makeServerCtx(const TlsFiles& files, std::string* error);

}  // namespace sipsd::bench

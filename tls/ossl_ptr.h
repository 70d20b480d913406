// RAII owners for the OpenSSL objects the TLS module holds: one line per type, so no code
// path ever frees an OpenSSL object by hand.
#pragma once
#include <openssl/bio.h>
#include <openssl/evp.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include <memory>
#include <string>

namespace sipsd::tls {

#define SIPSD_OSSL_PTR(alias, type, freeFn)                       \
  struct alias##Deleter {                                         \
    void operator()(type* p) const noexcept { freeFn(p); }        \
  };                                                              \
  using alias = std::unique_ptr<type, alias##Deleter>

SIPSD_OSSL_PTR(SslCtxPtr, SSL_CTX, SSL_CTX_free);
SIPSD_OSSL_PTR(SslPtr, SSL, SSL_free);
SIPSD_OSSL_PTR(SslSessionPtr, SSL_SESSION, SSL_SESSION_free);
SIPSD_OSSL_PTR(X509Ptr, X509, X509_free);
SIPSD_OSSL_PTR(X509CrlPtr, X509_CRL, X509_CRL_free);
SIPSD_OSSL_PTR(X509StorePtr, X509_STORE, X509_STORE_free);
SIPSD_OSSL_PTR(X509StoreCtxPtr, X509_STORE_CTX, X509_STORE_CTX_free);
SIPSD_OSSL_PTR(EvpPkeyPtr, EVP_PKEY, EVP_PKEY_free);
SIPSD_OSSL_PTR(BioPtr, BIO, BIO_free_all);
SIPSD_OSSL_PTR(EvpMdCtxPtr, EVP_MD_CTX, EVP_MD_CTX_free);

#undef SIPSD_OSSL_PTR

// Owning STACK_OF(X509) / STACK_OF(X509_INFO) / STACK_OF(X509_NAME) / GENERAL_NAMES.
struct X509StackDeleter {
  void operator()(STACK_OF(X509) * s) const noexcept { sk_X509_pop_free(s, X509_free); }
};
using X509StackPtr = std::unique_ptr<STACK_OF(X509), X509StackDeleter>;
struct X509InfoStackDeleter {
  void operator()(STACK_OF(X509_INFO) * s) const noexcept { sk_X509_INFO_pop_free(s, X509_INFO_free); }
};
using X509InfoStackPtr = std::unique_ptr<STACK_OF(X509_INFO), X509InfoStackDeleter>;
struct X509NameStackDeleter {
  void operator()(STACK_OF(X509_NAME) * s) const noexcept { sk_X509_NAME_pop_free(s, X509_NAME_free); }
};
using X509NameStackPtr = std::unique_ptr<STACK_OF(X509_NAME), X509NameStackDeleter>;
struct GeneralNamesDeleter {
  void operator()(GENERAL_NAMES* s) const noexcept { GENERAL_NAMES_free(s); }
};
using GeneralNamesPtr = std::unique_ptr<GENERAL_NAMES, GeneralNamesDeleter>;

// The OpenSSL error queue of this thread as one line (and cleared), for diagnostics.
std::string opensslErrors();

}  // namespace sipsd::tls

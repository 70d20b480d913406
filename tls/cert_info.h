// Reads the fields of an X509 certificate that selects, RPCs and diagnostics show.
#pragma once
#include <openssl/x509.h>

#include <string>

namespace sipsd::tls {

class CertInfo {
 public:
  // "Jun 17 15:03:20 2005 GMT" (the SER format).
  static std::string timeText(const ASN1_TIME* t);
  // First entry of `nid` in a name (UTF-8), "" when absent.
  static std::string nameField(const X509_NAME* name, int nid);
  // First subjectAltName entry of a type (GEN_EMAIL, GEN_DNS, GEN_URI, GEN_IPADD); IPs as text.
  static std::string altName(X509* x, int genType);
  // SAN email, else the subject's emailAddress.
  static std::string email(X509* x);
  // Serial number in decimal.
  static std::string serial(X509* x);
  // SHA-256 of the DER form, lower-case hex without separators.
  static std::string fingerprint(X509* x);
  static bool expired(X509* x);
  static bool selfSigned(X509* x);
};

}  // namespace sipsd::tls

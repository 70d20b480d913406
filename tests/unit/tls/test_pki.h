// Test certificates made at test time with the OpenSSL API (EC P-256, fast): CAs, server and
// client certificates with any subject/SAN/validity, CRLs with chosen serials, lastUpdate
// and CRL number, and hash-directory names. Everything lives in a temp dir removed at the end.
#pragma once
#include <string>
#include <vector>

#include "tls/ossl_ptr.h"

namespace sipsd::tls::test {

struct KeyCert {
  EvpPkeyPtr key;
  X509Ptr cert;
};

struct CertSpec {
  std::string cn;
  std::string o, ou, l, c, st, email;   // subject fields (email: SAN rfc822Name)
  std::vector<std::string> dns, ips;    // SANs
  std::string uri;
  long serial = 0;                      // 0: next
  long notBeforeDays = -1, notAfterDays = 30;  // relative to now
  bool ca = false;
};

class TestPki {
 public:
  TestPki();
  ~TestPki();
  TestPki(const TestPki&) = delete;
  TestPki& operator=(const TestPki&) = delete;

  const std::string& dir() const { return dir_; }
  std::string path(const std::string& name) const { return dir_ + "/" + name; }

  KeyCert makeCa(const std::string& cn);
  KeyCert issue(const KeyCert& ca, CertSpec spec);  // ca.cert null: self-signed
  // Writes NAME.crt (chain: leaf then `chainCa` if given) and NAME.key; returns dir/NAME.
  std::string write(const std::string& name, const KeyCert& kc, const KeyCert* chainCa = nullptr);
  void writeCert(const std::string& file, X509* x);
  void writeKey(const std::string& file, EVP_PKEY* k);
  // A CRL of `ca` revoking `serials`, lastUpdate = now + lastUpdateOffsetSec.
  X509CrlPtr makeCrl(const KeyCert& ca, const std::vector<long>& serials, long crlNumber, long lastUpdateOffsetSec = -60);
  void writeCrl(const std::string& file, X509_CRL* crl);
  // "1a2b3c4d" names for hash directories.
  static std::string hashOf(X509* cert);
  static std::string hashOf(X509_CRL* crl);
  void writeFile(const std::string& file, const std::string& text);

 private:
  std::string dir_;
  long nextSerial_ = 100;
};

}  // namespace sipsd::tls::test

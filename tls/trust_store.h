// Loads the trust material of a domain into a fresh X509_STORE: the CA list file, every
// hash.N / hash.rN file of a hash directory and a CRL file. CRLs are read explicitly at build
// time (not through X509_LOOKUP_hash_dir) so a replaced .r0 is seen, and only the newest CRL of
// each issuer is kept (lastUpdate, then CRL number, then file order).
#pragma once
#include <map>
#include <string>
#include <vector>

#include "tls/ossl_ptr.h"

namespace sipsd::tls {

struct TrustMaterial {
  std::vector<X509Ptr> certs;
  std::vector<X509CrlPtr> crls;
  std::map<const X509_CRL*, std::string> crlFiles;  // the file each CRL was read from
};

class TrustStore {
 public:
  // Every certificate and CRL in a PEM file. Errors name the file.
  static std::string loadPemFile(const std::string& path, TrustMaterial& out, bool wantCerts, bool wantCrls);
  // The hash.N certificates and hash.rN CRLs of an X509_LOOKUP_hash_dir style directory.
  static std::string loadHashDir(const std::string& dir, TrustMaterial& out);
  // Keeps one CRL per issuer: the newest.
  static void keepNewestCrls(std::vector<X509CrlPtr>& crls);
  // Adds `m` to `store`.
  static std::string fill(X509_STORE* store, TrustMaterial& m);
};

}  // namespace sipsd::tls

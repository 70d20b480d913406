// Certificate field extraction.
#include "tls/cert_info.h"

#include <arpa/inet.h>
#include <openssl/bn.h>
#include <openssl/evp.h>
#include <openssl/x509v3.h>

#include "tls/ossl_ptr.h"

namespace sipsd::tls {

std::string CertInfo::timeText(const ASN1_TIME* t) {
  if (!t) return {};
  BioPtr b(BIO_new(BIO_s_mem()));
  if (!b || ASN1_TIME_print(b.get(), t) != 1) return {};
  char* p = nullptr;
  long n = BIO_get_mem_data(b.get(), &p);
  return std::string(p, size_t(n));
}

std::string CertInfo::nameField(const X509_NAME* name, int nid) {
  if (!name) return {};
  int i = X509_NAME_get_index_by_NID(name, nid, -1);
  if (i < 0) return {};
  ASN1_STRING* s = X509_NAME_ENTRY_get_data(X509_NAME_get_entry(name, i));
  unsigned char* utf8 = nullptr;
  int n = ASN1_STRING_to_UTF8(&utf8, s);
  if (n < 0) return {};
  std::string r(reinterpret_cast<char*>(utf8), size_t(n));
  OPENSSL_free(utf8);
  return r;
}

std::string CertInfo::altName(X509* x, int genType) {
  if (!x) return {};
  GeneralNamesPtr names(static_cast<GENERAL_NAMES*>(X509_get_ext_d2i(x, NID_subject_alt_name, nullptr, nullptr)));
  if (!names) return {};
  for (int i = 0; i < sk_GENERAL_NAME_num(names.get()); ++i) {
    const GENERAL_NAME* g = sk_GENERAL_NAME_value(names.get(), i);
    if (g->type != genType) continue;
    if (genType == GEN_IPADD) {
      const ASN1_OCTET_STRING* ip = g->d.iPAddress;
      char buf[INET6_ADDRSTRLEN] = {};
      int af = ip->length == 4 ? AF_INET : ip->length == 16 ? AF_INET6 : 0;
      if (af && inet_ntop(af, ip->data, buf, sizeof buf)) return buf;
      continue;
    }
    const ASN1_IA5STRING* s = g->d.ia5;  // email, DNS and URI are all IA5String
    return std::string(reinterpret_cast<const char*>(ASN1_STRING_get0_data(s)), size_t(ASN1_STRING_length(s)));
  }
  return {};
}

std::string CertInfo::email(X509* x) {
  std::string e = altName(x, GEN_EMAIL);
  if (e.empty() && x) e = nameField(X509_get_subject_name(x), NID_pkcs9_emailAddress);
  return e;
}

std::string CertInfo::serial(X509* x) {
  if (!x) return {};
  BIGNUM* bn = ASN1_INTEGER_to_BN(X509_get0_serialNumber(x), nullptr);
  if (!bn) return {};
  char* dec = BN_bn2dec(bn);
  std::string r = dec ? dec : "";
  OPENSSL_free(dec);
  BN_free(bn);
  return r;
}

std::string CertInfo::fingerprint(X509* x) {
  if (!x) return {};
  unsigned char md[EVP_MAX_MD_SIZE];
  unsigned len = 0;
  if (X509_digest(x, EVP_sha256(), md, &len) != 1) return {};
  static const char hex[] = "0123456789abcdef";
  std::string r;
  r.reserve(len * 2);
  for (unsigned i = 0; i < len; ++i) {
    r += hex[md[i] >> 4];
    r += hex[md[i] & 15];
  }
  return r;
}

bool CertInfo::expired(X509* x) { return x && X509_cmp_current_time(X509_get0_notAfter(x)) < 0; }

bool CertInfo::selfSigned(X509* x) { return x && X509_self_signed(x, 1) == 1; }

}  // namespace sipsd::tls

// Test PKI built with the OpenSSL API.
#include "test_pki.h"

#include <arpa/inet.h>
#include <openssl/pem.h>
#include <openssl/x509v3.h>

#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <stdexcept>

namespace sipsd::tls::test {

TestPki::TestPki() {
  char tmpl[] = "/tmp/sipsd-tls-test-XXXXXX";
  if (!mkdtemp(tmpl)) throw std::runtime_error("mkdtemp failed");
  dir_ = tmpl;
}

TestPki::~TestPki() {
  std::error_code ec;
  std::filesystem::remove_all(dir_, ec);
}

static EvpPkeyPtr newKey() {
  EvpPkeyPtr k(EVP_EC_gen("P-256"));
  if (!k) throw std::runtime_error("EVP_EC_gen failed");
  return k;
}

static void addName(X509_NAME* n, const char* field, const std::string& v) {
  if (!v.empty()) {
    X509_NAME_add_entry_by_txt(n, field, MBSTRING_UTF8, reinterpret_cast<const unsigned char*>(v.c_str()), -1, -1, 0);
  }
}

static void addExt(X509* x, X509* issuer, int nid, const std::string& value) {
  X509V3_CTX ctx;
  X509V3_set_ctx_nodb(&ctx);
  X509V3_set_ctx(&ctx, issuer, x, nullptr, nullptr, 0);
  X509_EXTENSION* ext = X509V3_EXT_conf_nid(nullptr, &ctx, nid, value.c_str());
  if (!ext) throw std::runtime_error("bad extension " + value);
  X509_add_ext(x, ext, -1);
  X509_EXTENSION_free(ext);
}

KeyCert TestPki::makeCa(const std::string& cn) {
  CertSpec s;
  s.cn = cn;
  s.ca = true;
  s.notAfterDays = 365;
  return issue(KeyCert{}, s);
}

KeyCert TestPki::issue(const KeyCert& ca, CertSpec spec) {
  KeyCert kc;
  kc.key = newKey();
  kc.cert.reset(X509_new());
  X509* x = kc.cert.get();
  X509_set_version(x, 2);
  ASN1_INTEGER_set(X509_get_serialNumber(x), spec.serial ? spec.serial : nextSerial_++);
  X509_gmtime_adj(X509_getm_notBefore(x), spec.notBeforeDays * 86400);
  X509_gmtime_adj(X509_getm_notAfter(x), spec.notAfterDays * 86400);
  X509_set_pubkey(x, kc.key.get());
  X509_NAME* n = X509_get_subject_name(x);
  addName(n, "C", spec.c);
  addName(n, "ST", spec.st);
  addName(n, "L", spec.l);
  addName(n, "O", spec.o);
  addName(n, "OU", spec.ou);
  addName(n, "CN", spec.cn);
  X509* issuer = ca.cert ? ca.cert.get() : x;
  X509_set_issuer_name(x, X509_get_subject_name(issuer));
  if (spec.ca) {
    addExt(x, issuer, NID_basic_constraints, "critical,CA:TRUE");
    addExt(x, issuer, NID_key_usage, "critical,keyCertSign,cRLSign,digitalSignature");
  } else {
    addExt(x, issuer, NID_basic_constraints, "CA:FALSE");
    addExt(x, issuer, NID_ext_key_usage, "serverAuth,clientAuth");
  }
  addExt(x, issuer, NID_subject_key_identifier, "hash");
  if (ca.cert) addExt(x, issuer, NID_authority_key_identifier, "keyid:always");
  std::string san;
  for (const auto& d : spec.dns) san += (san.empty() ? "" : ",") + std::string("DNS:") + d;
  for (const auto& i : spec.ips) san += (san.empty() ? "" : ",") + std::string("IP:") + i;
  if (!spec.email.empty()) san += (san.empty() ? "" : ",") + std::string("email:") + spec.email;
  if (!spec.uri.empty()) san += (san.empty() ? "" : ",") + std::string("URI:") + spec.uri;
  if (!san.empty()) addExt(x, issuer, NID_subject_alt_name, san);
  EVP_PKEY* signer = ca.key ? ca.key.get() : kc.key.get();
  if (!X509_sign(x, signer, EVP_sha256())) throw std::runtime_error("X509_sign failed");
  return kc;
}

void TestPki::writeCert(const std::string& file, X509* x) {
  std::FILE* f = std::fopen(file.c_str(), "a");
  PEM_write_X509(f, x);
  std::fclose(f);
}

void TestPki::writeKey(const std::string& file, EVP_PKEY* k) {
  std::FILE* f = std::fopen(file.c_str(), "w");
  PEM_write_PrivateKey(f, k, nullptr, nullptr, 0, nullptr, nullptr);
  std::fclose(f);
}

std::string TestPki::write(const std::string& name, const KeyCert& kc, const KeyCert* chainCa) {
  std::string base = path(name);
  std::remove((base + ".crt").c_str());
  writeCert(base + ".crt", kc.cert.get());
  if (chainCa) writeCert(base + ".crt", chainCa->cert.get());
  writeKey(base + ".key", kc.key.get());
  return base;
}

X509CrlPtr TestPki::makeCrl(const KeyCert& ca, const std::vector<long>& serials, long crlNumber,
                            long lastUpdateOffsetSec) {
  X509CrlPtr crl(X509_CRL_new());
  X509_CRL* c = crl.get();
  X509_CRL_set_version(c, 1);
  X509_CRL_set_issuer_name(c, X509_get_subject_name(ca.cert.get()));
  ASN1_TIME* last = X509_gmtime_adj(nullptr, lastUpdateOffsetSec);
  ASN1_TIME* next = X509_gmtime_adj(nullptr, 30L * 86400);
  X509_CRL_set1_lastUpdate(c, last);
  X509_CRL_set1_nextUpdate(c, next);
  for (long s : serials) {
    X509_REVOKED* r = X509_REVOKED_new();
    ASN1_INTEGER* sn = ASN1_INTEGER_new();
    ASN1_INTEGER_set(sn, s);
    X509_REVOKED_set_serialNumber(r, sn);
    X509_REVOKED_set_revocationDate(r, last);
    X509_CRL_add0_revoked(c, r);
    ASN1_INTEGER_free(sn);
  }
  ASN1_TIME_free(last);
  ASN1_TIME_free(next);
  ASN1_INTEGER* num = ASN1_INTEGER_new();
  ASN1_INTEGER_set(num, crlNumber);
  X509_CRL_add1_ext_i2d(c, NID_crl_number, num, 0, 0);
  ASN1_INTEGER_free(num);
  X509_CRL_sort(c);
  if (!X509_CRL_sign(c, ca.key.get(), EVP_sha256())) throw std::runtime_error("X509_CRL_sign failed");
  return crl;
}

void TestPki::writeCrl(const std::string& file, X509_CRL* crl) {
  // Write to a temp name and rename, as a careful operator (or sipsd-ca) would.
  std::string tmp = file + ".tmp";
  std::FILE* f = std::fopen(tmp.c_str(), "w");
  PEM_write_X509_CRL(f, crl);
  std::fclose(f);
  std::rename(tmp.c_str(), file.c_str());
}

static std::string hex8(unsigned long h) {
  char buf[16];
  std::snprintf(buf, sizeof buf, "%08lx", h & 0xffffffffUL);
  return buf;
}

std::string TestPki::hashOf(X509* cert) { return hex8(X509_subject_name_hash(cert)); }
std::string TestPki::hashOf(X509_CRL* crl) { return hex8(X509_NAME_hash_ex(X509_CRL_get_issuer(crl), nullptr, nullptr, nullptr)); }

void TestPki::writeFile(const std::string& file, const std::string& text) {
  std::ofstream(file) << text;
}

}  // namespace sipsd::tls::test

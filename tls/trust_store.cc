// Trust material loading (CA files, hash directories, CRL files) for domain stores.
#include "tls/trust_store.h"

#include <dirent.h>
#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/x509v3.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <map>
#include <regex>

namespace sipsd::tls {

std::string opensslErrors() {
  std::string r;
  unsigned long e;
  char buf[256];
  while ((e = ERR_get_error()) != 0) {
    ERR_error_string_n(e, buf, sizeof buf);
    if (!r.empty()) r += "; ";
    r += buf;
  }
  return r;
}

std::string TrustStore::loadPemFile(const std::string& path, TrustMaterial& out, bool wantCerts, bool wantCrls) {
  ERR_clear_error();
  BioPtr bio(BIO_new_file(path.c_str(), "r"));
  if (!bio) {
    int e = errno;
    ERR_clear_error();
    return path + ": cannot open: " + std::strerror(e);
  }
  X509InfoStackPtr infos(PEM_X509_INFO_read_bio(bio.get(), nullptr, nullptr, nullptr));
  if (!infos) return path + ": not a PEM file: " + opensslErrors();
  size_t got = 0;
  for (int i = 0; i < sk_X509_INFO_num(infos.get()); ++i) {
    X509_INFO* info = sk_X509_INFO_value(infos.get(), i);
    if (wantCerts && info->x509) {
      X509_up_ref(info->x509);
      out.certs.emplace_back(info->x509);
      ++got;
    }
    if (wantCrls && info->crl) {
      X509_CRL_up_ref(info->crl);
      out.crls.emplace_back(info->crl);
      out.crlFiles[info->crl] = path;
      ++got;
    }
  }
  if (got == 0) {
    return path + ": contains no " + std::string(wantCerts && wantCrls ? "certificate or CRL" : wantCerts ? "certificate" : "CRL");
  }
  return {};
}

std::string TrustStore::loadHashDir(const std::string& dir, TrustMaterial& out) {
  DIR* d = ::opendir(dir.c_str());
  if (!d) return dir + ": cannot open directory: " + std::strerror(errno);
  static const std::regex certRe("^[0-9a-f]{8}\\.[0-9]+$");
  static const std::regex crlRe("^[0-9a-f]{8}\\.r[0-9]+$");
  std::vector<std::pair<std::string, bool>> files;  // name, isCrl
  while (dirent* e = ::readdir(d)) {
    std::string n = e->d_name;
    if (std::regex_match(n, certRe)) files.emplace_back(n, false);
    else if (std::regex_match(n, crlRe)) files.emplace_back(n, true);
  }
  ::closedir(d);
  // Sorted so that among equally new CRLs the higher sequence number (added later) wins.
  std::sort(files.begin(), files.end(), [](const auto& a, const auto& b) {
    auto seq = [](const std::string& n) { return std::stol(n.substr(n.find_last_not_of("0123456789") + 1)); };
    auto ha = a.first.substr(0, 8), hb = b.first.substr(0, 8);
    if (ha != hb) return ha < hb;
    return seq(a.first) < seq(b.first);
  });
  for (const auto& [name, isCrl] : files) {
    std::string err = loadPemFile(dir + "/" + name, out, !isCrl, isCrl);
    if (!err.empty()) return err;
  }
  return {};
}

static int crlNumber(X509_CRL* crl, BIGNUM* out) {
  ASN1_INTEGER* n = static_cast<ASN1_INTEGER*>(X509_CRL_get_ext_d2i(crl, NID_crl_number, nullptr, nullptr));
  if (!n) return 0;
  ASN1_INTEGER_to_BN(n, out);
  ASN1_INTEGER_free(n);
  return 1;
}

// True when `b` should replace `a` as the CRL of their issuer.
static bool newer(X509_CRL* a, X509_CRL* b) {
  int day = 0, sec = 0;
  if (ASN1_TIME_diff(&day, &sec, X509_CRL_get0_lastUpdate(a), X509_CRL_get0_lastUpdate(b))) {
    if (day > 0 || sec > 0) return true;
    if (day < 0 || sec < 0) return false;
  }
  BIGNUM* na = BN_new();
  BIGNUM* nb = BN_new();
  bool r = true;  // same second: the later one in load order wins
  if (na && nb && crlNumber(a, na) && crlNumber(b, nb)) r = BN_cmp(nb, na) >= 0;
  BN_free(na);
  BN_free(nb);
  return r;
}

void TrustStore::keepNewestCrls(std::vector<X509CrlPtr>& crls) {
  std::vector<X509CrlPtr> kept;
  for (auto& c : crls) {
    auto it = std::find_if(kept.begin(), kept.end(), [&](const X509CrlPtr& k) {
      return X509_NAME_cmp(X509_CRL_get_issuer(k.get()), X509_CRL_get_issuer(c.get())) == 0;
    });
    if (it == kept.end()) kept.push_back(std::move(c));
    else if (newer(it->get(), c.get())) *it = std::move(c);
  }
  crls = std::move(kept);
}

std::string TrustStore::fill(X509_STORE* store, TrustMaterial& m) {
  ERR_clear_error();
  for (auto& c : m.certs) {
    if (!X509_STORE_add_cert(store, c.get())) {
      // A duplicate CA (same cert in the CA file and the hash dir) is harmless.
      unsigned long e = ERR_peek_last_error();
      if (ERR_GET_REASON(e) != X509_R_CERT_ALREADY_IN_HASH_TABLE) return "cannot add CA certificate: " + opensslErrors();
      ERR_clear_error();
    }
  }
  keepNewestCrls(m.crls);
  for (auto& c : m.crls) {
    if (!X509_STORE_add_crl(store, c.get())) return "cannot add CRL: " + opensslErrors();
  }
  return {};
}

}  // namespace sipsd::tls

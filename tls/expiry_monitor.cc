#include "tls/expiry_monitor.h"

#include <openssl/ssl.h>
#include <openssl/x509.h>

#include <ctime>

#include "core/log.h"
#include "core/module_api.h"
#include "tls/cert_info.h"
#include "tls/tls_domain_set.h"

namespace sipsd::tls {
namespace {

int64_t unixTime(const ASN1_TIME* t) {
  if (!t) return 0;
  struct tm tm {};
  if (ASN1_TIME_to_tm(t, &tm) != 1) return 0;
  return int64_t(timegm(&tm));
}

std::string isoDate(int64_t t) {
  time_t tt = time_t(t);
  struct tm tm {};
  gmtime_r(&tt, &tm);
  char buf[32];
  strftime(buf, sizeof buf, "%Y-%m-%d %H:%M:%S UTC", &tm);
  return buf;
}

}  // namespace

std::vector<ExpiryItem> ExpiryMonitor::collect(const TlsDomainSet& set) {
  std::vector<ExpiryItem> out;
  for (const auto& d : set.all()) {
    SSL_CTX* ctx = d->ctx();
    if (!ctx) continue;
    if (X509* cert = SSL_CTX_get0_certificate(ctx)) {
      out.push_back({d->name(), "certificate", CertInfo::nameField(X509_get_subject_name(cert), NID_commonName),
                     unixTime(X509_get0_notAfter(cert))});
    }
    X509_STORE* store = SSL_CTX_get_cert_store(ctx);
    if (!store) continue;
    // The store is built once per domain and not changed afterwards (a change builds a new
    // domain), but take its lock as the API asks.
    X509_STORE_lock(store);
    STACK_OF(X509_OBJECT)* objs = X509_STORE_get0_objects(store);
    for (int i = 0; objs && i < sk_X509_OBJECT_num(objs); ++i) {
      X509_OBJECT* o = sk_X509_OBJECT_value(objs, i);
      if (X509_OBJECT_get_type(o) != X509_LU_CRL) continue;
      X509_CRL* crl = X509_OBJECT_get0_X509_CRL(o);
      out.push_back({d->name(), "crl", CertInfo::nameField(X509_CRL_get_issuer(crl), NID_commonName),
                     unixTime(X509_CRL_get0_nextUpdate(crl))});
    }
    X509_STORE_unlock(store);
  }
  return out;
}

int ExpiryMonitor::check(const TlsDomainSet& set, int days, int64_t now) {
  int logged = 0;
  for (const auto& it : collect(set)) {
    // CRLs are warned about by TlsModule::checkCrlDates, per file, every second (it knows the
    // file and every domain using it): one line per CRL per event, not one per domain and path.
    if (it.kind == "crl" || !due(it, days, now)) continue;
    std::string key = it.domain + "|" + it.kind + "|" + it.name + "|" + std::to_string(it.when);
    auto last = lastLogged_.find(key);
    if (last != lastLogged_.end() && now - last->second < 86400) continue;
    lastLogged_[key] = now;
    const bool cert = it.kind == "certificate";
    std::string what = cert ? "certificate '" + it.name + "'" : "CRL of '" + it.name + "'";
    std::string text = "TLS domain " + it.domain + ": " + what;
    int64_t left = it.when - now;
    if (left <= 0) {
      text += cert ? " expired at " : " is past its nextUpdate ";
      text += isoDate(it.when);
      text += cert ? "" : " (with crl_enabled, peers it covers fail verification)";
    } else {
      text += cert ? " expires at " : " reaches its nextUpdate at ";
      text += isoDate(it.when) + ", in " + std::to_string(left / 86400) + " days " +
              std::to_string(left % 86400 / 3600) + " hours (expiry_warning_days " + std::to_string(days) + ")";
    }
    logging::write(kLogWarn, "tls", text);
    ++logged;
  }
  return logged;
}

}  // namespace sipsd::tls

#include "tls/tls_metrics.h"

#include <openssl/ssl.h>
#include <openssl/x509_vfy.h>

#include "tls/expiry_monitor.h"
#include "tls/tls_domain_set.h"

namespace sipsd::tls {

TlsMetrics& TlsMetrics::instance() {
  static TlsMetrics m;
  return m;
}

HandshakeOutcome TlsMetrics::classify(int verifyErr, int sslReason) {
  switch (verifyErr) {
    case 0: break;
    case X509_V_ERR_CERT_REVOKED: return HandshakeOutcome::Revoked;
    case X509_V_ERR_CERT_HAS_EXPIRED:
    case X509_V_ERR_CRL_HAS_EXPIRED:
    case X509_V_ERR_CERT_NOT_YET_VALID: return HandshakeOutcome::Expired;
    case X509_V_ERR_UNABLE_TO_GET_ISSUER_CERT:
    case X509_V_ERR_UNABLE_TO_GET_ISSUER_CERT_LOCALLY:
    case X509_V_ERR_DEPTH_ZERO_SELF_SIGNED_CERT:
    case X509_V_ERR_SELF_SIGNED_CERT_IN_CHAIN:
    case X509_V_ERR_UNABLE_TO_VERIFY_LEAF_SIGNATURE:
    case X509_V_ERR_CERT_UNTRUSTED: return HandshakeOutcome::UnknownCa;
    default: return HandshakeOutcome::VerifyFailed;
  }
  switch (sslReason) {
    case SSL_R_PEER_DID_NOT_RETURN_A_CERTIFICATE: return HandshakeOutcome::NoCertificate;
    // The peer refused our certificate; from its alert.
    case SSL_R_TLSV1_ALERT_UNKNOWN_CA: return HandshakeOutcome::UnknownCa;
    case SSL_R_SSLV3_ALERT_CERTIFICATE_REVOKED: return HandshakeOutcome::Revoked;
    case SSL_R_SSLV3_ALERT_CERTIFICATE_EXPIRED: return HandshakeOutcome::Expired;
    case SSL_R_TLSV13_ALERT_CERTIFICATE_REQUIRED: return HandshakeOutcome::NoCertificate;
    case SSL_R_CERTIFICATE_VERIFY_FAILED: return HandshakeOutcome::VerifyFailed;
    default: return HandshakeOutcome::Protocol;
  }
}

const char* TlsMetrics::outcomeName(HandshakeOutcome o) {
  static const char* const names[] = {"ok",      "revoked", "expired", "unknown_ca", "no_certificate",
                                      "verify_failed", "timeout", "aborted", "protocol"};
  return names[size_t(o)];
}

void TlsMetrics::write(MetricsWriter& w, const TlsDomainSet* set, int days, int64_t now) const {
  w.family("sipsd_tls_handshakes_total", "counter",
           "TLS handshakes by side and result: ok, or why they failed (revoked, expired, unknown_ca, no_certificate, "
           "verify_failed, timeout, aborted = peer closed, protocol = anything else).");
  for (Side side : {Side::Server, Side::Client}) {
    for (size_t o = 0; o < kOutcomes; ++o) {
      w.sample("sipsd_tls_handshakes_total", {{"side", sideName(side)}, {"result", outcomeName(HandshakeOutcome(o))}},
               handshakes(side, HandshakeOutcome(o)));
    }
  }
  w.family("sipsd_tls_reloads_total", "counter", "TLS domain set reloads (tls.reload, SIGHUP, changed files) by result.");
  w.sample("sipsd_tls_reloads_total", {{"result", "ok"}}, c_.sum(2 * kOutcomes));
  w.sample("sipsd_tls_reloads_total", {{"result", "failed"}}, c_.sum(2 * kOutcomes + 1));
  w.family("sipsd_tls_expiry_warning_days", "gauge", "Days before notAfter/nextUpdate that expiry warnings start.");
  w.sample("sipsd_tls_expiry_warning_days", {}, int64_t(days));
  if (!set) return;
  auto items = ExpiryMonitor::collect(*set);
  w.family("sipsd_tls_certificate_not_after_seconds", "gauge", "notAfter of each TLS domain's certificate (Unix time).");
  for (const auto& it : items)
    if (it.kind == "certificate") w.sample("sipsd_tls_certificate_not_after_seconds", {{"domain", it.domain}, {"subject", it.name}}, it.when);
  w.family("sipsd_tls_crl_next_update_seconds", "gauge", "nextUpdate of each CRL a TLS domain checks against (Unix time).");
  for (const auto& it : items)
    if (it.kind == "crl") w.sample("sipsd_tls_crl_next_update_seconds", {{"domain", it.domain}, {"issuer", it.name}}, it.when);
  w.family("sipsd_tls_expiry_warning", "gauge",
           "1 when a certificate's notAfter or a CRL's nextUpdate is within expiry_warning_days (or past).");
  for (const auto& it : items)
    w.sample("sipsd_tls_expiry_warning", {{"domain", it.domain}, {"kind", it.kind}, {"name", it.name}},
             int64_t(ExpiryMonitor::due(it, days, now) ? 1 : 0));
}

}  // namespace sipsd::tls

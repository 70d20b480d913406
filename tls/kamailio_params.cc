// The Kamailio tls modparams table: renamed ones forwarded, the rest accepted with a warning.
#include "tls/kamailio_params.h"

#include "core/log.h"
#include "tls/tls_config.h"
#include "tls/tls_module.h"

namespace sipsd::tls {
namespace {

struct NoEffect {
  const char* name;
  const char* why;
};

// Why each Kamailio knob does nothing here (from Kamailio's tls module documentation).
const NoEffect kNoEffect[] = {
    {"ssl_release_buffers", "sipsd always sets SSL_MODE_RELEASE_BUFFERS (idle connections hold no buffers)"},
    {"ssl_freelist_max_len", "OpenSSL 3 has no buffer free list"},
    {"ssl_max_send_fragment", "records use OpenSSL's default maximum fragment size"},
    {"ssl_read_ahead", "sipsd reads through memory BIOs; read-ahead does not apply"},
    {"send_close_notify", "sipsd always sends close_notify when it closes a TLS connection"},
    {"con_ct_wq_max", "sipsd bounds each connection's queue with tcp_max_send_queue"},
    {"ct_wq_max", "sipsd bounds each connection's queue with tcp_max_send_queue"},
    {"ct_wq_blk_size", "sipsd's send queues need no block size"},
    {"tls_debug", "use tls_log (log level of handshake diagnostics) or debug="},
    {"low_mem_threshold1", "sipsd uses the system allocator, not a shared memory pool"},
    {"low_mem_threshold2", "sipsd uses the system allocator, not a shared memory pool"},
    {"tls_force_run", "sipsd never starts with broken TLS settings; fix what sipsd -c reports"},
    {"session_id", "server sessions are bound to their domain already"},
    {"renegotiation", "renegotiation is always refused (SSL_OP_NO_RENEGOTIATION)"},
    {"xavp_cfg", "pick client domains with tls_set_connect_server_id(id)"},
    {"event_callback", "sipsd has no tls:connection-out event route"},
    {"rand_engine", "OpenSSL 3's default random generator is used"},
    {"engine", "OpenSSL engines (HSM keys) are not supported"},
    {"engine_config", "OpenSSL engines (HSM keys) are not supported"},
    {"engine_algorithms", "OpenSSL engines (HSM keys) are not supported"},
    {"keylog_mode", "TLS key logging is not supported"},
    {"keylog_file", "TLS key logging is not supported"},
    {"keylog_peer", "TLS key logging is not supported"},
    {"init_mode", "sipsd initialises OpenSSL once, in the main thread"},
    {"connection_timeout", "idle connections are closed after tcp_connection_lifetime (core setting)"},
};

void warn(const ParamValue& v, const std::string& name, const std::string& why) {
  logging::write(kLogWarn, "tls",
                 (v.loc.file.empty() ? std::string() : v.loc.str() + ": ") + "warning: modparam(\"tls\", \"" + name +
                     "\") has no effect in sipsd: " + why);
}

}  // namespace

std::vector<ParamExport> kamailioParams(TlsModule& m) {
  std::vector<ParamExport> out;
  for (const auto& n : kNoEffect) {
    std::string name = n.name, why = n.why;
    out.push_back({name, ParamType::Any, [name, why](const ParamValue& v) -> Result<void> {
                     warn(v, name, why);
                     return {};
                   }});
  }
  // Compression is always off (CRIME); only asking for it is worth a warning.
  out.push_back({"tls_disable_compression", ParamType::Any, [](const ParamValue& v) -> Result<void> {
                   auto b = parseBool(v);
                   if (!b) return fail("tls_disable_compression must be 0 or 1, not '" + v.text() + "'");
                   if (!*b) warn(v, "tls_disable_compression", "TLS compression is always disabled");
                   return {};
                 }});
  // verify_client (Kamailio 5.5+): the verify/require pair of the server domain(s) it names.
  out.push_back({"verify_client", ParamType::Any, [&m](const ParamValue& v) -> Result<void> {
                   std::string text = v.text(), prefix = "server:default";
                   if (auto eq = text.find('='); eq != std::string::npos) {
                     prefix = text.substr(0, eq);
                     text = text.substr(eq + 1);
                   }
                   const char *verify, *require;
                   if (text == "off") verify = "0", require = "0";
                   else if (text == "on") verify = "1", require = "1";
                   else if (text == "optional" || text == "optional_no_ca") verify = "1", require = "0";
                   else return fail("verify_client must be off, on, optional or optional_no_ca, not '" + text + "'");
                   if (text == "optional_no_ca") {
                     warn(v, "verify_client", "optional_no_ca is treated as optional: a certificate that is sent must verify");
                   }
                   ParamValue a = v, b = v;
                   a.isInt = b.isInt = false;
                   a.str = prefix + "=" + verify;
                   b.str = prefix + "=" + require;
                   if (auto verified = m.setParam("verify_certificate", a); !verified) return verified;
                   return m.setParam("require_certificate", b);
                 }});
  return out;
}

}  // namespace sipsd::tls

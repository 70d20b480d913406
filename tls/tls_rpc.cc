// tls.info (counts), tls.list (one entry per connection), tls.options (effective settings per
// domain, never key material), tls.reload (what changed, or a fault saying why not) and
// tls.kill (close one TLS connection by the id tls.list shows).
#include "tls/tls_rpc.h"

#include <string>

#include "tls/setting_table.h"
#include "tls/tls_domain_set.h"
#include "tls/tls_module.h"
#include "tls/tls_session.h"

namespace sipsd::tls {

std::vector<RpcMethod> tlsRpcMethods(TlsModule& m) {
  std::vector<RpcMethod> r;
  r.push_back({"tls.info", "TLS connection and domain counts", [&m](const std::vector<RpcValue>&) {
                 int64_t total = 0, established = 0, server = 0, client = 0;
                 m.transport().registry().forEach([&](const TlsSession& s) {
                   ++total;
                   if (s.publishedEstablished()) ++established;
                   if (s.side() == Side::Server) ++server;
                   else ++client;
                 });
                 auto set = m.transport().current();
                 RpcStruct st;
                 st.emplace_back("connections", total);
                 st.emplace_back("established", established);
                 st.emplace_back("handshaking", total - established);
                 st.emplace_back("inbound", server);
                 st.emplace_back("outbound", client);
                 st.emplace_back("domains", int64_t(set ? set->all().size() : 0));
                 st.emplace_back("ticket_keys", int64_t(m.ticketKeys() ? m.ticketKeys()->size() : 0));
                 return RpcValue(std::move(st));
               }});
  r.push_back({"tls.list", "One entry per TLS connection", [&m](const std::vector<RpcValue>&) {
                 RpcArray a;
                 m.transport().registry().forEach([&](const TlsSession& s) { a.emplace_back(s.listEntry()); });
                 return RpcValue(std::move(a));
               }});
  r.push_back({"tls.options", "Effective settings per TLS domain", [&m](const std::vector<RpcValue>&) {
                 auto set = m.transport().current();
                 if (!set) throw RpcFault(kRpcFailed, "TLS is not running");
                 RpcArray a;
                 for (const auto& d : set->all()) a.emplace_back(d->describe());
                 RpcStruct g;
                 for (const auto& s : settingTable()) {
                   if (s.scope == SettingScope::Global) g.emplace_back(std::string(s.name), settingValue(s, m.globals()));
                 }
                 RpcStruct st;
                 st.emplace_back("global", std::move(g));
                 st.emplace_back("domains", std::move(a));
                 return RpcValue(std::move(st));
               }});
  r.push_back({"tls.reload", "Re-read the domain file and every certificate, key, CA and CRL",
               [&m](const std::vector<RpcValue>&) {
                 ReloadReport rep;
                 if (auto done = m.reload("tls.reload", &rep); !done)
                   throw RpcFault(kRpcFailed, "TLS reload failed, running configuration kept: " + done.error());
                 RpcArray c, rebuilt;
                 for (auto& s : rep.changes) c.emplace_back(std::move(s));
                 for (auto& s : rep.rebuilt) rebuilt.emplace_back(std::move(s));
                 RpcStruct st;
                 st.emplace_back("status", "ok");
                 st.emplace_back("changed", std::move(c));
                 st.emplace_back("rebuilt", std::move(rebuilt));
                 st.emplace_back("kept", int64_t(rep.kept));
                 st.emplace_back("ms", rep.ms);
                 return RpcValue(std::move(st));
               }});
  r.push_back({"tls.kill", "Close the TLS connection with this id (the id column of tls.list)",
               [&m](const std::vector<RpcValue>& params) {
                 const int64_t* id = params.size() == 1 ? std::get_if<int64_t>(&params[0].v) : nullptr;
                 if (!id || *id <= 0)
                   throw RpcFault(kRpcInvalidParams, "tls.kill takes one integer parameter: a connection id from tls.list");
                 const auto connId = uint64_t(*id);
                 // Only TLS connections: the core's id space also holds plain TCP connections,
                 // which this method must not reach.
                 bool isTls = false;
                 m.transport().registry().forEach([&](const TlsSession& s) {
                   if (s.endpoints().connId == connId) isTls = true;
                 });
                 if (!isTls) throw RpcFault(kRpcNotFound, "no TLS connection with id " + std::to_string(connId));
                 CoreApi* core = m.core();
                 if (!core) throw RpcFault(kRpcFailed, "TLS is not running");
                 // The connection may have closed since the lookup; that is the same answer.
                 if (!core->closeConnectionById(connId))
                   throw RpcFault(kRpcNotFound, "no TLS connection with id " + std::to_string(connId));
                 return RpcValue("closed");
               }});
  return r;
}

}  // namespace sipsd::tls

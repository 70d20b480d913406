// The usrloc module: the location table (in memory, or shared by a cluster in Redis), its
// RPCs ul.dump / ul.lookup / ul.rm, and the "location" interface the registrar uses.
#include <string>

#include "core/module_api.h"
#include "core/module_helpers.h"
#include "modules/usrloc/dump_stream.h"
#include "modules/usrloc/location.h"

namespace sipsd::usrloc {
namespace {

Location& location() {
  static Location loc;
  return loc;
}

const LocationTable& tableOrFault() {
  const LocationTable* t = location().currentTable();
  if (!t) throw RpcFault(kRpcFailed, "the location table is read on a worker (call through dispatch_rpc)");
  return *t;
}

std::string aorParam(const std::vector<RpcValue>& p) {
  // Kamailio's form names the table first (`kamcmd ul.lookup location AOR`); sipsd has one table.
  size_t at = 0;
  if (p.size() == 2) {
    const std::string* table = std::get_if<std::string>(&p[0].v);
    if (!table || *table != "location")
      throw RpcFault(kRpcInvalidParams, "no table '" + (table ? *table : std::string("?")) +
                                            "': the only one is 'location'");
    at = 1;
  }
  const std::string* s = p.size() == at + 1 ? std::get_if<std::string>(&p[at].v) : nullptr;
  if (!s) throw RpcFault(kRpcInvalidParams, "expected one parameter: the address of record (sip:user@domain)");
  std::string aor = location().aorOf(*s);
  if (aor.empty()) throw RpcFault(kRpcInvalidParams, "'" + *s + "' is not a SIP URI with a user part");
  return aor;
}

// ul.dump [brief] (Kamailio's optional argument: only the AoRs and their contact URIs).
std::unique_ptr<RpcStream> dumpStream(const std::vector<RpcValue>& p) {
  DumpStream::Options o;
  if (!p.empty()) {
    const std::string* arg = p.size() == 1 ? std::get_if<std::string>(&p[0].v) : nullptr;
    if (!arg || *arg != "brief")
      throw RpcFault(kRpcInvalidParams, "ul.dump takes no parameter, or 'brief' (only AoRs and contact URIs)");
    o.brief = true;
  }
  const LocationTable& t = tableOrFault();
  o.store = location().clustered() ? location().dbState() : std::string("memory");
  o.node = location().nodeAddress();
  return std::make_unique<DumpStream>(t, unixNow(), std::move(o));
}

std::vector<RpcMethod> rpcs() {
  std::vector<RpcMethod> r;
  // Streamed by dispatch_rpc (DumpStream); `call` drains the same stream for other callers.
  RpcMethod dump{"ul.dump", "Every address of record with its bindings; ul.dump brief: only AoRs and contact URIs",
                 [](const std::vector<RpcValue>& p) { return drainRpcStream(*dumpStream(p)); }};
  dump.stream = dumpStream;
  r.push_back(std::move(dump));
  r.push_back({"ul.lookup", "The bindings of one address of record: ul.lookup sip:alice@example.com",
               [](const std::vector<RpcValue>& p) {
                 std::string aor = aorParam(p);
                 const LocationTable& t = tableOrFault();
                 RecordPtr rec = t.get(aor);
                 int64_t now = unixNow();
                 if (!rec) throw RpcFault(kRpcNotFound, "no bindings for " + aor);
                 RpcValue v = recordValue(*rec, now);
                 if (std::get<RpcArray>(std::get<RpcStruct>(v.v)[1].second.v).empty())
                   throw RpcFault(kRpcNotFound, "no bindings for " + aor);
                 return v;
               }});
  r.push_back({"ul.rm", "Removes every binding of an address of record: ul.rm sip:alice@example.com",
               [](const std::vector<RpcValue>& p) {
                 std::string aor = aorParam(p);
                 const LocationTable& t = tableOrFault();
                 RecordPtr rec = t.get(aor);
                 if (!rec) throw RpcFault(kRpcNotFound, "no bindings for " + aor);
                 int64_t n = int64_t(rec->bindings.size());
                 location().update(aor, [](const AorRecord* cur) {
                   UpdateResult u;
                   u.write = cur != nullptr;
                   return u;
                 }, [aor](const UpdateOutcome& o) {
                   if (o.code >= 300)
                     location().core()->log(kLogErr, "usrloc", "ul.rm " + aor + ": " + std::to_string(o.code) + " " +
                                                                   o.reason);
                 });
                 RpcStruct s;
                 s.emplace_back("aor", aor);
                 s.emplace_back("removed", n);
                 return RpcValue(std::move(s));
               }});
  return r;
}

Result<void> boolParam(bool& out, const ParamValue& v) {
  if (!v.isInt || (v.num != 0 && v.num != 1)) return fail("expects 0 or 1");
  out = v.num != 0;
  return {};
}

ModuleExports makeExports() {
  ModuleExports e;
  e.name = "usrloc";
  LocationOptions& o = location().options();
  e.params.push_back({"db_url", ParamType::Str, [&o](const ParamValue& v) -> Result<void> {
                        o.dbUrl = v.str;
                        return {};
                      }});
  e.params.push_back({"node_address", ParamType::Str, [&o](const ParamValue& v) -> Result<void> {
                        if (v.str.rfind("sip:", 0) != 0 && v.str.rfind("sips:", 0) != 0)
                          return fail("expects a SIP URI such as sip:10.0.0.1:5060");
                        o.nodeAddress = v.str;
                        return {};
                      }});
  e.params.push_back({"use_domain", ParamType::Int, [&o](const ParamValue& v) { return boolParam(o.useDomain, v); }});
  e.params.push_back({"max_pending", ParamType::Int, [&o](const ParamValue& v) -> Result<void> {
                        if (!v.isInt || v.num < 1) return fail("expects a positive number");
                        o.maxPending = size_t(v.num);
                        return {};
                      }});
  // Kamailio's cleanup timer: how often expired records are deleted. sipsd sweeps every 0.1 s
  // and lookup()/ul.dump never show an expired contact, so any period gives what Kamailio's
  // lookup gives; the sweep runs on the core's one timer thread (timer_procs 0 or 1).
  e.params.push_back({"timer_interval", ParamType::Int, [](const ParamValue& v) -> Result<void> {
                        if (v.num < 1) return fail("timer_interval takes seconds >= 1");
                        return {};
                      }});
  e.params.push_back({"timer_procs", ParamType::Int, [](const ParamValue& v) -> Result<void> {
                        if (v.num < 0 || v.num > 1)
                          return fail("timer_procs " + std::to_string(v.num) +
                                      " is not supported: sipsd sweeps on one timer thread (0 or 1)");
                        return {};
                      }});
  e.rpcs = rpcs();
  e.init = [](CoreApi& core) { return location().init(core); };
  e.workerInit = [](CoreApi&, int worker) -> Result<void> {
    location().addWorker(worker);
    return {};
  };
  e.destroy = [] { location().destroy(); };
  e.api = [](const std::string& name) -> void* {
    return name == "location" ? static_cast<LocationApi*>(&location()) : nullptr;
  };
  return e;
}

}  // namespace
}  // namespace sipsd::usrloc

SIPSD_MODULE_EXPORTS(sipsd::usrloc::makeExports)

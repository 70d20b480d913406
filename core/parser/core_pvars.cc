// Pseudo-variables, mostly as aliases of the core selects; $ru and $du read what the script set.
#include "core/parser/core_pvars.h"

#include <cctype>

#include "core/parser/core_selects.h"
#include "core/parser/cseq_parser.h"
#include "core/parser/msg_parser.h"
#include "core/parser/uri_parser.h"

namespace sipsd {

namespace {

using Parts = std::vector<SelectPart>;

// The select a pseudo-variable stands for: root and the path after it.
struct Alias {
  std::string_view pv;
  std::vector<std::string_view> path;
};
const Alias kAliases[] = {
    {"si", {"src", "ip"}},           {"sp", {"src", "port"}},       {"Ri", {"dst", "ip"}},
    {"Rp", {"dst", "port"}},         {"fu", {"from", "uri"}},       {"fU", {"from", "uri", "user"}},
    {"fd", {"from", "uri", "host"}}, {"ft", {"from", "tag"}},       {"tu", {"to", "uri"}},
    {"tU", {"to", "uri", "user"}},   {"td", {"to", "uri", "host"}}, {"tt", {"to", "tag"}},
    {"ci", {"call_id"}},             {"cs", {"cseq", "num"}},       {"ua", {"msg", "User-Agent"}},
};

Result<SelectFn> resolveSelect(const std::vector<std::string_view>& path) {
  static const std::vector<SelectExport> core = coreSelectExports();
  Parts parts;
  for (auto p : path) parts.push_back(SelectPart{std::string(p), -1});
  for (const auto& s : core)
    if (s.root == parts[0].name) return s.resolve(parts);
  return fail("no core select @" + parts[0].name);
}

// The request URI as the script sees it: what it assigned to $ru, else the message's own.
std::optional<std::string_view> currentRuri(ScriptContext& ctx) {
  if (!ctx.newRuri.empty()) return std::string_view(ctx.newRuri);
  if (!ctx.msg.isRequest()) return std::nullopt;
  return ctx.msg.ruri;
}

Result<SelectFn> resolve(const Parts& p) {
  if (p.size() < 2) return fail("incomplete pseudo-variable");
  const std::string& n = p[1].name;
  const std::string arg = p.size() > 2 ? p[2].name : std::string();
  if (n == "hdr") {
    if (arg.empty()) return fail("$hdr needs a header name: $hdr(Name)");
    return resolveSelect({"msg", arg});
  }
  if (!arg.empty()) {
    // Name the real problem: an unknown `$var(x)` is unknown, not a known pv given an argument.
    if (auto bare = resolve({p[0], p[1]}); !bare) return bare;
    return fail("$" + n + " takes no argument");
  }
  for (const auto& a : kAliases)
    if (a.pv == n) return resolveSelect(a.path);
  if (n == "ru" || n == "rU" || n == "rd") {
    Parts uri{{"$", -1}};
    if (n == "rU") uri.push_back({"user", -1});
    if (n == "rd") uri.push_back({"host", -1});
    return resolveUriSelect(uri, 1, currentRuri);
  }
  if (n == "rp") {
    // A URI without a port: the scheme's default, as Kamailio's $rp.
    return SelectFn([](ScriptContext& ctx) -> Value {
      auto t = currentRuri(ctx);
      SipUri u;
      std::string err;
      if (!t || !parseUri(*t, u, err)) return Value();
      if (u.port) return Value::integer(u.port);
      return Value::integer(u.schemeText.size() == 4 ? 5061 : 5060);  // "sips"
    });
  }
  if (n == "rm") {
    return SelectFn([](ScriptContext& ctx) -> Value {
      if (ctx.msg.isRequest()) return Value::view(ctx.msg.method);
      const Header* h = findHeader(ctx.msg, HdrType::CSeq);
      CSeqBody c;
      std::string err;
      if (!h || !parseCSeq(h->value, c, err)) return Value();
      return Value::view(c.method);
    });
  }
  if (n == "pr" || n == "proto") {
    return SelectFn([](ScriptContext& ctx) -> Value {
      switch (ctx.rcv.proto) {
        case Proto::UDP: return Value::view("udp");
        case Proto::TCP: return Value::view("tcp");
        case Proto::TLS: return Value::view("tls");
        default: return Value();
      }
    });
  }
  if (n == "rs") {
    return SelectFn([](ScriptContext& ctx) { return ctx.msg.isRequest() ? Value() : Value::integer(ctx.msg.status); });
  }
  if (n == "rr") {
    return SelectFn([](ScriptContext& ctx) { return ctx.msg.isRequest() ? Value() : Value::view(ctx.msg.reason); });
  }
  if (n == "du") {
    return SelectFn([](ScriptContext& ctx) { return ctx.dstUri.empty() ? Value() : Value::view(ctx.dstUri); });
  }
  if (n == "T_reply_code") {
    // Set by tm in failure_route / onreply_route[NAME]; on a reply the reply's own status.
    return SelectFn([](ScriptContext& ctx) -> Value {
      if (ctx.tReplyCode > 0) return Value::integer(ctx.tReplyCode);
      return ctx.msg.isRequest() ? Value() : Value::integer(ctx.msg.status);
    });
  }
  if (n == "T_branch_idx") {
    // tm: the branch a branch_route (or the relay it belongs to) runs for, 0 elsewhere.
    return SelectFn([](ScriptContext& ctx) { return Value::integer(ctx.tBranchIndex); });
  }
  if (n == "xavp" || n == "shv" || n == "sht" || n == "dlg_var")
    return fail("unknown pseudo-variable $" + n + ": sipsd's script variables are $var(name) and $avp(name) "
                "($xavp, $shv, $sht and $dlg_var are not there)");
  return fail("unknown pseudo-variable $" + n);
}

}  // namespace

SelectExport corePseudoVarExport() { return SelectExport{"$", resolve}; }

}  // namespace sipsd

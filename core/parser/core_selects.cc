// The core selects (SPEC §3). Each path is resolved once, at config load, into a small
// closure; at run time a closure parses only the header it needs (views, no copies).
#include "core/parser/core_selects.h"

#include <optional>
#include <string>

#include "core/parser/cseq_parser.h"
#include "core/parser/msg_parser.h"
#include "core/parser/name_addr_parser.h"
#include "core/parser/param_list.h"
#include "core/parser/uri_parser.h"
#include "core/parser/via_parser.h"

namespace sipsd {

namespace {

using Parts = std::vector<SelectPart>;
using TextFn = std::function<std::optional<std::string_view>(ScriptContext&)>;

std::string pathText(const Parts& p) {
  std::string s = "@";
  for (size_t i = 0; i < p.size(); ++i) {
    if (i) s += '.';
    s += p[i].name;
    if (p[i].index >= 0) s += "[" + std::to_string(p[i].index) + "]";
  }
  return s;
}

std::string unknownPath(const Parts& p, size_t k) {
  if (k >= p.size()) return "incomplete select '" + pathText(p) + "'";
  return "unknown select '" + pathText(p) + "': '" + p[k].name + "' is not valid here";
}

// Rejects [N] on parts [from, end) except the positions in `allowed`.
std::string checkIndexes(const Parts& p, size_t from, std::initializer_list<size_t> allowed = {}) {
  for (size_t i = from; i < p.size(); ++i) {
    if (p[i].index < 0) continue;
    bool ok = false;
    for (size_t a : allowed) ok = ok || a == i;
    if (!ok) return "select '" + pathText(p) + "': '" + p[i].name + "' does not take an index";
    if (p[i].index < 1) return "select '" + pathText(p) + "': index must be 1 or more";
  }
  return {};
}

Value viewOrNull(std::optional<std::string_view> v) { return v ? Value::view(*v) : Value(); }
Value portValue(uint16_t port) { return port ? Value::integer(port) : Value(); }

// "params.NAME": exactly one name after "params".
std::string paramName(const Parts& p, size_t k, std::string& name) {
  if (k + 1 >= p.size()) return "select '" + pathText(p) + "': 'params' needs a parameter name";
  if (k + 2 < p.size()) return unknownPath(p, k + 2);
  name = p[k + 1].name;
  return {};
}

// ---- URI ------------------------------------------------------------------------------
enum class UriField { User, Password, Host, Port, Params, Headers, Param, Scheme };

Result<SelectFn> resolveUri(const Parts& p, size_t k, TextFn text) {
  if (k == p.size()) {
    return SelectFn([text](ScriptContext& ctx) { return viewOrNull(text(ctx)); });
  }
  const std::string& n = p[k].name;
  UriField f;
  std::string param;
  if (n == "user") f = UriField::User;
  else if (n == "password" || n == "passwd") f = UriField::Password;
  else if (n == "host") f = UriField::Host;
  else if (n == "port") f = UriField::Port;
  else if (n == "headers") f = UriField::Headers;
  else if (n == "scheme" || n == "type") f = UriField::Scheme;
  else if (n == "params") {
    if (k + 1 == p.size()) {
      f = UriField::Params;
    } else {
      if (auto e = paramName(p, k, param); !e.empty()) return fail(e);
      f = UriField::Param;
    }
  } else {
    return fail(unknownPath(p, k));
  }
  if (f != UriField::Param && f != UriField::Params && k + 1 != p.size()) return fail(unknownPath(p, k + 1));
  return SelectFn([text, f, param](ScriptContext& ctx) -> Value {
    auto t = text(ctx);
    if (!t) return Value();
    SipUri u;
    std::string err;
    if (!parseUri(*t, u, err)) return Value();
    switch (f) {
      case UriField::User: return Value::view(u.user);
      case UriField::Password: return Value::view(u.password);
      case UriField::Host: return Value::view(u.host);
      case UriField::Port: return portValue(u.port);
      case UriField::Params: return Value::view(u.params);
      case UriField::Headers: return Value::view(u.headers);
      case UriField::Scheme: return Value::view(u.schemeText);
      case UriField::Param: return viewOrNull(findParam(u.params, param));
    }
    return Value();
  });
}

// ---- name-addr (From, To, Contact) -------------------------------------------------------
using NameAddrFn = std::function<bool(ScriptContext&, NameAddr&)>;

Result<SelectFn> resolveNameAddr(const Parts& p, size_t k, NameAddrFn get) {
  if (k == p.size()) {
    return SelectFn([get](ScriptContext& ctx) {
      NameAddr na;
      return get(ctx, na) ? Value::view(na.raw) : Value();
    });
  }
  const std::string& n = p[k].name;
  if (n == "uri") {
    TextFn text = [get](ScriptContext& ctx) -> std::optional<std::string_view> {
      NameAddr na;
      if (!get(ctx, na)) return std::nullopt;
      return na.uri;
    };
    return resolveUri(p, k + 1, std::move(text));
  }
  std::string param;
  if (n == "tag") param = "tag";
  else if (n == "expires") param = "expires";
  else if (n == "q") param = "q";
  if (!param.empty() || n == "params") {
    if (param.empty()) {
      if (auto e = paramName(p, k, param); !e.empty()) return fail(e);
    } else if (k + 1 != p.size()) {
      return fail(unknownPath(p, k + 1));
    }
    return SelectFn([get, param](ScriptContext& ctx) -> Value {
      NameAddr na;
      if (!get(ctx, na)) return Value();
      return viewOrNull(findParam(na.params, param));
    });
  }
  if (n == "name") {
    if (k + 1 != p.size()) return fail(unknownPath(p, k + 1));
    return SelectFn([get](ScriptContext& ctx) -> Value {
      NameAddr na;
      if (!get(ctx, na)) return Value();
      return Value::view(na.display);
    });
  }
  return fail(unknownPath(p, k));
}

NameAddrFn singleNameAddr(HdrType type) {
  return [type](ScriptContext& ctx, NameAddr& na) {
    const Header* h = findHeader(ctx.msg, type);
    if (!h) return false;
    std::string_view rest;
    std::string err;
    return parseNameAddr(h->value, na, rest, false, err);
  };
}

Result<SelectFn> resolveFromTo(const Parts& p, HdrType type) {
  if (auto e = checkIndexes(p, 0); !e.empty()) return fail(e);
  return resolveNameAddr(p, 1, singleNameAddr(type));
}

Result<SelectFn> resolveContact(const Parts& p) {
  if (auto e = checkIndexes(p, 0, {0}); !e.empty()) return fail(e);
  size_t idx = p[0].index > 0 ? size_t(p[0].index - 1) : 0;
  NameAddrFn get = [idx](ScriptContext& ctx, NameAddr& na) {
    std::string err;
    return nthContact(ctx.msg, idx, na, err) && !na.star;
  };
  return resolveNameAddr(p, 1, std::move(get));
}

Result<SelectFn> resolveRuri(const Parts& p) {
  if (auto e = checkIndexes(p, 0); !e.empty()) return fail(e);
  // The request URI as it will be relayed: what $ru, lookup() or loose_route() set, else the
  // message's own (the same answer as $ru, so the two never disagree in one script).
  TextFn text = [](ScriptContext& ctx) -> std::optional<std::string_view> {
    if (ctx.msg.kind != SipMsg::Kind::Request) return std::nullopt;
    if (!ctx.newRuri.empty()) return std::string_view(ctx.newRuri);
    return ctx.msg.ruri;
  };
  return resolveUri(p, 1, std::move(text));
}

// ---- Via --------------------------------------------------------------------------------
enum class ViaField { Whole, Host, Port, Branch, Transport, Received, Rport, Maddr, Params, Param };

Result<SelectFn> resolveVia(const Parts& p) {
  if (auto e = checkIndexes(p, 0, {0}); !e.empty()) return fail(e);
  size_t idx = p[0].index > 0 ? size_t(p[0].index - 1) : 0;
  ViaField f = ViaField::Whole;
  std::string param;
  if (p.size() > 1) {
    const std::string& n = p[1].name;
    if (n == "host") f = ViaField::Host;
    else if (n == "port") f = ViaField::Port;
    else if (n == "branch") f = ViaField::Branch;
    else if (n == "transport") f = ViaField::Transport;
    else if (n == "received") f = ViaField::Received;
    else if (n == "rport") f = ViaField::Rport;
    else if (n == "maddr") f = ViaField::Maddr;
    else if (n == "params") {
      if (p.size() == 2) {
        f = ViaField::Params;
      } else {
        if (auto e = paramName(p, 1, param); !e.empty()) return fail(e);
        f = ViaField::Param;
      }
    } else {
      return fail(unknownPath(p, 1));
    }
    if (f != ViaField::Param && f != ViaField::Params && p.size() > 2) return fail(unknownPath(p, 2));
  }
  return SelectFn([idx, f, param](ScriptContext& ctx) -> Value {
    ViaBody v;
    std::string err;
    if (!nthVia(ctx.msg, idx, v, err)) return Value();
    switch (f) {
      case ViaField::Whole: return Value::view(v.raw);
      case ViaField::Host: return Value::view(v.host);
      case ViaField::Port: return portValue(v.port);
      case ViaField::Branch: return v.branch.empty() ? Value() : Value::view(v.branch);
      case ViaField::Transport: return Value::view(v.transport);
      case ViaField::Received: return v.hasReceived ? Value::view(v.received) : Value();
      case ViaField::Rport: return v.hasRport ? Value::view(v.rport) : Value();
      case ViaField::Maddr: return v.maddr.empty() ? Value() : Value::view(v.maddr);
      case ViaField::Params: return Value::view(v.params);
      case ViaField::Param: return viewOrNull(findParam(v.params, param));
    }
    return Value();
  });
}

// ---- single headers -------------------------------------------------------------------------
Result<SelectFn> resolveCallId(const Parts& p) {
  if (auto e = checkIndexes(p, 0); !e.empty()) return fail(e);
  if (p.size() > 1) return fail(unknownPath(p, 1));
  return SelectFn([](ScriptContext& ctx) -> Value {
    const Header* h = findHeader(ctx.msg, HdrType::CallId);
    return h ? Value::view(h->value) : Value();
  });
}

Result<SelectFn> resolveCSeq(const Parts& p) {
  if (auto e = checkIndexes(p, 0); !e.empty()) return fail(e);
  int field = 0;  // 0 whole, 1 num, 2 method
  if (p.size() > 1) {
    if (p[1].name == "num" || p[1].name == "number") field = 1;
    else if (p[1].name == "method") field = 2;
    else return fail(unknownPath(p, 1));
    if (p.size() > 2) return fail(unknownPath(p, 2));
  }
  return SelectFn([field](ScriptContext& ctx) -> Value {
    const Header* h = findHeader(ctx.msg, HdrType::CSeq);
    if (!h) return Value();
    if (field == 0) return Value::view(h->value);
    CSeqBody c;
    std::string err;
    if (!parseCSeq(h->value, c, err)) return Value();
    return field == 1 ? Value::integer(c.num) : Value::view(c.method);
  });
}

Result<SelectFn> resolveMsg(const Parts& p) {
  if (auto e = checkIndexes(p, 0, {1}); !e.empty()) return fail(e);
  if (p.size() == 1) {
    return SelectFn([](ScriptContext& ctx) { return Value::view(ctx.msg.buf); });
  }
  if (p.size() > 2) return fail(unknownPath(p, 2));
  // The header name is classified once here; at run time known types compare one byte.
  std::string name = p[1].name;
  for (char& c : name)
    if (c == '_') c = '-';  // script names cannot hold '-' everywhere: @msg.user_agent
  HdrType type = headerType(name);
  size_t nth = p[1].index > 0 ? size_t(p[1].index - 1) : 0;
  return SelectFn([name, type, nth](ScriptContext& ctx) -> Value {
    size_t seen = 0;
    for (const auto& h : ctx.msg.headers) {
      bool match = type != HdrType::Other ? h.type == type
                                          : (h.type == HdrType::Other && sameHeaderName(h.name, name));
      if (match && seen++ == nth) return Value::view(h.value);
    }
    return Value();
  });
}

Result<SelectFn> resolveAddr(const Parts& p, bool src) {
  if (auto e = checkIndexes(p, 0); !e.empty()) return fail(e);
  int field = 0;  // 0 ip:port, 1 ip, 2 port
  if (p.size() > 1) {
    if (p[1].name == "ip") field = 1;
    else if (p[1].name == "port") field = 2;
    else return fail(unknownPath(p, 1));
    if (p.size() > 2) return fail(unknownPath(p, 2));
  }
  return SelectFn([field, src](ScriptContext& ctx) -> Value {
    const SockAddr& a = src ? ctx.rcv.src : ctx.rcv.dst;
    if (!a.valid()) return Value();
    switch (field) {
      case 1: return Value::owned(a.ip());
      case 2: return Value::integer(a.port());
      default: return Value::owned(a.str());
    }
  });
}

Result<SelectFn> resolveHttp(const Parts& p) {
  if (auto e = checkIndexes(p, 0); !e.empty()) return fail(e);
  if (p.size() != 2) return fail(p.size() < 2 ? "select '@http' needs '.path' or '.query'" : unknownPath(p, 2));
  bool query;
  if (p[1].name == "path") query = false;
  else if (p[1].name == "query") query = true;
  else return fail(unknownPath(p, 1));
  return SelectFn([query](ScriptContext& ctx) -> Value {
    if (!ctx.msg.isHttp()) return Value();
    std::string_view t = ctx.msg.ruri;
    // absolute-form "http://host/path?q": skip scheme and authority.
    size_t scheme = t.find("://");
    if (scheme != std::string_view::npos && t.find('/') > scheme) {
      size_t slash = t.find('/', scheme + 3);
      t = slash == std::string_view::npos ? std::string_view("/") : t.substr(slash);
    }
    t = t.substr(0, t.find('#'));
    size_t q = t.find('?');
    if (!query) return Value::view(t.substr(0, q));
    return q == std::string_view::npos ? Value::view(std::string_view()) : Value::view(t.substr(q + 1));
  });
}

}  // namespace

Result<SelectFn> resolveUriSelect(const std::vector<SelectPart>& parts, size_t k, UriTextFn text) {
  return resolveUri(parts, k, std::move(text));
}

std::vector<SelectExport> coreSelectExports() {
  std::vector<SelectExport> v;
  v.push_back({"ruri", resolveRuri});
  v.push_back({"from", [](const Parts& p) { return resolveFromTo(p, HdrType::From); }});
  v.push_back({"to", [](const Parts& p) { return resolveFromTo(p, HdrType::To); }});
  v.push_back({"contact", resolveContact});
  v.push_back({"via", resolveVia});
  v.push_back({"call_id", resolveCallId});
  v.push_back({"cseq", resolveCSeq});
  v.push_back({"msg", resolveMsg});
  v.push_back({"src", [](const Parts& p) { return resolveAddr(p, true); }});
  v.push_back({"dst", [](const Parts& p) { return resolveAddr(p, false); }});
  v.push_back({"http", resolveHttp});
  return v;
}

}  // namespace sipsd

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

std::string resolveUri(const Parts& p, size_t k, TextFn text, SelectFn& out) {
  if (k == p.size()) {
    out = [text](ScriptContext& ctx) { return viewOrNull(text(ctx)); };
    return {};
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
      if (auto e = paramName(p, k, param); !e.empty()) return e;
      f = UriField::Param;
    }
  } else {
    return unknownPath(p, k);
  }
  if (f != UriField::Param && f != UriField::Params && k + 1 != p.size()) return unknownPath(p, k + 1);
  out = [text, f, param](ScriptContext& ctx) -> Value {
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
  };
  return {};
}

// ---- name-addr (From, To, Contact) -------------------------------------------------------
using NameAddrFn = std::function<bool(ScriptContext&, NameAddr&)>;

std::string resolveNameAddr(const Parts& p, size_t k, NameAddrFn get, SelectFn& out) {
  if (k == p.size()) {
    out = [get](ScriptContext& ctx) {
      NameAddr na;
      return get(ctx, na) ? Value::view(na.raw) : Value();
    };
    return {};
  }
  const std::string& n = p[k].name;
  if (n == "uri") {
    TextFn text = [get](ScriptContext& ctx) -> std::optional<std::string_view> {
      NameAddr na;
      if (!get(ctx, na)) return std::nullopt;
      return na.uri;
    };
    return resolveUri(p, k + 1, std::move(text), out);
  }
  std::string param;
  if (n == "tag") param = "tag";
  else if (n == "expires") param = "expires";
  else if (n == "q") param = "q";
  if (!param.empty() || n == "params") {
    if (param.empty()) {
      if (auto e = paramName(p, k, param); !e.empty()) return e;
    } else if (k + 1 != p.size()) {
      return unknownPath(p, k + 1);
    }
    out = [get, param](ScriptContext& ctx) -> Value {
      NameAddr na;
      if (!get(ctx, na)) return Value();
      return viewOrNull(findParam(na.params, param));
    };
    return {};
  }
  if (n == "name") {
    if (k + 1 != p.size()) return unknownPath(p, k + 1);
    out = [get](ScriptContext& ctx) -> Value {
      NameAddr na;
      if (!get(ctx, na)) return Value();
      return Value::view(na.display);
    };
    return {};
  }
  return unknownPath(p, k);
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

std::string resolveFromTo(const Parts& p, SelectFn& out, HdrType type) {
  if (auto e = checkIndexes(p, 0); !e.empty()) return e;
  return resolveNameAddr(p, 1, singleNameAddr(type), out);
}

std::string resolveContact(const Parts& p, SelectFn& out) {
  if (auto e = checkIndexes(p, 0, {0}); !e.empty()) return e;
  size_t idx = p[0].index > 0 ? size_t(p[0].index - 1) : 0;
  NameAddrFn get = [idx](ScriptContext& ctx, NameAddr& na) {
    std::string err;
    return nthContact(ctx.msg, idx, na, err) && !na.star;
  };
  return resolveNameAddr(p, 1, std::move(get), out);
}

std::string resolveRuri(const Parts& p, SelectFn& out) {
  if (auto e = checkIndexes(p, 0); !e.empty()) return e;
  // The request URI as it will be relayed: what $ru, lookup() or loose_route() set, else the
  // message's own (the same answer as $ru, so the two never disagree in one script).
  TextFn text = [](ScriptContext& ctx) -> std::optional<std::string_view> {
    if (ctx.msg.kind != SipMsg::Kind::Request) return std::nullopt;
    if (!ctx.newRuri.empty()) return std::string_view(ctx.newRuri);
    return ctx.msg.ruri;
  };
  return resolveUri(p, 1, std::move(text), out);
}

// ---- Via --------------------------------------------------------------------------------
enum class ViaField { Whole, Host, Port, Branch, Transport, Received, Rport, Maddr, Params, Param };

std::string resolveVia(const Parts& p, SelectFn& out) {
  if (auto e = checkIndexes(p, 0, {0}); !e.empty()) return e;
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
        if (auto e = paramName(p, 1, param); !e.empty()) return e;
        f = ViaField::Param;
      }
    } else {
      return unknownPath(p, 1);
    }
    if (f != ViaField::Param && f != ViaField::Params && p.size() > 2) return unknownPath(p, 2);
  }
  out = [idx, f, param](ScriptContext& ctx) -> Value {
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
  };
  return {};
}

// ---- single headers -------------------------------------------------------------------------
std::string resolveCallId(const Parts& p, SelectFn& out) {
  if (auto e = checkIndexes(p, 0); !e.empty()) return e;
  if (p.size() > 1) return unknownPath(p, 1);
  out = [](ScriptContext& ctx) -> Value {
    const Header* h = findHeader(ctx.msg, HdrType::CallId);
    return h ? Value::view(h->value) : Value();
  };
  return {};
}

std::string resolveCSeq(const Parts& p, SelectFn& out) {
  if (auto e = checkIndexes(p, 0); !e.empty()) return e;
  int field = 0;  // 0 whole, 1 num, 2 method
  if (p.size() > 1) {
    if (p[1].name == "num" || p[1].name == "number") field = 1;
    else if (p[1].name == "method") field = 2;
    else return unknownPath(p, 1);
    if (p.size() > 2) return unknownPath(p, 2);
  }
  out = [field](ScriptContext& ctx) -> Value {
    const Header* h = findHeader(ctx.msg, HdrType::CSeq);
    if (!h) return Value();
    if (field == 0) return Value::view(h->value);
    CSeqBody c;
    std::string err;
    if (!parseCSeq(h->value, c, err)) return Value();
    return field == 1 ? Value::integer(c.num) : Value::view(c.method);
  };
  return {};
}

std::string resolveMsg(const Parts& p, SelectFn& out) {
  if (auto e = checkIndexes(p, 0, {1}); !e.empty()) return e;
  if (p.size() == 1) {
    out = [](ScriptContext& ctx) { return Value::view(ctx.msg.buf); };
    return {};
  }
  if (p.size() > 2) return unknownPath(p, 2);
  // The header name is classified once here; at run time known types compare one byte.
  std::string name = p[1].name;
  for (char& c : name)
    if (c == '_') c = '-';  // script names cannot hold '-' everywhere: @msg.user_agent
  HdrType type = headerType(name);
  size_t nth = p[1].index > 0 ? size_t(p[1].index - 1) : 0;
  out = [name, type, nth](ScriptContext& ctx) -> Value {
    size_t seen = 0;
    for (const auto& h : ctx.msg.headers) {
      bool match = type != HdrType::Other ? h.type == type
                                          : (h.type == HdrType::Other && sameHeaderName(h.name, name));
      if (match && seen++ == nth) return Value::view(h.value);
    }
    return Value();
  };
  return {};
}

std::string resolveAddr(const Parts& p, SelectFn& out, bool src) {
  if (auto e = checkIndexes(p, 0); !e.empty()) return e;
  int field = 0;  // 0 ip:port, 1 ip, 2 port
  if (p.size() > 1) {
    if (p[1].name == "ip") field = 1;
    else if (p[1].name == "port") field = 2;
    else return unknownPath(p, 1);
    if (p.size() > 2) return unknownPath(p, 2);
  }
  out = [field, src](ScriptContext& ctx) -> Value {
    const SockAddr& a = src ? ctx.rcv.src : ctx.rcv.dst;
    if (!a.valid()) return Value();
    switch (field) {
      case 1: return Value::owned(a.ip());
      case 2: return Value::integer(a.port());
      default: return Value::owned(a.str());
    }
  };
  return {};
}

std::string resolveHttp(const Parts& p, SelectFn& out) {
  if (auto e = checkIndexes(p, 0); !e.empty()) return e;
  if (p.size() != 2) return p.size() < 2 ? "select '@http' needs '.path' or '.query'" : unknownPath(p, 2);
  bool query;
  if (p[1].name == "path") query = false;
  else if (p[1].name == "query") query = true;
  else return unknownPath(p, 1);
  out = [query](ScriptContext& ctx) -> Value {
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
  };
  return {};
}

}  // namespace

std::string resolveUriSelect(const std::vector<SelectPart>& parts, size_t k, UriTextFn text, SelectFn& out) {
  return resolveUri(parts, k, std::move(text), out);
}

std::vector<SelectExport> coreSelectExports() {
  std::vector<SelectExport> v;
  v.push_back({"ruri", resolveRuri});
  v.push_back({"from", [](const Parts& p, SelectFn& out) { return resolveFromTo(p, out, HdrType::From); }});
  v.push_back({"to", [](const Parts& p, SelectFn& out) { return resolveFromTo(p, out, HdrType::To); }});
  v.push_back({"contact", resolveContact});
  v.push_back({"via", resolveVia});
  v.push_back({"call_id", resolveCallId});
  v.push_back({"cseq", resolveCSeq});
  v.push_back({"msg", resolveMsg});
  v.push_back({"src", [](const Parts& p, SelectFn& out) { return resolveAddr(p, out, true); }});
  v.push_back({"dst", [](const Parts& p, SelectFn& out) { return resolveAddr(p, out, false); }});
  v.push_back({"http", resolveHttp});
  return v;
}

}  // namespace sipsd

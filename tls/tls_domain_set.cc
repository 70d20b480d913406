// Domain set construction and the lookups of SPEC §4 (listener, SNI, destination, server_id).
#include "tls/tls_domain_set.h"

#include <algorithm>
#include <set>

namespace sipsd::tls {
const TlsDomain* TlsDomainSet::Names::find(std::string_view name) const {
  auto it = exact.find(std::string(name));
  return it == exact.end() ? nullptr : it->second;
}

const TlsDomain* TlsDomainSet::Names::findWild(std::string_view name) const {
  // "*.example.org" covers exactly one more label, as in certificate name matching.
  auto dot = name.find('.');
  if (dot == std::string_view::npos || dot == 0) return nullptr;
  auto it = suffix.find(std::string(name.substr(dot)));
  return it == suffix.end() ? nullptr : it->second;
}

std::string TlsDomainSet::addName(Names& n, const TlsDomain* d) {
  const std::string& sn = d->options().serverName;
  if (sn.empty()) return {};
  const TlsDomain** slot;
  if (sn.size() > 2 && sn[0] == '*' && sn[1] == '.') {
    slot = &n.suffix[sn.substr(1)];
  } else if (sn.find('*') != std::string::npos) {
    return "TLS domain " + d->name() + ": server_name '" + sn + "': only a leading '*.' wildcard is allowed";
  } else {
    slot = &n.exact[sn];
  }
  if (*slot && *slot != d) {
    return "TLS domains " + (*slot)->name() + " and " + d->name() + " both answer server_name '" + sn + "'";
  }
  *slot = d;
  return {};
}

std::shared_ptr<const TlsDomainSet> TlsDomainSet::build(const TlsConfig& cfg, const GlobalConfig& g,
                                                        std::shared_ptr<TicketKeyRing> ring, std::string& err,
                                                        const TlsDomainSet* previous) {
  auto set = std::shared_ptr<TlsDomainSet>(new TlsDomainSet());
  std::vector<std::string> errors;
  const DomainId defSrvId{Side::Server, "default", ""};
  const DomainId defCliId{Side::Client, "default", ""};
  DomainConfig emptySrv, emptyCli;
  emptySrv.id = defSrvId;
  emptyCli.id = defCliId;
  const DomainConfig* defSrv = cfg.find(defSrvId);
  const DomainConfig* defCli = cfg.find(defCliId);

  std::unordered_map<std::string, std::shared_ptr<TlsDomain>> running;
  if (previous) {
    for (const auto& p : previous->all_) running.emplace(p->name(), p);
  }
  auto make = [&](const DomainConfig& dc) -> const TlsDomain* {
    const DomainConfig* parent = nullptr;
    if (!dc.id.isDefault()) parent = dc.id.side == Side::Server ? defSrv : defCli;
    std::string e;
    std::shared_ptr<TlsDomain> prev;
    if (auto it = running.find(dc.id.str()); it != running.end()) prev = it->second;
    bool reused = false;
    auto d = TlsDomain::createOrReuse(dc, parent, g, ring, prev, reused, e);
    if (!d) {
      errors.push_back(e);
      return nullptr;
    }
    if (!reused) set->rebuilt_.push_back(d->name());
    set->all_.push_back(d);
    return d.get();
  };
  set->defaultServer_ = make(defSrv ? *defSrv : emptySrv);
  set->defaultClient_ = make(defCli ? *defCli : emptyCli);
  if (set->defaultServer_) {
    if (auto e = set->addName(set->anyListener_, set->defaultServer_); !e.empty()) errors.push_back(e);
  }
  if (set->defaultClient_ && !set->defaultClient_->options().serverId.empty()) {
    set->clientsById_[set->defaultClient_->options().serverId] = set->defaultClient_;
  }

  for (const auto& [id, dc] : cfg.domains()) {
    if (id.isDefault()) continue;
    const TlsDomain* d = make(dc);
    if (!d) continue;
    const bool anyAddr = id.addr == "default" || id.addr == "any";
    if (id.side == Side::Server) {
      if (anyAddr) {
        if (d->options().serverName.empty()) {
          errors.push_back("TLS domain " + d->name() + " needs a server_name (it is chosen by SNI only)");
        } else if (auto e = set->addName(set->anyListener_, d); !e.empty()) {
          errors.push_back(e);
        }
        continue;
      }
      Listener& l = set->listeners_[id.addr];
      if (id.label.empty()) l.plain = d;
      if (auto e = set->addName(l.names, d); !e.empty()) errors.push_back(e);
    } else {
      const std::string& sid = d->options().serverId;
      if (!sid.empty()) {
        auto [it, ok] = set->clientsById_.emplace(sid, d);
        if (!ok) {
          errors.push_back("TLS domains " + it->second->name() + " and " + d->name() + " both have server_id '" + sid + "'");
        }
      }
      if (anyAddr) {
        if (sid.empty()) errors.push_back("TLS domain " + d->name() + " needs a server_id (it is chosen by id only)");
        continue;
      }
      // Several client domains for one destination: the unlabelled one answers by address.
      if (id.label.empty() || !set->clientsByAddr_.count(id.addr)) set->clientsByAddr_[id.addr] = d;
    }
  }
  if (!errors.empty()) {
    err.clear();
    for (const auto& e : errors) err += (err.empty() ? "" : "\n") + e;
    return nullptr;
  }
  return set;
}

const TlsDomain& TlsDomainSet::serverFor(const SockAddr& local) const {
  auto it = listeners_.find(local.str());
  if (it != listeners_.end() && it->second.plain) return *it->second.plain;
  return *defaultServer_;
}

const TlsDomain& TlsDomainSet::serverForSni(const SockAddr& local, std::string_view sniRaw) const {
  if (sniRaw.empty()) return serverFor(local);
  std::string sni = str::toLower(sniRaw);
  auto it = listeners_.find(local.str());
  const Listener* l = it == listeners_.end() ? nullptr : &it->second;
  if (l) {
    if (auto d = l->names.find(sni)) return *d;
  }
  if (auto d = anyListener_.find(sni)) return *d;
  if (l) {
    if (auto d = l->names.findWild(sni)) return *d;
  }
  if (auto d = anyListener_.findWild(sni)) return *d;
  return serverFor(local);
}

const TlsDomain* TlsDomainSet::byServerId(const std::string& id) const {
  auto it = clientsById_.find(id);
  return it == clientsById_.end() ? nullptr : it->second;
}

const TlsDomain* TlsDomainSet::clientFor(const SockAddr& remote, const std::string& serverId, std::string& err) const {
  if (!serverId.empty()) {
    const TlsDomain* d = byServerId(serverId);
    if (!d) err = "no TLS client domain has server_id '" + serverId + "'";
    return d;
  }
  auto it = clientsByAddr_.find(remote.str());
  return it == clientsByAddr_.end() ? defaultClient_ : it->second;
}

const TlsDomain* TlsDomainSet::find(const std::string& name) const {
  for (const auto& d : all_) {
    if (d->name() == name) return d.get();
  }
  return nullptr;
}

std::vector<std::string> TlsDomainSet::inputs() const {
  std::set<std::string> s;
  for (const auto& d : all_) s.insert(d->inputs().begin(), d->inputs().end());
  return {s.begin(), s.end()};
}

std::vector<std::string> TlsDomainSet::diff(const TlsDomainSet* before) const {
  std::vector<std::string> out;
  for (const auto& d : all_) {
    const TlsDomain* old = before ? before->find(d->name()) : nullptr;
    if (!old) out.push_back("added " + d->name());
    else if (old->digest() != d->digest()) out.push_back("changed " + d->name());
  }
  if (before) {
    for (const auto& d : before->all_) {
      if (!find(d->name())) out.push_back("removed " + d->name());
    }
  }
  return out;
}

}  // namespace sipsd::tls

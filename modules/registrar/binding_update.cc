// BindingUpdate: the registrar's processing of one REGISTER (see binding_update.h).
#include "modules/registrar/binding_update.h"

#include <algorithm>
#include <cstdio>

namespace sipsd::registrar {

using usrloc::AorRecord;
using usrloc::Binding;
using usrloc::UpdateResult;

namespace {

UpdateResult reply(int code, std::string reason, std::string extra = {}) {
  UpdateResult r;
  r.code = code;
  r.reason = std::move(reason);
  r.extraHeaders = std::move(extra);
  return r;
}

}  // namespace

UpdateResult BindingUpdate::compute(const RegisterRequest& req, const RegisterSource& src, const AorRecord* current,
                                    int64_t now, const RegistrarParams& p) {
  std::vector<Binding> live;
  if (current)
    for (const Binding& b : current->bindings)
      if (b.expires > now) live.push_back(b);

  if (req.star) {
    // §10.3 step 6: "*" only with Expires: 0 and no other contact.
    if (!req.expires || *req.expires != 0 || !req.contacts.empty()) return reply(400, "Invalid Request");
    for (const Binding& b : live)
      if (b.callId == req.callId && req.cseq <= b.cseq) return reply(400, "Invalid CSeq number");
    UpdateResult r;
    r.write = !live.empty();
    return r;  // bindings empty: everything removed
  }
  if (req.contacts.empty()) return UpdateResult{};  // a query: 200 with the current bindings

  // Expiry of each contact first: one too short rejects the whole request (423).
  std::vector<uint32_t> expires;
  for (const RequestedContact& c : req.contacts) {
    uint32_t e = c.expires ? *c.expires : req.expires ? *req.expires : p.defaultExpires;
    if (e != 0 && p.minExpires && e < p.minExpires)
      return reply(423, "Interval Too Brief", "Min-Expires: " + std::to_string(p.minExpires) + "\r\n");
    if (p.maxExpires && e > p.maxExpires) e = p.maxExpires;
    expires.push_back(e);
  }

  bool changed = false;
  for (size_t i = 0; i < req.contacts.size(); ++i) {
    const RequestedContact& c = req.contacts[i];
    auto it = std::find_if(live.begin(), live.end(), [&](const Binding& b) { return b.contact == c.uri; });
    if (it != live.end() && it->callId == req.callId) {
      // §10.3 step 7: an older CSeq of the same Call-ID is out of order; the same CSeq is a
      // retransmission, already applied.
      if (req.cseq < it->cseq) return reply(400, "Invalid CSeq number");
      if (req.cseq == it->cseq) continue;
    }
    if (expires[i] == 0) {
      if (it != live.end()) {
        live.erase(it);
        changed = true;
      }
      continue;
    }
    Binding nb;
    nb.contact = c.uri;
    nb.expires = now + int64_t(expires[i]);
    nb.q = c.q;
    nb.callId = req.callId;
    nb.cseq = req.cseq;
    nb.proto = src.proto;
    nb.source = src.source;
    nb.connId = src.connId;
    nb.node = src.node;
    nb.certSubject = src.certSubject;
    nb.certFingerprint = src.certFingerprint;
    nb.userAgent = req.userAgent;
    nb.cflags = src.cflags;
    nb.updated = now;
    if (it != live.end())
      *it = std::move(nb);
    else
      live.push_back(std::move(nb));
    changed = true;
  }
  if (p.maxContacts && live.size() > p.maxContacts) return reply(503, "Too Many Registered Contacts");
  UpdateResult r;
  r.write = changed;
  r.bindings = std::move(live);
  return r;
}

std::string BindingUpdate::contactHeaders(const AorRecord* rec, int64_t now) {
  std::string out;
  if (!rec) return out;
  for (const Binding& b : rec->bindings) {
    if (b.expires <= now) continue;
    out += "Contact: <" + b.contact + ">;expires=" + std::to_string(b.expires - now);
    if (b.q >= 0) {
      char buf[16];
      snprintf(buf, sizeof buf, "%d.%03d", b.q / 1000, b.q % 1000);
      out += std::string(";q=") + buf;
    }
    out += "\r\n";
  }
  return out;
}

}  // namespace sipsd::registrar

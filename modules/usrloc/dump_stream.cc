// DumpStream: ul.dump in bounded pieces (see dump_stream.h).
#include "modules/usrloc/dump_stream.h"

namespace sipsd::usrloc {

namespace {

RpcValue bindingValue(const Binding& b, int64_t now) {
  RpcStruct s;
  s.emplace_back("contact", b.contact);
  s.emplace_back("expires", int64_t(b.expires - now));
  if (b.q >= 0) s.emplace_back("q", double(b.q) / 1000.0);
  s.emplace_back("call_id", b.callId);
  s.emplace_back("cseq", int64_t(b.cseq));
  s.emplace_back("received", b.proto + ":" + b.source);
  if (b.connId) s.emplace_back("conn_id", b.connId);
  if (!b.node.empty()) s.emplace_back("node", b.node);
  if (!b.certSubject.empty()) s.emplace_back("cert_subject", b.certSubject);
  if (!b.certFingerprint.empty()) s.emplace_back("cert_fingerprint", b.certFingerprint);
  if (!b.userAgent.empty()) s.emplace_back("user_agent", b.userAgent);
  s.emplace_back("updated", b.updated);
  return RpcValue(std::move(s));
}

}  // namespace

RpcValue recordValue(const AorRecord& r, int64_t now, bool brief) {
  RpcArray contacts;
  for (const Binding& b : r.bindings) {
    if (b.expires <= now) continue;
    if (brief) {
      RpcStruct c;
      c.emplace_back("contact", b.contact);
      contacts.emplace_back(std::move(c));
    } else {
      contacts.push_back(bindingValue(b, now));
    }
  }
  RpcStruct s;
  s.emplace_back("aor", r.aor);
  s.emplace_back("contacts", RpcValue(std::move(contacts)));
  return RpcValue(std::move(s));
}

DumpStream::DumpStream(const LocationTable& table, int64_t now, Options opt)
    : table_(table), now_(now), opt_(std::move(opt)) {}

RpcStruct DumpStream::head() {
  RpcStruct s;
  s.emplace_back("table", "location");
  s.emplace_back("store", opt_.store);
  if (!opt_.node.empty()) s.emplace_back("node", opt_.node);
  return s;
}

bool DumpStream::step(RpcArray& out) {
  if (!walked_) {
    walked_ = !table_.walkSome(walk_, opt_.walkBudget, records_);
    return true;  // the writing starts with the next step
  }
  for (size_t n = 0; n < opt_.emitBudget && next_ < records_.size(); ++n) {
    RecordPtr rec = std::move(records_[next_++]);  // released as it is written
    RpcValue v = recordValue(*rec, now_, opt_.brief);
    const auto& contacts = std::get<RpcArray>(std::get<RpcStruct>(v.v)[1].second.v);
    if (contacts.empty()) continue;  // expired, not swept yet
    ++aors_;
    contacts_ += int64_t(contacts.size());
    out.push_back(std::move(v));
  }
  if (next_ < records_.size()) return true;
  records_ = {};
  return false;
}

RpcStruct DumpStream::tail() {
  RpcStruct s;
  s.emplace_back("aors", aors_);
  s.emplace_back("contacts", contacts_);
  return s;
}

}  // namespace sipsd::usrloc

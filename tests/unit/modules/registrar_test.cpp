// The registrar's RFC 3261 §10.3 processing (BindingUpdate), REGISTER parsing, and usrloc's
// record codec and replica table.
#include <doctest/doctest.h>

#include <string>

#include "core/parser/msg_parser.h"
#include "modules/registrar/binding_update.h"
#include "modules/registrar/registrar_metrics.h"
#include "modules/registrar/register_request.h"
#include "modules/usrloc/location_table.h"
#include "modules/usrloc/record_codec.h"

using namespace sipsd;
using namespace sipsd::registrar;
using sipsd::usrloc::AorRecord;
using sipsd::usrloc::Binding;
using sipsd::usrloc::LocationTable;
using sipsd::usrloc::RecordCodec;

namespace {

std::string reg(const std::string& contacts, const std::string& extra = "", int cseq = 2) {
  std::string m = "REGISTER sip:example.com SIP/2.0\r\n"
                  "Via: SIP/2.0/TLS 127.0.0.1:5999;branch=z9hG4bK1\r\n"
                  "From: <sip:alice@example.com>;tag=1\r\n"
                  "To: <sip:alice@example.com>\r\n"
                  "Call-ID: cid-1\r\n"
                  "CSeq: " + std::to_string(cseq) + " REGISTER\r\n";
  if (!contacts.empty()) m += "Contact: " + contacts + "\r\n";
  m += extra;
  m += "Content-Length: 0\r\n\r\n";
  return m;
}

RegisterRequest parsed(const std::string& text) {
  SipMsg msg;
  std::string err;
  REQUIRE(parseMessage(text, msg, err));
  RegisterRequest r;
  REQUIRE_MESSAGE(RegisterRequest::parse(msg, r, err), err);
  return r;
}

const RegisterSource kSrc{"tls", "127.0.0.1:40000", 7, "", "alice", "ab12"};

Binding mkb(std::string contact, int64_t expires, std::string callId = "x", uint32_t cseq = 1) {
  Binding b;
  b.contact = std::move(contact);
  b.expires = expires;
  b.callId = std::move(callId);
  b.cseq = cseq;
  return b;
}

AorRecord recordOf(std::vector<Binding> b) {
  AorRecord r;
  r.aor = "alice";
  r.version = 1;
  r.bindings = std::move(b);
  return r;
}

}  // namespace

TEST_CASE("REGISTER parsing: contacts, expires, q, star") {
  auto r = parsed(reg("<sip:a@1.2.3.4:5;transport=tls>;expires=30;q=0.5, <sip:a@5.6.7.8>", "Expires: 120\r\n"));
  CHECK(r.toUri == "sip:alice@example.com");
  CHECK(r.callId == "cid-1");
  CHECK(r.cseq == 2);
  REQUIRE(r.expires);
  CHECK(*r.expires == 120);
  REQUIRE(r.contacts.size() == 2);
  CHECK(r.contacts[0].uri == "sip:a@1.2.3.4:5;transport=tls");
  CHECK(*r.contacts[0].expires == 30);
  CHECK(r.contacts[0].q == 500);
  CHECK(r.contacts[1].q == -1);
  CHECK(parsed(reg("*", "Expires: 0\r\n")).star);

  SipMsg msg;
  std::string err, text = reg("<sip:a@1.2.3.4>;q=2");
  REQUIRE(parseMessage(text, msg, err));
  RegisterRequest bad;
  CHECK_FALSE(RegisterRequest::parse(msg, bad, err));
  CHECK(err == "Bad Contact q");
}

TEST_CASE("new binding: expires from the contact, the header, or default; clamped to max") {
  RegistrarParams p;
  p.minExpires = 10;
  p.maxExpires = 1000;
  auto r = BindingUpdate::compute(parsed(reg("<sip:a@h1>;expires=30, <sip:a@h2>, <sip:a@h3>;expires=5000",
                                              "Expires: 120\r\n")),
                                  kSrc, nullptr, 100, p);
  REQUIRE(r.code == 200);
  REQUIRE(r.write);
  REQUIRE(r.bindings.size() == 3);
  CHECK(r.bindings[0].expires == 130);
  CHECK(r.bindings[1].expires == 220);
  CHECK(r.bindings[2].expires == 1100);
  CHECK(r.bindings[0].certFingerprint == "ab12");
  CHECK(r.bindings[0].connId == 7);
  auto d = BindingUpdate::compute(parsed(reg("<sip:a@h1>")), kSrc, nullptr, 100, p);
  CHECK(d.bindings[0].expires == 100 + 1000);  // default 3600 clamped to max 1000
}

TEST_CASE("423 below min_expires, with Min-Expires; Expires 0 is always allowed") {
  RegistrarParams p;
  auto r = BindingUpdate::compute(parsed(reg("<sip:a@h1>", "Expires: 30\r\n")), kSrc, nullptr, 100, p);
  CHECK(r.code == 423);
  CHECK(r.extraHeaders == "Min-Expires: 60\r\n");
  CHECK_FALSE(r.write);
  AorRecord cur = recordOf({mkb("sip:a@h1", 500, "cid-0", 1)});
  auto z = BindingUpdate::compute(parsed(reg("<sip:a@h1>", "Expires: 0\r\n")), kSrc, &cur, 100, p);
  CHECK(z.code == 200);
  CHECK(z.write);
  CHECK(z.bindings.empty());
}

TEST_CASE("Call-ID/CSeq ordering: older CSeq rejected, same CSeq a retransmission, other Call-ID replaces") {
  RegistrarParams p;
  AorRecord cur = recordOf({mkb("sip:a@h1", 500, "cid-1", 5)});
  CHECK(BindingUpdate::compute(parsed(reg("<sip:a@h1>", "", 4)), kSrc, &cur, 100, p).code == 400);
  auto same = BindingUpdate::compute(parsed(reg("<sip:a@h1>", "", 5)), kSrc, &cur, 100, p);
  CHECK(same.code == 200);
  CHECK_FALSE(same.write);
  auto newer = BindingUpdate::compute(parsed(reg("<sip:a@h1>", "", 6)), kSrc, &cur, 100, p);
  CHECK(newer.write);
  CHECK(newer.bindings[0].cseq == 6);
  AorRecord other = recordOf({mkb("sip:a@h1", 500, "cid-other", 50)});
  auto replaced = BindingUpdate::compute(parsed(reg("<sip:a@h1>", "", 1)), kSrc, &other, 100, p);
  CHECK(replaced.write);
  CHECK(replaced.bindings.size() == 1);
  CHECK(replaced.bindings[0].callId == "cid-1");
}

TEST_CASE("star removes everything only with Expires: 0; query lists; max_contacts; expired ignored") {
  RegistrarParams p;
  p.maxContacts = 2;
  AorRecord cur = recordOf({mkb("sip:a@h1", 500, "x", 1), mkb("sip:a@old", 50, "x", 1)});
  CHECK(BindingUpdate::compute(parsed(reg("*")), kSrc, &cur, 100, p).code == 400);
  auto star = BindingUpdate::compute(parsed(reg("*", "Expires: 0\r\n")), kSrc, &cur, 100, p);
  CHECK(star.write);
  CHECK(star.bindings.empty());
  auto q = BindingUpdate::compute(parsed(reg("")), kSrc, &cur, 100, p);
  CHECK(q.code == 200);
  CHECK_FALSE(q.write);
  // The expired sip:a@old does not count against max_contacts.
  auto two = BindingUpdate::compute(parsed(reg("<sip:a@h2>")), kSrc, &cur, 100, p);
  CHECK(two.code == 200);
  CHECK(two.bindings.size() == 2);
  auto three = BindingUpdate::compute(parsed(reg("<sip:a@h2>, <sip:a@h3>")), kSrc, &cur, 100, p);
  CHECK(three.code == 503);
  AorRecord live = recordOf(two.bindings);
  std::string hdrs = BindingUpdate::contactHeaders(&live, 100);
  CHECK(hdrs == "Contact: <sip:a@h1>;expires=400\r\nContact: <sip:a@h2>;expires=3600\r\n");
}

TEST_CASE("record codec round trip with escapes") {
  Binding b{"sip:a@h1;transport=tls", 1234, 500, "c\tid%", 9, "tls", "[::1]:5061", 77, "sip:10.0.0.1:5060",
            "alice", "ab", "UA\nx", 1200};
  std::string text = RecordCodec::encode({b, b});
  std::string err;
  auto back = RecordCodec::decode(text, err);
  REQUIRE_MESSAGE(back, err);
  REQUIRE(back->size() == 2);
  CHECK((*back)[0].callId == "c\tid%");
  CHECK((*back)[0].userAgent == "UA\nx");
  CHECK((*back)[1].connId == 77);
  CHECK((*back)[1].source == "[::1]:5061");
  CHECK(RecordCodec::lastExpiry(*back) == 1234);
  CHECK_FALSE(RecordCodec::decode("sip:a\t1\n", err));
  // Branch flags saved with the contact (setbflag() before save()); a record from a node that
  // did not write them yet (13 fields) reads as no flags.
  b.cflags = 1u << 6;
  auto flagged = RecordCodec::decode(RecordCodec::encode({b}), err);
  REQUIRE_MESSAGE(flagged, err);
  CHECK((*flagged)[0].cflags == 64u);
  std::string old = RecordCodec::encode({b});
  old.erase(old.rfind('\t'));
  old += '\n';
  auto older = RecordCodec::decode(old, err);
  REQUIRE_MESSAGE(older, err);
  CHECK((*older)[0].cflags == 0u);
  CHECK((*older)[0].updated == 1200);
}

TEST_CASE("replica: newer versions win, tombstones block older writes, sweep expires") {
  LocationTable t;
  auto mk = [](uint64_t v, std::vector<Binding> b) {
    auto r = std::make_shared<AorRecord>();
    r->aor = "alice";
    r->version = v;
    r->bindings = std::move(b);
    r->written = 100;
    return usrloc::RecordPtr(r);
  };
  t.apply(mk(2, {mkb("sip:a@h1", 500)}));
  t.apply(mk(1, {mkb("sip:a@h2", 500)}));
  REQUIRE(t.get("alice"));
  CHECK(t.get("alice")->bindings[0].contact == "sip:a@h1");
  size_t idx = 9;
  CHECK(t.getByContact("sip:a@h1", "", idx));
  CHECK(idx == 0);
  t.apply(mk(3, {}));
  CHECK_FALSE(t.get("alice"));
  CHECK_FALSE(t.getByContact("sip:a@h1", "", idx));
  t.apply(mk(2, {mkb("sip:a@h1", 500)}));
  CHECK_FALSE(t.get("alice"));
  t.apply(mk(4, {mkb("sip:a@h3", 150)}));
  CHECK(t.get("alice"));
  CHECK(t.sweep(140, 60) == 0);
  CHECK(t.sweep(151, 60) == 1);
  CHECK(t.size() == 0);
}

TEST_CASE("replica: the per-tick sweep takes a bounded slice and comes round the whole table") {
  // 5,000 AoRs: every even one expired at 150, every odd one live until 900.
  LocationTable t;
  for (int i = 0; i < 5000; ++i) {
    auto r = std::make_shared<AorRecord>();
    r->aor = "u" + std::to_string(i);
    r->version = 1;
    r->bindings.push_back(mkb("sip:" + r->aor + "@h", i % 2 ? 900 : 150));
    r->written = 100;
    t.apply(r);
  }
  REQUIRE(t.size() == 5000);
  CHECK(t.sweepSome(140, 60, 100) == 0);  // nothing expired yet
  size_t total = 0, calls = 0;
  while (total < 2500 && calls < 200) {
    size_t n = t.sweepSome(200, 60, 100);
    // At most the budget's records looked at (whole buckets: a few more), about half expired.
    CHECK(n <= 110);
    total += n;
    ++calls;
  }
  CHECK(total == 2500);
  CHECK(calls >= 40);  // 100 per call cannot see 5,000 records in fewer calls
  CHECK(t.size() == 2500);
  for (int i = 0; i < 5000; ++i) CHECK((t.get("u" + std::to_string(i)) != nullptr) == (i % 2 == 1));
  size_t idx = 0;
  CHECK_FALSE(t.getByContact("sip:u0@h", "", idx));  // the dropped records' contacts are unindexed
  CHECK(t.getByContact("sip:u1@h", "", idx));
  // Going on round: nothing more to drop until the live ones expire, then all go.
  CHECK(t.sweepSome(200, 60, 100000) == 0);
  CHECK(t.sweepSome(901, 60, 100000) == 2500);
  CHECK(t.size() == 0);
  CHECK(t.sweepSome(901, 60, 100) == 0);  // an empty table
}

TEST_CASE("replica without the contact index (no node_address): AoR lookups as usual, no contact lookups") {
  LocationTable t(false);
  auto r = std::make_shared<AorRecord>();
  r->aor = "alice";
  r->version = 1;
  r->bindings.push_back(mkb("sip:a@h1", 500));
  t.apply(r);
  REQUIRE(t.get("alice"));
  CHECK(t.get("alice")->bindings[0].contact == "sip:a@h1");
  size_t idx = 0;
  CHECK_FALSE(t.getByContact("sip:a@h1", "", idx));
  CHECK(t.sweep(501, 60) == 1);
  CHECK(t.size() == 0);
}

TEST_CASE("registrar metrics: REGISTER answers counted as accepted or refused by code") {
  RegistrarMetrics m;
  for (int status : {100, 180, 200, 202, 403, 403, 423, 503, 500, 488, 606}) m.replied(status);
  CHECK(m.count(RegistrarMetrics::kAccepted) == 2);  // provisional replies are not answers
  CHECK(m.count(RegistrarMetrics::slotOf(403)) == 2);
  CHECK(m.count(RegistrarMetrics::slotOf(423)) == 1);
  CHECK(m.count(RegistrarMetrics::kOther) == 2);  // 488, 606
  CHECK(RegistrarMetrics::slotOf(488) == RegistrarMetrics::kOther);
  MetricsWriter w;
  m.write(w);
  CHECK(w.text().find("sipsd_registrar_registrations_accepted_total 2\n") != std::string::npos);
  CHECK(w.text().find("sipsd_registrar_registrations_refused_total{code=\"403\"} 2\n") != std::string::npos);
  CHECK(w.text().find("sipsd_registrar_registrations_refused_total{code=\"other\"} 2\n") != std::string::npos);
  CHECK(w.text().find("sipsd_registrar_registrations_refused_total{code=\"401\"} 0\n") != std::string::npos);
}

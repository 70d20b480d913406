// Kamailio-habit message functions: is_method, has_totag, is_present_hf, append_hf/remove_hf
// (recorded in the edit list), mf_process_maxfwd_header return codes, load-time errors.
#include "core/parser/msg_parser.h"
#include "script_fixture.h"

namespace {

struct MsgFixture : sipsd::test::Fixture {
  std::string text;
  void setMessage(std::string t) {
    text = std::move(t);
    std::string err;
    REQUIRE_MESSAGE(sipsd::parseMessage(text, msg, err), err);
  }
};

const char* kBye =
    "BYE sip:bob@192.0.2.9 SIP/2.0\r\n"
    "Via: SIP/2.0/UDP 192.0.2.1;branch=z9hG4bK1\r\n"
    "Max-Forwards: 0\r\n"
    "From: <sip:a@x>;tag=1\r\n"
    "To: <sip:b@y>;tag=2\r\n"
    "X-Foo: 1\r\n"
    "Call-ID: c\r\n"
    "CSeq: 2 BYE\r\n"
    "Content-Length: 0\r\n\r\n";

const char* kInvite =
    "INVITE sip:bob@192.0.2.9 SIP/2.0\r\n"
    "Via: SIP/2.0/UDP 192.0.2.1;branch=z9hG4bK1\r\n"
    "From: <sip:a@x>;tag=1\r\n"
    "To: <sip:b@y>\r\n"
    "Call-ID: c\r\n"
    "CSeq: 1 INVITE\r\n"
    "Content-Length: 0\r\n\r\n";

}  // namespace

TEST_CASE("is_method, has_totag, is_present_hf read the message") {
  MsgFixture f;
  f.setMessage(kBye);
  f.run("route { if (is_method(\"INVITE|BYE\")) { t(1, \"m\"); } if (is_method(\"ACK\")) { t(1, \"ack\"); }"
        " if (has_totag()) { t(1, \"tt\"); } if (is_present_hf(\"x-foo\")) { t(1, \"xf\"); }"
        " if (is_present_hf(\"X-Bar\")) { t(1, \"xb\"); } if (is_present_hf(\"f\")) { t(1, \"compact\"); } }");
  CHECK(f.calls == std::vector<std::string>{"t(1,m)", "t(1,tt)", "t(1,xf)", "t(1,compact)"});
  f.setMessage(kInvite);
  f.run("route { if (!has_totag()) { t(1, \"initial\"); } }");
  CHECK(f.calls == std::vector<std::string>{"t(1,initial)"});
}

TEST_CASE("mf_process_maxfwd_header: -1 at 0 (script answers 483), 2 and an insert when absent") {
  MsgFixture f;
  f.setMessage(kBye);
  f.run("route { if (!mf_process_maxfwd_header(10)) { t(1, \"483\"); } }");
  CHECK(f.calls == std::vector<std::string>{"t(1,483)"});
  CHECK(f.edits.maxForwardsInsert == 0);
  f.setMessage(kInvite);
  f.run("route { if (mf_process_maxfwd_header(\"10\") == 2) { t(1, \"added\"); } }");
  CHECK(f.calls == std::vector<std::string>{"t(1,added)"});
  CHECK(f.edits.maxForwardsInsert == 10);
}

TEST_CASE("append_hf and remove_hf record edits for the relay") {
  MsgFixture f;
  f.setMessage(kBye);
  f.run("route { append_hf(\"X-A: 1\\r\\n\"); append_hf(\"X-B: 2\"); if (remove_hf(\"X-Foo\")) { t(1, \"had\"); }"
        " if (!remove_hf(\"X-None\")) { t(1, \"none\"); } }");
  CHECK(f.edits.appendHeaders == "X-A: 1\r\nX-B: 2\r\n");
  CHECK(f.edits.removeHeaders == std::vector<std::string>{"X-Foo", "X-None"});
  CHECK(f.calls == std::vector<std::string>{"t(1,had)", "t(1,none)"});
}

TEST_CASE("bad arguments are load-time errors") {
  for (const char* bad : {"route { append_hf(\"no colon\"); }", "route { append_hf(\"A: 1\\r\\n\\r\\nbody\"); }",
                          "route { remove_hf(\"Via\"); }", "route { remove_hf(\"a b\"); }",
                          "route { is_method(\"INVITE|\"); }", "route { mf_process_maxfwd_header(0); }",
                          "route { mf_process_maxfwd_header(\"x\"); }", "route { append_hf(\"Via: x\"); }"}) {
    CAPTURE(bad);
    sipsd::test::Fixture f;
    std::string src = bad;
    sipsd::cfg::Diagnostics diags;
    sipsd::cfg::ErrorHandler h(src, "t.cfg", diags);
    auto config = sipsd::cfg::parseConfig(h);
    auto script = sipsd::cfg::Checker(f.registry, h).compile(config);
    CHECK(diags.hasErrors());
  }
}

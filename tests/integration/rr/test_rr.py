#!/usr/bin/env python3
"""Issue 11 (rr, core habits, peer connections) through the real binary:
  preloaded     Route: <sipsd;lr>, <next;lr> reaches next without sipsd's entry (by address
                and by alias=), append_hf/remove_hf visible at the receiver, Max-Forwards 0 -> 483
                via mf_process_maxfwd_header, uri == myself;
  peer_conn     a UDP client's MESSAGE to sip:alice@IP:EPHEMERAL;transport=tls reaches alice over
                the TLS connection she opened (no listener on her port), her 200 comes back;
  dialog        record_route() with TLS in / UDP out: two Record-Routes (r2=on, the UDP one
                naming the listener's advertise address); ACK and BYE
                carrying that route set go through sipsd, which strips its own entries, and the
                BYE to alice's contact goes over her connection.
Run: SIPSD_BUILD_DIR=build python3 tests/integration/rr/test_rr.py"""
import os
import socket
import ssl
import sys

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "lib"))
from sipsd_harness import Checker, Sipsd, first_line, free_port, headers, make_pki, read_sip_message, status_of, work_dir

HOST = "127.0.0.1"
ALIAS = "proxy.rr.test"
ADV = "sip.rr.test"  # advertise name of the UDP listener (Via, Record-Route)


def config(udp, tls, ca):
    return f"""
debug=3
children=2
listen=udp:{HOST}:{udp} advertise {ADV}:5099
listen=tls:{HOST}:{tls}
alias={ALIAS}
loadmodule "tls"
loadmodule "sl"
loadmodule "rr"
modparam("tls", "certificate", "{ca}/certs/server.crt")
modparam("tls", "private_key", "{ca}/certs/server.key")
modparam("tls", "ca_list", "{ca}/ca.crt")
modparam("tls", "verify_certificate", 1)

route {{
    if (!mf_process_maxfwd_header(10)) {{ sl_reply(483, "Too Many Hops"); exit; }}
    if (has_totag()) {{
        if (loose_route()) {{ forward(); exit; }}
        sl_reply(404, "No route"); exit;
    }}
    if (loose_route()) {{
        append_hf("X-Preloaded: yes\\r\\n");
        forward();
        exit;
    }}
    if (is_method("OPTIONS") && @msg.X-Check != "") {{
        if (is_myself(@msg.X-Check)) {{ sl_reply(200, "is us"); }} else {{ sl_reply(404, "not us"); }}
        exit;
    }}
    if (is_method("OPTIONS") && uri == myself) {{ sl_reply(200, "myself"); exit; }}
    if (is_method("REGISTER")) {{ sl_reply(200, "OK"); exit; }}
    if (is_present_hf("X-Strip")) {{ remove_hf("X-Strip"); }}
    append_hf("X-Seen-By: sipsd\\r\\n");
    if (is_method("INVITE")) {{ record_route(); }}
    forward();
}}
"""


def request(method, ruri, via, extra="", cseq=1, call_id="rr-1", to_tag="", body=""):
    to = f"<sip:bob@example.org>{';tag=' + to_tag if to_tag else ''}"
    return (f"{method} {ruri} SIP/2.0\r\n"
            f"Via: {via}\r\n"
            f"From: <sip:alice@example.org>;tag=al1\r\n"
            f"To: {to}\r\n"
            f"Call-ID: {call_id}\r\n"
            f"CSeq: {cseq} {method}\r\n"
            f"{extra}"
            f"Content-Length: {len(body)}\r\n\r\n{body}").encode()


def reply_to(req, code, reason, extra=""):
    """A reply to `req` (bytes): its Vias, From, To (with our tag), Call-ID, CSeq, Record-Routes."""
    head = req.split(b"\r\n\r\n", 1)[0].split(b"\r\n")[1:]
    keep = [l for l in head if l.split(b":", 1)[0].strip().lower() in
            (b"via", b"from", b"call-id", b"cseq", b"record-route")]
    to = [l for l in head if l.split(b":", 1)[0].strip().lower() == b"to"][0]
    if b";tag=" not in to:
        to += b";tag=uas1"
    lines = [f"SIP/2.0 {code} {reason}".encode()] + keep + [to]
    return b"\r\n".join(lines) + b"\r\n" + extra.encode() + b"Content-Length: 0\r\n\r\n"


def udp_sock():
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.bind((HOST, 0))
    s.settimeout(5)
    return s


def recv_udp(s):
    data, _ = s.recvfrom(65536)
    return data


def alice_connect(ca, tls_port):
    ctx = ssl.create_default_context(cafile=os.path.join(ca, "ca.crt"))
    ctx.check_hostname = False
    ctx.load_cert_chain(os.path.join(ca, "certs", "alice.crt"), os.path.join(ca, "certs", "alice.key"))
    raw = socket.create_connection((HOST, tls_port), timeout=5)
    s = ctx.wrap_socket(raw)
    s.settimeout(5)
    return s


def preloaded(c, udp, tls):
    client, nxt = udp_sock(), udp_sock()
    cport, nport = client.getsockname()[1], nxt.getsockname()[1]
    via = f"SIP/2.0/UDP {HOST}:{cport};branch=z9hG4bKpre1;rport"
    for label, us in (("address", f"sip:{HOST}:{udp};lr"), ("alias", f"sip:{ALIAS};lr")):
        client.sendto(request("MESSAGE", "sip:bob@192.0.2.99", via,
                              f"Route: <{us}>, <sip:{HOST}:{nport};lr>\r\nMax-Forwards: 70\r\nX-Strip: 1\r\n",
                              call_id="pre-" + label, body="hi"), (HOST, udp))
        try:
            got = recv_udp(nxt)
        except socket.timeout:
            c.check(False, f"preloaded Route ({label}): the request reaches the next Route")
            continue
        c.check(True, f"preloaded Route ({label}): the request reaches the next Route")
        c.check(headers(got, "Route") == [f"<sip:{HOST}:{nport};lr>"],
                f"preloaded Route ({label}): sipsd removed its own entry, the next one stays", headers(got, "Route"))
        c.check(first_line(got) == "MESSAGE sip:bob@192.0.2.99 SIP/2.0",
                f"preloaded Route ({label}): request-URI unchanged", first_line(got))
        c.check(headers(got, "X-Preloaded") == ["yes"], f"preloaded Route ({label}): append_hf header at the receiver",
                got[:600])
        c.check(headers(got, "Max-Forwards") == ["69"], f"preloaded Route ({label}): Max-Forwards decremented once",
                headers(got, "Max-Forwards"))
    # remove_hf / append_hf on a plain relay
    client.sendto(request("MESSAGE", f"sip:bob@{HOST}:{nport}", via, "X-Strip: secret\r\nx-strip: 2\r\n",
                          call_id="strip"), (HOST, udp))
    got = recv_udp(nxt)
    c.check(not headers(got, "X-Strip"), "remove_hf: every X-Strip header is gone at the receiver", got[:600])
    c.check(headers(got, "X-Seen-By") == ["sipsd"], "append_hf: X-Seen-By at the receiver", got[:600])
    c.check(headers(got, "Via")[0].startswith(f"SIP/2.0/UDP {ADV}:5099;branch="),
            "advertise: the Via names the advertised address", headers(got, "Via"))
    c.check(headers(got, "Max-Forwards") == ["10"], "mf_process_maxfwd_header(10) inserted Max-Forwards: 10",
            headers(got, "Max-Forwards"))
    # Max-Forwards: 0 -> 483 from the script
    client.sendto(request("MESSAGE", f"sip:bob@{HOST}:{nport}", via, "Max-Forwards: 0\r\n", call_id="mf0"), (HOST, udp))
    got = recv_udp(client)
    c.check(status_of(got) == 483, "Max-Forwards 0: the script answers 483", first_line(got))
    # uri == myself
    client.sendto(request("OPTIONS", f"sip:{HOST}:{udp}", via, call_id="me1"), (HOST, udp))
    got = recv_udp(client)
    c.check(status_of(got) == 200 and b"myself" in got.split(b"\r\n")[0], "uri == myself for our address", first_line(got))
    client.sendto(request("OPTIONS", f"sip:{ALIAS}", via, call_id="me2"), (HOST, udp))
    got = recv_udp(client)
    c.check(status_of(got) == 200 and b"myself" in got.split(b"\r\n")[0], "uri == myself for an alias", first_line(got))
    for check, want in ((f"sip:{HOST}:{udp}", 200), (f"sip:{HOST}:{tls};transport=tls", 200),
                        (f"sip:{HOST}:{udp};transport=tls", 404), ("sip:192.0.2.1", 404), (ALIAS, 200)):
        client.sendto(request("OPTIONS", "sip:x@192.0.2.1", via, f"X-Check: {check}\r\n", call_id="chk-" + check),
                      (HOST, udp))
        got = recv_udp(client)
        c.check(status_of(got) == want, f"is_myself(\"{check}\") -> {want}", first_line(got))
    client.close()
    nxt.close()


def peer_conn(c, udp, tls, ca):
    alice = alice_connect(ca, tls)
    aport = alice.getsockname()[1]
    alice.sendall(request("REGISTER", f"sip:{HOST}", f"SIP/2.0/TLS {HOST}:{aport};branch=z9hG4bKreg1",
                          f"Contact: <sip:alice@{HOST}:{aport};transport=tls>\r\n", call_id="reg"))
    reg, rest = read_sip_message(alice)
    c.check(status_of(reg) == 200, "alice's REGISTER over TLS answered", first_line(reg))
    client = udp_sock()
    cport = client.getsockname()[1]
    client.sendto(request("MESSAGE", f"sip:alice@{HOST}:{aport};transport=tls",
                          f"SIP/2.0/UDP {HOST}:{cport};branch=z9hG4bKpc1;rport", call_id="pc1", body="hello"),
                  (HOST, udp))
    try:
        msg, rest = read_sip_message(alice, rest)
    except (socket.timeout, Exception) as e:  # noqa: B014
        c.check(False, "MESSAGE to alice's ephemeral port arrives over her own TLS connection", str(e))
        alice.close()
        return
    c.check(first_line(msg) == f"MESSAGE sip:alice@{HOST}:{aport};transport=tls SIP/2.0",
            "MESSAGE to alice's ephemeral port arrives over her own TLS connection", first_line(msg))
    alice.sendall(reply_to(msg, 200, "OK"))
    got = recv_udp(client)
    c.check(status_of(got) == 200, "alice's 200 reaches the UDP client", first_line(got))
    alice.close()
    client.close()


def dialog(c, udp, tls, ca):
    alice = alice_connect(ca, tls)
    aport = alice.getsockname()[1]
    bob = udp_sock()
    bport = bob.getsockname()[1]
    contact_a = f"sip:alice@{HOST}:{aport};transport=tls"
    inv = request("INVITE", f"sip:bob@{HOST}:{bport}", f"SIP/2.0/TLS {HOST}:{aport};branch=z9hG4bKinv1",
                  f"Contact: <{contact_a}>\r\n", call_id="dlg1")
    alice.sendall(inv)
    got = recv_udp(bob)
    rr = headers(got, "Record-Route")
    want = [f"<sip:{ADV}:5099;r2=on;lr>", f"<sip:{HOST}:{tls};transport=tls;r2=on;lr>"]
    c.check(rr == want, "INVITE TLS in / UDP out: two Record-Routes, UDP side (advertised) on top, r2=on", rr)
    bob.sendto(reply_to(got, 200, "OK", f"Contact: <sip:bob@{HOST}:{bport}>\r\n"), (HOST, udp))
    ok, rest = read_sip_message(alice)
    c.check(status_of(ok) == 200 and headers(ok, "Record-Route") == want,
            "alice gets the 200 with both Record-Routes", ok[:500])
    to_tag = "uas1"
    # alice's route set is the Record-Routes reversed
    route_a = f"Route: {want[1]}, {want[0]}\r\n"
    alice.sendall(request("ACK", f"sip:bob@{HOST}:{bport}", f"SIP/2.0/TLS {HOST}:{aport};branch=z9hG4bKack1",
                          route_a, call_id="dlg1", to_tag=to_tag))
    ack = recv_udp(bob)
    c.check(first_line(ack).startswith("ACK ") and not headers(ack, "Route"),
            "ACK with the route set goes through sipsd to bob; sipsd stripped both of its entries", ack[:500])
    # bob hangs up: his route set is the Record-Routes in order, the request-URI alice's contact
    route_b = f"Route: {want[0]}, {want[1]}\r\n"
    bob.sendto(request("BYE", contact_a, f"SIP/2.0/UDP {HOST}:{bport};branch=z9hG4bKbye1;rport", route_b,
                       cseq=2, call_id="dlg1", to_tag=to_tag), (HOST, udp))
    try:
        bye, rest = read_sip_message(alice, rest)
        c.check(first_line(bye).startswith("BYE ") and not headers(bye, "Route"),
                "BYE from bob reaches alice over her TLS connection without sipsd's Routes", bye[:500])
        alice.sendall(reply_to(bye, 200, "OK"))
        got = recv_udp(bob)
        c.check(status_of(got) == 200, "alice's 200 for the BYE reaches bob", first_line(got))
    except (socket.timeout, Exception) as e:  # noqa: B014
        c.check(False, "BYE from bob reaches alice over her TLS connection", str(e))
    alice.close()
    bob.close()


def main():
    c = Checker()
    tmp = work_dir("sipsd-rr-")
    ca = make_pki(tmp, clients=("alice:Alice",))
    udp, tls = free_port(), free_port()
    with Sipsd(config(udp, tls, ca), workdir=tmp) as s:
        s.start(wait_tcp=[(HOST, tls)])
        for section in (lambda: preloaded(c, udp, tls), lambda: peer_conn(c, udp, tls, ca),
                        lambda: dialog(c, udp, tls, ca)):
            try:
                section()
            except Exception as e:  # a timeout in one section must not hide the others
                c.check(False, "section raised", f"{type(e).__name__}: {e}\n{s.output()[-3000:]}")
        c.check(s.alive(), "sipsd alive at the end", s.output()[-2000:])
        if c.failed:
            print(s.output()[-6000:])
        c.check(s.stop() == 0, "sipsd stops cleanly")
    c.finish()


if __name__ == "__main__":
    main()

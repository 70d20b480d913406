#!/usr/bin/env python3
"""Issue 12 acceptance through the real sipsd binary (registrar + usrloc):
  tls      in memory: alice (client certificate CN=alice) registers over TLS and gets 200 with
           her contact; mallory's certificate for alice's AoR gets 403; ul.dump shows the
           certificate subject and SHA-256 fingerprint; a UDP MESSAGE to sip:alice@example.com
           reaches alice over her TLS connection and her 200 reaches the sender; RFC 3261 §10.3
           details (423 + Min-Expires, *, query, CSeq order, max_contacts); Expires: 0 -> 404;
           bindings expire by themselves; /metrics counts contacts and REGISTERs accepted and
           refused by code (the script's 403 included).
  cluster  two nodes sharing the location in Redis (redis-server started here, stopped by PID),
           with tm + rr: alice registers on node A, a MESSAGE and an INVITE entering node B
           reach her over her connection to A (180/200 back to the caller, ACK and BYE through
           both nodes); Redis killed: both nodes keep running and log it, /metrics shows it,
           REGISTER gets 503, known bindings still route (MESSAGE and a call); Redis restarted
           (empty): both nodes reload it and drop alice's binding it no longer holds (a
           MESSAGE entering A gets 404), registrations work again without a restart.
Run: SIPSD_BUILD_DIR=build python3 tests/integration/registrar/test_registrar.py [tls|cluster]"""
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import urllib.request

HERE = os.path.dirname(__file__)
sys.path.insert(0, os.path.join(HERE, "..", "lib"))
sys.path.insert(0, HERE)
from sipsd_harness import ROOT, Checker, Sipsd, finish, free_port, make_pki, run, status_of, tls_params, wait_for  # noqa: E402,E501
from sip_ua import HOST, TlsUa, UdpUa, first_line, header, headers, reply_to  # noqa: E402

SIPSCTL = os.path.join(ROOT, "tools", "sipsctl")


# RPCs over TCP, and REGISTER bound to the client certificate: the first part of every
# request route here (test_baresip.py adds tm + rr after it).
REGISTER_ROUTE = """    if (proto == TCP && method == "POST") {
        dispatch_rpc();
        exit;
    }
    if (proto == TCP && method == "GET" && @http.path == "/metrics") {
        http_metrics();
        exit;
    }
    if (method == "REGISTER") {
        # A phone may register only the AoR its certificate names.
        if (proto != TLS || !@tls.peer.verified) {
            sl_reply("403", "Register over TLS with a client certificate");
            exit;
        }
        if (@tls.peer != $tU) {
            xlog("L_WARN", "REGISTER for $tU refused: the certificate names @tls.peer\\n");
            sl_reply("403", "Certificate does not name this AoR");
            exit;
        }
        save("location");
        exit;
    }
"""

# Calls: record-routed, relayed statefully by tm; in-dialog requests follow their Route set.
CALL_ROUTE = REGISTER_ROUTE + """    if (has_totag()) {
        if (loose_route()) {
            xlog("L_NOTICE", "in-dialog $rm from $si:$sp to $ru\\n");
            t_relay();
            exit;
        }
        if (method == "ACK") {
            exit;
        }
        sl_reply("404", "Not here");
        exit;
    }
    if (method == "INVITE") {
        record_route();
    }
    if (!lookup("location")) {
        sl_reply("404", "Not Found");
        exit;
    }
    xlog("L_NOTICE", "$rm for $tU to $ru via $du\\n");
    t_relay();
"""

DEFAULT_ROUTE = REGISTER_ROUTE + """    if (!lookup("location")) {
        sl_reply("404", "Not Found");
        exit;
    }
    forward();
"""


def config(ca, udp, tls, tcp, extra_params="", usrloc_params="", modules=(), route=None):
    """The registrar config of these tests; `modules` are loaded too and `route` replaces the
    request route's body (test_baresip.py: tm + rr)."""
    loads = "".join(f'loadmodule "{m}"\n' for m in modules)
    return f"""
debug=3
children=2
listen=udp:{HOST}:{udp}
listen=tcp:{HOST}:{tcp}
listen=tls:{HOST}:{tls}
loadmodule "tls"
loadmodule "sl"
loadmodule "xmlrpc"
loadmodule "http"
{loads}loadmodule "usrloc"
loadmodule "registrar"
{tls_params(f'{ca}/certs/server.crt', f'{ca}/certs/server.key', f'{ca}/ca.crt', 1, 0)}
{usrloc_params}
{extra_params}

route {{
{route or DEFAULT_ROUTE}}}
"""


def sipsctl(tcp, *args):
    r = run([sys.executable, SIPSCTL, "-u", f"http://{HOST}:{tcp}/RPC2"] + list(args), timeout=30)
    return r.returncode, r.stdout, r.stderr


def cert(ca, who):
    return os.path.join(ca, "certs", who + ".crt"), os.path.join(ca, "certs", who + ".key")


def fingerprint(path):
    out = run(["openssl", "x509", "-in", path, "-noout", "-fingerprint", "-sha256"]).stdout
    return out.split("=", 1)[1].strip().replace(":", "").lower()


def metrics(tcp):
    """GET /metrics: {(name, 'label="v",...'): value}."""
    with urllib.request.urlopen(f"http://{HOST}:{tcp}/metrics", timeout=5) as r:
        text = r.read().decode()
    out = {}
    for line in text.splitlines():
        m = re.match(r'^([a-z_]+)(?:\{(.*)\})? (\S+)$', line)
        if m:
            out[(m.group(1), m.group(2) or "")] = float(m.group(3))
    return out


def metric(tcp, name, labels=""):
    return metrics(tcp).get((name, labels))


def call_via(c, caller, alice, port, what):
    """An INVITE to sip:alice@example.com entering at `port`: it reaches alice over her TLS
    connection; her 180 and 200 (Contact: her connection's address, as phones behind NAT do)
    reach the caller; the ACK and the BYE (record-routed) reach her over the same connection."""
    caller.invite(port, "sip:alice@example.com")
    try:
        inv = alice.recv(timeout=5)
    except Exception as e:  # noqa: BLE001 - a timeout or a closed connection both fail the check
        c.check(False, f"{what}: the INVITE reaches alice over her TLS connection", repr(e))
        return
    if not c.check(inv.startswith(b"INVITE sip:alice@127.0.0.1:9;transport=tls "),
                   f"{what}: the INVITE reaches alice over her TLS connection", first_line(inv)):
        return
    rr = [r for h in headers(inv, "Record-Route") for r in h.split(",")]
    me = f"Contact: <sip:alice@{alice.local[0]}:{alice.local[1]};transport=tls>"
    alice.send(reply_to(inv, 180, "Ringing", to_tag="a1", extra=me))
    ring = caller.recv(skip_provisional=False)
    while ring is not None and status_of(ring) == 100:
        ring = caller.recv(skip_provisional=False)
    c.check(ring is not None and status_of(ring) == 180, f"{what}: alice's 180 reaches the caller",
            ring and first_line(ring))
    alice.send(reply_to(inv, 200, "OK", to_tag="a1", extra=me))
    ok = caller.recv()
    if not c.check(ok is not None and status_of(ok) == 200 and len(headers(ok, "Record-Route")) >= 1,
                   f"{what}: alice's 200 reaches the caller, record-routed ({len(rr)} Record-Route entries)",
                   ok and ok.decode(errors="replace")):
        return
    caller.in_dialog("ACK", port, ok, 1)
    try:
        ack = alice.recv(timeout=5)
    except Exception as e:  # noqa: BLE001
        ack = repr(e).encode()
    c.check(ack.startswith(b"ACK ") and header(ack, "CSeq") == "1 ACK",
            f"{what}: the caller's ACK reaches alice over her connection", first_line(ack))
    caller.in_dialog("BYE", port, ok, 2)
    try:
        bye = alice.recv(timeout=5)
    except Exception as e:  # noqa: BLE001
        bye = repr(e).encode()
    if not c.check(bye.startswith(b"BYE ") and header(bye, "CSeq") == "2 BYE",
                   f"{what}: the caller's BYE reaches alice over her connection", first_line(bye)):
        return
    alice.send(reply_to(bye, 200, "OK"))
    done = caller.recv()
    c.check(done is not None and status_of(done) == 200 and header(done, "CSeq") == "2 BYE",
            f"{what}: alice's 200 to the BYE reaches the caller", done and first_line(done))


def deliver_message(c, sender, alice, port, what, expect_reach=True):
    """A UDP MESSAGE to sip:alice@example.com: alice answers 200 on her connection, the
    sender must get it. Returns the request alice saw (or None)."""
    sender.message(port, "sip:alice@example.com", text=what)
    if not expect_reach:
        reply = sender.recv()
        return reply
    try:
        got = alice.recv(timeout=5)
    except Exception as e:  # noqa: BLE001 - a timeout or a closed connection both fail the check
        c.check(False, f"{what}: alice receives the MESSAGE over her TLS connection", repr(e))
        return None
    c.check(got.startswith(b"MESSAGE "), f"{what}: alice receives the MESSAGE over her TLS connection",
            first_line(got))
    alice.send(reply_to(got, 200, "OK"))
    reply = sender.recv()
    c.check(reply is not None and status_of(reply) == 200, f"{what}: alice's 200 reaches the UDP sender",
            reply and first_line(reply))
    return got


# ------------------------------------------------------------------------------------------------

def section_tls(c, tmp, ca):
    udp, tls, tcp = free_port(), free_port(), free_port()
    params = ('modparam("registrar", "max_contacts", 3)\n'
              'modparam("registrar", "min_expires", 2)\n')
    with Sipsd(config(ca, udp, tls, tcp, params), workdir=tmp, name="mem") as d:
        d.start(wait_tcp=[(HOST, tls), (HOST, tcp)])
        alice = TlsUa(tls, ca, *cert(ca, "alice"))
        # The contact names a port nobody listens on: only her connection reaches her.
        contact = "<sip:alice@127.0.0.1:9;transport=tls>"
        r = alice.register(contact, expires=600)
        c.check(status_of(r) == 200, "alice registers over TLS: 200", first_line(r))
        cts = headers(r, "Contact")
        c.check(len(cts) == 1 and cts[0].startswith("<sip:alice@127.0.0.1:9;transport=tls>;expires=")
                and 595 <= int(cts[0].rsplit("=", 1)[1]) <= 600, "the 200 lists her contact with its expires", cts)

        mallory = TlsUa(tls, ca, *cert(ca, "mallory"), user="mallory")
        r = mallory.register("<sip:mallory@127.0.0.1:9;transport=tls>", aor_user="alice")
        c.check(status_of(r) == 403, "mallory's certificate registering alice's AoR: 403", first_line(r))
        r = mallory.register("<sip:mallory@127.0.0.1:9;transport=tls>")
        c.check(status_of(r) == 200, "mallory registers her own AoR: 200", first_line(r))
        mallory.close()
        m = metrics(tcp)
        c.check(m.get(("sipsd_usrloc_contacts", "")) == 2 and m.get(("sipsd_usrloc_aors", "")) == 2
                and m.get(("sipsd_registrar_registrations_accepted_total", "")) == 2
                and m.get(("sipsd_registrar_registrations_refused_total", 'code="403"')) == 1
                and ("sipsd_usrloc_redis_connected", "") not in m,
                "/metrics: 2 contacts of 2 AoRs, 2 REGISTERs accepted, 1 refused 403 (the script's), no Redis",
                {k: v for k, v in m.items() if "usrloc" in k[0] or "registrar" in k[0]})

        rc, out, err = sipsctl(tcp, "ul.lookup", "sip:alice@example.com")
        fp = fingerprint(cert(ca, "alice")[0])
        c.check(rc == 0 and "sip:alice@127.0.0.1:9;transport=tls" in out and "alice" in out and fp in out,
                "ul.lookup shows alice's contact, certificate subject and SHA-256 fingerprint", out + err)
        rc2, out2, err2 = sipsctl(tcp, "ul.lookup", "location", "sip:alice@example.com")
        c.check(rc2 == 0 and "sip:alice@127.0.0.1:9;transport=tls" in out2 and fp in out2,
                "ul.lookup location AOR (Kamailio's form, table first) shows alice's binding too",
                out2 + err2)
        rc2, out2, err2 = sipsctl(tcp, "ul.lookup", "aliases", "sip:alice@example.com")
        c.check(rc2 != 0 and "no table 'aliases'" in out2 + err2, "ul.lookup of another table: a clear fault",
                out2 + err2)
        rc, out, err = sipsctl(tcp, "ul.dump")
        c.check(rc == 0 and "alice" in out and "mallory" in out and fp in out and "tls:127.0.0.1:" in out,
                "ul.dump lists both AoRs with received address and fingerprint", out + err)

        sender = UdpUa()
        deliver_message(c, sender, alice, udp, "MESSAGE over UDP to alice")

        # RFC 3261 §10.3 details.
        r = alice.register(contact, expires=1)
        c.check(status_of(r) == 423 and header(r, "Min-Expires") == "2", "Expires below min_expires: 423 with Min-Expires",
                first_line(r) + " " + str(header(r, "Min-Expires")))
        r = alice.register("<sip:alice@127.0.0.1:10;transport=tls>;q=0.5", expires=300)
        c.check(status_of(r) == 200 and len(headers(r, "Contact")) == 2, "a second contact: 200 lists both",
                headers(r, "Contact"))
        r = alice.register(None)
        c.check(status_of(r) == 200 and len(headers(r, "Contact")) == 2, "a REGISTER without Contact queries: 200 lists both",
                headers(r, "Contact"))
        r = alice.register("<sip:alice@127.0.0.1:10;transport=tls>;q=0.5", expires=300, cseq=1)
        c.check(status_of(r) == 400, "an older CSeq of the same Call-ID for a bound contact: 400", first_line(r))
        r = alice.register("<sip:alice@127.0.0.1:12;transport=tls>, <sip:alice@127.0.0.1:13;transport=tls>",
                           expires=300)
        c.check(status_of(r) == 503, "more than max_contacts (3): 503", first_line(r))
        r = alice.register("*", expires=300)
        c.check(status_of(r) == 400, "Contact: * without Expires: 0: 400", first_line(r))
        r = alice.register("<sip:alice@127.0.0.1:10;transport=tls>", expires=0)
        c.check(status_of(r) == 200 and len(headers(r, "Contact")) == 1, "Expires: 0 removes one contact",
                headers(r, "Contact"))
        deliver_message(c, sender, alice, udp, "MESSAGE after the second contact left")

        r = alice.register(contact, expires=0)
        c.check(status_of(r) == 200 and not headers(r, "Contact"), "alice unregisters (Expires: 0): 200 without contacts",
                first_line(r))
        reply = deliver_message(c, sender, alice, udp, "MESSAGE after Expires: 0", expect_reach=False)
        c.check(reply is not None and status_of(reply) == 404, "the same MESSAGE after Expires: 0: 404",
                reply and first_line(reply))
        m = metrics(tcp)
        c.check(m.get(("sipsd_usrloc_contacts", "")) == 1 and m.get(("sipsd_usrloc_aors", "")) == 1,
                "/metrics after alice's Expires: 0: mallory's contact only, 1 AoR",
                {k: v for k, v in m.items() if "usrloc" in k[0]})

        # Short registrations disappear by themselves.
        r = alice.register(contact, expires=2)
        c.check(status_of(r) == 200, "a 2 s registration: 200", first_line(r))
        wait_for(lambda: "alice" not in sipsctl(tcp, "ul.dump")[1], 10, "alice's binding to expire")
        c.check(True, "an expired binding disappears from ul.dump by itself")
        reply = deliver_message(c, sender, alice, udp, "MESSAGE after expiry", expect_reach=False)
        c.check(reply is not None and status_of(reply) == 404, "MESSAGE after expiry: 404", reply and first_line(reply))
        m = metrics(tcp)
        refused = {code: m.get(("sipsd_registrar_registrations_refused_total", f'code="{code}"'))
                   for code in ("400", "403", "423", "503", "other")}
        c.check(m.get(("sipsd_usrloc_contacts", "")) == 1 and m.get(("sipsd_usrloc_aors", "")) == 1
                and m.get(("sipsd_registrar_registrations_accepted_total", "")) == 7
                and refused == {"400": 2, "403": 1, "423": 1, "503": 1, "other": 0},
                "/metrics after the RFC 3261 checks: alice's contacts gone (expired), 7 accepted, refused 400 x2, "
                "403, 423, 503", {k: v for k, v in m.items() if "usrloc" in k[0] or "registrar" in k[0]})
        rc, out, err = sipsctl(tcp, "ul.rm", "sip:mallory@example.com")
        c.check(rc == 0 and "mallory" in out, "ul.rm removes mallory's binding", out + err)

        def usrloc_gauges():
            return [metrics(tcp).get((g, "")) for g in ("sipsd_usrloc_aors", "sipsd_usrloc_contacts")]
        wait_for(lambda: usrloc_gauges() == [0, 0], 5, "/metrics to count no binding after ul.rm")
        c.check(all(usrloc_gauges() == [0, 0] for _ in range(4)),
                "/metrics after ul.rm: 0 AoRs, 0 contacts (scraped 4 times, whichever worker answers)")
        rc, out, err = sipsctl(tcp, "ul.rm", "sip:mallory@example.com")
        c.check(rc != 0 and "404" in out + err, "ul.rm of an AoR without bindings: fault 404", out + err)
        alice.close()
        c.check(d.alive(), "sipsd still runs")


class Redis:
    """A redis-server of our own on a loopback port (no persistence), stopped by PID."""

    def __init__(self, tmp, port, extra=()):
        self.tmp, self.port, self.proc, self.extra = tmp, port, None, list(extra)

    def start(self):
        self.log = open(os.path.join(self.tmp, "redis.log"), "ab")
        self.proc = subprocess.Popen(["redis-server", "--port", str(self.port), "--bind", HOST, "--save", "",
                                      "--appendonly", "no", "--dir", self.tmp] + self.extra,
                                     stdout=self.log, stderr=subprocess.STDOUT)
        wait_for(lambda: self.proc.poll() is not None or _tcp_open(self.port), 10, "redis-server")
        if self.proc.poll() is not None:
            raise RuntimeError("redis-server did not start")

    def kill(self):
        if self.proc and self.proc.poll() is None:
            os.kill(self.proc.pid, signal.SIGKILL)
            self.proc.wait()
        self.proc = None


def _tcp_open(port):
    import socket
    try:
        with socket.create_connection((HOST, port), timeout=0.5):
            return True
    except OSError:
        return False


def section_cluster(c, tmp, ca):
    if not shutil.which("redis-server"):
        c.check(False, "redis-server is installed (tools/setup.sh installs it)")
        return
    redis = Redis(tmp, free_port())
    redis.start()
    ports = {n: (free_port(), free_port(), free_port()) for n in "AB"}
    nodes = {}
    try:
        for n, (udp, tls, tcp) in ports.items():
            params = (f'modparam("usrloc", "db_url", "redis://{HOST}:{redis.port}/0")\n'
                      f'modparam("usrloc", "node_address", "sip:{HOST}:{udp}")\n')
            nodes[n] = Sipsd(config(ca, udp, tls, tcp, usrloc_params=params, modules=("tm", "rr"), route=CALL_ROUTE),
                             workdir=tmp, name="node" + n)
            nodes[n].start(wait_tcp=[(HOST, tls), (HOST, tcp)])
        for n, d in nodes.items():
            wait_for(lambda: "connected to Redis" in d.output(), 10, f"node {n} connected to Redis")
        a_udp, a_tls, a_tcp = ports["A"]
        b_udp, b_tls, b_tcp = ports["B"]

        alice = TlsUa(a_tls, ca, *cert(ca, "alice"))
        contact = "<sip:alice@127.0.0.1:9;transport=tls>"
        r = alice.register(contact, expires=600)
        c.check(status_of(r) == 200 and len(headers(r, "Contact")) == 1, "alice registers on node A: 200", first_line(r))
        rc, out, err = sipsctl(b_tcp, "ul.lookup", "sip:alice@example.com")
        c.check(rc == 0 and f"sip:{HOST}:{a_udp}" in out and fingerprint(cert(ca, "alice")[0]) in out,
                "node B knows alice's binding, held by node A, with her fingerprint", out + err)
        sender = UdpUa()
        deliver_message(c, sender, alice, b_udp, "MESSAGE entering node B")
        call_via(c, UdpUa(), alice, b_udp, "INVITE entering node B")
        c.check("in-dialog BYE" in nodes["A"].output() and "in-dialog BYE" in nodes["B"].output(),
                "the BYE passed through both nodes (each record-routed)")
        for n, (udp, tls, tcp) in ports.items():
            m = metrics(tcp)
            c.check(m.get(("sipsd_usrloc_contacts", "")) == 1 and m.get(("sipsd_usrloc_redis_connected", "")) == 1,
                    f"node {n} /metrics: 1 contact (shared), Redis connected",
                    {k: v for k, v in m.items() if "usrloc" in k[0]})

        mallory = TlsUa(b_tls, ca, *cert(ca, "mallory"), user="mallory")
        r = mallory.register("<sip:mallory@127.0.0.1:9;transport=tls>", aor_user="alice")
        c.check(status_of(r) == 403, "mallory registering alice's AoR on node B: 403", first_line(r))
        mallory.close()

        redis.kill()
        for n, d in nodes.items():
            wait_for(lambda: "lost Redis" in d.output(), 10, f"node {n} logs the lost Redis")
        c.check(True, "both nodes log that Redis is gone")
        refused = metric(a_tcp, "sipsd_registrar_registrations_refused_total", 'code="503"')
        r = alice.register(contact, expires=600)
        c.check(status_of(r) == 503, "REGISTER while Redis is down: 503", first_line(r))
        m = metrics(a_tcp)
        c.check(m.get(("sipsd_usrloc_redis_connected", "")) == 0
                and m.get(("sipsd_usrloc_redis_errors_total", 'kind="connection"'), 0) >= 1
                and m.get(("sipsd_registrar_registrations_refused_total", 'code="503"')) == refused + 1,
                "node A /metrics: Redis not connected, connection errors counted, the 503 counted",
                {k: v for k, v in m.items() if "usrloc" in k[0] or "registrar" in k[0]})
        deliver_message(c, sender, alice, b_udp, "MESSAGE via node B while Redis is down")
        call_via(c, UdpUa(), alice, b_udp, "INVITE via node B while Redis is down")
        c.check(all(d.alive() for d in nodes.values()), "both nodes keep running without Redis")

        redis.start()
        for n, d in nodes.items():
            wait_for(lambda: d.output().count("connected to Redis") >= 2, 15, f"node {n} reconnects")
        c.check(True, "both nodes reconnect to the restarted Redis by themselves")
        c.check(all(metric(t, "sipsd_usrloc_redis_connected") == 1 for _, _, t in ports.values()),
                "both nodes' /metrics: Redis connected again")
        # The restarted Redis is empty (no persistence): alice's binding is gone from it, as if
        # another node had removed it while these were away. The reload must drop it too.
        for n, d in nodes.items():
            wait_for(lambda: d.output().count("reloaded the location table from Redis") >= 2, 15,
                     f"node {n} reconciles its replica with the restarted Redis")
            c.check("reloaded the location table from Redis: 0 AoRs, 1 no longer in Redis removed" in d.output(),
                    f"node {n} drops alice's binding, absent from the restarted Redis", d.output()[-600:])
        for n, (udp, tls, tcp) in ports.items():
            c.check(metric(tcp, "sipsd_usrloc_contacts") == 0 and metric(tcp, "sipsd_usrloc_aors") == 0,
                    f"node {n} /metrics after the reload: 0 contacts, 0 AoRs")
        reply = deliver_message(c, sender, alice, a_udp, "MESSAGE entering node A after the reload", expect_reach=False)
        c.check(reply is not None and status_of(reply) == 404,
                "MESSAGE entering node A after it reloaded an empty Redis: 404 (not routed to the stale binding)",
                reply and first_line(reply))
        r = alice.register(contact, expires=600)
        c.check(status_of(r) == 200, "REGISTER after Redis is back: 200", first_line(r))
        wait_for(lambda: sipsctl(b_tcp, "ul.lookup", "sip:alice@example.com")[0] == 0, 10,
                 "node B to learn the new binding")
        deliver_message(c, sender, alice, b_udp, "MESSAGE entering node B after the restart")
        rc, out, err = sipsctl(b_tcp, "ul.rm", "sip:alice@example.com")
        c.check(rc == 0 and "alice" in out, "ul.rm of alice on node B (her binding is held by node A)", out + err)
        for n, (udp, tls, tcp) in ports.items():
            wait_for(lambda: metric(tcp, "sipsd_usrloc_contacts") == 0, 10, f"node {n} to count no contact")
            c.check(metric(tcp, "sipsd_usrloc_contacts") == 0 and metric(tcp, "sipsd_usrloc_aors") == 0,
                    f"node {n} /metrics after ul.rm on node B: 0 contacts, 0 AoRs (the removal came through Redis)")
        reply = deliver_message(c, sender, alice, a_udp, "MESSAGE entering node A after ul.rm", expect_reach=False)
        c.check(reply is not None and status_of(reply) == 404, "MESSAGE entering node A after ul.rm on node B: 404",
                reply and first_line(reply))
        alice.close()
    finally:
        for d in nodes.values():
            d.stop()
        redis.kill()


def section_reload_refused(c, tmp, ca):
    """A Redis that answers the reload's SCAN with an error: the node says the load stopped and
    that it will not reconcile (it must not drop bindings against a partial read, nor keep
    collecting changes for a reload that never ends), keeps running, and writes still work."""
    redis = Redis(tmp, free_port(), extra=["--rename-command", "SCAN", ""])
    redis.start()
    udp, tls, tcp = free_port(), free_port(), free_port()
    params = (f'modparam("usrloc", "db_url", "redis://{HOST}:{redis.port}/0")\n'
              f'modparam("usrloc", "node_address", "sip:{HOST}:{udp}")\n')
    node = Sipsd(config(ca, udp, tls, tcp, usrloc_params=params), workdir=tmp, name="nodeScan")
    try:
        node.start(wait_tcp=[(HOST, tls), (HOST, tcp)])
        wait_for(lambda: "loading the location table from Redis stopped: SCAN failed" in node.output(), 10,
                 "the node to log the failed reload")
        c.check("not reconciled until the next connection" in node.output(),
                "a Redis refusing SCAN: the node logs that the reload stopped and nothing is reconciled")
        alice = TlsUa(tls, ca, *cert(ca, "alice"))
        r = alice.register("<sip:alice@127.0.0.1:9;transport=tls>", expires=600)
        c.check(status_of(r) == 200, "REGISTER with that Redis still gets 200 (writes do not need SCAN)", first_line(r))
        alice.close()
        c.check(node.alive(), "the node keeps running")
    finally:
        node.stop()
        redis.kill()


def main():
    sections = sys.argv[1:] or ["tls", "cluster", "reload_refused"]
    c = Checker()
    tmp = tempfile.mkdtemp(prefix="sipsd-reg-")
    ca = make_pki(tmp, clients=("alice:alice", "mallory:mallory", "bob:bob"))
    try:
        if "tls" in sections:
            section_tls(c, tmp, ca)
        if "cluster" in sections:
            section_cluster(c, tmp, ca)
        if "reload_refused" in sections:
            section_reload_refused(c, tmp, ca)
    finally:
        finish(c, tmp)


if __name__ == "__main__":
    main()

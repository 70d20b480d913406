#!/usr/bin/env python3
"""Issue 9 items 3 and 9 through the real binary: HTTP is never answered over UDP (no reflection
amplifier; counted and logged once per interval), a second sipsd on a busy UDP address fails at
start naming it, SIGUSR1/SIGUSR2 do not kill sipsd, an HTTP request the script leaves unanswered
gets the core's 404 instead of hanging, and a request with an unparseable Via over TCP gets a 400
on its connection, which lives on."""
import http.client
import os
import signal
import socket
import sys
import time
import xmlrpc.client

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "lib"))
from sipsd_harness import (Checker, Sipsd, free_port, read_sip_message, sip_options, status_of, wait_for)


def config(port):
    return f"""
debug=3
children=2
listen=udp:127.0.0.1:{port}
listen=tcp:127.0.0.1:{port}
loadmodule "sl"
loadmodule "http"
loadmodule "xmlrpc"

route {{
    if (method == "GET" && @http.path == "/health") {{
        http_reply(200, "OK", "application/json", "{{\\"status\\": \\"healthy\\"}}");
        exit;
    }}
    if (method == "POST" && @http.path == "/RPC2") {{
        dispatch_rpc();
        exit;
    }}
    if (method == "OPTIONS" || @http.path == "/sl") {{
        sl_reply(200, "OK");
        exit;
    }}
    # anything else: the script ends without an answer
}}
"""


def core_stats(port):
    return xmlrpc.client.ServerProxy(f"http://127.0.0.1:{port}/RPC2").core.stats()


def udp_http(c, s, port):
    u = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    u.bind(("127.0.0.1", 0))
    u.settimeout(1.0)
    req = b"GET /health HTTP/1.1\r\n\r\n"
    for _ in range(50):
        u.sendto(req, ("127.0.0.1", port))
    got = b""
    try:
        got, _ = u.recvfrom(65536)
    except socket.timeout:
        pass
    c.check(got == b"", "HTTP GET /health over UDP gets no answer (no reflection)", repr(got[:200]))
    # A SIP OPTIONS from the same socket is still answered: only HTTP is refused on datagrams.
    u.sendto(sip_options("127.0.0.1", port, "UDP", local=u.getsockname()), ("127.0.0.1", port))
    try:
        got, _ = u.recvfrom(65536)
    except socket.timeout:
        got = b""
    c.check(status_of(got) == 200, "SIP OPTIONS over UDP still answered 200", repr(got[:200]))
    u.close()
    stats = core_stats(port)
    c.check(stats.get("http_over_udp") == 50, "core.stats counts the 50 HTTP datagrams as http_over_udp",
            repr(stats))
    lines = [l for l in s.output().splitlines() if "HTTP request over UDP" in l]
    c.check(1 <= len(lines) <= 3, f"the drops are logged once per interval, not 50 times ({len(lines)} lines)",
            "\n".join(lines[:10]))


def second_instance(c, port):
    other_tcp = free_port()
    cfg = f"""
listen=udp:127.0.0.1:{port}
listen=tcp:127.0.0.1:{other_tcp}
loadmodule "sl"
route {{ sl_reply(200, "OK"); }}
"""
    with Sipsd(cfg, name="second") as s2:
        s2.start()
        try:
            rc = s2.proc.wait(10)
        except Exception:
            rc = None
        out = s2.output()
        c.check(rc not in (None, 0), "a second sipsd on the same UDP address exits non-zero", f"rc={rc}\n{out}")
        c.check(f"127.0.0.1:{port}" in out and "already in use" in out,
                "its error names the busy UDP address", out[-1500:])


def signals(c, s, port):
    for sig, name in ((signal.SIGUSR1, "SIGUSR1"), (signal.SIGUSR2, "SIGUSR2")):
        s.proc.send_signal(sig)
        try:
            wait_for(lambda: name + " received" in s.output(), 5, name + " log line")
            logged = True
        except AssertionError:
            logged = False
        c.check(s.alive() and logged, f"{name} leaves sipsd running and logs a line", s.output()[-1000:])
    with socket.create_connection(("127.0.0.1", port), timeout=3) as t:
        t.sendall(sip_options("127.0.0.1", port, "TCP", local=t.getsockname()))
        msg, _ = read_sip_message(t)
    c.check(status_of(msg) == 200, "OPTIONS answered after the signals")


def unanswered_http(c, port):
    for method, path, body in (("DELETE", "/anything", None), ("POST", "/", xmlrpc.client.dumps((), "core.version")),
                               ("GET", "/nowhere", None)):
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=3)
        try:
            conn.request(method, path, body=body, headers={"Content-Type": "text/xml"} if body else {})
            r = conn.getresponse()
            status, data = r.status, r.read()
        except (socket.timeout, OSError) as e:
            status, data = None, repr(e).encode()
        conn.close()
        c.check(status == 404, f"HTTP {method} {path} the script does not answer gets the core's 404 (not a hang)",
                f"status={status} {data[:200]!r}")
    # The answered path keeps working and keep-alive survives the core's 404.
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=3)
    conn.request("DELETE", "/x")
    r = conn.getresponse()
    r1 = r.status
    r.read()
    conn.request("GET", "/health")
    r = conn.getresponse()
    c.check(r1 == 404 and r.status == 200 and b"healthy" in r.read(), "same connection: 404 then /health 200")
    conn.close()


def bad_via_tcp(c, port):
    with socket.create_connection(("127.0.0.1", port), timeout=3) as t:
        bad = (f"OPTIONS sip:127.0.0.1:{port} SIP/2.0\r\n"
               "Via: SIP/2.0/TCP @@@;;;branch=\r\n"
               "From: <sip:a@example.org>;tag=1\r\nTo: <sip:b@example.org>\r\n"
               "Call-ID: badvia-1\r\nCSeq: 1 OPTIONS\r\nContent-Length: 0\r\n\r\n").encode()
        t.sendall(bad)
        try:
            msg, rest = read_sip_message(t)
        except Exception as e:
            msg, rest = repr(e).encode(), b""
        c.check(status_of(msg) == 400 and b"Call-ID: badvia-1" in msg,
                "a request with an unparseable Via over TCP gets 400 on its connection", msg[:300])
        t.sendall(sip_options("127.0.0.1", port, "TCP", local=t.getsockname(), call_id="after-badvia"))
        msg, _ = read_sip_message(t, rest)
        c.check(status_of(msg) == 200 and b"after-badvia" in msg, "the connection lives on: next OPTIONS 200")


def one_http_writer(c, port):
    """Core, sl, http and xmlrpc answers come from one writer: the same header set."""
    shapes = {}
    for who, method, path, body in (("core 404", "DELETE", "/x", None), ("sl_reply", "GET", "/sl", None),
                                    ("http_reply", "GET", "/health", None),
                                    ("dispatch_rpc", "POST", "/RPC2", xmlrpc.client.dumps((), "core.version"))):
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=3)
        conn.request(method, path, body=body, headers={"Content-Type": "text/xml"} if body else {})
        r = conn.getresponse()
        data = r.read()
        names = sorted(h.lower() for h, _ in r.getheaders() if h.lower() != "content-type")
        shapes[who] = (names, r.getheader("Server", ""), r.getheader("Content-Length") == str(len(data)))
        conn.close()
    ref = shapes["core 404"]
    c.check(ref[0] == ["content-length", "date", "server"] and ref[1].startswith("sipsd/") and ref[2],
            "core 404: Date, Server sipsd/VERSION, exact Content-Length, no Connection header on HTTP/1.1",
            repr(shapes))
    c.check(all(v == ref for v in shapes.values()), "sl_reply, http_reply and dispatch_rpc send the same header set",
            repr(shapes))


def framing(c, s, port):
    lf = sip_options("127.0.0.1", port, "TCP", call_id="lf-only").replace(b"\r\n", b"\n")
    folded = sip_options("127.0.0.1", port, "TCP", call_id="folded").replace(
        b"Content-Length: 0\r\n", b"X-Note: a\r\n Content-Length: 40\r\nContent-Length: 0\r\n")
    follow = sip_options("127.0.0.1", port, "TCP", call_id="follower")
    with socket.create_connection(("127.0.0.1", port), timeout=3) as t:
        try:
            t.sendall(lf)
            msg, rest = read_sip_message(t)
        except Exception as e:
            msg, rest = repr(e).encode(), b""
        c.check(status_of(msg) == 200 and b"lf-only" in msg, "an LF-only OPTIONS completes over TCP (as over UDP)",
                msg[:200])
        try:
            t.sendall(folded + follow)
            m1, rest = read_sip_message(t, rest)
            m2, rest = read_sip_message(t, rest)
        except Exception as e:
            m1, m2 = repr(e).encode(), b""
        c.check(b"folded" in m1 and b"follower" in m2 and status_of(m1) == 200 and status_of(m2) == 200,
                "a folded ' Content-Length: 40' is folding, not a length: both pipelined requests answered",
                (m1[:120], m2[:120]))
    u = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    before = s.output().count("malformed message from")
    for i in range(100):
        u.sendto(b"X\nNOTICE: forged %d\r\n\r\n" % i, ("127.0.0.1", port))
    u.close()
    wait_for(lambda: s.output().count("malformed message from") > before, 5, "malformed datagram log")
    n = s.output().count("malformed message from") - before
    c.check(1 <= n <= 3, f"100 malformed datagrams are logged in {n} line(s), not 100")


def main():
    c = Checker()
    port = free_port()
    with Sipsd(config(port)) as s:
        s.start(wait_tcp=[("127.0.0.1", port)])
        udp_http(c, s, port)
        second_instance(c, port)
        c.check(s.alive(), "the first sipsd is unharmed by the second one's attempt")
        signals(c, s, port)
        unanswered_http(c, port)
        bad_via_tcp(c, port)
        framing(c, s, port)
        one_http_writer(c, port)
        c.check(s.alive(), "sipsd alive at the end", s.output()[-2000:])
        c.check(s.stop() == 0, "sipsd stops cleanly")
    c.finish()


if __name__ == "__main__":
    main()

#!/usr/bin/env python3
"""Issue 9 (TLS items) and issue 10 item 4 through the real sipsd binary:
  resumption        one client reconnecting resumes every handshake after its first (TLS 1.3 and
                    1.2, python ssl and openssl s_client -sess_in/-sess_out); a reload that changes
                    nothing (tls.reload RPC, SIGHUP) keeps session-ID and ticket resumption;
  resumption_off    session_tickets=0 / session_cache=0 do what they say (no tickets at all when
                    both are off, TLS 1.3 included);
Run: SIPSD_BUILD_DIR=build python3 tests/integration/tls/test_tls_hardening.py [section ...]"""
import json
import os
import select
import signal
import socket
import ssl
import subprocess
import sys
import tempfile
import time
import xmlrpc.client

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "lib"))
from sipsd_harness import (Checker, Sipsd, build_dir, free_port, read_sip_message, sip_options, sipsd_ca, status_of,
                           wait_for)

HOST = "127.0.0.1"
TLS12, TLS13 = ssl.TLSVersion.TLSv1_2, ssl.TLSVersion.TLSv1_3


# ------------------------------------------------------------------------------------------------
# helpers

def pki(tmp):
    ca = os.path.join(tmp, "ca")
    sipsd_ca("init", ca, "--cn", "sipsd hardening CA")
    sipsd_ca("server", ca, "server", "--cn", "localhost", "--ip", HOST, "--dns", "localhost")
    sipsd_ca("server", ca, "renewed", "--cn", "renewed.example.org", "--ip", HOST, "--dns", "renewed.example.org")
    for name, cn in (("bob", "Bob"), ("alice", "Alice"), ("carol", "Carol"), ("dave", "Dave")):
        sipsd_ca("client", ca, name, "--cn", cn)
    sipsd_ca("hashdir", ca)
    return ca


def crt(ca, name):
    return os.path.join(ca, "certs", name + ".crt")


def key(ca, name):
    return os.path.join(ca, "certs", name + ".key")


def client_ctx(ca, who=None, version=None):
    ctx = ssl.create_default_context(cafile=os.path.join(ca, "ca.crt"))
    ctx.check_hostname = False
    if who:
        ctx.load_cert_chain(crt(ca, who), key(ca, who))
    if version:
        ctx.minimum_version = version
        ctx.maximum_version = version
    return ctx


def tls_options(port, ctx, session=None):
    """Handshake (offering `session`), one OPTIONS, its reply (TLS 1.3 tickets arrive before it).
    Returns (code, reason, reused, session)."""
    with socket.create_connection((HOST, port), timeout=10) as raw:
        with ctx.wrap_socket(raw, server_hostname=None, session=session) as s:
            s.sendall(sip_options(HOST, port, "TLS", local=s.getsockname()))
            msg, _ = read_sip_message(s)
            reason = msg.split(b"\r\n", 1)[0].decode().split(" ", 2)[2]
            return status_of(msg), reason, s.session_reused, s.session


def rpc(port):
    return xmlrpc.client.ServerProxy(f"http://{HOST}:{port}/RPC2")


def base_cfg(ca, tls_port, rpc_port, extra="", debug=3):
    return f"""
debug={debug}
children=2
listen=tls:{HOST}:{tls_port}
listen=tcp:{HOST}:{rpc_port}
loadmodule "tls"
loadmodule "sl"
loadmodule "xmlrpc"
modparam("tls", "certificate", "{crt(ca, 'server')}")
modparam("tls", "private_key", "{key(ca, 'server')}")
modparam("tls", "ca_list", "{ca}/ca.crt")
modparam("tls", "verify_certificate", 1)
modparam("tls", "require_certificate", 1)
{extra}
route {{
    if (proto == TCP && method == "POST") {{ dispatch_rpc(); exit; }}
    sl_reply(200, @tls.peer);
}}
"""


def reconnect_loop(port, ctx, n):
    """n connections, each offering the session of the one before. Returns (resumed, renewed,
    all_ok); renewed counts resumed connections that brought a new ticket (a new session)."""
    session, resumed, renewed, ok = None, 0, 0, True
    for _ in range(n):
        offered = session
        code, reason, reused, session = tls_options(port, ctx, offered)
        ok = ok and (code, reason) == (200, "Bob")
        resumed += 1 if reused else 0
        renewed += 1 if reused and session is not None and session.id != offered.id else 0
    return resumed, renewed, ok


def bench(port, ca, *args):
    """sipsd-bench (tools/bench) with Bob's certificate; returns its JSON result."""
    exe = os.environ.get("SIPSD_BENCH") or os.path.join(build_dir(), "tools", "bench", "sipsd-bench")
    r = subprocess.run([exe, "--json", "--target", f"{HOST}:{port}", "--proto", "tls", "--cert", crt(ca, "bob"),
                        "--key", key(ca, "bob"), "--ca", os.path.join(ca, "ca.crt")] + list(args),
                       capture_output=True, text=True, timeout=120)
    try:
        return json.loads(r.stdout.strip().splitlines()[-1])
    except (ValueError, IndexError):
        return {"ops": 0, "resumed": 0, "errors": -1, "first_error": r.stdout + r.stderr}


def s_client_chain(port, ca, tmp, version_flag, n):
    """openssl s_client n times, each -sess_in the session the one before wrote with -sess_out.
    Returns the list of 'New'/'Reused' it reported."""
    sess = os.path.join(tmp, "s_client%s.sess" % version_flag)
    if os.path.exists(sess):
        os.remove(sess)
    seen = []
    for _ in range(n):
        args = ["openssl", "s_client", "-connect", f"{HOST}:{port}", "-CAfile", os.path.join(ca, "ca.crt"),
                "-cert", crt(ca, "bob"), "-key", key(ca, "bob"), version_flag, "-sess_out", sess]
        if os.path.exists(sess):
            args += ["-sess_in", sess]
        # Keep stdin open until the reply is printed: the TLS 1.3 tickets come before it, and
        # s_client writes -sess_out when a ticket arrives.
        p = subprocess.Popen(args, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
        p.stdin.write(sip_options(HOST, port, "TLS"))
        p.stdin.flush()
        out = b""
        deadline = time.monotonic() + 20
        while b"SIP/2.0 200" not in out and time.monotonic() < deadline:
            if select.select([p.stdout], [], [], 0.2)[0]:
                chunk = os.read(p.stdout.fileno(), 65536)
                if not chunk:
                    break
                out += chunk
        p.stdin.close()
        try:
            p.wait(10)
        except subprocess.TimeoutExpired:
            p.kill()
            p.wait()
        p.stdout.close()
        seen.append("Reused" if b"\nReused," in out else "New" if b"\nNew," in out else "?")
    return seen


# ------------------------------------------------------------------------------------------------
# 1. Resumption with the defaults, and across reloads that change nothing

def resumption(c, tmp, ca):
    tls_port, rpc_port = free_port(), free_port()
    with Sipsd(base_cfg(ca, tls_port, rpc_port), workdir=tmp, name="resume") as d:
        d.start(wait_tcp=[(HOST, tls_port), (HOST, rpc_port)])
        n = 30
        for version, label in ((TLS13, "TLS 1.3"), (TLS12, "TLS 1.2")):
            resumed, renewed, ok = reconnect_loop(tls_port, client_ctx(ca, "bob", version), n)
            c.check(ok and resumed == n - 1,
                    f"resumption: one {label} client reconnecting {n} times resumes every handshake after the "
                    f"first (and stays Bob)", f"{resumed}/{n - 1} resumed, replies ok: {ok}")
            if version == TLS13:
                c.check(renewed == resumed, "resumption: every resumed TLS 1.3 connection brings a fresh ticket "
                                            "(a 1.3 client uses each ticket once)", f"{renewed}/{resumed}")
        # The measure: OpenSSL clients that use a ticket once (sipsd-bench --resume).
        for v, conns, count in (("1.3", 1, 150), ("1.2", 1, 150), ("1.3", 8, 300), ("1.2", 8, 300)):
            r = bench(tls_port, ca, "--mode", "handshake", "--resume", "--tls-version", v, "--connections", str(conns),
                      "--count", str(count))
            c.check(r["errors"] == 0 and r["ops"] == count and r["resumed"] == count - conns,
                    f"resumption: sipsd-bench --resume, TLS {v}, {conns} client(s) reconnecting: every handshake "
                    f"after each client's first resumes", f"{r['resumed']}/{r['ops']} resumed, "
                    f"errors {r['errors']} {r.get('first_error')}")
        seen = s_client_chain(tls_port, ca, tmp, "-tls1_3", 4)
        c.check(seen == ["New", "Reused", "Reused", "Reused"],
                "resumption: openssl s_client -sess_out/-sess_in over TLS 1.3 resumes on every reconnect", seen)
        seen = s_client_chain(tls_port, ca, tmp, "-tls1_2", 3)
        c.check(seen == ["New", "Reused", "Reused"],
                "resumption: openssl s_client -sess_out/-sess_in over TLS 1.2 resumes on every reconnect", seen)

        # A reload that changes nothing keeps tickets (TLS 1.3) and the TLS 1.2 sessions.
        sessions, ctxs = {}, {version: client_ctx(ca, "bob", version) for version in (TLS13, TLS12)}
        for version in (TLS13, TLS12):
            _, _, _, sessions[version] = tls_options(tls_port, ctxs[version])
        r = rpc(rpc_port).tls.reload()
        c.check(r.get("status") == "ok" and r.get("changed") == [] and r.get("rebuilt") == [] and r.get("kept") == 2,
                "resumption: tls.reload with nothing changed rebuilds no domain and reports it", r)
        for version, label in ((TLS13, "TLS 1.3"), (TLS12, "TLS 1.2")):
            code, _, reused, sessions[version] = tls_options(tls_port, ctxs[version], sessions[version])
            c.check(code == 200 and reused, f"resumption: a {label} session resumes after tls.reload")
        d.proc.send_signal(signal.SIGHUP)
        wait_for(lambda: "TLS reload (SIGHUP)" in d.output(), 10, "the SIGHUP reload log line")
        for version, label in ((TLS13, "TLS 1.3"), (TLS12, "TLS 1.2")):
            code, _, reused, _ = tls_options(tls_port, ctxs[version], sessions[version])
            c.check(code == 200 and reused, f"resumption: a {label} session resumes after SIGHUP")
        log = d.output()
        line = next((ln for ln in log.splitlines() if "TLS reload (SIGHUP)" in ln), "")
        c.check("no change" in line and "0 of 2 domains rebuilt" in line and " ms" in line,
                "resumption: the reload is logged in one line saying what changed and how long it took", line)
        c.check(d.alive(), "resumption: sipsd alive")


# ------------------------------------------------------------------------------------------------
# 2. session_tickets / session_cache switches

def resumption_off(c, tmp, ca):
    cases = [
        # tickets, cache, what a TLS 1.2 client gets (ticket?, resumes?), TLS 1.3 (ticket?, resumes?)
        (0, 0, (False, False), (False, False)),
        (0, 20480, (False, True), (True, True)),   # TLS 1.3: stateful tickets, ids into the cache
        (1, 0, (True, True), (True, True)),
    ]
    for tickets, cache, want12, want13 in cases:
        tls_port, rpc_port = free_port(), free_port()
        extra = f'modparam("tls", "session_tickets", {tickets})\nmodparam("tls", "session_cache", {cache})'
        name = f"resume-t{tickets}-c{cache}"
        with Sipsd(base_cfg(ca, tls_port, rpc_port, extra), workdir=tmp, name=name) as d:
            d.start(wait_tcp=[(HOST, tls_port)])
            for version, label, want in ((TLS12, "TLS 1.2", want12), (TLS13, "TLS 1.3", want13)):
                ctx = client_ctx(ca, "bob", version)
                _, _, _, sess = tls_options(tls_port, ctx)
                _, _, reused, _ = tls_options(tls_port, ctx, sess)
                got = (bool(sess and sess.has_ticket), bool(reused))
                c.check(got == want, f"resumption_off: session_tickets={tickets} session_cache={cache}, {label}: "
                                     f"ticket sent {want[0]}, resumes {want[1]}", f"got ticket/resumed {got}")
            c.check(d.alive(), f"resumption_off: {name}: sipsd alive")


SECTIONS = {"resumption": resumption, "resumption_off": resumption_off}


def main():
    c = Checker()
    tmp = tempfile.mkdtemp(prefix="sipsd-tlshard-")
    ca = pki(tmp)
    wanted = sys.argv[1:] or list(SECTIONS)
    for name in wanted:
        t0 = time.monotonic()
        try:
            SECTIONS[name](c, tmp, ca)
        except Exception as e:  # noqa: BLE001 - one section's crash must not hide the others
            c.check(False, f"{name}: ran to the end", f"{type(e).__name__}: {e}")
        print(f"-- {name}: {time.monotonic() - t0:.1f}s", flush=True)
    c.finish()


if __name__ == "__main__":
    main()

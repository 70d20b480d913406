#!/usr/bin/env python3
"""Issue 5 acceptance through the real sipsd binary, with real TLS clients (python ssl,
openssl s_client) and certificates from tools/sipsd-ca:
  access_rule      SER's `@tls.peer != "Bob"` rule plus the other @tls selects the script sees;
  certificates     two listeners with their own certificates (modparam IP:PORT= and a
                   tls_domain[] block), an SNI domain, unmatched SNI falling back;
  forward_tls      sipsd A -> sipsd B over TLS with a per-destination client identity;
  crl_and_reload   revocation via a hash dir (+ crl_enabled) and a replaced server certificate,
                   both picked up without a restart;
  load_and_stalls  200 concurrent handshakes while one peer stalls mid-ClientHello and one stops
                   reading; both cut at their timeouts;
  check_mode       `sipsd -c` naming the file and domain; listen=tls: without the tls module.
Run: SIPSD_BUILD_DIR=build python3 tests/integration/tls/test_tls.py [section ...]"""
import os
import shutil
import socket
import ssl
import subprocess
import sys
import tempfile
import threading
import time

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "lib"))
from sipsd_harness import (Checker, Sipsd, build_dir, client_ctx, client_hello, crt, free_port, key, read_sip_message,
                           reason_of, run, run_sections, sip_options, sipsd_binary, sipsd_ca, status_of, tls_params, wait_for)

HOST = "127.0.0.1"


# ------------------------------------------------------------------------------------------------
# helpers

def pki(tmp):
    """CA + server certificates with distinct CNs + client certificates."""
    ca = os.path.join(tmp, "ca")
    sipsd_ca("init", ca, "--cn", "sipsd test CA")
    for name, cn in (("server", "localhost"), ("l1", "l1.example.org"), ("l2", "l2.example.org"),
                     ("sni", "sni.example.org"), ("renewed", "renewed.example.org"),
                     ("server-b", "b.example.org")):
        sipsd_ca("server", ca, name, "--cn", cn, "--ip", HOST, "--dns", cn)
    for name, cn in (("bob", "Bob"), ("alice", "Alice"), ("proxy-a", "proxy-a"),
                     ("default-client", "default-client")):
        sipsd_ca("client", ca, name, "--cn", cn, "--email", name + "@example.org")
    sipsd_ca("hashdir", ca)
    return ca


def options(host, port, local, extra="", branch="z9hG4bKtls1", cseq=1, proto="TLS"):
    req = sip_options(host, port, proto, branch=branch, cseq=cseq, local=local)
    if extra:
        req = req.replace(b"Content-Length: 0\r\n", extra.encode() + b"\r\nContent-Length: 0\r\n")
    return req


def tls_request(port, ctx, extra="", server_name=None, timeout=10):
    """Handshake, one OPTIONS, one reply. Returns (code, reason, peer_cert_dict) or raises."""
    with socket.create_connection((HOST, port), timeout=timeout) as raw:
        with ctx.wrap_socket(raw, server_hostname=server_name) as s:
            s.sendall(options(HOST, port, s.getsockname(), extra))
            msg, _ = read_sip_message(s)
            return status_of(msg), reason_of(msg), s.getpeercert()


def try_request(port, ctx, extra=""):
    """(code, reason) or ("error", text) — a failed handshake or a closed connection."""
    try:
        code, reason, _ = tls_request(port, ctx, extra)
        return code, reason
    except (ssl.SSLError, OSError, Exception) as e:  # noqa: B014 - Failure from the harness too
        return "error", f"{type(e).__name__}: {e}"


def peer_cn(port, server_name=None, ca=None):
    """CN of the certificate sipsd presents (handshake only)."""
    ctx = ssl.create_default_context(cafile=os.path.join(ca, "ca.crt"))
    ctx.check_hostname = False
    with socket.create_connection((HOST, port), timeout=10) as raw:
        with ctx.wrap_socket(raw, server_hostname=server_name) as s:
            subj = dict(x[0] for x in s.getpeercert()["subject"])
            return subj.get("commonName")


def s_client_cn(port, server_name, ca):
    """The same through openssl s_client -servername (a second, independent client)."""
    args = ["openssl", "s_client", "-connect", f"{HOST}:{port}", "-CAfile", os.path.join(ca, "ca.crt"),
            "-verify_return_error", "-brief"]
    if server_name:
        args += ["-servername", server_name]
    r = subprocess.run(args, input="", capture_output=True, text=True, timeout=20)
    for line in (r.stdout + r.stderr).splitlines():
        if line.startswith("Peer certificate:"):
            for part in line.split(":", 1)[1].split(","):
                k, _, v = part.strip().partition("=")
                if k.strip() == "CN":
                    return v.strip()
    return None


# ------------------------------------------------------------------------------------------------
# 1. The SER access rule and the selects the script sees

ACCESS_ROUTE = """
route {
    if (proto == TLS && @tls.peer != "Bob") {
        sl_reply(403, "Forbidden");
        exit;
    }
    if (@msg.X-Q == "issuer") { sl_reply(200, @tls.peer.issuer); exit; }
    if (@msg.X-Q == "org") { sl_reply(200, @tls.peer.subj.organization); exit; }
    if (@msg.X-Q == "email") { sl_reply(200, @tls.peer.email); exit; }
    if (@msg.X-Q == "me") { sl_reply(200, @tls.me); exit; }
    if (@msg.X-Q == "version") { sl_reply(200, @tls.version); exit; }
    if (@msg.X-Q == "bits") { sl_reply(200, @tls.cipher.bits); exit; }
    if (!@tls.peer.verified) { sl_reply(480, "peer not verified"); exit; }
    if (@tls.peer.issuer != "sipsd test CA") { sl_reply(481, "issuer"); exit; }
    if (@tls.peer.subj.organization != "sipsd demo") { sl_reply(482, "organization"); exit; }
    if (@tls.peer.email != "bob@example.org") { sl_reply(483, "email"); exit; }
    if (@tls.me != "localhost") { sl_reply(484, "me"); exit; }
    if (@tls.version != "TLSv1.3" && @tls.version != "TLSv1.2") { sl_reply(485, "version"); exit; }
    if (@tls.cipher.bits < 128) { sl_reply(486, "bits"); exit; }
    if (!is_peer_verified()) { sl_reply(487, "is_peer_verified"); exit; }
    sl_reply(200, "OK");
}
"""


def access_rule(c, tmp, ca):
    port = free_port()
    cfg = f"""
debug=2
children=2
listen=tls:{HOST}:{port}
loadmodule "tls"
loadmodule "sl"
{tls_params(crt(ca, 'server'), key(ca, 'server'), f'{ca}/ca.crt', 1, 0)}
""" + ACCESS_ROUTE
    with Sipsd(cfg, workdir=tmp, name="access") as d:
        d.start(wait_tcp=[(HOST, port)])
        bob = client_ctx(ca, "bob")
        r = try_request(port, bob)
        c.check(r == (200, "OK"), "access: Bob gets 200 (verified, issuer, org, email, me, version, bits all as expected)", r)
        r = try_request(port, client_ctx(ca, "alice"))
        c.check(r == (403, "Forbidden"), "access: Alice gets 403", r)
        r = try_request(port, client_ctx(ca))
        c.check(r == (403, "Forbidden"), "access: a client without a certificate gets 403 (require_certificate=0)", r)
        expect = {"issuer": "sipsd test CA", "org": "sipsd demo", "email": "bob@example.org", "me": "localhost",
                  "version": "TLSv1.3"}
        for q, want in expect.items():
            r = try_request(port, bob, f"X-Q: {q}")
            c.check(r == (200, want), f"access: select for {q} is {want!r}", r)
        r = try_request(port, bob, "X-Q: bits")
        c.check(r[0] == 200 and r[1].isdigit() and int(r[1]) >= 128, "access: @tls.cipher.bits >= 128", r)
        r = try_request(port, client_ctx(ca, "bob", ssl.TLSVersion.TLSv1_2), "X-Q: version")
        c.check(r == (200, "TLSv1.2"), "access: a TLS 1.2 client is seen as @tls.version TLSv1.2", r)
        r = try_request(port, client_ctx(ca, "bob", ssl.TLSVersion.TLSv1_2))
        c.check(r == (200, "OK"), "access: Bob over TLS 1.2 passes every check", r)
        c.check(d.alive(), "access: sipsd alive", d.output()[-1500:])


# ------------------------------------------------------------------------------------------------
# 2. Which certificate each listener / SNI name presents

def certificates(c, tmp, ca):
    p1, p2, p3 = free_port(), free_port(), free_port()
    cfg = f"""
debug=2
children=2
listen=tls:{HOST}:{p1}
listen=tls:{HOST}:{p2}
listen=tls:{HOST}:{p3}
loadmodule "tls"
loadmodule "sl"
{tls_params(crt(ca, 'server'), key(ca, 'server'), f'{ca}/ca.crt')}
modparam("tls", "certificate", "{HOST}:{p1}={crt(ca, 'l1')}")
modparam("tls", "private_key", "{HOST}:{p1}={key(ca, 'l1')}")
modparam("tls", "certificate", "server:any/sni.example.org={crt(ca, 'sni')}")
modparam("tls", "private_key", "server:any/sni.example.org={key(ca, 'sni')}")
tls_domain[{HOST}:{p2}] {{
    tls_certificate="{crt(ca, 'l2')}"
    tls_private_key="{key(ca, 'l2')}"
}}
route {{
    if (@msg.X-Q == "domain") {{ sl_reply(200, @tls.domain); exit; }}
    if (@msg.X-Q == "sni") {{ sl_reply(200, @tls.sni); exit; }}
    sl_reply(200, @tls.me);
}}
"""
    with Sipsd(cfg, workdir=tmp, name="certs") as d:
        d.start(wait_tcp=[(HOST, p1), (HOST, p2), (HOST, p3)])
        cases = [
            (p1, None, "l1.example.org", "listener 1 (modparam IP:PORT=) without SNI"),
            (p2, None, "l2.example.org", "listener 2 (tls_domain[] block) without SNI"),
            (p3, None, "localhost", "listener 3 (no domain of its own) gets the default"),
            (p3, "sni.example.org", "sni.example.org", "SNI sni.example.org on listener 3"),
            (p1, "sni.example.org", "sni.example.org", "SNI sni.example.org on listener 1"),
            (p3, "nobody.example.net", "localhost", "unmatched SNI on listener 3 falls to the default"),
            (p1, "nobody.example.net", "l1.example.org", "unmatched SNI on listener 1 gets listener 1's domain"),
        ]
        for port, sni, want, what in cases:
            try:
                got = peer_cn(port, sni, ca)
            except (ssl.SSLError, OSError) as e:
                got = f"error {e}"
            c.check(got == want, f"certs: {what}: python ssl sees CN {want}", got)
            got = s_client_cn(port, sni, ca)
            c.check(got == want, f"certs: {what}: openssl s_client -servername sees CN {want}", got)
        r = try_request(p3, client_ctx(ca), "X-Q: domain")
        c.check(r == (200, "server:default"), "certs: @tls.domain on listener 3 is server:default", r)
        ctx = client_ctx(ca)
        code, reason, _ = tls_request(p1, ctx, "X-Q: domain", server_name="sni.example.org")
        c.check(code == 200 and reason.endswith("/sni.example.org"), "certs: @tls.domain names the SNI domain", reason)
        code, reason, _ = tls_request(p1, ctx, "X-Q: sni", server_name="sni.example.org")
        c.check((code, reason) == (200, "sni.example.org"), "certs: @tls.sni is the name the client asked for", reason)
        code, reason, _ = tls_request(p2, ctx)
        c.check((code, reason) == (200, "l2.example.org"), "certs: @tls.me on listener 2 is l2.example.org", reason)
        c.check(d.alive(), "certs: sipsd alive", d.output()[-1500:])


# ------------------------------------------------------------------------------------------------
# 3. sipsd A forwards over TLS to sipsd B with a per-destination client identity

def forward_tls(c, tmp, ca):
    a_tcp, a_tls, b1, b2 = free_port(), free_port(), free_port(), free_port()
    b_cfg = f"""
debug=2
children=2
listen=tls:{HOST}:{b1}
listen=tls:{HOST}:{b2}
loadmodule "tls"
loadmodule "sl"
{tls_params(crt(ca, 'server-b'), key(ca, 'server-b'), f'{ca}/ca.crt', 1, 1)}
route {{
    if (proto == TLS && @tls.peer == "proxy-a" && @tls.peer.verified && dst_port == {b1}) {{
        sl_reply(200, "hello proxy-a");
        exit;
    }}
    if (proto == TLS && @tls.peer.verified) {{
        sl_reply(202, @tls.peer);
        exit;
    }}
    sl_reply(403, "Forbidden");
}}
"""
    a_cfg = f"""
debug=2
children=2
listen=tcp:{HOST}:{a_tcp}
# forward_tls() needs a TLS listener: the Via of what it sends names it.
listen=tls:{HOST}:{a_tls}
loadmodule "tls"
loadmodule "sl"
{tls_params(crt(ca, 'server'), key(ca, 'server'), f'{ca}/ca.crt')}
modparam("tls", "certificate", "client:default={crt(ca, 'default-client')}")
modparam("tls", "private_key", "client:default={key(ca, 'default-client')}")
modparam("tls", "certificate", "client:{HOST}:{b1}={crt(ca, 'proxy-a')}")
modparam("tls", "private_key", "client:{HOST}:{b1}={key(ca, 'proxy-a')}")
route {{
    if (@msg.X-To == "b2") {{ forward_tls("{HOST}", {b2}); exit; }}
    forward_tls("{HOST}", {b1});
}}
"""
    # certificate/private_key unprefixed set both defaults; client:default then conflicts, so
    # give the defaults separately.
    a_cfg = a_cfg.replace(f'modparam("tls", "certificate", "{crt(ca, "server")}")',
                          f'modparam("tls", "certificate", "server:default={crt(ca, "server")}")')
    a_cfg = a_cfg.replace(f'modparam("tls", "private_key", "{key(ca, "server")}")',
                          f'modparam("tls", "private_key", "server:default={key(ca, "server")}")')
    with Sipsd(b_cfg, workdir=tmp, name="fwd-b") as b, Sipsd(a_cfg, workdir=tmp, name="fwd-a") as a:
        b.start(wait_tcp=[(HOST, b1), (HOST, b2)])
        a.start(wait_tcp=[(HOST, a_tcp)])
        with socket.create_connection((HOST, a_tcp), timeout=10) as t:
            t.settimeout(10)
            local = t.getsockname()
            rest = b""
            results = []
            for i, (to, want) in enumerate((("b1", (200, "hello proxy-a")), ("b2", (202, "default-client")),
                                            ("b1", (200, "hello proxy-a")))):
                t.sendall(options(HOST, a_tcp, local, f"X-To: {to}", branch=f"z9hG4bKfw{i}", cseq=i + 1,
                                  proto="TCP"))
                try:
                    msg, rest = read_sip_message(t, rest)
                    got = (status_of(msg), reason_of(msg))
                except (OSError, Exception) as e:  # noqa: B014
                    got = ("error", str(e))
                results.append(got)
                what = ("B's listener 1: A presents the client domain for B's IP:PORT (CN proxy-a)" if to == "b1"
                        else "B's listener 2: A presents the default client domain (CN default-client)")
                c.check(got == want, f"forward_tls #{i + 1}: {what}", f"{got}\nA:{a.output()[-1500:]}\nB:{b.output()[-1500:]}")
        c.check(a.alive() and b.alive(), "forward_tls: both sipsd alive")


# ------------------------------------------------------------------------------------------------
# 4. CRL via hash dir + crl_enabled, and a replaced server certificate, without a restart

def crl_and_reload(c, tmp, ca):
    port = free_port()
    work = os.path.join(tmp, "crl")
    os.makedirs(work, exist_ok=True)
    srv_crt, srv_key = os.path.join(work, "server.crt"), os.path.join(work, "server.key")
    shutil.copy(crt(ca, "server"), srv_crt)
    shutil.copy(key(ca, "server"), srv_key)
    hashdir = os.path.join(ca, "lookup-hash-dir")
    with open(os.path.join(work, "tls.yml"), "w") as f:
        f.write(f"""
server:
  default:
    identity: {{ certificate: server.crt, key: server.key }}
    peers: {{ lookup_hash_directory: {hashdir}, crl_enabled: true }}
    verify_certificate: 1
    require_certificate: 1
client:
  default:
    root_certificate: {ca}/ca.crt
""")
    cfg = f"""
debug=3
children=2
listen=tls:{HOST}:{port}
loadmodule "tls"
loadmodule "sl"
modparam("tls", "config", "{work}/tls.yml")
modparam("tls", "watch_interval", 1)
route {{
    sl_reply(200, @tls.peer);
}}
"""
    with Sipsd(cfg, workdir=tmp, name="crl") as d:
        d.start(wait_tcp=[(HOST, port)])
        bob, alice = client_ctx(ca, "bob"), client_ctx(ca, "alice")
        c.check(try_request(port, alice) == (200, "Alice"), "crl: Alice accepted before revocation")
        c.check(try_request(port, bob) == (200, "Bob"), "crl: Bob accepted before revocation")
        # A connection opened before the changes keeps its context (and keeps working).
        keep = bob.wrap_socket(socket.create_connection((HOST, port), timeout=10), server_hostname=None)
        keep.settimeout(10)
        keep.sendall(options(HOST, port, keep.getsockname(), branch="z9hG4bKk1"))
        keep_first, keep_rest = read_sip_message(keep)
        c.check(status_of(keep_first) == 200, "crl: a persistent connection of Bob's is served")
        sipsd_ca("revoke", ca, "alice")
        last = [None]

        def revoked():
            last[0] = try_request(port, alice)
            return last[0][0] == "error" and "revoked" in last[0][1].lower()
        try:
            wait_for(revoked, 15, "Alice's handshake to fail as revoked")
            ok = True
        except AssertionError:
            ok = False
        c.check(ok, "crl: after `sipsd-ca revoke` (new .rN) Alice's next handshake fails with 'certificate revoked'",
                f"{last[0]}\n{d.output()[-2000:]}")
        c.check(d.alive(), "crl: sipsd keeps running after the revocation")
        c.check(try_request(port, bob) == (200, "Bob"), "crl: Bob keeps working after Alice's revocation")

        # Replace the server certificate and key files (atomically each, key first).
        for src, dst in ((key(ca, "renewed"), srv_key), (crt(ca, "renewed"), srv_crt)):
            shutil.copy(src, dst + ".new")
            os.replace(dst + ".new", dst)
        seen = [None]

        def renewed():
            try:
                seen[0] = peer_cn(port, None, ca)
            except (ssl.SSLError, OSError) as e:
                seen[0] = f"error {e}"
            return seen[0] == "renewed.example.org"
        try:
            wait_for(renewed, 15, "the renewed certificate")
            ok = True
        except AssertionError:
            ok = False
        c.check(ok, "crl: a replaced server certificate file is presented by new handshakes", f"{seen[0]}\n{d.output()[-2000:]}")
        c.check(try_request(port, bob) == (200, "Bob"), "crl: Bob works after the certificate change")
        r = try_request(port, alice)
        c.check(r[0] == "error" and "revoked" in r[1].lower(), "crl: Alice still revoked after the certificate change", r)
        try:
            keep.sendall(options(HOST, port, keep.getsockname(), branch="z9hG4bKk2", cseq=2))
            keep_second, _ = read_sip_message(keep, keep_rest)
            got = (status_of(keep_second), reason_of(keep_second))
            keep_cn = dict(x[0] for x in keep.getpeercert()["subject"]).get("commonName")
        except (ssl.SSLError, OSError, Exception) as e:  # noqa: B014
            got, keep_cn = ("error", str(e)), None
        keep.close()
        c.check(got == (200, "Bob") and keep_cn == "localhost",
                "crl: the connection opened before the changes keeps its context and is still served", (got, keep_cn))
        log = d.output()
        c.check(any("revoked" in ln.lower() and "127.0.0.1:" in ln for ln in log.splitlines()),
                "crl: the rejected handshake is logged with the peer address and the reason", log[-1500:])
        c.check(d.alive(), "crl: same sipsd process throughout (no restart)")


# ------------------------------------------------------------------------------------------------
# 5. 200 concurrent handshakes while one peer stalls mid-handshake and one stops reading

def partial_client_hello():
    hello = client_hello("stall.example.org")
    return hello[:len(hello) // 2]


def wait_eof(sock, timeout):
    """Seconds until the peer closed the socket, or None."""
    t0 = time.monotonic()
    sock.settimeout(0.2)
    while time.monotonic() - t0 < timeout:
        try:
            data = sock.recv(65536)
            if not data:
                return time.monotonic() - t0
        except socket.timeout:
            continue
        except (ConnectionResetError, BrokenPipeError):
            return time.monotonic() - t0
    return None


def load_and_stalls(c, tmp, ca):
    port = free_port()
    n = int(os.environ.get("SIPSD_IT_TLS_CLIENTS", "200"))
    cfg = f"""
debug=2
children=2
listen=tls:{HOST}:{port}
tcp_max_connections=2000
tcp_max_send_queue=67108864
loadmodule "tls"
loadmodule "sl"
{tls_params(crt(ca, 'server'), key(ca, 'server'), f'{ca}/ca.crt')}
modparam("tls", "handshake_timeout", 2)
modparam("tls", "send_timeout", 2)
route {{
    sl_reply(200, "OK");
}}
"""
    with Sipsd(cfg, workdir=tmp, name="load") as d:
        d.start(wait_tcp=[(HOST, port)])
        # The peer that stops reading: a full TLS connection that sends requests and never reads
        # a reply, with a small receive buffer. The kernel buffers on the way back absorb a few
        # MiB of replies; after that sipsd's own queue grows and its send timeout must cut us.
        # Send fast up to 1.5 MiB, then slowly (256 KiB/s, so the queue stays under sipsd's
        # 1 MiB bound within the 2 s timeout) until sipsd logs closing this peer.
        reader = socket.socket()
        reader.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
        reader.connect((HOST, port))
        rs = client_ctx(ca).wrap_socket(reader, server_hostname=None)
        rlocal = rs.getsockname()
        rtag = f"{HOST}:{rlocal[1]} "
        chunk = b"".join(options(HOST, port, rlocal, branch=f"z9hG4bKr{i}", cseq=i + 1) for i in range(50))
        rstate = {"sent": 0, "closed_line": None, "error": None}

        def closed_line():
            for line in d.output().splitlines():
                if rtag in line and "clos" in line:
                    return line
            return None

        def stop_reading_peer():
            try:
                rs.settimeout(5)
                while rstate["sent"] < 1536 * 1024:
                    rs.sendall(chunk)
                    rstate["sent"] += len(chunk)
                deadline = time.monotonic() + 40
                while time.monotonic() < deadline:
                    rstate["closed_line"] = closed_line()
                    if rstate["closed_line"]:
                        return
                    for _ in range(4):
                        rs.sendall(chunk)
                        rstate["sent"] += len(chunk)
                    time.sleep(0.25)
            except (ssl.SSLError, OSError) as e:
                rstate["error"] = f"{type(e).__name__}: {e}"
                rstate["closed_line"] = wait_for(closed_line, 5, "the close of the non-reading peer")
        reader_thread = threading.Thread(target=stop_reading_peer)
        reader_thread.start()
        # The peer that stalls mid-handshake: half a ClientHello, then nothing.
        stalled = socket.create_connection((HOST, port), timeout=5)
        stalled_local = stalled.getsockname()
        stalled.sendall(partial_client_hello())
        t_stall = time.monotonic()

        # 200 clients handshaking at once. They meet before connecting: handshake_timeout counts
        # from accept, so a client that connected and then waited for the others to start (a
        # second or more for 200 threads on a loaded machine) was cut before its ClientHello.
        ctx = client_ctx(ca, "bob")
        barrier = threading.Barrier(n)
        results = [None] * n

        def one(i):
            try:
                barrier.wait(60)
                raw = socket.create_connection((HOST, port), timeout=20)
                with ctx.wrap_socket(raw, server_hostname=None) as s:
                    s.settimeout(20)
                    s.sendall(options(HOST, port, s.getsockname(), branch=f"z9hG4bKl{i}"))
                    msg, _ = read_sip_message(s)
                    results[i] = status_of(msg)
            except Exception as e:  # noqa: BLE001 - reported per client
                results[i] = f"{type(e).__name__}: {e}"
        t0 = time.monotonic()
        threads = [threading.Thread(target=one, args=(i,)) for i in range(n)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(60)
        took = time.monotonic() - t0
        ok = sum(1 for r in results if r == 200)
        bad = [r for r in results if r != 200][:5]
        c.check(ok == n, f"load: {ok}/{n} concurrent clients completed handshake + OPTIONS -> 200 "
                         f"({took:.2f}s) while a peer stalls and another stops reading", bad)

        stall_cut = wait_eof(stalled, 15)
        stall_cut = None if stall_cut is None else time.monotonic() - t_stall
        c.check(stall_cut is not None and stall_cut >= 1.5,
                f"load: the half-ClientHello peer is cut at handshake_timeout=2s (after {stall_cut and round(stall_cut, 2)}s)",
                d.output()[-1500:])
        c.check(stall_cut is not None and stall_cut < 10, "load: ... and not much later than the timeout")
        reader_thread.join(60)
        line = rstate["closed_line"] or ""
        c.check("send timeout" in line,
                f"load: the peer that stopped reading (after {rstate['sent'] // 1024} KiB of requests) is cut at "
                f"send_timeout", f"{line!r} {rstate['error']}\n{d.output()[-1500:]}")
        eof = None
        try:
            rs.settimeout(10)
            while True:
                if not rs.recv(65536):
                    eof = True
                    break
        except socket.timeout:
            eof = False
        except (ssl.SSLError, OSError):
            eof = True
        c.check(eof, "load: ... and its connection ends (EOF after the replies in flight)")
        stall_line = [ln for ln in d.output().splitlines() if f"{HOST}:{stalled_local[1]} " in ln]
        c.check(any("handshake timeout" in ln for ln in stall_line),
                "load: the half-ClientHello peer's handshake timeout is logged with its address", stall_line)
        c.check(d.alive(), "load: sipsd alive")
        ok2 = try_request(port, client_ctx(ca, "bob"))
        c.check(ok2 == (200, "OK"), "load: a new client is served afterwards", ok2)
        stalled.close()
        rs.close()


# ------------------------------------------------------------------------------------------------
# 6. sipsd -c diagnostics

def check_mode(c, tmp, ca):
    def check(cfg_text, name):
        path = os.path.join(tmp, name + ".cfg")
        with open(path, "w") as f:
            f.write(cfg_text)
        r = run([sipsd_binary(), "-c", "-f", path, "-E", "-L", os.path.join(build_dir(), "modules"),
                 "-L", build_dir()], timeout=30)
        return r.returncode, r.stdout + r.stderr, path

    port = free_port()
    base = f"""
listen=tls:{HOST}:{port}
loadmodule "tls"
loadmodule "sl"
"""
    missing = os.path.join(tmp, "no-such-dir", "missing.crt")
    rc, out, _ = check(base + f"""
modparam("tls", "certificate", "{HOST}:{port}={missing}")
modparam("tls", "private_key", "{HOST}:{port}={key(ca, 'l1')}")
modparam("tls", "certificate", "server:default={crt(ca, 'server')}")
modparam("tls", "private_key", "server:default={key(ca, 'server')}")
route {{ sl_reply(200, "OK"); }}
""", "missing-cert")
    c.check(rc != 0 and missing in out and f"server:{HOST}:{port}" in out,
            "sipsd -c: a missing certificate fails naming the file and the domain", out[-1200:])
    rc, out, _ = check(base + f"""
tls_domain[{HOST}:{port}] {{
    tls_certificate="{crt(ca, 'l1')}"
    tls_private_key="{key(ca, 'l2')}"
}}
modparam("tls", "certificate", "{crt(ca, 'server')}")
modparam("tls", "private_key", "{key(ca, 'server')}")
route {{ sl_reply(200, "OK"); }}
""", "mismatch")
    c.check(rc != 0 and key(ca, "l2") in out and crt(ca, "l1") in out and f"server:{HOST}:{port}" in out
            and "match" in out,
            "sipsd -c: a key that does not match fails naming both files and the domain", out[-1200:])
    text = f"""debug=2
listen=tcp:{HOST}:{free_port()}
listen=tls:{HOST}:{port}
loadmodule "sl"
route {{ sl_reply(200, "OK"); }}
"""
    line = text.splitlines().index(f"listen=tls:{HOST}:{port}") + 1
    rc, out, path = check(text, "no-tls-module")
    c.check(rc != 0 and f"{os.path.basename(path)}:{line}:" in out and 'loadmodule "tls"' in out,
            f"sipsd -c: listen=tls: without loadmodule \"tls\" is an error naming line {line}", out[-1200:])
    rc, out, _ = check(base + f"""
modparam("tls", "certificate", "{crt(ca, 'server')}")
modparam("tls", "private_key", "{key(ca, 'server')}")
route {{ sl_reply(200, "OK"); }}
""", "good")
    c.check(rc == 0, "sipsd -c: a good TLS config passes", out[-1200:])


SECTIONS = {"check_mode": check_mode, "access_rule": access_rule, "certificates": certificates,
            "forward_tls": forward_tls, "crl_and_reload": crl_and_reload, "load_and_stalls": load_and_stalls}


def main():
    run_sections(SECTIONS, "sipsd-tlsit-", pki)


if __name__ == "__main__":
    main()

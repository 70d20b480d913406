#!/usr/bin/env python3
"""Issue 9 item 1 through the real binary: slow peers cannot take every connection slot.

  flood     hundreds of TCP and TLS peers (spread over many loopback source addresses) trickle one
            byte at a time and reconnect when cut; the connection table (tcp_max_connections) is
            full, yet a new TLS client gets OPTIONS -> 200 within 1 s, every time: the oldest
            connection without a complete message is evicted for it. Evictions are counted in
            core.stats and logged once per interval, not once per event.
  timeouts  a TCP peer trickling a message is cut at tcp_msg_read_timeout although it keeps
            sending (the idle timer is not reset by bytes that never complete a message); a TLS
            peer trickling its ClientHello is cut at handshake_timeout counted from accept; a
            source address over tcp_max_connections_per_ip is refused (logged with a count).
Scale with SIPSD_IT_TRICKLERS (default 300) and SIPSD_IT_TABLE (default a third of it); the issue's
2,000 peers against the default table of 2,048 are measured by hand:
  ulimit -n 8192; SIPSD_IT_TRICKLERS=2100 SIPSD_IT_TABLE=2048 python3 test_slow_peers.py flood"""
import os
import select
import socket
import ssl
import sys
import threading
import time
import xmlrpc.client

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "lib"))
from sipsd_harness import (Checker, Sipsd, client_hello, free_port, make_pki, read_sip_message, sip_options,
                           status_of, tls_client_context, tls_params, wait_for, work_dir)

HOST = "127.0.0.1"
TRICKLERS = int(os.environ.get("SIPSD_IT_TRICKLERS", "300"))


def config(ca, tls_port, tcp_port, extra=""):
    return f"""
debug=2
children=2
listen=tls:{HOST}:{tls_port}
listen=tcp:{HOST}:{tcp_port}
{extra}
loadmodule "tls"
loadmodule "sl"
loadmodule "xmlrpc"
{tls_params(f'{ca}/certs/server.crt', f'{ca}/certs/server.key', f'{ca}/ca.crt', 1)}

route {{
    if (method == "POST") {{ dispatch_rpc(); exit; }}
    if (method == "OPTIONS") {{ sl_reply(200, "OK"); exit; }}
}}
"""


class Tricklers:
    """Peers that each send one byte per round and reconnect when the server cuts them."""

    def __init__(self, targets, count, per_source=25):
        self.targets = targets  # [(port, payload)]
        self.count = count
        self.per_source = per_source
        self.socks = [None] * count
        self.rounds = 0
        self.reconnects = 0
        self.stop = threading.Event()
        self.thread = threading.Thread(target=self.run, daemon=True)

    def source(self, i):
        n = i // self.per_source
        return f"127.0.{1 + n // 250}.{1 + n % 250}"

    def connect(self, i):
        port, payload = self.targets[i % len(self.targets)]
        s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        s.setblocking(False)
        try:
            s.bind((self.source(i), 0))
            s.connect_ex((HOST, port))
        except OSError:
            s.close()
            return None
        return [s, payload, 0]

    def run(self):
        while not self.stop.is_set():
            for i in range(self.count):
                if self.stop.is_set():
                    break
                p = self.socks[i]
                if p is None:
                    self.socks[i] = self.connect(i)
                    continue
                s, payload, off = p
                try:
                    # Read and discard what the server sends (alerts, EOF), so a cut is noticed.
                    try:
                        if s.recv(4096) == b"":
                            raise ConnectionResetError
                    except BlockingIOError:
                        pass
                    s.send(payload[off % len(payload):off % len(payload) + 1])
                    p[2] = off + 1
                except (BlockingIOError, InterruptedError):
                    pass
                except OSError:
                    s.close()
                    self.reconnects += 1
                    self.socks[i] = self.connect(i)
            self.rounds += 1
            self.stop.wait(0.5)

    def close(self):
        self.stop.set()
        self.thread.join(10)
        for p in self.socks:
            if p:
                p[0].close()


def tls_options(port, ctx, call_id):
    t0 = time.monotonic()
    raw = socket.create_connection((HOST, port), timeout=5)
    with ctx.wrap_socket(raw) as t:
        t.sendall(sip_options(HOST, port, "TLS", local=t.getsockname(), call_id=call_id))
        msg, _ = read_sip_message(t)
    return status_of(msg), time.monotonic() - t0


def rpc_stats(port, ctx):
    try:
        return xmlrpc.client.ServerProxy(f"https://{HOST}:{port}/RPC2", context=ctx).core.stats()
    except (OSError, xmlrpc.client.Error) as e:
        return {"error": repr(e)}


def flood(c, tmp, ca):
    tls_port, tcp_port = free_port(), free_port()
    table = int(os.environ.get("SIPSD_IT_TABLE", max(60, TRICKLERS // 3)))
    extra = f"tcp_max_connections={table}\ntcp_max_connections_per_ip=64\n"
    ctx = tls_client_context(ca, os.path.join(ca, "certs", "bob.crt"), os.path.join(ca, "certs", "bob.key"))
    hello = client_hello("slow.example.org")
    with Sipsd(config(ca, tls_port, tcp_port, extra), workdir=tmp, name="flood") as s:
        s.start(wait_tcp=[(HOST, tls_port), (HOST, tcp_port)])
        status, _ = tls_options(tls_port, ctx, "warmup")
        c.check(status == 200, "flood: OPTIONS over TLS answered before the flood")
        opts = sip_options(HOST, tcp_port, "TCP", call_id="trickle")
        tr = Tricklers([(tcp_port, opts), (tls_port, hello)], TRICKLERS)
        tr.thread.start()
        try:
            # Three rounds: every trickler has connected and sent bytes; the table is full.
            wait_for(lambda: tr.rounds >= 3, 60, "three trickle rounds")
            t_flood = time.monotonic()
            times, bad = [], []
            for i in range(5):
                try:
                    status, took = tls_options(tls_port, ctx, f"during-flood-{i}")
                except Exception as e:  # EOF or timeout: the table kept the client out
                    status, took = repr(e), None
                times.append(took)
                if status != 200 or took is None or took >= 1.0:
                    bad.append((status, took))
            c.check(not bad, f"flood: with {TRICKLERS} trickling TCP/TLS peers and a table of {table}, "
                             f"5 new TLS clients each get OPTIONS -> 200 within 1 s "
                             f"(max {max(t for t in times if t) if any(times) else None!r} s)", repr(bad))
            stats = rpc_stats(tls_port, ctx)
            c.check(stats.get("evicted", 0) > 0 and stats.get("connections", 0) <= table,
                    f"flood: core.stats shows evictions ({stats.get('evicted')}) and at most {table} connections "
                    f"({stats.get('connections')})", repr(stats))
            elapsed = time.monotonic() - t_flood + tr.rounds * 0.5 + 2
        finally:
            tr.close()
        lines = [l for l in s.output().splitlines() if "evicted" in l]
        c.check(0 < len(lines) <= 2 * (elapsed + 2),
                f"flood: {stats.get('evicted')} evictions logged in {len(lines)} lines (once per interval per worker)",
                "\n".join(lines[:5]))
        c.check(any("more not logged" in l or "(not logged one by one)" in l for l in lines),
                "flood: the throttled eviction lines carry a count", "\n".join(lines[:5]))
        c.check(s.alive(), "flood: sipsd alive", s.output()[-2000:])
        c.check(s.stop() == 0, "flood: sipsd stops cleanly")


def wait_cut(sock, timeout, keep_sending=None):
    """Seconds until the server closed `sock` (sending one byte of keep_sending every 0.3 s)."""
    t0 = time.monotonic()
    sock.settimeout(0.3)
    off = 0
    while time.monotonic() - t0 < timeout:
        try:
            if keep_sending:
                sock.send(keep_sending[off:off + 1])
                off = (off + 1) % len(keep_sending)
            if sock.recv(65536) == b"":
                return time.monotonic() - t0
        except socket.timeout:
            continue
        except OSError:
            return time.monotonic() - t0
    return None


def timeouts(c, tmp, ca):
    tls_port, tcp_port = free_port(), free_port()
    extra = ("tcp_msg_read_timeout=2\ntcp_connection_lifetime=60\ntcp_max_connections_per_ip=5\n"
             'modparam("tls", "handshake_timeout", 2)\n')
    cfg = config(ca, tls_port, tcp_port, extra)
    with Sipsd(cfg, workdir=tmp, name="timeouts") as s:
        s.start(wait_tcp=[(HOST, tls_port), (HOST, tcp_port)])
        msg = sip_options(HOST, tcp_port, "TCP", call_id="slow")
        slow = socket.create_connection((HOST, tcp_port), timeout=5)
        took = wait_cut(slow, 15, keep_sending=msg[:-4])  # never the final CRLFCRLF
        c.check(took is not None and 1.5 <= took < 4.5,
                f"timeouts: a TCP peer trickling a message is cut at tcp_msg_read_timeout=2 s ({took and round(took, 2)} s)")
        slow.close()
        hs = socket.create_connection((HOST, tls_port), timeout=5)
        took = wait_cut(hs, 15, keep_sending=client_hello())
        c.check(took is not None and 1.5 <= took < 4.5,
                f"timeouts: a TLS peer trickling its ClientHello is cut at handshake_timeout=2 s from accept "
                f"({took and round(took, 2)} s)")
        hs.close()
        # A connection that completes messages in time is kept past the message timeout.
        with socket.create_connection((HOST, tcp_port), timeout=5) as ok:
            for i in range(3):
                ok.sendall(sip_options(HOST, tcp_port, "TCP", local=ok.getsockname(), call_id=f"ok-{i}", cseq=i + 1))
                m, _ = read_sip_message(ok)
                c.check(status_of(m) == 200, f"timeouts: a well-behaved connection is served (message {i + 1})")
                if i < 2:
                    time.sleep(1.2)  # spaced messages on purpose: together longer than the timeout
        # Per source address limit: 5 held from 127.0.0.5, the 6th and 7th are refused.
        held = []
        for _ in range(7):
            h = socket.socket()
            h.bind(("127.0.0.5", 0))
            h.connect((HOST, tcp_port))
            held.append(h)
        # Two workers accept in their own order, so any two of the seven may be the refused ones.
        # All seven are watched at once: the two refusals may take a loaded machine a while (each
        # connection watched alone for 1.5 s in turn missed one that came late), then a further
        # 1.5 s shows that no third connection is cut.
        cut = set()

        def newly_cut():
            for h in select.select(held, [], [], 0)[0]:  # readable: EOF or reset (sipsd sends nothing)
                try:
                    gone = h.recv(65536) == b""
                except OSError:
                    gone = True
                if gone:
                    cut.add(held.index(h))
            return len(cut)
        try:
            wait_for(lambda: newly_cut() >= 2, 15, "two of the seven connections to be refused")
            t_two = time.monotonic()
            while time.monotonic() - t_two < 1.5:
                newly_cut()
                time.sleep(0.05)
        except AssertionError:
            pass
        c.check(len(cut) == 2,
                "timeouts: of 7 connections from one address, the 2 over tcp_max_connections_per_ip=5 are refused",
                f"cut: {sorted(cut)}")
        with socket.create_connection((HOST, tcp_port), timeout=5) as other:
            other.sendall(sip_options(HOST, tcp_port, "TCP", local=other.getsockname(), call_id="other-ip"))
            m, _ = read_sip_message(other)
            c.check(status_of(m) == 200, "timeouts: another address is still served")
        for h in held:
            h.close()
        wait_for(lambda: "tcp_max_connections_per_ip (5) reached" in s.output(), 5, "per-IP log line")
        c.check(True, "timeouts: the per-IP refusal is logged")
        c.check(s.stop() == 0, "timeouts: sipsd stops cleanly")


def main():
    c = Checker()
    tmp = work_dir("sipsd-slow-")
    ca = make_pki(tmp, clients=("bob:Bob",))
    sections = sys.argv[1:] or ["flood", "timeouts"]
    for name in sections:
        {"flood": flood, "timeouts": timeouts}[name](c, tmp, ca)
    c.finish()


if __name__ == "__main__":
    main()

#!/usr/bin/env python3
"""tm through the real sipsd: a UAC over TLS, UASes over UDP.

  retransmission  the UAS ignores the first INVITE: the call completes through tm's timer A
                  retransmission (100 Trying at once, 180, 200, ACK and BYE end to end)
  cancel          a ringing call is CANCELled: the UAC gets 200 for its CANCEL and 487, the UAS
                  gets the CANCEL and sipsd's hop-by-hop ACK for its 487
  failure_route   the first destination never answers: after fr_timer (t_set_fr) the
                  failure_route relays to a second UAS, which answers 200
  refused         the kernel refuses the branch's UDP datagram (a broadcast address): the caller
                  gets 500 at once (the branch's 503, RFC 3261 §16.7 step 6), not 408 after
                  fr_timer, also with udp_send_batch (the default) sending at the round's end
  stats           tm.stats over XML-RPC: the memory per open transaction is bounded
  metrics         GET /metrics: tm's transactions created/active, replies relayed by class,
                  retransmissions and fr_timer timeouts moved with the calls above
"""
import os
import re
import socket
import ssl
import sys
import threading
import time
import urllib.request

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "lib"))
from sipsd_harness import (Checker, Sipsd, free_port, make_pki, read_sip_message, status_of,  # noqa: E402
                           wait_for, work_dir)

HOST = "127.0.0.1"


def header(msg, name):
    for line in msg.split(b"\r\n")[1:]:
        if not line:
            break
        n, _, v = line.partition(b":")
        if n.strip().lower() == name.lower():
            return v.strip().decode()
    return None


def vias(msg):
    out = []
    for line in msg.split(b"\r\n")[1:]:
        if not line:
            break
        n, _, v = line.partition(b":")
        if n.strip().lower() in (b"via", b"v"):
            out.append(v.strip().decode())
    return out


def method_of(msg):
    return msg.split(b" ", 1)[0].decode()


def branch_of(via):
    m = re.search(r"branch=([^;, ]+)", via)
    return m.group(1) if m else None


class Uas:
    """A UDP user agent server whose behaviour depends on the request-URI user."""

    def __init__(self, name, mode=None):
        self.name = name
        self.mode = mode  # overrides the request-URI user
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.sock.bind((HOST, 0))
        self.port = self.sock.getsockname()[1]
        self.received = []  # (method, msg)
        self.lock = threading.Lock()
        self.invites_seen = {}
        self.running = True
        self.thread = threading.Thread(target=self.loop, daemon=True)
        self.thread.start()

    def got(self, method):
        with self.lock:
            return [m for (me, m) in self.received if me == method]

    def reply(self, req, code, reason, addr, method=None, extra=""):
        lines = [f"SIP/2.0 {code} {reason}"]
        for v in vias(req):
            lines.append("Via: " + v)
        lines.append("From: " + header(req, b"from"))
        to = header(req, b"to")
        if code > 100 and "tag=" not in to:
            to += ";tag=uas-" + self.name
        lines.append("To: " + to)
        lines.append("Call-ID: " + header(req, b"call-id"))
        cseq = header(req, b"cseq")
        if method:
            cseq = cseq.split()[0] + " " + method
        lines.append("CSeq: " + cseq)
        if code == 200 and (method or method_of(req)) == "INVITE":
            lines.append(f"Contact: <sip:uas@{HOST}:{self.port}>")
        if extra:
            lines.append(extra)
        lines.append("Content-Length: 0")
        self.sock.sendto(("\r\n".join(lines) + "\r\n\r\n").encode(), addr)

    def loop(self):
        self.sock.settimeout(0.2)
        while self.running:
            try:
                data, addr = self.sock.recvfrom(65535)
            except socket.timeout:
                continue
            except OSError:
                return
            method = method_of(data)
            if method == "SIP/2.0":
                continue
            with self.lock:
                self.received.append((method, data))
            user = re.match(rb"[A-Z]+ sip:([^@]+)@", data)
            user = self.mode or (user.group(1).decode() if user else "")
            call = header(data, b"call-id")
            if method == "INVITE":
                n = self.invites_seen.get(call, 0) + 1
                self.invites_seen[call] = n
                if user == "ignorefirst":
                    if n == 1:
                        continue  # lost: tm must retransmit
                    self.reply(data, 180, "Ringing", addr)
                    self.reply(data, 200, "OK", addr)
                elif user == "ring":
                    if n == 1:
                        self.reply(data, 180, "Ringing", addr)
                        self.pending_ring = (data, addr)
                elif user == "answer":
                    self.reply(data, 200, "OK", addr)
                # "silent": never answers
            elif method == "CANCEL":
                self.reply(data, 200, "OK", addr)
                inv, iaddr = self.pending_ring
                self.reply(inv, 487, "Request Terminated", iaddr)
            elif method == "BYE":
                self.reply(data, 200, "OK", addr)

    def stop(self):
        self.running = False
        self.sock.close()


class TlsUac:
    def __init__(self, ca, port):
        ctx = ssl.create_default_context(cafile=os.path.join(ca, "ca.crt"))
        ctx.check_hostname = False
        raw = socket.create_connection((HOST, port), timeout=10)
        self.sock = ctx.wrap_socket(raw)
        self.local = self.sock.getsockname()
        self.buf = b""
        self.n = 0

    def request(self, method, ruri, call_id, cseq=1, branch=None, to_tag=None):
        self.n += 1
        branch = branch or f"z9hG4bKuac{self.n}{int(time.time()*1000)%100000}"
        to = f"<{ruri}>" + (f";tag={to_tag}" if to_tag else "")
        msg = (f"{method} {ruri} SIP/2.0\r\n"
               f"Via: SIP/2.0/TLS {self.local[0]}:{self.local[1]};branch={branch};rport\r\n"
               f"Max-Forwards: 70\r\n"
               f"From: <sip:alice@example.org>;tag=uac{call_id}\r\n"
               f"To: {to}\r\n"
               f"Call-ID: {call_id}\r\n"
               f"CSeq: {cseq} {method}\r\n"
               f"Contact: <sip:alice@{self.local[0]}:{self.local[1]};transport=tls>\r\n"
               f"Content-Length: 0\r\n\r\n")
        self.sock.sendall(msg.encode())
        return branch

    def read(self, timeout=10):
        self.sock.settimeout(timeout)
        msg, self.buf = read_sip_message(self.sock, self.buf)
        return msg

    def read_until_final(self, timeout=15, method="INVITE"):
        """Replies up to the final one for `method` (others are kept aside)."""
        seen = []
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            m = self.read(max(0.1, deadline - time.monotonic()))
            seen.append(m)
            if header(m, b"cseq").split()[1] == method and status_of(m) >= 200:
                return seen
        raise AssertionError("no final reply")

    def close(self):
        self.sock.close()


def main():
    c = Checker()
    d = work_dir("sipsd-tm-")
    ca = make_pki(d)
    udp_port = free_port()
    tls_port = free_port()
    uas1, uas2, silent = Uas("one"), Uas("two", mode="answer"), Uas("silent", mode="silent")
    cfg = f"""
debug=3
children=2
listen=udp:{HOST}:{udp_port}
listen=tls:{HOST}:{tls_port}
listen=tcp:{HOST}:{udp_port}
loadmodule "tls"
loadmodule "sl"
loadmodule "tm"
loadmodule "xmlrpc"
loadmodule "http"
modparam("tls", "certificate", "{ca}/certs/server.crt")
modparam("tls", "private_key", "{ca}/certs/server.key")
modparam("tls", "ca_list", "{ca}/ca.crt")
modparam("tm", "t1", 200)

route {{
  if (method == "POST") {{ dispatch_rpc(); exit; }}
  if (method == "GET") {{ http_metrics(); exit; }}
  if (@ruri.user == "silent") {{
    t_set_fr(10000, 1500);
    t_on_failure("NEXT");
  }}
  if (@ruri.user == "refused") {{ $du = "sip:255.255.255.255:5060"; }}
  t_relay();
}}

failure_route[NEXT] {{
  t_relay_to_udp("{HOST}", "{uas2.port}");
}}
"""
    sipsd = Sipsd(cfg, workdir=d)
    try:
        sipsd.start(wait_tcp=[(HOST, tls_port)])

        # 1. The UAS ignores the first INVITE; tm's retransmission gets the call through.
        uac = TlsUac(ca, tls_port)
        ruri = f"sip:ignorefirst@{HOST}:{uas1.port}"
        t0 = time.monotonic()
        uac.request("INVITE", ruri, "call-retrans")
        replies = uac.read_until_final()
        codes = [status_of(m) for m in replies]
        c.check(codes[0] == 100, "100 Trying first (tm answers the INVITE at once)", codes)
        c.check(180 in codes and codes[-1] == 200, "180 and 200 relayed to the TLS caller", codes)
        invs = uas1.got("INVITE")
        c.check(len(invs) == 2, "UAS got the INVITE twice (the first one ignored, timer A resent it)", len(invs))
        if len(invs) == 2:
            b1, b2 = branch_of(vias(invs[0])[0]), branch_of(vias(invs[1])[0])
            c.check(b1 == b2 and b1.startswith("z9hG4bKtm"), "the retransmission is the same branch", (b1, b2))
        c.check(time.monotonic() - t0 < 5, "the call completed within a few T1")
        ok = replies[-1]
        c.check(len(vias(ok)) == 1 and "TLS" in vias(ok)[0], "the 200 lost sipsd's Via", vias(ok))
        to_tag = re.search(r"tag=([^;>]+)", header(ok, b"to")).group(1)
        uac.request("ACK", f"sip:uas@{HOST}:{uas1.port}", "call-retrans", to_tag=to_tag)
        wait_for(lambda: uas1.got("ACK"), 5, "ACK at the UAS")
        c.check(len(uas1.got("ACK")) == 1, "the ACK for the 2xx reached the UAS end to end")
        uac.request("BYE", f"sip:uas@{HOST}:{uas1.port}", "call-retrans", cseq=2, to_tag=to_tag)
        bye = uac.read_until_final(method="BYE")
        c.check(status_of(bye[-1]) == 200, "BYE through tm answered 200", [status_of(m) for m in bye])

        # 2. CANCEL of a ringing call.
        ruri = f"sip:ring@{HOST}:{uas1.port}"
        br = uac.request("INVITE", ruri, "call-cancel")
        first = [uac.read(), uac.read()]
        c.check([status_of(m) for m in first] == [100, 180], "100 and 180 for the ringing call",
                [status_of(m) for m in first])
        uac.request("CANCEL", ruri, "call-cancel", branch=br)
        got = uac.read_until_final()
        codes = [(header(m, b"cseq").split()[1], status_of(m)) for m in got]
        c.check(("CANCEL", 200) in codes, "the CANCEL is answered 200 by sipsd", codes)
        c.check(codes[-1] == ("INVITE", 487), "the caller gets 487 for the INVITE", codes)
        wait_for(lambda: uas1.got("CANCEL"), 5, "CANCEL at the UAS")
        c.check(len(uas1.got("CANCEL")) >= 1, "the UAS got the CANCEL")
        wait_for(lambda: [a for a in uas1.got("ACK") if b"call-cancel" in a], 5, "ACK for 487 at the UAS")
        acks = [a for a in uas1.got("ACK") if b"call-cancel" in a]
        if acks:
            inv = [i for i in uas1.got("INVITE") if b"call-cancel" in i][0]
            c.check(branch_of(vias(acks[0])[0]) == branch_of(vias(inv)[0]) and len(vias(acks[0])) == 1,
                    "sipsd's hop-by-hop ACK for the 487 (INVITE's branch, one Via)")
            c.check("tag=uas-one" in header(acks[0], b"to"), "the ACK carries the 487's To tag")
        uac.request("ACK", ruri, "call-cancel", branch=br, to_tag="uas-one")

        # 3. No answer: failure_route after fr_timer relays to the second UAS.
        ruri = f"sip:silent@{HOST}:{silent.port}"
        t0 = time.monotonic()
        uac.request("INVITE", ruri, "call-failover")
        got = uac.read_until_final(timeout=15)
        elapsed = time.monotonic() - t0
        codes = [status_of(m) for m in got]
        c.check(codes[-1] == 200, "failure_route's second destination answered 200", codes)
        c.check(1.3 < elapsed < 6, "after fr_timer (1.5 s from t_set_fr)", round(elapsed, 2))
        c.check(len(silent.got("INVITE")) >= 2, "the silent UAS got retransmissions", len(silent.got("INVITE")))
        c.check(len(uas2.got("INVITE")) == 1, "the second UAS got the INVITE once", len(uas2.got("INVITE")))
        if uas2.got("INVITE"):
            c.check(uas2.got("INVITE")[0].startswith(b"INVITE sip:silent@"), "the R-URI is kept on serial forking")
        to_tag = re.search(r"tag=([^;>]+)", header(got[-1], b"to")).group(1)
        uac.request("ACK", f"sip:uas@{HOST}:{uas2.port}", "call-failover", to_tag=to_tag)

        # 3b. The kernel refuses the branch's datagram (EACCES: broadcast without SO_BROADCAST).
        t0 = time.monotonic()
        br = uac.request("INVITE", f"sip:refused@{HOST}:{uas2.port}", "call-refused")
        got = uac.read_until_final(timeout=10)
        elapsed = time.monotonic() - t0
        codes = [status_of(m) for m in got]
        c.check(codes[-1] == 500, "a datagram the kernel refuses ends the call with 500", codes)
        c.check(elapsed < 3, "at once, not after fr_timer (30 s)", round(elapsed, 2))
        c.check(wait_for(lambda: "failed: Permission denied" in sipsd.output(), 5, "the log line"),
                "the log names the refused branch and the reason")
        to_tag = re.search(r"tag=([^;>]+)", header(got[-1], b"to"))
        uac.request("ACK", f"sip:refused@{HOST}:{uas2.port}", "call-refused", branch=br,
                    to_tag=to_tag.group(1) if to_tag else "")
        uac.close()

        # 4. tm.stats: transactions are counted and their memory is bounded.
        body = ("<?xml version='1.0'?><methodCall><methodName>tm.stats</methodName>"
                "<params></params></methodCall>").encode()
        req = urllib.request.Request(f"http://{HOST}:{udp_port}/RPC2", data=body,
                                     headers={"Content-Type": "text/xml"})
        text = urllib.request.urlopen(req, timeout=5).read().decode()
        created = re.search(r"<name>created</name>\s*<value><(?:i4|i8|int)>(\d+)<", text)
        c.check(created and int(created.group(1)) >= 4, "tm.stats counts the transactions", text[:300])
        per = re.search(r"<name>bytes_per_transaction</name>\s*<value><(?:i4|i8|int)>(\d+)<", text)
        n = re.search(r"<name>transactions</name>\s*<value><(?:i4|i8|int)>(\d+)<", text)
        if per and n and int(n.group(1)) > 0:
            c.check(int(per.group(1)) < 16384, "memory per open transaction is bounded", per.group(1))
        # 5. /metrics: tm's counters moved with the calls above.
        def metric(text, name, **labels):
            for line in text.splitlines():
                m = re.match(r'^([a-z_]+)(\{(.*)\})? (\S+)$', line)
                if m and m.group(1) == name and all(f'{k}="{v}"' in (m.group(3) or "") for k, v in labels.items()):
                    return float(m.group(4))
            return None

        def scrape():
            return urllib.request.urlopen(f"http://{HOST}:{udp_port}/metrics", timeout=5).read().decode()
        t = scrape()
        c.check((metric(t, "sipsd_tm_transactions_created_total", type="invite") or 0) >= 3,
                "metrics: INVITE transactions created (3 calls)", metric(t, "sipsd_tm_transactions_created_total", type="invite"))
        c.check((metric(t, "sipsd_tm_transactions_created_total", type="non_invite") or 0) >= 1,
                "metrics: non-INVITE transactions created (BYE)")
        c.check((metric(t, "sipsd_tm_replies_relayed_total", **{"class": "2xx"}) or 0) >= 3,
                "metrics: 2xx relayed (two calls answered, the BYE)", metric(t, "sipsd_tm_replies_relayed_total", **{"class": "2xx"}))
        c.check((metric(t, "sipsd_tm_replies_relayed_total", **{"class": "1xx"}) or 0) >= 2,
                "metrics: 180s relayed")
        c.check((metric(t, "sipsd_tm_replies_relayed_total", **{"class": "4xx"}) or 0) >= 1,
                "metrics: the 487 relayed")
        c.check((metric(t, "sipsd_tm_retransmissions_total", kind="request") or 0) >= 2,
                "metrics: request retransmissions (the ignored INVITE, the silent UAS)",
                metric(t, "sipsd_tm_retransmissions_total", kind="request"))
        c.check(metric(t, "sipsd_tm_timeouts_total", timer="fr") == 1,
                "metrics: one branch ended by fr_timer (the silent UAS)", metric(t, "sipsd_tm_timeouts_total", timer="fr"))
        c.check(metric(t, "sipsd_tm_timeouts_total", timer="fr_inv") == 0, "metrics: none by fr_inv_timer")
        c.check((metric(t, "sipsd_tm_transactions_active", type="invite") or 0) >= 1,
                "metrics: the finished calls' transactions are still active (wait timer)")
        c.check(wait_for(lambda: metric(scrape(), "sipsd_tm_transactions_active", type="invite") == 0, 15,
                         "transactions freed"), "metrics: active INVITE transactions back to 0 after the wait timer")
        c.check(sipsd.alive(), "sipsd still running")
    except Exception as e:  # noqa: BLE001
        c.check(False, "tm scenario", repr(e))
    finally:
        for u in (uas1, uas2, silent):
            u.stop()
        rc = sipsd.stop()
        c.check(rc == 0, "sipsd stops cleanly", rc)
        if c.failed:
            print(sipsd.output()[-6000:])
    c.finish()


if __name__ == "__main__":
    main()

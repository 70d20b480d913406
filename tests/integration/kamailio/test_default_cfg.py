#!/usr/bin/env python3
"""Debian's default Kamailio config (/etc/kamailio/kamailio.cfg, from the kamailio package) run by
sipsd with only the edits the README's "Kamailio users" section lists: the lines of the modules
sipsd does not have are removed (KAMAILIO_ONLY below), so are four settings it does not have
(UNSUPPORTED), and listen= lines are added. Everything
else — #!define/#!ifdef, flags, $var/$avp/$rc, switch, sanity_check, t_on_branch/branch_route,
t_is_set, sl_reply_error, record_route/loose_route, save/lookup — is read as Kamailio reads it.

Through the real binary, over UDP:
  - `sipsd -c` accepts the adapted file;
  - OPTIONS to the server itself: 200 Keepalive (REQINIT);
  - alice and bob REGISTER (save("location")); a call bob -> alice is record-routed through the
    proxy (lookup("location"), t_relay()); ACK and BYE follow the route set (loose_route());
  - a call to an unregistered user: 404 Not Found (lookup fails, $var(rc) = $rc, switch);
  - a request whose CSeq method is not its method: not relayed (sanity_check).
and with `-A WITH_TLS` the same file loads the tls module from its own tls.cfg (Kamailio's format,
here naming the test certificates): bob calls over TLS, alice is reached over UDP.
Run: SIPSD_BUILD_DIR=build python3 tests/integration/kamailio/test_default_cfg.py"""
import os
import re
import socket
import ssl
import subprocess
import sys
import uuid

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "lib"))
from sipsd_harness import (Checker, Sipsd, build_dir, crt, free_port, key, header, headers, make_pki, read_sip_message,  # noqa: E402
                           sipsd_binary, status_of, udp_bound, wait_for, work_dir)

HOST = "127.0.0.1"
DEFAULT_CFG = "/etc/kamailio/kamailio.cfg"
# Kamailio modules the default config loads that sipsd does not have (README "Kamailio users").
KAMAILIO_ONLY = ("jsonrpcs", "ctl", "cfg_rpc", "acc", "counters")
# Settings sipsd does not have (yet): Allow-based contact filtering, Path, and the core TLS
# switches (sipsd's TLS is on when the tls module is loaded and a listen=tls names a socket).
UNSUPPORTED = (r'modparam\("registrar", "method_filtering", 1\)', r'modparam\("registrar", "use_path", 1\)',
               r"enable_tls=yes", r"tls_max_connections=\d+")


def adapt(text, udp_port, tls_port, tls_cfg):
    """The README's edits: drop KAMAILIO_ONLY modules' loadmodule/modparam lines, add listeners,
    point the tls module at the test's tls.cfg."""
    names = "|".join(KAMAILIO_ONLY)
    text = re.sub(r'^loadmodule "(%s)\.so"\n' % names, "", text, flags=re.M)
    text = re.sub(r'^modparam\("(%s)",.*?\)[ \t]*\n' % names, "", text, flags=re.M | re.S)
    for line in UNSUPPORTED:
        text = re.sub(r"^%s[ \t]*\n" % line, "", text, flags=re.M)
    text = text.replace('modparam("tls", "config", "/etc/kamailio/tls.cfg")',
                        f'modparam("tls", "config", "{tls_cfg}")')
    listen = f"listen=udp:{HOST}:{udp_port}\n#!ifdef WITH_TLS\nlisten=tls:{HOST}:{tls_port}\n#!endif\n"
    first, rest = text.split("\n", 1)
    return first + "\n" + listen + rest


def tls_cfg_text(ca):
    return f"""[server:default]
method = TLSv1.2+
verify_certificate = no
require_certificate = no
private_key = {key(ca, "server")}
certificate = {crt(ca, "server")}
ca_list = {ca}/ca.crt

[client:default]
verify_certificate = no
require_certificate = no
"""


def request(method, ruri, frm, to, call_id, cseq, via, contact=None, extra="", body="", cseq_method=None):
    lines = [f"{method} {ruri} SIP/2.0", f"Via: {via}", "Max-Forwards: 70",
             f"From: {frm}", f"To: {to}", f"Call-ID: {call_id}", f"CSeq: {cseq} {cseq_method or method}"]
    if contact:
        lines.append(f"Contact: {contact}")
    if extra:
        lines.extend(extra.rstrip("\r\n").split("\r\n"))
    if body:
        lines.append("Content-Type: application/sdp")
    lines.append(f"Content-Length: {len(body.encode())}")
    return ("\r\n".join(lines) + "\r\n\r\n" + body).encode()


def reply_to(req, code, reason, to_tag, contact=None):
    head = req.split(b"\r\n\r\n", 1)[0].decode().split("\r\n")[1:]
    out = [f"SIP/2.0 {code} {reason}"]
    for line in head:
        k = line.split(":", 1)[0].strip().lower()
        if k in ("via", "record-route", "from", "call-id", "cseq"):
            out.append(line)
        elif k == "to":
            out.append(line if ";tag=" in line else line + ";tag=" + to_tag)
    if contact:
        out.append(f"Contact: {contact}")
    out.append("Content-Length: 0")
    return ("\r\n".join(out) + "\r\n\r\n").encode()


class Ua:
    """A phone on UDP, or on one TLS connection to the proxy."""

    def __init__(self, user, proxy_port, tls_ca=None):
        self.user = user
        self.proxy = (HOST, proxy_port)
        self.buf = b""
        if tls_ca:
            ctx = ssl.create_default_context(cafile=os.path.join(tls_ca, "ca.crt"))
            ctx.check_hostname = False
            self.sock = ctx.wrap_socket(socket.create_connection(self.proxy, timeout=10))
            self.proto = "TLS"
        else:
            self.sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
            self.sock.bind((HOST, 0))
            self.proto = "UDP"
        self.local = self.sock.getsockname()
        self.tag = uuid.uuid4().hex[:8]
        transport = ";transport=tls" if tls_ca else ""
        self.contact = f"<sip:{user}@{self.local[0]}:{self.local[1]}{transport}>"

    def via(self):
        return f"SIP/2.0/{self.proto} {self.local[0]}:{self.local[1]};branch=z9hG4bK{uuid.uuid4().hex[:12]};rport"

    def send(self, data):
        if self.proto == "UDP":
            self.sock.sendto(data, self.proxy)
        else:
            self.sock.sendall(data)

    def recv(self, timeout=5):
        """The next message; None on timeout."""
        self.sock.settimeout(timeout)
        try:
            if self.proto == "UDP":
                return self.sock.recvfrom(65536)[0]
            msg, self.buf = read_sip_message(self.sock, self.buf)
            return msg
        except (socket.timeout, TimeoutError, ssl.SSLError, OSError):
            return None

    def final(self, call_id, timeout=8):
        """The final reply for call_id (provisionals skipped), and the provisionals seen."""
        seen = []
        while True:
            m = self.recv(timeout)
            if m is None:
                return None, seen
            code = status_of(m)
            if code is None or header(m, "Call-ID") != call_id:
                continue
            if code < 200:
                seen.append(code)
                continue
            return m, seen

    def reply(self, req, code, reason, contact=None):
        """Answer a request received from the proxy (to the top Via's sent-by, as UDP replies go)."""
        data = reply_to(req, code, reason, self.tag, contact)
        if self.proto == "UDP":
            via = header(req, "Via")
            m = re.match(r"SIP/2.0/\w+ ([^;:]+):(\d+)", via)
            rport = re.search(r";rport=(\d+)", via)
            self.sock.sendto(data, (m.group(1), int(rport.group(1)) if rport else int(m.group(2))))
        else:
            self.sock.sendall(data)

    def register(self):
        aor = f"sip:{self.user}@{HOST}"
        cid = uuid.uuid4().hex
        self.send(request("REGISTER", f"sip:{HOST}:{self.proxy[1]}", f"<{aor}>;tag={self.tag}", f"<{aor}>", cid, 1,
                          self.via(), contact=self.contact + ";expires=300"))
        return self.final(cid)[0]


def wait_request(ua, method, timeout=8):
    while True:
        m = ua.recv(timeout)
        if m is None:
            return None
        if m.startswith(method.encode() + b" "):
            return m


def call(c, label, bob, alice, port):
    """bob calls alice through the proxy: INVITE/180/200/ACK/BYE/200."""
    cid = uuid.uuid4().hex
    sdp = "v=0\r\no=- 1 1 IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\nm=audio 4000 RTP/AVP 0\r\n"
    frm, to = f"<sip:{bob.user}@{HOST}>;tag={bob.tag}", f"<sip:{alice.user}@{HOST}>"
    invite = request("INVITE", f"sip:{alice.user}@{HOST}:{port}", frm, to, cid, 1, bob.via(),
                     contact=bob.contact, body=sdp)
    bob.send(invite)
    got = wait_request(alice, "INVITE")
    c.check(got is not None and header(got, "Call-ID") == cid, f"{label}: alice gets the INVITE (lookup, t_relay)",
            repr(got)[:600])
    if got is None:
        return
    rr = [r.strip() for h in headers(got, "Record-Route") for r in h.split(",")]
    c.check(bool(rr) and all(f"{HOST}:" in r and ";lr" in r for r in rr),
            f"{label}: the INVITE is record-routed by the proxy", str(rr))
    alice.reply(got, 180, "Ringing", contact=alice.contact)
    alice.reply(got, 200, "OK", contact=alice.contact)
    ok, prov = bob.final(cid)
    c.check(ok is not None and status_of(ok) == 200 and 100 in prov and 180 in prov,
            f"{label}: bob gets 100 Trying, 180 and 200", f"{prov} {repr(ok)[:600]}")
    if ok is None or status_of(ok) != 200:
        return
    route = "".join(f"Route: {r}\r\n" for r in [r.strip() for h in headers(ok, "Record-Route") for r in h.split(",")][::-1])
    target = header(ok, "Contact").split(">", 1)[0].lstrip("<")
    to_tagged = header(ok, "To")
    bob.send(request("ACK", target, frm, to_tagged, cid, 1, bob.via(), extra=route))
    ack = wait_request(alice, "ACK")
    c.check(ack is not None and not headers(ack, "Route"),
            f"{label}: the ACK reaches alice through the proxy, its Route entries removed (loose_route)", repr(ack)[:600])
    bob.send(request("BYE", target, frm, to_tagged, cid, 2, bob.via(), extra=route))
    bye = wait_request(alice, "BYE")
    c.check(bye is not None and not headers(bye, "Route"), f"{label}: the BYE reaches alice through the proxy",
            repr(bye)[:600])
    if bye is not None:
        alice.reply(bye, 200, "OK")
    done, _ = bob.final(cid)
    c.check(done is not None and status_of(done) == 200 and "BYE" in header(done, "CSeq"),
            f"{label}: bob gets the 200 for his BYE", repr(done)[:600])


def main():
    c = Checker()
    if not os.path.exists(DEFAULT_CFG):
        c.check(False, f"{DEFAULT_CFG} is installed (Debian package kamailio, tools/setup.sh)")
        c.finish()
    tmp = work_dir("sipsd-kamcfg-")
    ca = make_pki(tmp, clients=())
    port, tls_port = free_port(), free_port()
    tls_cfg = os.path.join(tmp, "tls.cfg")
    with open(tls_cfg, "w") as f:
        f.write(tls_cfg_text(ca))
    with open(DEFAULT_CFG) as f:
        cfg_text = adapt(f.read(), port, tls_port, tls_cfg)
    cfg_path = os.path.join(tmp, "kamailio.cfg")
    with open(cfg_path, "w") as f:
        f.write(cfg_text)
    mods = ["-L", os.path.join(build_dir(), "modules"), "-L", build_dir()]
    for extra in ([], ["-A", "WITH_TLS"]):
        r = subprocess.run([sipsd_binary(), "-c", "-f", cfg_path] + mods + extra, capture_output=True, text=True,
                           timeout=60)
        c.check(r.returncode == 0, f"sipsd -c accepts Debian's kamailio.cfg {' '.join(extra)}".rstrip(),
                (r.stdout + r.stderr)[-3000:])
    with Sipsd(cfg_text, workdir=tmp, extra_args=["-A", "WITH_TLS"]) as s:
        s.start(wait_tcp=[(HOST, tls_port)])
        wait_for(lambda: s.proc.poll() is not None or udp_bound(port), 10, "sipsd UDP listener")
        probe = Ua("probe", port)
        cid = uuid.uuid4().hex
        probe.send(request("OPTIONS", f"sip:{HOST}:{port}", f"<sip:probe@{HOST}>;tag=1", f"<sip:{HOST}>", cid, 1,
                           probe.via()))
        m, _ = probe.final(cid)
        c.check(m is not None and status_of(m) == 200 and b"Keepalive" in m.split(b"\r\n", 1)[0],
                "OPTIONS to the server: 200 Keepalive", repr(m)[:400])

        alice, bob, tls_bob = Ua("alice", port), Ua("bob", port), Ua("tlsbob", tls_port, tls_ca=ca)
        for ua in (alice, bob, tls_bob):
            m = ua.register()
            c.check(m is not None and status_of(m) == 200 and header(m, "Contact"),
                    f"{ua.user} registers over {ua.proto} (save)", repr(m)[:600])
        call(c, "UDP bob -> UDP alice", bob, alice, port)
        call(c, "TLS tlsbob -> UDP alice", tls_bob, alice, tls_port)

        cid = uuid.uuid4().hex
        bob.send(request("INVITE", f"sip:carol@{HOST}:{port}", f"<sip:bob@{HOST}>;tag=x1", f"<sip:carol@{HOST}>",
                         cid, 1, bob.via(), contact=bob.contact))
        m, _ = bob.final(cid)
        c.check(m is not None and status_of(m) == 404 and b"Not Found" in m.split(b"\r\n", 1)[0],
                "a call to an unregistered user: 404 Not Found (lookup's $rc through $var and switch)", repr(m)[:400])

        cid = uuid.uuid4().hex
        bob.send(request("INVITE", f"sip:alice@{HOST}:{port}", f"<sip:bob@{HOST}>;tag=x2", f"<sip:alice@{HOST}>",
                         cid, 1, bob.via(), contact=bob.contact, cseq_method="BYE"))
        leaked = wait_request(alice, "INVITE", timeout=2)
        c.check(leaked is None, "an INVITE whose CSeq says BYE is not relayed (sanity_check)", repr(leaked)[:400])
        c.check(s.alive(), "sipsd alive at the end", s.output()[-2000:])
        for ua in (probe, alice, bob, tls_bob):
            ua.sock.close()
        code = s.stop()
        c.check(code == 0, "sipsd stops cleanly", s.output()[-2000:])
    c.finish()


if __name__ == "__main__":
    main()

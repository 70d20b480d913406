#!/usr/bin/env python3
"""Two real phones through sipsd (issue 12): Debian's baresip, headless, as alice and bob, each
with its client certificate from tools/sipsd-ca. Both register over TLS (the script lets a phone
register only the AoR its certificate names: @tls.peer against $tU); alice calls
sip:bob@example.com; sipsd record-routes, finds bob with lookup("location") and relays with
t_relay() over the TLS connection bob opened; bob answers by himself (answermode=auto); alice
hangs up and the BYE passes through sipsd (loose_route). baresip is driven through its ctrl_tcp
module (netstring JSON) and traces SIP (-s), which shows where each message came from.
Run: SIPSD_BUILD_DIR=build python3 tests/integration/registrar/test_baresip.py"""
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile

HERE = os.path.dirname(__file__)
sys.path.insert(0, os.path.join(HERE, "..", "lib"))
sys.path.insert(0, HERE)
from sipsd_harness import Checker, Sipsd, build_dir, finish, free_port, make_pki, run, sipsd_binary, tcp_open, wait_for  # noqa: E402,E501
from test_registrar import CALL_ROUTE, config, sipsctl  # noqa: E402

HOST = "127.0.0.1"


class Baresip:
    """One baresip process, headless: no audio device (a sine source, no player), SIP over TLS
    through sipsd only (outbound proxy), answering calls by itself."""

    def __init__(self, tmp, ca, user, sipsd_tls, cert_of=None, name=None):
        self.dir = os.path.join(tmp, name or user)
        os.makedirs(self.dir, exist_ok=True)
        self.user = user
        self.sip_port = free_port_pair()
        self.ctrl_port = free_port()
        # baresip wants the certificate and its key in one file.
        with open(os.path.join(self.dir, "cert.pem"), "w") as f:
            for ext in ("crt", "key"):
                with open(os.path.join(ca, "certs", f"{cert_of or user}.{ext}")) as src:
                    f.write(src.read())
        # Headless, all from Debian's baresip-core: ausine is the microphone (it only does 48 kHz,
        # hence opus), no audio_player (nothing is played, no sound device needed); menu
        # implements the dial/hangup commands that ctrl_tcp carries; net_interface keeps SIP and
        # RTP on loopback whatever interfaces the machine has.
        with open(os.path.join(self.dir, "config"), "w") as f:
            f.write(f"""poll_method epoll
sip_listen {HOST}:{self.sip_port}
sip_certificate {self.dir}/cert.pem
sip_cafile {ca}/ca.crt
module_path /usr/lib/baresip/modules
module opus.so
module ausine.so
module account.so
module menu.so
module ctrl_tcp.so
ctrl_tcp_listen {HOST}:{self.ctrl_port}
audio_source ausine,440
net_interface 127.0.0.1
""")
        with open(os.path.join(self.dir, "accounts"), "w") as f:
            f.write(f'<sip:{user}@example.com;transport=tls>;outbound="sip:{HOST}:{sipsd_tls};transport=tls";'
                    f'regint=600;answermode=auto\n')
        self.log_path = os.path.join(self.dir, "baresip.log")
        self.proc = None

    def start(self):
        self.log = open(self.log_path, "wb")
        self.proc = subprocess.Popen(["baresip", "-s", "-f", self.dir], stdin=subprocess.DEVNULL,
                                     stdout=self.log, stderr=subprocess.STDOUT)

    def output(self):
        with open(self.log_path, "rb") as f:
            return f.read().decode(errors="replace")

    def command(self, cmd, params=""):
        body = json.dumps({"command": cmd, "params": params, "token": "t"}).encode()
        with socket.create_connection((HOST, self.ctrl_port), timeout=5) as s:
            s.sendall(str(len(body)).encode() + b":" + body + b",")
            # baresip answers with a netstring; events (also netstrings) may come first.
            buf = b""
            while True:
                while b":" in buf:
                    size, _, rest = buf.partition(b":")
                    if len(rest) < int(size) + 1:
                        break
                    msg = json.loads(rest[:int(size)])
                    buf = rest[int(size) + 1:]
                    if msg.get("response"):
                        return msg
                chunk = s.recv(4096)
                if not chunk:
                    return {}
                buf += chunk

    def stop(self):
        if self.proc and self.proc.poll() is None:
            os.kill(self.proc.pid, signal.SIGTERM)
            try:
                self.proc.wait(5)
            except subprocess.TimeoutExpired:
                os.kill(self.proc.pid, signal.SIGKILL)
                self.proc.wait()
        if self.proc and not self.log.closed:
            self.log.close()
        return self.proc is not None and self.proc.poll() is not None


def free_port_pair():
    """A port p with p+1 free too: baresip listens for UDP/TCP on sip_listen's port and for TLS
    on the next one."""
    for _ in range(100):
        p = free_port()
        if p < 65535 and not tcp_open(HOST, p + 1):
            try:
                for kind in (socket.SOCK_STREAM, socket.SOCK_DGRAM):
                    with socket.socket(socket.AF_INET, kind) as s:
                        s.bind((HOST, p + 1))
                return p
            except OSError:
                continue
    raise RuntimeError("no free port pair")


TRACE = re.compile(r"\x1b\[36;1m#\n(UDP|TCP|TLS) (\S+) -> (\S+)\n(.*?)\r\n\r\n", re.S)


def trace(ua):
    """The SIP messages in baresip's -s trace: (source, destination, start line, CSeq)."""
    out = []
    for m in TRACE.finditer(ua.output()):
        lines = m.group(4).split("\r\n")
        cseq = next((ln.split(":", 1)[1].strip() for ln in lines if ln.lower().startswith("cseq:")), "")
        out.append((m.group(2), m.group(3), lines[0], cseq))
    return out


def find(msgs, start, method, src=None, dst=None):
    """Messages whose start line begins with `start` and whose CSeq method is `method`."""
    return [m for m in msgs if m[2].startswith(start) and m[3].endswith(" " + method)
            and (src is None or m[0] == src) and (dst is None or m[1] == dst)]


def main():
    c = Checker()
    if not shutil.which("baresip"):
        c.check(False, "baresip is installed (tools/setup.sh installs baresip-core)")
        c.finish()
    tmp = tempfile.mkdtemp(prefix="sipsd-baresip-")
    ca = make_pki(tmp, clients=("alice:alice", "bob:bob"))
    udp, tls, tcp = free_port(), free_port(), free_port()
    proxy = f"{HOST}:{tls}"
    uas = []
    try:
        with Sipsd(config(ca, udp, tls, tcp, modules=("tm", "rr"), route=CALL_ROUTE), workdir=tmp) as d:
            r = run([sipsd_binary(), "-c", "-f", d.cfg, "-L", os.path.join(build_dir(), "modules"), "-L", build_dir()])
            c.check(r.returncode == 0, "sipsd -c accepts the config (registrar finds usrloc while checking)",
                    r.stdout + r.stderr)
            d.start(wait_tcp=[(HOST, tls), (HOST, tcp)])
            alice, bob = Baresip(tmp, ca, "alice", tls), Baresip(tmp, ca, "bob", tls)
            uas = [alice, bob]
            for ua in uas:
                ua.start()
            conn = {}
            for ua in uas:
                ok = wait_for(lambda: find(trace(ua), "SIP/2.0 ", "REGISTER", src=proxy) or ua.proc.poll() is not None,
                              15, f"{ua.user}'s REGISTER to be answered")
                reg = find(trace(ua), "REGISTER ", "REGISTER", dst=proxy)
                c.check(ok is not True and ok[0][2].startswith("SIP/2.0 200") and reg,
                        f"baresip {ua.user} registers over TLS with its certificate: 200",
                        ok is not True and ok[0][2])
                conn[ua.user] = reg[0][0] if reg else None
            rc, out, _ = sipsctl(tcp, "ul.dump")
            c.check(rc == 0 and "certificate CN=alice" in out and "certificate CN=bob" in out
                    and f"received tls:{conn['alice']}" in out and f"received tls:{conn['bob']}" in out,
                    "ul.dump shows both phones with their certificate subject and TLS connection", out)

            # A phone holding alice's certificate cannot register bob's AoR.
            imposter = Baresip(tmp, ca, "bob", tls, cert_of="alice", name="imposter")
            uas.append(imposter)
            imposter.start()
            got = wait_for(lambda: find(trace(imposter), "SIP/2.0 ", "REGISTER", src=proxy), 15,
                           "the imposter's REGISTER to be answered")
            c.check(got[0][2].startswith("SIP/2.0 403"), "alice's certificate registering bob's AoR: 403", got[0][2])
            c.check(imposter.stop(), "the imposter baresip stopped by its PID")
            rc, out, _ = sipsctl(tcp, "ul.lookup", "sip:bob@example.com")
            c.check(rc == 0 and "CN=alice" not in out and "certificate CN=bob" in out,
                    "bob's binding is still only bob's", out)

            wait_for(lambda: tcp_open(HOST, alice.ctrl_port), 10, "alice's ctrl_tcp")
            r = alice.command("dial", "sip:bob@example.com")
            c.check(r.get("ok") is True, "alice dials sip:bob@example.com (ctrl_tcp)", r)
            for ua in (alice, bob):
                wait_for(lambda: "Call established" in ua.output() or "session closed" in ua.output(), 15,
                         f"the call to be established at {ua.user}")
            c.check("Call established" in alice.output() and "Call established" in bob.output(),
                    "the call is established at both phones (bob answered by himself)",
                    alice.output()[-800:] + bob.output()[-800:])
            bt, at = trace(bob), trace(alice)
            c.check(find(bt, "INVITE ", "INVITE", src=proxy, dst=conn["bob"]),
                    "the INVITE reaches bob over the TLS connection he registered on",
                    [m for m in bt if m[2].startswith("INVITE")])
            c.check(find(at, "SIP/2.0 200", "INVITE", src=proxy, dst=conn["alice"]),
                    "bob's 200 reaches alice through sipsd")
            c.check(find(bt, "ACK ", "ACK", src=proxy, dst=conn["bob"]),
                    "alice's ACK reaches bob through sipsd (record-routed)")

            r = alice.command("hangup")
            c.check(r.get("ok") is True, "alice hangs up (ctrl_tcp)", r)
            ok = wait_for(lambda: find(trace(alice), "SIP/2.0 ", "BYE", src=proxy), 10, "the BYE to be answered")
            c.check(ok[0][2].startswith("SIP/2.0 200"), "alice's BYE is answered 200", ok[0][2])
            c.check(find(trace(bob), "BYE ", "BYE", src=proxy, dst=conn["bob"])
                    and f"in-dialog BYE from {conn['alice']}" in d.output(),
                    "the BYE passes through sipsd (its log) and reaches bob over his connection", d.output()[-1500:])
            c.check(d.alive(), "sipsd still runs")
            for ua in (alice, bob):
                c.check(ua.stop(), f"baresip {ua.user} stopped by its PID")
    finally:
        for ua in uas:
            ua.stop()
        finish(c, tmp)


if __name__ == "__main__":
    main()

#!/usr/bin/env python3
"""The rewritten request URI through the real sipsd (issue 11): `@ruri`, `@ruri.user`,
`@ruri.host` and the `uri` keyword read what `$ru = ...`, `lookup()` and `loose_route()` set,
exactly as `$ru` does, and the relayed request carries it.

  $ru          `$ru = "sip:answer@..."`: @ruri and $ru agree, the UAS gets that request line
  lookup       a REGISTERed contact replaces the AoR: @ruri is the contact
  loose_route  a strict router before us (R-URI = sipsd, last Route = the target): @ruri is the
               target, and `uri == myself` is false after loose_route()
  failure      `$ru`/`$du` assigned in failure_route set the next branch: the second UAS gets the
               new request-URI at the address of $du
  load errors  `$ru`/`$du` assigned in onreply_route (main or named) is refused by `sipsd -c`
               at FILE:LINE:COL; in failure_route it is accepted
"""
import os
import re
import socket
import subprocess
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "lib"))
sys.path.insert(0, os.path.dirname(__file__))
from sipsd_harness import Checker, Sipsd, free_port, sipsd_binary, status_of, work_dir  # noqa: E402
from test_tm import Uas, header  # noqa: E402

HOST = "127.0.0.1"


class UdpUac:
    def __init__(self, port):
        self.port = port
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.sock.bind((HOST, 0))
        self.local = self.sock.getsockname()[1]
        self.n = 0

    def request(self, method, ruri, call_id, extra=""):
        self.n += 1
        msg = (f"{method} {ruri} SIP/2.0\r\n"
               f"Via: SIP/2.0/UDP {HOST}:{self.local};branch=z9hG4bKru{self.n}x{call_id};rport\r\n"
               f"Max-Forwards: 70\r\nFrom: <sip:bob@example.org>;tag=b{self.n}\r\n"
               f"To: <sip:alice@example.org>\r\nCall-ID: {call_id}\r\nCSeq: 1 {method}\r\n"
               + ("" if "Contact:" in extra else f"Contact: <sip:bob@{HOST}:{self.local}>\r\n")
               + f"{extra}Content-Length: 0\r\n\r\n")
        self.sock.sendto(msg.encode(), (HOST, self.port))
        self.call_id = call_id

    def final(self, method, timeout=10):
        """The status of the next final reply to the last request's Call-ID and method (a late
        copy of an earlier request's answer is skipped)."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            self.sock.settimeout(max(0.05, deadline - time.monotonic()))
            try:
                m = self.sock.recv(65535)
            except socket.timeout:
                break
            cseq = header(m, b"cseq") or ""
            if (m.startswith(b"SIP/2.0 ") and cseq.endswith(method) and status_of(m) >= 200
                    and header(m, b"call-id") == self.call_id):
                return status_of(m)
        return None


def config(port, silent, uas2):
    return f"""
children=1
listen=udp:{HOST}:{port}
loadmodule "sl"
loadmodule "tm"
loadmodule "rr"
loadmodule "usrloc"
loadmodule "registrar"

route {{
    if (is_method("REGISTER")) {{ save("location"); exit; }}
    if (is_method("ACK")) {{ t_relay(); exit; }}
    if (@ruri.user == "rw") {{
        $ru = "sip:answer@{HOST}:{uas2}";
    }} else if (@ruri.user == "alice") {{
        lookup("location");
    }} else if (is_present_hf("Route")) {{
        loose_route();
    }}
    xlog(L_NOTICE, "ci=$ci ruri=@ruri user=@ruri.user host=@ruri.host ru=$ru rU=$rU\\n");
    if (uri == myself) {{ xlog(L_NOTICE, "ci=$ci uri is myself\\n"); }}
    if (@ruri.user == "silent") {{
        t_set_fr(5000, 600);
        t_on_failure("NEXT");
    }}
    t_relay();
}}

failure_route[NEXT] {{
    $ru = "sip:answer@192.0.2.1:5999";
    $du = "sip:{HOST}:{uas2}";
    xlog(L_NOTICE, "ci=$ci failure ruri=@ruri ru=$ru du=$du\\n");
    t_relay();
}}
"""


def check_config(path):
    b = os.environ.get("SIPSD_BUILD_DIR", "build")
    return subprocess.run([sipsd_binary(), "-c", "-f", path, "-L", os.path.join(b, "modules"), "-L", b],
                          capture_output=True, text=True, timeout=60)


def log_line(s, call_id):
    lines = [l for l in s.output().splitlines() if f"ci={call_id} " in l]
    return lines


def main():
    c = Checker()
    work = work_dir("sipsd-ruri-")
    port = free_port()
    silent = Uas("silent", mode="silent")
    uas2 = Uas("two")
    try:
        with Sipsd(config(port, silent.port, uas2.port), workdir=work) as s:
            s.start()
            uac = UdpUac(port)

            def send_until(method, ruri, call_id, extra=""):
                for _ in range(20):
                    uac.request(method, ruri, call_id, extra)
                    code = uac.final(method, timeout=1.5)
                    if code is not None:
                        return code
                return None

            # $ru assigned in the request route.
            code = send_until("INVITE", f"sip:rw@{HOST}:{port}", "ru-assign")
            c.check(code == 200, "$ru: the INVITE to the rewritten URI is answered 200", code)
            want = f"sip:answer@{HOST}:{uas2.port}"
            c.check(f"ci=ru-assign ruri={want} user=answer host={HOST} ru={want} rU=answer" in s.output(),
                    "$ru: @ruri, @ruri.user, @ruri.host read the assigned URI, as $ru and $rU do",
                    log_line(s, "ru-assign"))
            got = [m for m in uas2.got("INVITE") if b"ru-assign" in m]
            c.check(got and got[0].startswith(f"INVITE {want} SIP/2.0".encode()),
                    "$ru: the UAS gets that request line", got[:1])

            # lookup(): the registered contact.
            contact = f"sip:answer@{HOST}:{uas2.port}"
            code = send_until("REGISTER", f"sip:{HOST}:{port}", "ru-reg",
                              f"Contact: <{contact}>\r\nExpires: 300\r\n")
            c.check(code == 200, "REGISTER alice answered 200", code)
            code = send_until("INVITE", "sip:alice@example.org", "ru-lookup")
            c.check(code == 200, "lookup: the call to the AoR reaches the contact (200)", code)
            c.check(f"ci=ru-lookup ruri={contact} user=answer" in s.output(),
                    "lookup: @ruri reads the contact lookup() set", log_line(s, "ru-lookup"))

            # loose_route(): a strict router before us put our Record-Route URI in the R-URI.
            target = f"sip:answer@{HOST}:{uas2.port}"
            code = send_until("INVITE", f"sip:{HOST}:{port}", "ru-strict",
                              f"Route: <sip:{HOST}:{uas2.port};lr>, <{target}>\r\n")
            c.check(code == 200, "loose_route: the call from behind a strict router is answered 200", code)
            lines = log_line(s, "ru-strict")
            c.check(any(f"ruri={target} user=answer" in l for l in lines),
                    "loose_route: @ruri reads the target taken from the last Route", lines)
            c.check(not any("uri is myself" in l for l in lines),
                    "loose_route: `uri == myself` is false once the R-URI is the target", lines)

            # failure_route: $ru and $du set the next branch.
            code = send_until("INVITE", f"sip:silent@{HOST}:{silent.port}", "ru-fail")
            c.check(code == 200, "failure_route: the second branch is answered 200", code)
            c.check(f"ci=ru-fail failure ruri=sip:answer@192.0.2.1:5999 ru=sip:answer@192.0.2.1:5999 "
                    f"du=sip:{HOST}:{uas2.port}" in s.output(),
                    "failure_route: @ruri and $ru read the assigned URI, $du the destination",
                    log_line(s, "ru-fail"))
            got = [m for m in uas2.got("INVITE") if b"ru-fail" in m]
            c.check(len(got) == 1 and got[0].startswith(b"INVITE sip:answer@192.0.2.1:5999 SIP/2.0"),
                    "failure_route: the branch goes to $du with $ru as its request line", got[:1])
            c.check(s.alive(), "sipsd alive at the end")
    finally:
        silent.stop()
        uas2.stop()

    # Load-time: $ru/$du in onreply_route are refused with FILE:LINE:COL.
    for text, line, col, name, route in (
            ('loadmodule "tm"\nroute { t_relay(); }\nonreply_route {\n    $ru = "sip:x@h";\n}\n', 4, 5, "$ru",
             "onreply_route"),
            ('loadmodule "tm"\nroute { t_on_reply("R"); t_relay(); }\nonreply_route[R] {\n  xlog("x");  $du = "sip:h";\n}\n',
             4, 15, "$du", "onreply_route[R]")):
        cfg = os.path.join(work, "bad.cfg")
        with open(cfg, "w") as f:
            f.write(text)
        r = check_config(cfg)
        c.check(r.returncode != 0 and f"{cfg}:{line}:{col}: error: {name} cannot be assigned in onreply_route"
                in r.stderr, f"{name} assigned in {route}: refused at load, FILE:LINE:COL", r.stderr[-600:])
    cfg = os.path.join(work, "good.cfg")
    with open(cfg, "w") as f:
        f.write(config(free_port(), 5998, 5997))
    r = check_config(cfg)
    c.check(r.returncode == 0, "$ru/$du assigned in failure_route: the config loads (sipsd -c)", r.stderr[-600:])
    c.finish()


if __name__ == "__main__":
    main()

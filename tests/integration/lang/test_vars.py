#!/usr/bin/env python3
"""Kamailio's script variables and flags through the real binary, with a UDP client:
  $var      a per-worker counter kept across OPTIONS requests, shown in the 200's reason and by
            xlog; `$var(rc) = $rc;` after a false function
  $rc       lookup("location") of an unknown user: $rc is -1, answered in the 404's reason
  flags     setflag(FLT_VM) (a #!define name) in request_route, isflagset() in failure_route
            after the 408 of a silent destination picks the reply
  bflags    setbflag(FLB_NATB) before save("location") is stored with the contact; lookup()
            restores it as the branch's flag, which failure_route sees with isbflagset()
  $avp      set in request_route, read and changed in failure_route; never seen by another
            transaction
  errors    an out-of-range flag is a load error at FILE:LINE:COL"""
import os
import re
import socket
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "lib"))
from sipsd_harness import Checker, Sipsd, free_port, sipsd_binary, wait_for, work_dir

CONFIG = """#!define FLT_VM 3
#!define FLB_NATB 6
debug=3
children=1
listen=udp:127.0.0.1:{port}
loadmodule "sl"
loadmodule "tm"
loadmodule "usrloc"
loadmodule "registrar"
request_route {{
    if (is_method("OPTIONS")) {{
        $var(n) = $var(n) + 1;
        if (!is_present_hf("X-Absent")) {{
            $var(rc) = $rc;
        }}
        $var(reason) = "Count " + $var(n) + " rc " + $var(rc);
        xlog(L_NOTICE, "options n=$var(n) twice=$var(twice)\\n");
        $var(twice) = $var(n) * 2;
        sl_reply(200, $var(reason));
        exit;
    }}
    if (is_method("REGISTER")) {{
        if (is_present_hf("X-Nat")) setbflag(FLB_NATB);
        save("location");
        exit;
    }}
    if ($rU == "flagged") {{
        setflag(FLT_VM);
    }}
    $avp(orig) = $rU;
    $avp(tries) = 1;
    if (!lookup("location")) {{
        $var(rc) = $rc;
        $var(reason) = "Not Found rc=" + $var(rc);
        sl_reply(404, $var(reason));
        exit;
    }}
    t_set_fr(1000, 1000);
    t_on_failure("MANAGE_FAILURE");
    t_relay();
}}
failure_route[MANAGE_FAILURE] {{
    $avp(tries) = $avp(tries) + 1;
    $var(r) = "code " + $T_reply_code;
    if (isflagset(FLT_VM)) {{
        $var(r) = $var(r) + " flag";
    }}
    if (isbflagset(FLB_NATB)) {{
        $var(r) = $var(r) + " natb";
    }}
    $var(r) = $var(r) + " orig=" + $avp(orig) + " tries=" + $avp(tries);
    t_reply(480, $var(r));
}}
"""


def udp_socket():
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.bind(("127.0.0.1", 0))
    return s, s.getsockname()[1]


def request(method, user, port, lport, n, extra=""):
    return (f"{method} sip:{user}@127.0.0.1:{port} SIP/2.0\r\n"
            f"Via: SIP/2.0/UDP 127.0.0.1:{lport};branch=z9hG4bKvars{n}\r\n"
            f"Max-Forwards: 70\r\nFrom: <sip:tester@127.0.0.1>;tag=v{n}\r\nTo: <sip:{user}@127.0.0.1>\r\n"
            f"Call-ID: vars-{n}@it\r\nCSeq: 1 {method}\r\n{extra}Content-Length: 0\r\n\r\n").encode()


def final_answer(sock, req, port, timeout=10):
    """Sends req (again every 0.5 s, as a UDP client does) until a final answer to it arrives; its
    first line. Answers to earlier requests (tm answers each retransmission of a finished
    transaction again, so copies of an earlier final reply may still arrive) are skipped."""
    call_id = re.search(rb"\r\nCall-ID: ([^\r]+)", req).group(1)
    sock.settimeout(0.5)
    end = time.time() + timeout
    while time.time() < end:
        sock.sendto(req, ("127.0.0.1", port))
        try:
            while True:
                data = sock.recv(65536)
                m = re.search(rb"\r\nCall-ID: ([^\r]+)", data)
                line = data.split(b"\r\n", 1)[0].decode(errors="replace")
                if m and m.group(1) == call_id and not line.startswith("SIP/2.0 1"):
                    return line
        except socket.timeout:
            pass
    return None


def register(sock, port, lport, user, contact_port, n, nat):
    extra = (f"Contact: <sip:{user}@127.0.0.1:{contact_port}>\r\nExpires: 600\r\n"
             + ("X-Nat: yes\r\n" if nat else ""))
    req = request("REGISTER", user, port, lport, n, extra).replace(f"REGISTER sip:{user}@".encode(), b"REGISTER sip:")
    return final_answer(sock, req, port)


def main():
    c = Checker()
    work = work_dir("sipsd-vars-")
    port = free_port()
    silent, silent_port = udp_socket()  # a destination that never answers: tm's fr_timer ends it with 408
    with Sipsd(CONFIG.format(port=port), workdir=tempfile.mkdtemp(dir=work)) as s:
        s.start()
        sock, lport = udp_socket()

        # $var: one worker, so the counter goes 1, 2, 3 across messages.
        got = [final_answer(sock, request("OPTIONS", "x", port, lport, f"o{i}"), port) for i in (1, 2, 3)]
        c.check(got == ["SIP/2.0 200 Count 1 rc -1", "SIP/2.0 200 Count 2 rc -1", "SIP/2.0 200 Count 3 rc -1"],
                "$var(n) counts OPTIONS across messages; $var(rc) = $rc after a false function is -1", got)
        wait_for(lambda: "options n=3 twice=4" in s.output(), 5, "the xlog line of the third OPTIONS")
        c.check("NOTICE: script: options n=1 twice=0" in s.output(),
                "xlog shows $var values; a $var read before any assignment is 0", s.output()[-600:])

        # $rc of lookup() for an unknown user.
        got = final_answer(sock, request("MESSAGE", "nobody", port, lport, "m0"), port)
        c.check(got == "SIP/2.0 404 Not Found rc=-1", "lookup() of an unknown user: $rc is -1", got)

        # Contacts at the silent socket: alice with the NAT branch flag, flagged without.
        c.check(register(sock, port, lport, "alice", silent_port, "r1", nat=True) == "SIP/2.0 200 OK",
                "alice registered (setbflag(FLB_NATB) before save)")
        c.check(register(sock, port, lport, "flagged", silent_port, "r2", nat=False) == "SIP/2.0 200 OK",
                "flagged registered")

        t0 = time.time()
        got = final_answer(sock, request("MESSAGE", "alice", port, lport, "m1"), port)
        elapsed = time.time() - t0
        c.check(got == "SIP/2.0 480 code 408 natb orig=alice tries=2",
                "failure_route after 408: the contact's saved branch flag (isbflagset), no message flag, "
                "$avp set in request_route and incremented in failure_route", got)
        c.check(0.8 < elapsed < 6, "the 408 came from fr_timer (t_set_fr 1000 ms)", round(elapsed, 2))
        got = final_answer(sock, request("MESSAGE", "flagged", port, lport, "m2"), port)
        c.check(got == "SIP/2.0 480 code 408 flag orig=flagged tries=2",
                "setflag(FLT_VM) in request_route is set in failure_route; no branch flag on this contact", got)
        got = final_answer(sock, request("MESSAGE", "alice", port, lport, "m3"), port)
        c.check(got == "SIP/2.0 480 code 408 natb orig=alice tries=2",
                "the next transaction starts without the previous one's flags and $avps", got)
        sock.close()
        c.check(s.stop() == 0, "sipsd stops cleanly")
    silent.close()

    bad = Sipsd('#!define FLT_ACC 32\nloadmodule "sl"\nroute {\n    setflag(FLT_ACC);\n}\n',
                workdir=tempfile.mkdtemp(dir=work))
    r = subprocess.run([sipsd_binary(), "-c", "-f", bad.cfg], capture_output=True, text=True, timeout=60)
    c.check(r.returncode == 1 and f"{bad.cfg}:4:5: error: setflag(): the flag 32 is out of range 0..31" in r.stderr,
            "setflag() of a flag above 31 (through a #!define): a load error at FILE:LINE:COL", r.stderr)
    c.finish()


if __name__ == "__main__":
    main()

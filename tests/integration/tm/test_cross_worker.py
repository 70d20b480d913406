#!/usr/bin/env python3
"""A CANCEL over another TLS connection than its INVITE, landing on another worker (issue 11):
tm still finds the INVITE's transaction (the worker that owns it is looked up and the CANCEL
is handed to it), answers the CANCEL 200 on the connection it came over, CANCELs the ringing
branch, and the caller gets 487 for the INVITE on the INVITE's connection.

Which worker a connection lands on is the kernel's choice (SO_REUSEPORT), so the test learns
it: an INVITE relayed by tm carries the owning worker in its Via branch (z9hG4bKtm<worker>.),
which the UAS sees. A probe call on each new connection tells its worker; the CANCEL goes over
the first connection whose worker differs from the ringing INVITE's.

It runs twice: as configured by default, and with `udp_reply_steering=no` (and the old UDP send
path, `udp_send_batch=no`: one sendto per datagram at once). Without steering the
UAS's replies (one source address) all land on the worker the kernel's hash picks, so the
replies for at least one of the two workers' INVITEs reach tm on another worker and are posted
to their owner: the calls must still ring, answer and end with 487 the same way.
"""
import os
import re
import sys

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "lib"))
sys.path.insert(0, os.path.dirname(__file__))
from sipsd_harness import Checker, Sipsd, free_port, make_pki, status_of, wait_for, work_dir  # noqa: E402
from test_tm import HOST, TlsUac, Uas, branch_of, header, vias  # noqa: E402

WORKERS = 4


def worker_of(uas, call_id):
    invs = [m for m in uas.got("INVITE") if (header(m, b"call-id") or "") == call_id]
    if not invs:
        return None
    m = re.match(r"z9hG4bKtm(\d+)\.", branch_of(vias(invs[0])[0]) or "")
    return int(m.group(1)) if m else None


def run(c, steering):
    d = work_dir("sipsd-tmx-")
    ca = make_pki(d)
    tls_port = free_port()
    uas = Uas("one")
    cfg = f"""
debug=3
children={WORKERS}
udp_reply_steering={"yes" if steering else "no"}
udp_send_batch={"yes" if steering else "no"}
listen=tls:{HOST}:{tls_port}
listen=udp:{HOST}:{free_port()}
loadmodule "tls"
loadmodule "sl"
loadmodule "tm"
modparam("tls", "certificate", "{ca}/certs/server.crt")
modparam("tls", "private_key", "{ca}/certs/server.key")
modparam("tls", "ca_list", "{ca}/ca.crt")

route {{
  if (is_method("CANCEL")) {{ if (t_check_trans()) {{ t_relay(); }} exit; }}
  t_relay();
}}
"""
    s = Sipsd(cfg, workdir=d)
    conns = []
    try:
        s.start(wait_tcp=[(HOST, tls_port)])
        a = TlsUac(ca, tls_port)
        conns.append(a)
        ruri = f"sip:ring@{HOST}:{uas.port}"
        br = a.request("INVITE", ruri, "xw-call")
        first = [a.read(), a.read()]
        c.check([status_of(m) for m in first] == [100, 180], "the INVITE on connection A rings",
                [status_of(m) for m in first])
        wait_for(lambda: worker_of(uas, "xw-call") is not None, 5, "the INVITE at the UAS")
        owner = worker_of(uas, "xw-call")

        other = None
        for i in range(12):
            b = TlsUac(ca, tls_port)
            conns.append(b)
            b.request("INVITE", f"sip:answer@{HOST}:{uas.port}", f"xw-probe{i}")
            got = b.read_until_final()
            b.request("ACK", f"sip:answer@{HOST}:{uas.port}", f"xw-probe{i}",
                      to_tag=re.search(r"tag=([^;>]+)", header(got[-1], b"to")).group(1))
            wait_for(lambda: worker_of(uas, f"xw-probe{i}") is not None, 5, "the probe at the UAS")
            if worker_of(uas, f"xw-probe{i}") != owner:
                other = b
                break
        c.check(other is not None, f"a second connection landed on another worker than {owner}")
        if other is None:
            return

        # The CANCEL names the INVITE's Via (branch and sent-by: connection A's address), as a
        # client does that lost its connection and reconnected.
        a_via = f"SIP/2.0/TLS {a.local[0]}:{a.local[1]};branch={br};rport"
        cancel = (f"CANCEL {ruri} SIP/2.0\r\nVia: {a_via}\r\nMax-Forwards: 70\r\n"
                  f"From: <sip:alice@example.org>;tag=uacxw-call\r\nTo: <{ruri}>\r\nCall-ID: xw-call\r\n"
                  "CSeq: 1 CANCEL\r\nContent-Length: 0\r\n\r\n")
        other.sock.sendall(cancel.encode())
        reply = other.read()
        c.check(status_of(reply) == 200 and header(reply, b"cseq") == "1 CANCEL",
                "the CANCEL on the other connection (other worker) is answered 200 there", reply[:200])
        got = a.read_until_final()
        c.check(status_of(got[-1]) == 487, "the caller gets 487 for the INVITE on connection A",
                [status_of(m) for m in got])
        wait_for(lambda: uas.got("CANCEL"), 5, "CANCEL at the UAS")
        c.check(len(uas.got("CANCEL")) == 1, "the UAS got the CANCEL (tm cancelled the ringing branch)")
        a.request("ACK", ruri, "xw-call", branch=br, to_tag="uas-one")
        c.check("a transaction that has just ended" not in s.output(), "no stale hand-over logged")
        c.check(s.alive(), "sipsd alive")
    finally:
        for x in conns:
            x.close()
        uas.stop()
        rc = s.stop()
        c.check(rc == 0, "sipsd stops cleanly", rc)
        if c.failed:
            print(s.output()[-4000:])


def main():
    c = Checker()
    for steering in (True, False):
        print(f"-- udp_reply_steering={'yes' if steering else 'no'}, udp_send_batch the same")
        run(c, steering)
        if c.failed:
            break
    c.finish()


if __name__ == "__main__":
    main()

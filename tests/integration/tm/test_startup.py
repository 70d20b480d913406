#!/usr/bin/env python3
"""Start-up order through the real sipsd: INVITEs that arrive while sipsd starts are served by
tm, never dropped with "t_relay() outside a worker". A UDP flood to sipsd's port begins before
sipsd runs (the kernel drops datagrams until the port is bound); the moment the listeners are
bound, requests land on workers. Module worker-init hooks (tm's per-worker tables) must have run
by then. sipsd is started several times, since the window is short."""
import os
import socket
import sys
import threading
import time

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "lib"))
sys.path.insert(0, os.path.dirname(__file__))
from sipsd_harness import Checker, Sipsd, free_port, wait_for  # noqa: E402
from test_tm import Uas  # noqa: E402

HOST = "127.0.0.1"
ROUNDS = 10
c = Checker()

uas = Uas("startup", mode="answer")  # answers every INVITE 200 at once

for rnd in range(ROUNDS):
    port = free_port(socket.SOCK_DGRAM)
    cfg = f"""
children=2
listen=udp:{HOST}:{port}
loadmodule "sl"
loadmodule "tm"
route {{
    $du = "sip:{HOST}:{uas.port}";
    t_relay();
}}
"""
    uac = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    uac.bind((HOST, 0))
    local = uac.getsockname()[1]
    flooding = threading.Event()
    flooding.set()
    sent = [0]

    def flood():
        n = 0
        while flooding.is_set():
            n += 1
            msg = (f"INVITE sip:x@{HOST}:{port} SIP/2.0\r\n"
                   f"Via: SIP/2.0/UDP {HOST}:{local};branch=z9hG4bKst{rnd}x{n}\r\n"
                   f"Max-Forwards: 70\r\nFrom: <sip:a@example.org>;tag=a{n}\r\nTo: <sip:x@example.org>\r\n"
                   f"Call-ID: st{rnd}-{n}\r\nCSeq: 1 INVITE\r\nContent-Length: 0\r\n\r\n")
            try:
                uac.sendto(msg.encode(), (HOST, port))
            except OSError:
                pass
            sent[0] = n
            time.sleep(0.0003)

    t = threading.Thread(target=flood, daemon=True)
    t.start()
    d = Sipsd(cfg)
    try:
        d.start()
        wait_for(lambda: "running with" in d.output() or not d.alive(), 10, "sipsd running")
        time.sleep(0.3)
        flooding.clear()
        t.join()
        # The flood's replies: count what came back.
        uac.settimeout(1.0)
        got = 0
        try:
            while True:
                m = uac.recv(65535)
                if m.startswith(b"SIP/2.0 200"):
                    got += 1
        except socket.timeout:
            pass
        out = d.output()
        c.check(d.alive(), f"round {rnd + 1}: sipsd runs", out[-2000:])
        c.check("outside a worker" not in out,
                f"round {rnd + 1}: no request reached a worker before tm's worker set-up", out[-2000:])
        c.check(got > 0, f"round {rnd + 1}: the flood's requests got 200 through tm ({got} of {sent[0]} sent)")
    finally:
        flooding.clear()
        d.stop()
        uac.close()

uas.stop()
c.finish()

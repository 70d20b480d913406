#!/usr/bin/env python3
"""Issue 13: sipsd speaks systemd's readiness protocol (Type=notify) without libsystemd, through the
real binary. The test binds the unix datagram socket that $NOTIFY_SOCKET names (a path, then an
abstract '@' name) and checks: READY=1 comes once, and when it does the TCP and TLS listeners
already accept; SIGHUP gives RELOADING=1 (with MONOTONIC_USEC) and then READY=1 after the reload
is logged; SIGTERM gives STOPPING=1. Without NOTIFY_SOCKET nothing breaks."""
import os
import signal
import socket
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "lib"))
from sipsd_harness import Checker, Sipsd, free_port, make_pki, tcp_open, wait_for, work_dir

HOST = "127.0.0.1"


def config(ca, port, tport):
    return f"""
debug=3
children=2
listen=udp:{HOST}:{port}
listen=tcp:{HOST}:{port}
listen=tls:{HOST}:{tport}
loadmodule "tls"
loadmodule "sl"
modparam("tls", "certificate", "{ca}/certs/server.crt")
modparam("tls", "private_key", "{ca}/certs/server.key")
modparam("tls", "ca_list", "{ca}/ca.crt")
route {{ sl_reply(200, "OK"); }}
"""


def recv(sock, timeout):
    sock.settimeout(timeout)
    try:
        return sock.recv(4096).decode()
    except socket.timeout:
        return None


def run_case(c, ca, label, bind_name, env_value):
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    sock.bind(bind_name)
    port, tport = free_port(), free_port()
    s = Sipsd(config(ca, port, tport), name="notify-" + label)
    os.environ["NOTIFY_SOCKET"] = env_value
    try:
        s.start()
    finally:
        del os.environ["NOTIFY_SOCKET"]
    try:
        first = recv(sock, 10)
        # The moment READY=1 is read, both stream listeners must take connections.
        accepting = tcp_open(HOST, port) and tcp_open(HOST, tport)
        c.check(first is not None and first.split("\n")[0] == "READY=1",
                f"{label}: the first notification is READY=1", repr(first) + s.output()[-1500:])
        c.check(accepting, f"{label}: when READY=1 arrives the TCP and TLS listeners accept")
        c.check(first is not None and "STATUS=running with 2 workers" in first, f"{label}: with a STATUS line",
                repr(first))
        c.check(recv(sock, 0.3) is None, f"{label}: READY=1 is sent once")

        s.proc.send_signal(signal.SIGHUP)
        reloading = recv(sock, 10)
        c.check(reloading is not None and reloading.startswith("RELOADING=1\nMONOTONIC_USEC="),
                f"{label}: SIGHUP sends RELOADING=1 with MONOTONIC_USEC", repr(reloading))
        ready = recv(sock, 10)
        c.check(ready == "READY=1", f"{label}: then READY=1", repr(ready))
        c.check("module tls reloaded" in s.output(), f"{label}: after the reload is done", s.output()[-800:])

        s.proc.send_signal(signal.SIGTERM)
        stopping = recv(sock, 10)
        c.check(stopping == "STOPPING=1", f"{label}: SIGTERM sends STOPPING=1", repr(stopping))
        rc = s.proc.wait(10)
        c.check(rc == 0, f"{label}: and sipsd exits 0", s.output()[-800:])
        c.check("sd_notify" not in s.output(), f"{label}: no sd_notify warnings", s.output()[-800:])
    finally:
        s.stop()
        sock.close()


def unreachable_socket(c, ca, tmp):
    """A NOTIFY_SOCKET nobody listens on: sipsd runs anyway and says why once."""
    port, tport = free_port(), free_port()
    s = Sipsd(config(ca, port, tport), name="notify-nobody")
    os.environ["NOTIFY_SOCKET"] = os.path.join(tmp, "nobody.sock")
    try:
        s.start(wait_tcp=[(HOST, tport)])
    finally:
        del os.environ["NOTIFY_SOCKET"]
    wait_for(lambda: "sd_notify" in s.output(), 10, "the sd_notify warning")
    c.check(s.alive() and "nobody.sock" in s.output(), "an unreachable NOTIFY_SOCKET is a warning naming it, not a stop",
            s.output()[-800:])
    c.check(s.stop() == 0, "sipsd still stops cleanly")


def main():
    c = Checker()
    tmp = work_dir("sipsd-notify-")
    ca = make_pki(tmp)
    path = os.path.join(tmp, "notify.sock")
    run_case(c, ca, "path socket", path, path)
    abstract = f"sipsd-notify-test-{os.getpid()}-{time.monotonic_ns()}"
    run_case(c, ca, "abstract socket", "\0" + abstract, "@" + abstract)
    unreachable_socket(c, ca, tmp)
    c.finish()


if __name__ == "__main__":
    main()

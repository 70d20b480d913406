"""Functional smoke test of sipsd-bench against sipsd-baseline on loopback (not a timing test):
each transport and mode runs about a second and must give ops > 0 and errors == 0; a wrong
server name and a closed port must be reported as errors.  Standard library only.
Usage: bench_smoke.py SIPSD_BENCH SIPSD_BASELINE SIPSD_CA"""
import json
import os
import re
import socket
import subprocess
import sys
import tempfile
import threading
import time

BENCH, BASELINE, SIPSD_CA = sys.argv[1:4]
failures = []


def check(cond, what):
    print(("ok   " if cond else "FAIL ") + what, flush=True)
    if not cond:
        failures.append(what)


class Baseline:
    def __init__(self, proto, *extra):
        self.proc = subprocess.Popen([BASELINE, "--listen", "127.0.0.1:0", "--proto", proto, *extra],
                                     stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        line = self.proc.stdout.readline()  # printed once the socket is bound
        m = re.search(r"listening on 127\.0\.0\.1:(\d+)", line)
        if not m:
            self.proc.kill()
            raise RuntimeError("sipsd-baseline did not start: %r %s" % (line, self.proc.stderr.read()))
        self.target = "127.0.0.1:" + m.group(1)

    def stop(self):
        self.proc.terminate()
        rc = self.proc.wait(timeout=10)
        check(rc == 0, "sipsd-baseline exits 0 on SIGTERM (rc %s)" % rc)


def bench(*args):
    p = subprocess.run([BENCH, "--json", *args], capture_output=True, text=True, timeout=60)
    lines = p.stdout.strip().splitlines()
    if not lines:
        raise RuntimeError("sipsd-bench printed nothing: rc %d, %s" % (p.returncode, p.stderr))
    r = json.loads(lines[-1])
    r["rc"] = p.returncode
    print("     ", lines[-1], flush=True)
    return r


def good(r, what):
    check(r["ops"] > 0 and r["errors"] == 0 and r["rc"] == 0,
          "%s: ops %d errors %d rc %d (%s)" % (what, r["ops"], r["errors"], r["rc"], r["first_error"]))


with tempfile.TemporaryDirectory() as tmp:
    for proto in ("tcp", "udp"):
        b = Baseline(proto)
        r = bench("--target", b.target, "--proto", proto, "--duration", "1", "--connections", "4",
                  "--pipeline", "2", "--server-pid", str(b.proc.pid))
        good(r, proto + " options")
        check(r["server_cpu_s"] is not None, proto + ": server CPU read from /proc")
        if proto == "tcp":
            r = bench("--target", b.target, "--mode", "handshake", "--count", "200", "--connections", "8",
                      "--request-per-conn")
            good(r, "tcp connect/close cycles")
            check(r["ops"] == 200, "tcp cycles: --count 200 gives 200 ops")
        b.stop()

    # --warmup: one invocation, the warm-up on the same sockets as the measured phase and not
    # counted; --warmup-wait holds the measured phase until a line arrives on stdin. A responder
    # here records every request's source (sipsd-baseline cannot tell sockets apart).
    srv = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    srv.bind(("127.0.0.1", 0))
    srv.settimeout(0.2)
    seen = []  # (source, time) per request
    stop = threading.Event()

    def respond():
        while not stop.is_set():
            try:
                data, src = srv.recvfrom(65535)
            except socket.timeout:
                continue
            seen.append((src, time.monotonic()))
            srv.sendto(b"SIP/2.0 200 OK\r\nContent-Length: 0\r\n\r\n", src)

    t = threading.Thread(target=respond)
    t.start()
    p = subprocess.Popen([BENCH, "--json", "--target", "127.0.0.1:%d" % srv.getsockname()[1], "--proto", "udp",
                          "--connections", "2", "--count", "300", "--warmup", "0.3", "--warmup-wait"],
                         stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    first = p.stdout.readline().strip()
    warm = len(seen)
    time.sleep(0.3)
    idle = len(seen) - warm
    p.stdin.write("\n")
    p.stdin.flush()
    out, err = p.communicate(timeout=60)
    stop.set()
    t.join()
    srv.close()
    check(first == "warmed-up", "--warmup-wait prints warmed-up between the phases (%r)" % first)
    check(idle == 0, "--warmup-wait: no request while waiting for stdin (%d)" % idle)
    r = json.loads(out.strip().splitlines()[-1])
    print("     ", out.strip().splitlines()[-1], flush=True)
    check(r["ops"] == 300 and r["errors"] == 0 and p.returncode == 0,
          "--warmup: the measured phase counts --count 300 only (ops %d, errors %d, rc %d)"
          % (r["ops"], r["errors"], p.returncode))
    check(r["warmup_ops"] > 0 and r["warmup_ops"] + 300 == len(seen),
          "--warmup: warm-up requests reported apart (warmup_ops %d + 300 = %d requests seen)"
          % (r["warmup_ops"], len(seen)))
    check(len({s for s, _ in seen}) == 2,
          "--warmup: both phases on the same 2 sockets (%d sources)" % len({s for s, _ in seen}))

    ca = os.path.join(tmp, "ca")
    for cmd in (["init", ca], ["server", ca, "srv", "--ip", "127.0.0.1"], ["client", ca, "cli"]):
        subprocess.run([SIPSD_CA, *cmd], check=True, capture_output=True, timeout=60)
    crt = lambda n: os.path.join(ca, "certs", n)
    b = Baseline("tls", "--cert", crt("srv.crt"), "--key", crt("srv.key"), "--ca", os.path.join(ca, "ca.crt"))
    tls = ["--target", b.target, "--proto", "tls", "--cert", crt("cli.crt"), "--key", crt("cli.key"),
           "--ca", os.path.join(ca, "ca.crt")]
    good(bench(*tls, "--duration", "1", "--connections", "4", "--pipeline", "4"), "tls options (mutual TLS)")
    r = bench(*tls, "--mode", "handshake", "--count", "40", "--connections", "8", "--request-per-conn")
    good(r, "tls full handshakes")
    check(r["resumed"] == 0, "tls: --no-resume is the default (resumed %d)" % r["resumed"])
    r = bench(*tls, "--mode", "handshake", "--count", "20", "--connections", "2", "--resume")
    good(r, "tls resumed handshakes")
    check(r["resumed"] > 0, "tls: --resume resumes sessions (resumed %d)" % r["resumed"])
    r = bench(*tls, "--mode", "handshake", "--count", "4", "--connections", "2", "--sni", "wrong.example")
    check(r["ops"] == 0 and r["tls_errors"] == 4 and r["rc"] == 1 and "hostname mismatch" in (r["first_error"] or ""),
          "tls: a server certificate not matching --sni fails verification")
    b.stop()

    r = bench("--target", b.target, "--duration", "1", "--connections", "2", "--timeout", "1")
    check(r["ops"] == 0 and r["connect_errors"] > 0 and r["rc"] == 1, "closed port: connect errors reported")

print("bench_smoke: %s" % ("FAILED: " + "; ".join(failures) if failures else "all passed"))
sys.exit(1 if failures else 0)

#!/usr/bin/env python3
"""How long ul.dump stalls the worker that runs it. A sipsd with one worker (UDP + TCP) gets
BINDINGS registrations over UDP; then an OPTIONS goes to it every 2 ms (OptionsProbe) while curl
fetches the whole ul.dump over TCP, as fast as it reads. The slowest OPTIONS answer during the
dump is how long the worker could not serve SIP; the same probe before the dump is the noise floor.

    tools/bench/registrar/uldump-stall.py [--build build] [--bindings 10000,100000] [--runs 3]
                                          [--max-send-queue BYTES]

--max-send-queue sets tcp_max_send_queue (a build that builds the whole answer at once needs it
above the answer's size, ~690 bytes per binding, or the answer is cut)."""
import argparse
import os
import statistics
import subprocess
import sys
import time
import xmlrpc.client

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.abspath(os.path.join(HERE, "..", "..", ".."))
sys.path.insert(0, os.path.join(ROOT, "tests", "integration", "lib"))
sys.path.insert(0, os.path.join(ROOT, "tests", "integration", "registrar"))
from bulk_ua import HOST, OptionsProbe, bulk_register, one_worker_config  # noqa: E402
from sipsd_harness import Sipsd, free_port  # noqa: E402

def dump_once(tcp, udp, body_path):
    probe = OptionsProbe(udp, every=0.002).start()
    time.sleep(0.4)
    t0 = time.monotonic()
    r = subprocess.run(["curl", "-s", "-o", "/dev/null", "--max-time", "120", "-H", "Content-Type: text/xml",
                        "--data-binary", "@" + body_path, "-w", "%{http_code} %{time_starttransfer} %{size_download}",
                        f"http://{HOST}:{tcp}/RPC2"], capture_output=True, text=True)
    t1 = time.monotonic()
    time.sleep(0.2)
    probe.stop()
    _, _, floor = probe.between(t0 - 0.4, t0 - 0.01)
    answered, lost, slowest = probe.between(t0, t1)
    code, first, size = (r.stdout.split() + ["?", "0", "0"])[:3]
    return {"slowest": slowest, "floor": floor, "lost": lost, "answered": answered, "total": t1 - t0,
            "first": float(first), "size": int(size), "code": code, "curl": r.returncode}


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--build", default=os.path.join(ROOT, "build"))
    p.add_argument("--bindings", default="10000,100000")
    p.add_argument("--runs", type=int, default=3)
    p.add_argument("--max-send-queue", type=int, default=0)
    a = p.parse_args()
    os.environ["SIPSD_BUILD_DIR"] = os.path.abspath(a.build)
    queue = f"tcp_max_send_queue={a.max_send_queue}" if a.max_send_queue else ""
    print(f"build {a.build}, 1 worker, {queue or 'tcp_max_send_queue default (1 MiB)'}")
    print(f"{'bindings':>9} {'answer MB':>9} {'first byte s':>12} {'whole s':>8} {'worker stall ms':>15} "
          f"{'noise ms':>8} {'lost':>5}  curl")
    for n in [int(x) for x in a.bindings.split(",")]:
        udp, tcp = free_port(), free_port()
        with Sipsd(one_worker_config(udp, tcp, queue), name=f"stall{n}") as s:
            s.start(wait_tcp=[(HOST, tcp)])
            ok = bulk_register(udp, [f"u{i:07d}" for i in range(n)], timeout=300)
            if ok != n:
                print(f"only {ok} of {n} registered", file=sys.stderr)
                return 1
            body = os.path.join(s.dir, "dump.xml")
            with open(body, "w") as f:
                f.write(xmlrpc.client.dumps((), "ul.dump"))
            runs = [dump_once(tcp, udp, body) for _ in range(a.runs)]
        med = lambda k: statistics.median(r[k] for r in runs)  # noqa: E731
        curl = ",".join(f"{r['code']}/{r['curl']}" for r in runs)
        per_run = ", ".join("%.0f" % (r["slowest"] * 1000) for r in runs)
        print(f"{n:>9} {med('size') / 1e6:>9.1f} {med('first'):>12.3f} {med('total'):>8.2f} "
              f"{med('slowest') * 1000:>15.1f} {med('floor') * 1000:>8.1f} {sum(r['lost'] for r in runs):>5}  {curl}"
              f"  (stall per run: {per_run} ms)", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())

#!/usr/bin/env python3
"""Stateful proxy benchmark, one run, ratios: sipsd (tm + rr) against Kamailio 5.6 (Debian's
`kamailio`) with the same Kamailio-style script (record_route(), $du, t_relay(); loose_route() +
t_relay() in dialog), on this machine, one after the other:

  calls      INVITE -> 100/180/200 -> ACK -> BYE -> 200 through the proxy, UAC -> proxy -> UAS,
             for UDP->UDP and TLS->UDP; figures: calls/s, server CPU per call (utime+stime of all
             the server's processes from /proc, read before and after) and calls per CPU-second.
  memory     N calls ringing at once (the UAS sends 180 and never answers): memory per open
             INVITE transaction, from the server's own accounting (sipsd tm.stats bytes,
             Kamailio's shared memory in use, core.shmmem) and from RSS/PSS growth.

The caller (UAC) of the calls is `sipsd-bench --mode call` (C++, BUILD_DIR/tools/bench; --uac cpp,
the default; 400 calls in flight), which costs the machine little next to the servers, or
call_uac.py (Python, in this process's directory; --uac python; 100 in flight, which with the
20 ms hang-up delay caps a run near 4,600 calls/s and leaves the servers idle between datagrams;
see README.md "The caller"). Both run the same call flow (sipp in Debian has no TLS, so sipp
cannot be the caller). The UAS is sipp (uas.xml, uas_ring.xml); the ringing calls of the memory
part are started by call_uac.py either way. Both servers run 2 workers (children=2, and for
Kamailio also tcp_children=2). Certificates come from tools/sipsd-ca.

  tools/bench/proxy/run-proxy-bench.py [--uac cpp|python] [--calls N] [--window W] [--warmup S] [--ring N] [--keep]
  BUILD_DIR (default build) must hold sipsd, the modules and tools/bench/sipsd-bench (tools/setup.sh).
"""
import argparse
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.abspath(os.path.join(HERE, "..", "..", ".."))
sys.path.insert(0, HERE)
sys.path.insert(0, os.path.join(ROOT, "tests", "integration", "lib"))
import call_uac  # noqa: E402
# Ports from outside the kernel's ephemeral range: one chosen before sipp or a server binds it
# cannot meanwhile be taken by a connect() or UDP send of this machine.
from sipsd_harness import free_port, udp_bound  # noqa: E402

HOST = "127.0.0.1"
CPP_WINDOW = 400  # calls in flight for sipsd-bench: see README.md ("The caller")
CPP_CALLS = 40000  # measured calls per row for sipsd-bench (several seconds even for sipsd)
# The UDP receive buffer Kamailio may ask for (its `maxbuffer`, default 256 KiB): what sipsd's
# listeners ask for (core/net/socket_util.cc), so bursts that one server absorbs the other does too.
UDP_RCVBUF = 1 << 20
KAM_MODULES = "/usr/lib/x86_64-linux-gnu/kamailio/modules/"
CLK = os.sysconf("SC_CLK_TCK")
PAGE_KB = os.sysconf("SC_PAGE_SIZE") // 1024


def group_pids(pgid):
    out = []
    for d in os.listdir("/proc"):
        if not d.isdigit():
            continue
        try:
            with open(f"/proc/{d}/stat") as f:
                st = f.read()
        except OSError:
            continue
        fields = st[st.rfind(")") + 2:].split()
        if int(fields[2]) == pgid:  # field 5: pgrp
            out.append(int(d))
    return out


def cpu_seconds(pgid):
    """utime+stime of every process of the server's process group (all threads)."""
    total = 0
    for pid in group_pids(pgid):
        try:
            with open(f"/proc/{pid}/stat") as f:
                st = f.read()
        except OSError:
            continue
        fields = st[st.rfind(")") + 2:].split()
        total += int(fields[11]) + int(fields[12])  # utime, stime (fields 14, 15)
    return total / CLK


def mem_kb(pgid, key):
    """Sum of `key` (Rss or Pss) over the server's processes, from smaps_rollup."""
    total = 0
    for pid in group_pids(pgid):
        try:
            with open(f"/proc/{pid}/smaps_rollup") as f:
                for line in f:
                    if line.startswith(key + ":"):
                        total += int(line.split()[1])
        except OSError:
            pass
    return total


def udp_answers(port):
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.settimeout(0.2)
    s.bind((HOST, 0))
    lp = s.getsockname()[1]
    m = (f"OPTIONS sip:ping@{HOST}:{port} SIP/2.0\r\nVia: SIP/2.0/UDP {HOST}:{lp};branch=z9hG4bKping{time.time_ns()}\r\n"
         f"Max-Forwards: 1\r\nFrom: <sip:w@x>;tag=1\r\nTo: <sip:p@{HOST}>\r\nCall-ID: ping{time.time_ns()}\r\n"
         "CSeq: 1 OPTIONS\r\nContent-Length: 0\r\n\r\n").encode()
    try:
        s.sendto(m, (HOST, port))
        s.recv(4000)
        return True
    except OSError:
        return False
    finally:
        s.close()


def wait_until(cond, timeout, what):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if cond():
            return
        time.sleep(0.05)
    raise SystemExit(f"run-proxy-bench: timed out waiting for {what}")


# ---- the two servers, same script ------------------------------------------------------------

def sipsd_cfg(udp, tls, rpc, uas, ca):
    return f"""debug=1
children=2
listen=udp:{HOST}:{udp}
listen=tls:{HOST}:{tls}
listen=tcp:{HOST}:{rpc}
loadmodule "tls"
loadmodule "sl"
loadmodule "tm"
loadmodule "rr"
loadmodule "xmlrpc"
modparam("tls", "certificate", "{ca}/certs/server.crt")
modparam("tls", "private_key", "{ca}/certs/server.key")
modparam("tls", "ca_list", "{ca}/ca.crt")
modparam("rr", "enable_double_rr", 1)

route {{
    if (proto == TCP) {{ dispatch_rpc(); exit; }}
    if (!mf_process_maxfwd_header(10)) {{ sl_reply(483, "Too Many Hops"); exit; }}
    if (is_method("OPTIONS") && @ruri.user == "ping") {{ sl_reply(200, "OK"); exit; }}
    if (has_totag()) {{
        if (loose_route()) {{ t_relay(); exit; }}
        if (is_method("ACK")) {{ if (t_check_trans()) {{ t_relay(); }} exit; }}
        sl_reply(404, "Not here");
        exit;
    }}
    if (is_method("CANCEL")) {{ if (t_check_trans()) {{ t_relay(); }} exit; }}
    record_route();
    $du = "sip:{HOST}:{uas}";
    t_relay();
}}
"""


def kamailio_cfg(udp, tls, ctl, uas, tls_cfg):
    return f"""#!KAMAILIO
debug=1
log_stderror=yes
children=2
tcp_children=2
enable_tls=yes
auto_aliases=no
maxbuffer={UDP_RCVBUF}
listen=udp:{HOST}:{udp}
listen=tls:{HOST}:{tls}
mpath="{KAM_MODULES}"
loadmodule "tm.so"
loadmodule "tls.so"
loadmodule "sl.so"
loadmodule "rr.so"
loadmodule "maxfwd.so"
loadmodule "pv.so"
loadmodule "siputils.so"
loadmodule "textops.so"
loadmodule "ctl.so"
modparam("tls", "config", "{tls_cfg}")
modparam("rr", "enable_double_rr", 1)
modparam("ctl", "binrpc", "unix:{ctl}")

request_route {{
    if (!mf_process_maxfwd_header("10")) {{ sl_send_reply("483", "Too Many Hops"); exit; }}
    if (is_method("OPTIONS") && $rU == "ping") {{ sl_send_reply("200", "OK"); exit; }}
    if (has_totag()) {{
        if (loose_route()) {{ t_relay(); exit; }}
        if (is_method("ACK")) {{ if (t_check_trans()) {{ t_relay(); }} exit; }}
        sl_send_reply("404", "Not here");
        exit;
    }}
    if (is_method("CANCEL")) {{ if (t_check_trans()) {{ t_relay(); }} exit; }}
    record_route();
    $du = "sip:{HOST}:{uas}";
    t_relay();
}}
"""


def kamailio_tls_cfg(ca):
    return f"""[server:default]
method = TLSv1.2+
verify_certificate = no
require_certificate = no
private_key = {ca}/certs/server.key
certificate = {ca}/certs/server.crt
ca_list = {ca}/ca.crt
"""


class Server:
    def __init__(self, name, argv, log, udp, tls):
        self.name, self.udp, self.tls = name, udp, tls
        self.log = open(log, "wb")
        self.proc = subprocess.Popen(argv, stdout=self.log, stderr=subprocess.STDOUT, start_new_session=True)
        wait_until(lambda: self.proc.poll() is not None or udp_answers(udp), 20, name)
        if self.proc.poll() is not None:
            raise SystemExit(f"run-proxy-bench: {name} exited at start, see {log}")

    def cpu(self):
        return cpu_seconds(self.proc.pid)

    def stop(self):
        if self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGTERM)
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait()
        self.log.close()


class Uas:
    def __init__(self, scenario, port, work, label):
        self.port = port
        self.proc = subprocess.Popen(["sipp", "-sf", os.path.join(HERE, scenario), "-i", HOST, "-p", str(port),
                                      "-nostdin", "-max_socket", "100000", "-buff_size", "4194304", "-nd", "-default_behaviors", "-bye,-abortunexp"],
                                     stdout=subprocess.DEVNULL,
                                     stderr=open(os.path.join(work, f"uas-{label}.log"), "wb"), cwd=work,
                                     start_new_session=True)
        # sipp gives no readiness signal but holding its port; calls sent before are lost.
        try:
            wait_until(lambda: self.proc.poll() is not None or udp_bound(port), 20, f"sipp UAS on port {port}")
            if self.proc.poll() is not None:
                raise SystemExit(f"run-proxy-bench: sipp UAS exited at start, see {work}/uas-{label}.log")
        except SystemExit:
            self.stop()
            raise

    def stop(self):
        # sipp waits for its open calls on SIGTERM (the ringing ones never end): kill it.
        if self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGKILL)
            self.proc.wait()


def run_calls(args, build, proto, target, uas_port, cafile, on_warm):
    """A warm-up, then on_warm() (the caller samples the server's CPU there), then `args.calls`
    complete calls through the proxy at `target`, in one invocation of the chosen caller: the
    measured calls use the warm-up's socket or TLS connection, so they reach the server worker the
    warm-up warmed (with a new socket, UDP's SO_REUSEPORT hash may pick the other one). The
    warm-up: sipsd-bench calls for `args.warmup` seconds, call_uac.py as many calls as it measures.
    Returns completed, failed, elapsed (seconds of the measured calls) and uac_cpu (the caller's
    CPU seconds for them)."""
    if args.uac == "python":
        marks = {}

        def warmed():
            on_warm()
            marks["t"] = os.times()

        r = call_uac.run_calls(proto, HOST, target, uas_port, args.calls, args.window, cafile,
                               warmup=args.calls, on_warm=warmed)
        r0, r1 = marks["t"], os.times()
        r["uac_cpu"] = (r1.user - r0.user) + (r1.system - r0.system)
        return r
    argv = [os.path.join(build, "tools", "bench", "sipsd-bench"), "--mode", "call", "--proto", proto,
            "--target", f"{HOST}:{target}", "--ruri", f"sip:service@{HOST}:{uas_port}",
            "--connections", "1", "--window", str(args.window), "--timeout", "8", "--json",
            "--count", str(args.calls), "--warmup", str(args.warmup), "--warmup-wait"]
    if proto == "tls":
        argv += ["--ca", cafile]
    p = subprocess.Popen(argv, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        # sipsd-bench prints "warmed-up" between the phases and waits for a line.
        line = p.stdout.readline()
        if line.strip() == "warmed-up":
            on_warm()
            p.stdin.write("\n")
            p.stdin.flush()
        out, err = p.communicate(timeout=600)
    finally:
        if p.poll() is None:
            p.kill()
            p.wait()
    if line.strip() != "warmed-up":
        raise SystemExit(f"run-proxy-bench: sipsd-bench ended before the end of its warm-up (exit {p.returncode}): "
                         f"{line}{out}{err}")
    try:
        j = json.loads(out.strip().splitlines()[-1])
    except (ValueError, IndexError):
        raise SystemExit(f"run-proxy-bench: sipsd-bench failed (exit {p.returncode}): {out}{err}")
    if j.get("warmup_errors"):
        print(f"run-proxy-bench: sipsd-bench over {proto}: {j['warmup_errors']} call(s) of the warm-up failed",
              file=sys.stderr)
    if j["errors"] or p.returncode != 0:
        print(f"run-proxy-bench: sipsd-bench over {proto}: {j['errors']} failed call(s), first error: "
              f"{j['first_error']}", file=sys.stderr)
    # sipsd-bench starts exactly --count calls: the ones not completed failed (counted by kind).
    return {"completed": j["ops"], "failed": args.calls - j["ops"], "elapsed": j["elapsed_s"],
            "uac_cpu": j["client_cpu_us_per_op"] * j["ops"] / 1e6}


def sipsd_stats(rpc_port):
    body = ("<?xml version='1.0'?><methodCall><methodName>tm.stats</methodName><params></params>"
            "</methodCall>").encode()
    req = urllib.request.Request(f"http://{HOST}:{rpc_port}/RPC2", data=body, headers={"Content-Type": "text/xml"})
    text = urllib.request.urlopen(req, timeout=5).read().decode()
    get = lambda n: int(re.search(rf"<name>{n}</name>\s*<value><(?:i4|i8|int)>(\d+)<", text).group(1))  # noqa: E731
    return get("transactions"), get("bytes")


def kamailio_shm_used(ctl):
    r = subprocess.run(["kamcmd", "-s", f"unix:{ctl}", "core.shmmem"], capture_output=True, text=True, timeout=10)
    m = re.search(r"used:\s*(\d+)", r.stdout)
    return int(m.group(1)) if m else None


def kamailio_tm_open(ctl):
    r = subprocess.run(["kamcmd", "-s", f"unix:{ctl}", "tm.stats"], capture_output=True, text=True, timeout=10)
    m = re.search(r"current:\s*(\d+)", r.stdout)
    return int(m.group(1)) if m else None


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--calls", type=int, default=int(os.environ["CALLS"]) if "CALLS" in os.environ else None,
                    help="calls per measurement (default: 20000 for --uac python, %d for cpp)" % CPP_CALLS)
    ap.add_argument("--warmup", type=float, default=float(os.environ.get("WARMUP", "6")),
                    help="--uac cpp: seconds of calls before each measurement (default 6, longer than the "
                         "5 s wait timer); --uac python warms up with as many calls as it measures")
    ap.add_argument("--uac", choices=("cpp", "python"), default=os.environ.get("UAC", "cpp"),
                    help="the caller: sipsd-bench --mode call (cpp, default) or call_uac.py (python)")
    ap.add_argument("--window", type=int, default=int(os.environ["WINDOW"]) if "WINDOW" in os.environ else None,
                    help="calls in flight (default: 100 for --uac python, %d for cpp)" % CPP_WINDOW)
    ap.add_argument("--ring", type=int, default=int(os.environ.get("RING", "5000")), help="ringing calls for memory")
    ap.add_argument("--keep", action="store_true", help="keep the work directory")
    ap.add_argument("--smoke", action="store_true",
                    help="CI check of the tooling: sipsd only, a few hundred calls, no figures to compare")
    args = ap.parse_args()
    # SIGTERM unwinds like Ctrl-C, so the servers and sipp started here are stopped.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    build = os.path.abspath(os.environ.get("BUILD_DIR", os.path.join(ROOT, "build")))
    sipsd = os.path.join(build, "sipsd")
    if args.calls is None:
        args.calls = CPP_CALLS if args.uac == "cpp" else 20000
    if args.smoke:
        args.calls, args.ring, args.warmup = min(args.calls, 300), min(args.ring, 100), min(args.warmup, 0.5)
    for tool in (("sipp",) if args.smoke else ("kamailio", "kamcmd", "sipp")):
        if not shutil.which(tool):
            raise SystemExit(f"run-proxy-bench: {tool} is not installed (tools/setup.sh)")
    if not os.access(sipsd, os.X_OK):
        raise SystemExit(f"run-proxy-bench: {sipsd} not found: build first")
    if args.uac == "cpp" and not os.access(os.path.join(build, "tools", "bench", "sipsd-bench"), os.X_OK):
        raise SystemExit(f"run-proxy-bench: {build}/tools/bench/sipsd-bench not found: build first (or --uac python)")
    if args.window is None:
        args.window = CPP_WINDOW if args.uac == "cpp" else 100
    work = tempfile.mkdtemp(prefix="sipsd-proxybench-")
    ca = os.path.join(work, "ca")
    ca_tool = os.path.join(ROOT, "tools", "sipsd-ca")
    subprocess.run([ca_tool, "init", ca, "--cn", "bench CA"], check=True, capture_output=True)
    subprocess.run([ca_tool, "server", ca, "server", "--cn", "localhost", "--ip", HOST, "--dns", "localhost"],
                   check=True, capture_output=True)
    tls_cfg = os.path.join(work, "kamailio-tls.cfg")
    with open(tls_cfg, "w") as f:
        f.write(kamailio_tls_cfg(ca))

    def start(kind, uas_port):
        udp, tls, aux = free_port(), free_port(), free_port()
        if kind == "sipsd":
            cfg = os.path.join(work, "sipsd.cfg")
            with open(cfg, "w") as f:
                f.write(sipsd_cfg(udp, tls, aux, uas_port, ca))
            s = Server("sipsd", [sipsd, "-f", cfg, "-E", "-L", os.path.join(build, "modules"), "-L", build],
                       os.path.join(work, "sipsd.log"), udp, tls)
            s.rpc = aux
        else:
            ctl = os.path.join(work, f"kamailio-ctl-{aux}")
            cfg = os.path.join(work, "kamailio.cfg")
            with open(cfg, "w") as f:
                f.write(kamailio_cfg(udp, tls, ctl, uas_port, tls_cfg))
            # 2 GB of shared memory (touched pages only): at ~2,000 calls/s the 5 s wait timer
            # keeps ~20,000 transactions of ~15 KB, and with 512 MB f_malloc ran out.
            # Debian's build defaults to q_malloc, the debugging allocator; "kamailio-fm" runs
            # the same with f_malloc (-x fm), the fastest one, as a tuned production setup would.
            alloc = ["-x", "fm"] if kind == "kamailio-fm" else []
            s = Server("Kamailio", ["kamailio", "-f", cfg, "-DD", "-E", "-m", "2048", "-M", "16", "-w", work, "-Y", work]
                       + alloc, os.path.join(work, kind + ".log"), udp, tls)
            s.ctl = ctl
        return s

    rows = []
    kinds = ("sipsd",) if args.smoke else ("sipsd", "kamailio", "kamailio-fm")
    for proto in ("udp", "tls"):
        for kind in kinds:
            uas_port = free_port()
            uas = Uas("uas.xml", uas_port, work, f"{kind}-{proto}")
            srv = start(kind, uas_port)
            try:
                target = srv.udp if proto == "udp" else srv.tls
                # Warm-up longer than the wait timer (6 s of calls; call_uac.py: as many calls as
                # the measured run): finished transactions stay 5 s, so the servers' memory only
                # reaches its steady state after that; the measured run then pays no heap growth
                # (Kamailio's shared memory is mapped at start). Same caller invocation and socket
                # for both, for every server alike; the CPU counters are read in between.
                marks = {}

                def warmed():
                    marks["srv"], marks["uas"] = srv.cpu(), cpu_seconds(uas.proc.pid)

                r = run_calls(args, build, proto, target, uas_port, os.path.join(ca, "ca.crt"), warmed)
                cpu = srv.cpu() - marks["srv"]
                r["uas_cpu"] = cpu_seconds(uas.proc.pid) - marks["uas"]
                rows.append((proto, kind, r, cpu))
            finally:
                srv.stop()
                uas.stop()

    mem_rows = []
    for kind in kinds:
        uas_port = free_port()
        uas = Uas("uas_ring.xml", uas_port, work, f"{kind}-ring")
        srv = start(kind, uas_port)
        try:
            # Warm-up: 200 calls that ring too (the allocator's first growth is not counted).
            call_uac.ring_calls(HOST, srv.udp, uas_port, 200)
            rss0, pss0 = mem_kb(srv.proc.pid, "Rss"), mem_kb(srv.proc.pid, "Pss")
            own0 = sipsd_stats(srv.rpc)[1] if kind == "sipsd" else kamailio_shm_used(srv.ctl)
            ringing = call_uac.ring_calls(HOST, srv.udp, uas_port, args.ring)
            if kind == "sipsd":
                open_tx, own1 = sipsd_stats(srv.rpc)
            else:
                open_tx, own1 = kamailio_tm_open(srv.ctl), kamailio_shm_used(srv.ctl)
            rss1, pss1 = mem_kb(srv.proc.pid, "Rss"), mem_kb(srv.proc.pid, "Pss")
            mem_rows.append((kind, ringing, open_tx, (own1 - own0) if own0 is not None and own1 is not None else None,
                             (rss1 - rss0) * 1024, (pss1 - pss0) * 1024))
        finally:
            srv.stop()
            uas.stop()

    names = {"sipsd": "sipsd (tm+rr)", "kamailio": "Kamailio (qm)", "kamailio-fm": "Kamailio -x fm"}
    caller = "sipsd-bench --mode call" if args.uac == "cpp" else "call_uac.py"
    print(f"calls: {args.calls} per run ({args.window} in flight, caller {caller}), INVITE/100/180/200/ACK/BYE/200, "
          "record-routed, 2 workers each")
    print(f"{'path':<10} {'server':<15} {'calls/s':>9} {'failed':>7} {'CPU us/call':>12} {'calls/CPU-s':>12} "
          f"{'UAC us/call':>12} {'UAS us/call':>12}")
    per = {}
    for proto, kind, r, cpu in rows:
        us = cpu * 1e6 / max(1, r["completed"])
        cps = r["completed"] / cpu if cpu > 0 else float("inf")
        per[(proto, kind)] = (r["completed"] / r["elapsed"], cps)
        uac = r["uac_cpu"] * 1e6 / max(1, r["completed"])
        uas = r["uas_cpu"] * 1e6 / max(1, r["completed"])
        print(f"{proto.upper() + '->UDP':<10} {names[kind]:<15} {r['completed'] / r['elapsed']:>9.0f} {r['failed']:>7} "
              f"{us:>12.1f} {cps:>12.0f} {uac:>12.1f} {uas:>12.1f}")
    print()
    print(f"memory: {args.ring} calls ringing (UDP->UDP), one open INVITE transaction each")
    print(f"{'server':<15} {'ringing':>8} {'open tx':>8} {'own bytes/tx':>13} {'RSS B/tx':>9} {'PSS B/tx':>9}")
    memper = {}
    for kind, ringing, open_tx, own, rss, pss in mem_rows:
        n = max(1, ringing)
        memper[kind] = (own / n if own is not None else None, pss / n)
        print(f"{names[kind]:<15} {ringing:>8} {str(open_tx):>8} {('%.0f' % (own / n)) if own is not None else 'n/a':>13} "
              f"{rss / n:>9.0f} {pss / n:>9.0f}")
    print()
    for kam in ("kamailio", "kamailio-fm"):
        for proto in ("udp", "tls"):
            s, k = per.get((proto, "sipsd")), per.get((proto, kam))
            if s and k:
                print(f"{proto.upper()}->UDP vs {names[kam]}: calls/s {s[0] / k[0]:.2f}x, calls per CPU-second "
                      f"{s[1] / k[1]:.2f}x (target >= 2x)")
        if memper.get("sipsd") and memper.get(kam) and memper["sipsd"][0] and memper[kam][0]:
            print(f"memory per open transaction vs {names[kam]}: own accounting "
                  f"{memper['sipsd'][0] / memper[kam][0]:.2f}x, PSS growth {memper['sipsd'][1] / max(1, memper[kam][1]):.2f}x")
    if args.keep:
        print("kept", work)
    else:
        shutil.rmtree(work, ignore_errors=True)
    bad = [r for _, _, r, _ in rows if r["failed"] or r["completed"] < args.calls]
    # sipsd must ring every call; Kamailio drops a few of the burst's datagrams (no UDP
    # retransmission in the ringing run), which only changes the divisor.
    bad += [m for m in mem_rows if m[0] == "sipsd" and (m[1] < args.ring or (m[3] or 0) <= 0)]
    sys.exit(1 if bad else 0)


if __name__ == "__main__":
    main()

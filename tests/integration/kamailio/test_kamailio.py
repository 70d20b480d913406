#!/usr/bin/env python3
"""Interop with Debian's Kamailio (5.6) on loopback, both ways, record-routed on both sides with
loose_route() for in-dialog requests:
  a_to_b   sipp UAC --UDP--> Kamailio --TLS--> sipsd --UDP--> sipp UAS
  b_to_a   sipp UAC --UDP--> sipsd --TLS--> Kamailio --UDP--> sipp UAS
Both proxies run the same Kamailio-style stateful script: record_route(), $du, t_relay() (tm),
loose_route() + t_relay() for in-dialog requests.
Each call is INVITE/180/200/ACK/BYE/200 (uac_rr.xml / uas_rr.xml: the UAS copies Record-Route,
the UAC sends ACK and BYE along the route set); every call must complete
(a Route loop ends in 483 or a timeout and fails the call). The INVITE seen by the UAS and the
200 seen by the UAC carry four Record-Routes in order (both proxies double record-route across
TLS/UDP, ;r2=on), the UAC's ACK and BYE carry them reversed as Route, and the UAS gets them with none.
Run: SIPSD_BUILD_DIR=build python3 tests/integration/kamailio/test_kamailio.py"""
import os
import re
import shutil
import signal
import subprocess
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "lib"))
from sipsd_harness import Checker, Sipsd, free_port, make_pki, tls_params, udp_bound, wait_for, work_dir

HOST = "127.0.0.1"
HERE = os.path.dirname(os.path.abspath(__file__))
CALLS = int(os.environ.get("SIPSD_IT_CALLS", "50"))
KAM_MODULES = "/usr/lib/x86_64-linux-gnu/kamailio/modules/"


def kamailio_cfg(k_udp, k_tls, s_tls, uas_b, tls_cfg):
    return f"""#!KAMAILIO
debug=2
log_stderror=yes
children=2
tcp_children=2
disable_tcp=no
enable_tls=yes
auto_aliases=no
listen=udp:{HOST}:{k_udp}
listen=tls:{HOST}:{k_tls}
mpath="{KAM_MODULES}"
loadmodule "tls.so"
loadmodule "sl.so"
loadmodule "tm.so"
loadmodule "rr.so"
loadmodule "maxfwd.so"
loadmodule "pv.so"
loadmodule "siputils.so"
loadmodule "textops.so"
modparam("tls", "config", "{tls_cfg}")
modparam("rr", "enable_double_rr", 1)

request_route {{
    if (!mf_process_maxfwd_header("10")) {{ sl_send_reply("483", "Too Many Hops"); exit; }}
    if (has_totag()) {{
        if (loose_route()) {{ t_relay(); exit; }}
        if (is_method("ACK")) {{ if (t_check_trans()) {{ t_relay(); }} exit; }}
        sl_send_reply("404", "Not here");
        exit;
    }}
    if (is_method("CANCEL")) {{ if (t_check_trans()) {{ t_relay(); }} exit; }}
    record_route();
    if ($pr == "udp") {{
        $du = "sip:{HOST}:{s_tls};transport=tls";
    }} else {{
        $du = "sip:{HOST}:{uas_b}";
    }}
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

[client:default]
method = TLSv1.2+
verify_certificate = yes
require_certificate = yes
ca_list = {ca}/ca.crt
"""


def sipsd_cfg(s_udp, s_tls, k_tls, uas_a, ca):
    # The same script as Kamailio's above, in sipsd's language: stateful (tm) and record-routed.
    return f"""
debug=2
children=2
listen=udp:{HOST}:{s_udp}
listen=tls:{HOST}:{s_tls}
loadmodule "tls"
loadmodule "sl"
loadmodule "tm"
loadmodule "rr"
{tls_params(f'{ca}/certs/server.crt', f'{ca}/certs/server.key', f'{ca}/ca.crt')}
modparam("rr", "enable_double_rr", 1)

route {{
    if (!mf_process_maxfwd_header(10)) {{ sl_reply(483, "Too Many Hops"); exit; }}
    if (has_totag()) {{
        if (loose_route()) {{ t_relay(); exit; }}
        if (is_method("ACK")) {{ if (t_check_trans()) {{ t_relay(); }} exit; }}
        sl_reply(404, "Not here");
        exit;
    }}
    if (is_method("CANCEL")) {{ if (t_check_trans()) {{ t_relay(); }} exit; }}
    record_route();
    if ($pr == "tls") {{
        $du = "sip:{HOST}:{uas_a}";
    }} else {{
        $du = "sip:{HOST}:{k_tls};transport=tls";
    }}
    t_relay();
}}
"""


class Kamailio:
    def __init__(self, cfg_text, workdir):
        self.cfg = os.path.join(workdir, "kamailio.cfg")
        with open(self.cfg, "w") as f:
            f.write(cfg_text)
        self.log_path = os.path.join(workdir, "kamailio.log")
        self.dir = workdir
        self.proc = None

    def start(self):
        self.log = open(self.log_path, "wb")
        self.proc = subprocess.Popen(["kamailio", "-f", self.cfg, "-DD", "-E", "-m", "64", "-M", "16",
                                      "-w", self.dir, "-Y", self.dir],
                                     stdout=self.log, stderr=subprocess.STDOUT, start_new_session=True)
        return self

    def output(self):
        with open(self.log_path, "rb") as f:
            return f.read().decode(errors="replace")

    def stop(self):
        if self.proc and self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGTERM)
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait()
        if self.proc:
            self.log.close()


def sipp_messages(path):
    """The messages of a sipp -trace_msg file, in order, with CRLF folded to LF."""
    try:
        with open(path, errors="replace") as f:
            text = f.read().replace("\r\n", "\n")
    except OSError:
        return []
    out = []
    for chunk in re.split(r"^-{20,} .*$", text, flags=re.M):
        body = chunk.split("\n", 2)[2] if chunk.count("\n") >= 2 else ""
        if body.strip():
            out.append(body.strip("\n"))
    return out


def header_uris(msg, name):
    """Every URI of the name-addr list headers NAME in MSG's head, top first: (port, transport, params)."""
    head = msg.split("\n\n", 1)[0]
    uris = []
    for line in head.splitlines():
        if line.lower().startswith(name.lower() + ":"):
            for uri in re.findall(r"<([^>]*)>", line):
                m = re.match(r"sips?:[^:;]+:(\d+)(;.*)?$", uri)
                params = (m.group(2) or "") if m else ""
                t = re.search(r";transport=(\w+)", params)
                uris.append((int(m.group(1)) if m else 0, (t.group(1).lower() if t else "udp"), params))
    return uris


class SippUas:
    """A sipp UAS (uas_rr.xml) on a UDP port, started as soon as its port is chosen: the port is
    only known to be free at that moment, and the tests running beside this one (and the first
    run's own sockets) take ephemeral ports all the time."""

    def __init__(self, label, port, tmp):
        self.port = port
        self.log = os.path.join(tmp, label + "-uas.log")
        self.trace = os.path.join(tmp, label + "-uas-msg.log")
        self.proc = subprocess.Popen(["sipp", "-sf", os.path.join(HERE, "uas_rr.xml"), "-i", HOST, "-p", str(port),
                                      "-nostdin", "-trace_msg", "-message_file", self.trace],
                                     stdout=subprocess.DEVNULL, stderr=open(self.log, "wb"), cwd=tmp)

    def wait_ready(self):
        try:
            wait_for(lambda: self.proc.poll() is not None or udp_bound(self.port), 10, "sipp uas")
        finally:
            if self.proc.poll() is not None:
                with open(self.log, errors="replace") as f:
                    raise AssertionError(f"sipp uas on port {self.port} exited ({self.proc.returncode}): {f.read()[-1500:]}")

    def stop(self):
        if self.proc.poll() is None:
            self.proc.terminate()
        try:
            self.proc.wait(10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()


def run_calls(c, label, target_port, uas, route_set, sipsd_ports, tmp):
    """route_set: [(port, transport)] the UAS must see as Record-Route, top first."""
    trace = uas.trace
    uac_trace = os.path.join(tmp, label + "-uac-msg.log")
    try:
        uas.wait_ready()
        r = subprocess.run(["sipp", "-sf", os.path.join(HERE, "uac_rr.xml"), "-s", "service", f"{HOST}:{target_port}", "-i", HOST, "-p", str(free_port()),
                            "-m", str(CALLS), "-r", "10", "-l", "10", "-timeout", "60s", "-timeout_error",
                            "-nostdin", "-trace_err", "-error_file", os.path.join(tmp, label + "-uac-err.log"),
                            "-trace_msg", "-message_file", uac_trace],
                           capture_output=True, text=True, timeout=120, cwd=tmp)
        ok = [l for l in r.stdout.splitlines() if "Successful call" in l]
        good = r.returncode == 0 and ok and ok[0].split("|")[2].strip() == str(CALLS)
        c.check(good, f"{label}: {CALLS} calls INVITE/ACK/BYE complete, none failed", f"rc={r.returncode} {ok}\n{r.stdout[-1500:]}")
    finally:
        uas.stop()
    uas_msgs = sipp_messages(trace)
    uac_msgs = sipp_messages(uac_trace)
    invites = [m for m in uas_msgs if m.startswith("INVITE sip:")]
    seen = [(p, t) for p, t, _ in header_uris(invites[0], "Record-Route")] if invites else []
    c.check(seen == route_set, f"{label}: the UAS sees the four Record-Routes top first {route_set}",
            (invites[0] if invites else "no INVITE in " + trace)[:1200])
    ours = [params for p, t, params in header_uris(invites[0], "Record-Route") if p in sipsd_ports] if invites else []
    c.check(len(ours) == 2 and all(";r2=on" in x and ";lr" in x for x in ours),
            f"{label}: sipsd record-routes twice (TLS and UDP sides), both ;r2=on;lr", str(ours))
    oks = [m for m in uac_msgs if m.startswith("SIP/2.0 200") and "\nCSeq: 1 INVITE" in m]
    c.check(bool(oks) and all([(p, t) for p, t, _ in header_uris(m, "Record-Route")] == route_set for m in oks),
            f"{label}: every 200 the UAC gets carries the same route set", oks[0][:1200] if oks else "no 200 at the UAC")
    c.check(any(m.startswith("SIP/2.0 100") for m in uac_msgs),
            f"{label}: the first proxy answers 100 Trying (a stateful relay)", "no 100 at the UAC")
    sent = [m for m in uac_msgs if m.startswith(("ACK sip:", "BYE sip:"))]
    c.check(len(sent) >= 2 * CALLS and all([(p, t) for p, t, _ in header_uris(m, "Route")] == route_set[::-1] for m in sent),
            f"{label}: the UAC sends ACK and BYE with that route set reversed (Route: first hop first)",
            sent[0][:1200] if sent else "no ACK/BYE sent")
    in_dialog = [m for m in uas_msgs if m.startswith(("ACK sip:", "BYE sip:"))]
    acks = sum(m.startswith("ACK sip:") for m in in_dialog)
    routed = [m for m in in_dialog if header_uris(m, "Route")]
    c.check(acks >= CALLS and len(in_dialog) - acks >= CALLS and not routed,
            f"{label}: ACK and BYE reach the UAS with every Route entry removed (no loop)",
            f"{acks} ACKs, {len(in_dialog) - acks} BYEs; with Route: {routed[:1]}")
    return good


def main():
    c = Checker()
    if not shutil.which("kamailio") or not shutil.which("sipp"):
        c.check(False, "kamailio and sipp are installed (tools/setup.sh)")
        c.finish()
    tmp = work_dir("sipsd-kam-")
    ca = make_pki(tmp, clients=())
    k_udp, k_tls, s_udp, s_tls, uas_a, uas_b = (free_port() for _ in range(6))
    tls_cfg = os.path.join(tmp, "kamailio-tls.cfg")
    with open(tls_cfg, "w") as f:
        f.write(kamailio_tls_cfg(ca))
    kam = Kamailio(kamailio_cfg(k_udp, k_tls, s_tls, uas_b, tls_cfg), tmp)
    label_a, label_b = "UDP->Kamailio->TLS->sipsd->UDP", "UDP->sipsd->TLS->Kamailio->UDP"
    uas = [SippUas(label_a, uas_a, tmp), SippUas(label_b, uas_b, tmp)]
    with Sipsd(sipsd_cfg(s_udp, s_tls, k_tls, uas_a, ca), workdir=tmp) as s:
        try:
            s.start(wait_tcp=[(HOST, s_tls)])
            kam.start()
            wait_for(lambda: kam.proc.poll() is not None or udp_bound(k_udp), 15, "kamailio")
            c.check(kam.proc.poll() is None, "kamailio started", kam.output()[-2000:])
            a = run_calls(c, label_a, k_udp, uas[0],
                          [(s_udp, "udp"), (s_tls, "tls"), (k_tls, "tls"), (k_udp, "udp")], (s_udp, s_tls), tmp)
            b = run_calls(c, label_b, s_udp, uas[1],
                          [(k_udp, "udp"), (k_tls, "tls"), (s_tls, "tls"), (s_udp, "udp")], (s_udp, s_tls), tmp)
            if not (a and b):
                print("---- sipsd log\n" + s.output()[-4000:])
                print("---- kamailio log\n" + kam.output()[-4000:])
            c.check(s.alive(), "sipsd alive at the end", s.output()[-2000:])
        finally:
            kam.stop()
            for u in uas:
                u.stop()
        c.check(s.stop() == 0, "sipsd stops cleanly")
    c.finish()


if __name__ == "__main__":
    main()

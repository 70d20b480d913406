#!/usr/bin/env python3
"""Interop with Debian's Kamailio (5.6) on loopback, both ways, record-routed on both sides with
loose_route() for in-dialog requests:
  a_to_b   sipp UAC --UDP--> Kamailio --TLS--> sipsd --UDP--> sipp UAS
  b_to_a   sipp UAC --UDP--> sipsd --TLS--> Kamailio --UDP--> sipp UAS
Each call is INVITE/180/200/ACK/BYE/200 (uac_rr.xml / uas_rr.xml: the UAS copies Record-Route,
the UAC sends ACK and BYE along the route set); every call must complete
(a Route loop ends in 483 or a timeout and fails the call). The INVITE seen by the UAS carries
four Record-Routes (both proxies double record-route across TLS/UDP).
Run: SIPSD_BUILD_DIR=build python3 tests/integration/kamailio/test_kamailio.py"""
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "lib"))
from sipsd_harness import Checker, Sipsd, free_port, make_pki, wait_for

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
    return f"""
debug=2
children=2
listen=udp:{HOST}:{s_udp}
listen=tls:{HOST}:{s_tls}
loadmodule "tls"
loadmodule "sl"
loadmodule "rr"
modparam("tls", "certificate", "{ca}/certs/server.crt")
modparam("tls", "private_key", "{ca}/certs/server.key")
modparam("tls", "ca_list", "{ca}/ca.crt")

route {{
    if (!mf_process_maxfwd_header(10)) {{ sl_reply(483, "Too Many Hops"); exit; }}
    if (has_totag()) {{
        if (loose_route()) {{ forward(); exit; }}
        sl_reply(404, "Not here");
        exit;
    }}
    record_route();
    if (proto == TLS) {{
        forward_udp("{HOST}", {uas_a});
    }} else {{
        forward_tls("{HOST}", {k_tls});
    }}
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


def udp_bound(port):
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    try:
        s.bind((HOST, port))
        return False
    except OSError:
        return True
    finally:
        s.close()


def run_calls(c, label, target_port, uas_port, tmp):
    uas_log = os.path.join(tmp, label + "-uas.log")
    trace = os.path.join(tmp, label + "-uas-msg.log")
    uas = subprocess.Popen(["sipp", "-sf", os.path.join(HERE, "uas_rr.xml"), "-i", HOST, "-p", str(uas_port), "-nostdin",
                            "-trace_msg", "-message_file", trace],
                           stdout=subprocess.DEVNULL, stderr=open(uas_log, "wb"), cwd=tmp)
    try:
        wait_for(lambda: udp_bound(uas_port), 10, "sipp uas")
        r = subprocess.run(["sipp", "-sf", os.path.join(HERE, "uac_rr.xml"), "-s", "service", f"{HOST}:{target_port}", "-i", HOST, "-p", str(free_port()),
                            "-m", str(CALLS), "-r", "10", "-l", "10", "-timeout", "60s", "-timeout_error",
                            "-nostdin", "-trace_err", "-error_file", os.path.join(tmp, label + "-uac-err.log"),
                            "-trace_msg", "-message_file", os.path.join(tmp, label + "-uac-msg.log")],
                           capture_output=True, text=True, timeout=120, cwd=tmp)
        ok = [l for l in r.stdout.splitlines() if "Successful call" in l]
        good = r.returncode == 0 and ok and ok[0].split("|")[2].strip() == str(CALLS)
        c.check(good, f"{label}: {CALLS} calls INVITE/ACK/BYE complete, none failed", f"rc={r.returncode} {ok}\n{r.stdout[-1500:]}")
    finally:
        uas.terminate()
        uas.wait(10)
    try:
        with open(trace, errors="replace") as f:
            text = f.read()
    except OSError:
        text = ""
    invite = text[text.find("INVITE sip:"):] if "INVITE sip:" in text else ""
    head = invite.split("\n\n", 1)[0] if invite else ""
    rrs = [l for l in head.splitlines() if l.lower().startswith("record-route:")]
    c.check(len(rrs) == 4, f"{label}: the UAS sees four Record-Routes (double on both proxies)", "\n".join(rrs) or head[:800])
    in_dialog = [m for m in text.split("\n\n") if m.lstrip().startswith(("ACK sip:", "BYE sip:"))]
    routed = [m for m in in_dialog if "\nRoute:" in m or "\nroute:" in m]
    c.check(len(in_dialog) >= 2 * CALLS and not routed,
            f"{label}: ACK and BYE reach the UAS with every Route entry removed (no loop)",
            f"{len(in_dialog)} in-dialog requests; with Route: {routed[:1]}")
    return good


def main():
    c = Checker()
    if not shutil.which("kamailio") or not shutil.which("sipp"):
        c.check(False, "kamailio and sipp are installed (tools/setup.sh)")
        c.finish()
    tmp = tempfile.mkdtemp(prefix="sipsd-kam-")
    ca = make_pki(tmp, clients=())
    k_udp, k_tls, s_udp, s_tls, uas_a, uas_b = (free_port() for _ in range(6))
    tls_cfg = os.path.join(tmp, "kamailio-tls.cfg")
    with open(tls_cfg, "w") as f:
        f.write(kamailio_tls_cfg(ca))
    kam = Kamailio(kamailio_cfg(k_udp, k_tls, s_tls, uas_b, tls_cfg), tmp)
    with Sipsd(sipsd_cfg(s_udp, s_tls, k_tls, uas_a, ca), workdir=tmp) as s:
        try:
            s.start(wait_tcp=[(HOST, s_tls)])
            kam.start()
            wait_for(lambda: kam.proc.poll() is not None or udp_bound(k_udp), 15, "kamailio")
            c.check(kam.proc.poll() is None, "kamailio started", kam.output()[-2000:])
            a = run_calls(c, "UDP->Kamailio->TLS->sipsd->UDP", k_udp, uas_a, tmp)
            b = run_calls(c, "UDP->sipsd->TLS->Kamailio->UDP", s_udp, uas_b, tmp)
            if not (a and b):
                print("---- sipsd log\n" + s.output()[-4000:])
                print("---- kamailio log\n" + kam.output()[-4000:])
            c.check(s.alive(), "sipsd alive at the end", s.output()[-2000:])
        finally:
            kam.stop()
        c.check(s.stop() == 0, "sipsd stops cleanly")
    c.finish()


if __name__ == "__main__":
    main()

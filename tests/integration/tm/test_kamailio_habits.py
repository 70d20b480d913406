#!/usr/bin/env python3
"""Kamailio habits from the default kamailio.cfg through the real sipsd, over UDP:

  builtins      loadmodule "pv.so", "xlog.so", "sanity.so", "tmx.so" ... load (built into sipsd)
  sanity        sanity_check("17895", "7") with autodrop=0: a REGISTER with `Expires: soon` gets
                400 "Expires value is illegal" from sanity, and the script's own branch runs
  branch_route  t_on_branch("MANAGE_BRANCH") (guarded by t_is_set("branch_route")): the UAS sees
                the header append_hf() added there; `drop` there stops the branch, t_relay()
                fails, and sl_reply_error() answers 500 through the transaction
  send_reply    after t_newtran(): 404 statefully (a retransmitted INVITE gets the same 404)
  full_lr       modparam("rr", "enable_full_lr", 1): the Record-Route ends in ;lr=on
  missing       loadmodule "acc.so" is refused by `sipsd -c` at FILE:LINE:COL, naming accounting
"""
import os
import subprocess
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "lib"))
sys.path.insert(0, os.path.dirname(__file__))
from sipsd_harness import Checker, Sipsd, free_port, sipsd_binary, work_dir  # noqa: E402
from test_ruri import UdpUac  # noqa: E402
from test_tm import Uas, header  # noqa: E402

HOST = "127.0.0.1"


def config(port):
    return f"""
children=1
listen=udp:{HOST}:{port}
loadmodule "tm.so"
loadmodule "tmx.so"
loadmodule "sl.so"
loadmodule "rr.so"
loadmodule "pv.so"
loadmodule "maxfwd.so"
loadmodule "textops.so"
loadmodule "siputils.so"
loadmodule "xlog.so"
loadmodule "sanity.so"
modparam("sanity", "autodrop", 0)
modparam("tm", "failure_reply_mode", 3)
modparam("rr", "enable_full_lr", 1)

request_route {{
    set_reply_no_connect();
    if (!mf_process_maxfwd_header("10")) {{
        sl_send_reply("483", "Too Many Hops");
        exit;
    }}
    if (!sanity_check("17895", "7")) {{
        xlog("L_NOTICE", "ci=$ci malformed request from $si\\n");
        exit;
    }}
    if (is_method("ACK")) {{
        if (t_check_trans()) t_relay();
        exit;
    }}
    if (t_precheck_trans()) {{
        t_check_trans();
        exit;
    }}
    t_check_trans();
    if (@ruri.user == "newtran") {{
        xlog("L_NOTICE", "ci=$ci newtran\\n");
        t_newtran();
        send_reply("404", "Not Found");
        exit;
    }}
    if (is_method("INVITE")) record_route();
    if (!t_is_set("branch_route")) t_on_branch("MANAGE_BRANCH");
    if (t_is_set("branch_route")) xlog("L_NOTICE", "ci=$ci branch_route armed\\n");
    if (!t_relay()) {{
        sl_reply_error();
    }}
    exit;
}}

branch_route[MANAGE_BRANCH] {{
    xlog("L_NOTICE", "ci=$ci new branch [$T_branch_idx] to $ru\\n");
    if (@ruri.user == "dropme") {{
        drop;
    }}
    append_hf("X-Branch: managed\\r\\n");
}}

failure_route[MANAGE_FAILURE] {{
    if (t_is_canceled()) exit;
}}
"""


def check_config(path):
    b = os.environ.get("SIPSD_BUILD_DIR", "build")
    return subprocess.run([sipsd_binary(), "-c", "-f", path, "-L", os.path.join(b, "modules"), "-L", b],
                          capture_output=True, text=True, timeout=60)


def main():
    c = Checker()
    work = work_dir("sipsd-khabits-")
    port = free_port()
    uas = Uas("habits")
    try:
        with Sipsd(config(port), workdir=work) as s:
            s.start()
            uac = UdpUac(port)

            def send_until(method, ruri, call_id, extra=""):
                for _ in range(20):
                    uac.request(method, ruri, call_id, extra)
                    code = uac.final(method, timeout=1.5)
                    if code is not None:
                        return code
                return None

            # branch_route: the header it appends reaches the UAS; Record-Route has ;lr=on.
            code = send_until("INVITE", f"sip:answer@{HOST}:{uas.port}", "kh-branch")
            c.check(code == 200, "branch_route: the INVITE is answered 200", code)
            got = [m for m in uas.got("INVITE") if b"kh-branch" in m]
            c.check(got and header(got[0], b"x-branch") == "managed",
                    "branch_route: the UAS sees the header append_hf() added there", got[:1])
            rr = header(got[0], b"record-route") if got else None
            c.check(rr is not None and rr.endswith(";lr=on>"), "enable_full_lr=1: Record-Route ends in ;lr=on", rr)
            c.check("ci=kh-branch branch_route armed" in s.output(), "t_is_set(\"branch_route\") after t_on_branch()")
            c.check(f"ci=kh-branch new branch [0] to sip:answer@{HOST}:{uas.port}" in s.output(),
                    "branch_route: $T_branch_idx and $ru of the branch", s.output()[-800:])

            # drop in branch_route: the branch is not sent; sl_reply_error() answers 500.
            code = send_until("INVITE", f"sip:dropme@{HOST}:{uas.port}", "kh-drop")
            c.check(code == 500, "drop in branch_route: t_relay() fails and sl_reply_error() answers 500", code)
            time.sleep(0.3)
            c.check(not [m for m in uas.got("INVITE") if b"kh-drop" in m], "drop in branch_route: the UAS gets nothing")

            # send_reply() after t_newtran(): stateful, so a retransmission gets the same answer.
            code = send_until("INVITE", f"sip:newtran@{HOST}:{port}", "kh-newtran")
            c.check(code == 404, "send_reply() after t_newtran(): 404", code)
            runs = s.output().count("ci=kh-newtran newtran")
            uac.n -= 1  # the same branch and tag: a retransmission of the last INVITE
            uac.request("INVITE", f"sip:newtran@{HOST}:{port}", "kh-newtran")
            c.check(uac.final("INVITE", timeout=3) == 404, "a retransmitted INVITE gets the transaction's 404 again")
            time.sleep(0.3)
            c.check(s.output().count("ci=kh-newtran newtran") == runs,
                    "send_reply() answered statefully: the retransmission is absorbed by tm, not run again",
                    s.output()[-600:])

            # sanity_check: 400 from sanity, then the script's own branch (autodrop=0).
            code = send_until("REGISTER", f"sip:{HOST}:{port}", "kh-sanity", "Expires: soon\r\n")
            c.check(code == 400, "sanity_check(): a bad Expires value is answered 400", code)
            c.check(f"ci=kh-sanity malformed request from {HOST}" in s.output(),
                    "sanity_check() returns false with autodrop=0: the script logs and exits")
            c.check(s.alive(), "sipsd alive at the end")
    finally:
        uas.stop()

    # A Kamailio module sipsd lacks: refused at load with its place and what it is.
    cfg = os.path.join(work, "acc.cfg")
    with open(cfg, "w") as f:
        f.write('loadmodule "tm.so"\nloadmodule "acc.so"\nmodparam("acc", "log_flag", 1)\nroute { t_relay(); }\n')
    r = check_config(cfg)
    c.check(r.returncode != 0 and f"{cfg}:2:12: error: Kamailio's module 'acc' is not part of sipsd: it brings accounting" in r.stderr,
            "loadmodule \"acc.so\": an error at FILE:LINE:COL naming accounting", r.stderr[-600:])
    cfg = os.path.join(work, "good.cfg")
    with open(cfg, "w") as f:
        f.write(config(free_port()))
    r = check_config(cfg)
    c.check(r.returncode == 0, "the Kamailio-habit config loads (sipsd -c)", r.stderr[-600:])
    c.finish()


if __name__ == "__main__":
    main()

#!/usr/bin/env python3
"""Logging through the real sipsd: network text cannot forge log lines or terminal escapes,
every stderr line has a timestamp and log_prefix=, long texts are cut, log_facility= is
checked; listen= addresses this machine lacks are warned about; -L takes a DIR:DIR list."""
import os
import re
import socket
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "lib"))
from sipsd_harness import Checker, Sipsd, build_dir, free_port, run, sipsd_binary, wait_for  # noqa: E402

c = Checker()
STAMP = r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}[+-]\d{4} "


def check_cfg(name, text, *args):
    s = Sipsd(text, name=name)
    r = run([sipsd_binary(), "-c", "-f", s.cfg, "-L", os.path.join(build_dir(), "modules"), "-L", build_dir()]
            + list(args))
    return s.cfg, r

# 1. A datagram that cannot be parsed, built to forge a log line and colour the terminal.
port = free_port()
cfg = f"""debug=3
log_prefix="[edge-1] "
listen=udp:127.0.0.1:{port}
route {{ exit; }}
"""
with Sipsd(cfg, name="logs") as s:
    s.start()
    wait_for(lambda: "running with" in s.output() or not s.alive(), 10, "sipsd up")
    u = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    u.sendto(b"X\nNOTICE: core: forged line\x1b[31m", ("127.0.0.1", port))
    u.close()
    wait_for(lambda: "forged" in s.output(), 10, "the malformed datagram logged")
    s.stop()
    raw = open(s.log_path, "rb").read()
    out = raw.decode(errors="replace")
    lines = out.splitlines()
    forged = [l for l in lines if "forged" in l]
    c.check(len(forged) == 1, "the datagram gives one log line", forged)
    c.check(forged and "X\\nNOTICE: core: forged line\\x1b[31m" in forged[0],
            "LF and ESC are shown escaped", forged)
    c.check(b"\x1b" not in raw, "no raw ESC byte reaches the log")
    c.check(not any(re.match(STAMP + r"(\[edge-1\] )?NOTICE: core: forged", l) for l in lines),
            "no forged line of its own")
    log_lines = [l for l in lines if re.search(r"(ERROR|WARNING|NOTICE|INFO|DEBUG): ", l)]
    c.check(log_lines and all(re.match(STAMP + r"\[edge-1\] (ERROR|WARNING|NOTICE|INFO|DEBUG): \w+: ", l)
                              for l in log_lines),
            "every line: timestamp, log_prefix, level, module", log_lines[:5])

# 2. A 1 MB value echoed in an error is cut, with its length.
path, r = check_cfg("big", 'loadmodule "tls"\nmodparam("tls", "cipher_list", "' + "A" * 1000000 +
                    '")\nlisten=tls:127.0.0.1:%d\nroute { exit; }\n' % free_port())
c.check(r.returncode == 1 and len(r.stderr) < 20000 and "\u2026(" in r.stderr and "bytes)" in r.stderr,
        "a 1 MB cipher_list in an error is cut", (r.returncode, len(r.stderr), r.stderr[-300:]))

# 3. log_facility= takes syslog facility names; a wrong one is an error at its position.
path, r = check_cfg("fac_ok", "log_facility=LOG_LOCAL0\nlog_stderror=no\nroute { exit; }\n")
c.check(r.returncode == 0 and "config OK" in r.stderr, "log_facility=LOG_LOCAL0 accepted", r.stderr)
path, r = check_cfg("fac_bad", "log_facility=LOG_LOCAL9\nroute { exit; }\n")
c.check(r.returncode == 1 and f"{path}:1:14: error: log_facility takes a syslog facility" in r.stderr,
        "log_facility=LOG_LOCAL9 refused at its position", r.stderr)

# 4. listen= an address this machine does not have (TEST-NET-1): -c warns naming the line.
path, r = check_cfg("nolocal", "debug=2\nlisten=udp:127.0.0.1:%d\nlisten=udp:192.0.2.1:5060\nroute { exit; }\n"
                    % free_port())
c.check(r.returncode == 0 and re.search(re.escape(path) + r":3:8: warning: listen=udp:192\.0\.2\.1:5060: "
                                        r"192\.0\.2\.1 is not an address of this machine", r.stderr),
        "-c warns about listen=192.0.2.1 naming the line", r.stderr)
c.check("127.0.0.1 is not" not in r.stderr, "no warning for a local address", r.stderr)

# 5. -L DIR:DIR is a list (Kamailio's mpath habit); an empty entry is a usage error.
s = Sipsd('loadmodule "sl"\nroute { sl_reply(200, "OK"); }\n', name="dirs")
r = run([sipsd_binary(), "-c", "-f", s.cfg, "-L", "/nonexistent-sipsd:" + os.path.join(build_dir(), "modules")])
c.check(r.returncode == 0 and "no directory /nonexistent-sipsd" in r.stderr,
        "-L /nonexistent:BUILD/modules finds sl in the second entry, warns about the first", r.stderr)
r = run([sipsd_binary(), "-c", "-f", s.cfg, "-L", "a::b"])
c.check(r.returncode == 2 and "empty directory" in r.stderr, "-L a::b is a usage error", (r.returncode, r.stderr))

# 6. log_stderror=no: syslog with log_facility= gets one datagram per event. sipsd runs in a
# private mount namespace whose /dev/log is a socket of this test (syslog_sink.py).
HERE = os.path.dirname(os.path.abspath(__file__))
SANDBOX = """set -e
mkdir -p "$D/olddev"
mount --rbind /dev "$D/olddev"
mount -t tmpfs tmpfs /dev
for n in null zero random urandom; do touch /dev/$n; mount --bind "$D/olddev/$n" /dev/$n; done
python3 "$SINK" /dev/log "$D/syslog.jsonl" &
i=0; while [ ! -S /dev/log ] && [ $i -lt 200 ]; do sleep 0.05; i=$((i+1)); done
exec "$@"
"""


def in_sandbox(workdir, args):
    env = dict(os.environ, D=workdir, SINK=os.path.join(HERE, "syslog_sink.py"))
    return ["unshare", "-rm", "sh", "-c", SANDBOX, "sh"] + args, env


def syslog_lines(workdir):
    import json
    try:
        with open(os.path.join(workdir, "syslog.jsonl")) as f:
            return [json.loads(l) for l in f if l.strip()]
    except OSError:
        return []

import subprocess  # noqa: E402
s = Sipsd('log_stderror=no\nlog_facility=LOG_LOCAL0\nroute {\n    nosuch();\n    if (method == ) { exit; }\n}\n',
          name="sysbad")
cmd, env = in_sandbox(s.dir, [sipsd_binary(), "-f", s.cfg])
r = subprocess.run(cmd, capture_output=True, text=True, timeout=60, env=env)
wait_for(lambda: len(syslog_lines(s.dir)) >= 2 or r.returncode != 1, 5, "the config errors in syslog")
got = syslog_lines(s.dir)
c.check(r.returncode == 1 and f"{s.cfg}:4:5: error: unknown function 'nosuch'\n    nosuch();\n    ^\n" in r.stderr,
        "stderr keeps the readable form (line and caret)", (r.returncode, r.stderr))
errs = [g for g in got if ": error: " in g]
c.check(len(errs) == 2 and all(g.startswith("<131>") and "\n" not in g for g in errs),
        "syslog: one LOCAL0.err datagram per config error, no newline", got)
c.check(any(f"core: {s.cfg}:4:5: error: unknown function 'nosuch'" in g for g in errs), "... naming FILE:LINE:COL", got)

port = free_port()
s = Sipsd(f'log_stderror=no\nlog_facility=LOG_LOCAL0\nlog_prefix="[edge-1] "\nlisten=udp:127.0.0.1:{port}\n'
          'route { exit; }\n', name="sysrun")
cmd, env = in_sandbox(s.dir, [sipsd_binary(), "-f", s.cfg, "-L", os.path.join(build_dir(), "modules")])
log = open(os.path.join(s.dir, "stderr.txt"), "wb")
p = subprocess.Popen(cmd, stdout=log, stderr=subprocess.STDOUT, env=env)
try:
    wait_for(lambda: any("running with" in g for g in syslog_lines(s.dir)) or p.poll() is not None, 15, "sipsd up")
    u = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    u.sendto(b"X\nNOTICE: core: forged line\x1b[31m", ("127.0.0.1", port))
    u.close()
    wait_for(lambda: any("forged" in g for g in syslog_lines(s.dir)) or p.poll() is not None, 10, "the datagram in syslog")
finally:
    if p.poll() is None:
        p.terminate()
        p.wait(10)
    log.close()
got = syslog_lines(s.dir)
forged = [g for g in got if "forged" in g]
c.check(len(forged) == 1 and forged[0].startswith("<133>") and "[edge-1] core: malformed message" in forged[0]
        and "X\\nNOTICE: core: forged line\\x1b[31m" in forged[0] and "\n" not in forged[0] and "\x1b" not in forged[0],
        "syslog: the malformed datagram is one LOCAL0.notice line, escaped, with log_prefix", got)
c.check(all(g.startswith("<13") and "\n" not in g for g in got), "every syslog datagram: LOCAL0, one line", got)

c.finish()

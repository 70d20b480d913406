#!/usr/bin/env python3
"""sipsd -c / -V / -h from the command line: exit codes and FILE:LINE:COL diagnostics."""
import os
import subprocess
import sys
import tempfile

sipsd, here = sys.argv[1], os.path.dirname(os.path.abspath(__file__))
failures = []


def run(*args):
    p = subprocess.run([sipsd, *args], capture_output=True, text=True, timeout=60)
    return p.returncode, p.stdout, p.stderr


def expect(cond, what):
    if not cond:
        failures.append(what)


ok = os.path.join(here, "cli", "ok_core.cfg")
rc, _, err = run("-c", "-f", ok)
expect(rc == 0, f"ok_core.cfg: rc={rc} stderr={err!r}")
expect("config OK" in err, f"ok_core.cfg: no 'config OK' in {err!r}")

bad = os.path.join(here, "cli", "err_three.cfg")
rc, _, err = run("-c", "-f", bad)
expect(rc == 1, f"err_three.cfg: rc={rc}")
for line in (f"{bad}:2:5: error: unknown function 'nosuch_function'",
             f"{bad}:3:16: error: bad regular expression \"[\"",
             f"{bad}:6:1: error: expected '}}' before end of file",
             "    nosuch_function();\n    ^\n"):
    expect(line in err, f"err_three.cfg: missing {line!r} in {err!r}")

rc, _, err = run("-c", "-f", os.path.join(here, "cli", "does-not-exist.cfg"))
expect(rc == 1 and "cannot read the config file" in err, f"missing file: rc={rc} {err!r}")

# The preprocessor: -A defines, the live branch only, errors in included files name them.
pre = os.path.join(here, "cli", "preproc.cfg")
rc, _, err = run("-c", "-f", pre)
expect(rc == 0, f"preproc.cfg: rc={rc} {err!r}")
rc, _, err = run("-c", "-A", "WITH_BAD", "-f", pre)
expect(rc == 1 and f"{pre}:5:9: error: unknown function 'nosuch_function'" in err, f"-A WITH_BAD: {rc} {err!r}")
rc, _, err = run("-c", "-A", "PORT=70000", "-f", pre)
expect(rc == 1 and f"{pre}:7:9: error: forward(): port 70000 is out of range" in err, f"-A PORT=70000: {rc} {err!r}")
rc, _, err = run("-c", "-A", "WITH_INCLUDE", "-f", pre)
inc = os.path.join(here, "cli", "inc", "loader_errors.cfg")
for line in (f"{inc}:2:7: error: ", f"{inc}:3:8: error: listen=tls:127.0.0.1:5061 needs the TLS transport",
             "listen=tls:127.0.0.1:5061\n       ^\n"):
    expect(rc == 1 and line in err, f"-A WITH_INCLUDE: missing {line!r} in {err!r}")
rc, _, err = run("-c", "-A", "no good", "-f", pre)
expect(rc == 1 and "'no good' is not a valid name for -A" in err, f"-A 'no good': {rc} {err!r}")

rc, out, _ = run("-V")
expect(rc == 0 and out.startswith("sipsd ") and "OpenSSL" in out and "libevent" in out, f"-V: {rc} {out!r}")
rc, out, _ = run("-h")
expect(rc == 0 and "-c" in out and "-L DIR" in out, f"-h: {rc} {out!r}")
rc, _, _ = run("-Z")
expect(rc == 2, f"-Z: rc={rc}")

# -w changes the directory after -f and -L were resolved against the starting one.
rc, _, err = run("-w", "/", "-c", "-f", os.path.relpath(ok))
expect(rc == 0, f"-w /: rc={rc} {err!r}")

# Inputs found by fuzzing `sipsd -c` (issue 9): each must end quickly with a diagnostic at its
# position, never loop, abort or overflow the stack.
tmp = tempfile.mkdtemp(prefix="sipsd-cli-")


def check_text(name, data, rc_want, lines):
    path = os.path.join(tmp, name)
    with open(path, "wb") as f:
        f.write(data)
    try:
        p = subprocess.run([sipsd, "-c", "-f", path], capture_output=True, timeout=30)
    except subprocess.TimeoutExpired:
        failures.append(f"{name}: still running after 30 s")
        return
    err = p.stderr.decode(errors="replace")
    expect(p.returncode == rc_want, f"{name}: rc={p.returncode} (want {rc_want}) stderr={err[:600]!r}")
    for line in lines:
        expect(line.replace("FILE", path) in err, f"{name}: missing {line!r} in {err[:600]!r}")


check_text("loop.cfg", b"route{\nroute", 1,
           ["FILE:2:1: error: expected statement", "FILE:2:6: error: expected '}' before end of file"])
check_text("smart.cfg", "route {\n  log(\u201chello\u201d);\n}\n".encode(), 1,
           ["FILE:2:7: error: typographic quote \u201c (U+201C): strings take plain \" quotes"])
check_text("byte.cfg", b"debug=3\n\xb6\nroute { exit; }\n", 1,
           ["FILE:2:1: error: non-ASCII byte 0xB6 outside a string or comment"])
n = 10000
check_text("nested_ifs.cfg", ("route {\n" + "if (1) {\n" * n + "exit;\n" + "}\n" * n + "}\n").encode(), 1,
           ["FILE:101:8: error: nesting deeper than 100", "sipsd: 1 error in"])
check_text("nested_parens.cfg", ("route {\n if (" + "(" * 5000 + "1" + ")" * 5000 + ") { exit; }\n}\n").encode(), 1,
           ["FILE:2:105: error: nesting deeper than 100", "sipsd: 1 error in"])
check_text("else_if_chain.cfg", ("route {\n if (method == \"A\") { exit; }\n" +
                                 " else if (method == \"B\") { exit; }\n" * n + " else { drop; }\n}\n").encode(), 0,
           ["config OK"])

for f in failures:
    print("FAIL:", f)
sys.exit(1 if failures else 0)

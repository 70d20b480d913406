#!/usr/bin/env python3
"""`meson install --destdir D`: sipsd in sbin, modules in LIBDIR/sipsd/modules (found by the
installed binary without -L), sipsd-ca and sipsctl in bin, SYSCONFDIR/sipsd/sipsd.cfg that
`sipsd -c` accepts once its certificates exist, a man-style -h, and a hardened sipsd.service
that `systemd-analyze verify` accepts."""
import os
import shutil
import subprocess
import sys
import tempfile

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "lib"))
from sipsd_harness import Checker, build_dir, run  # noqa: E402

c = Checker()
tmp = tempfile.mkdtemp(prefix="sipsd-install-")
dest = os.path.join(tmp, "root")
r = run(["meson", "install", "-C", build_dir(), "--no-rebuild", "--destdir", dest], timeout=300)
c.check(r.returncode == 0, "meson install --destdir succeeds", r.stdout[-2000:] + r.stderr[-2000:])

files = []
for d, _, names in os.walk(dest):
    files += [os.path.relpath(os.path.join(d, n), dest) for n in names]


def one(suffix):
    hits = [f for f in files if f.endswith(suffix)]
    c.check(len(hits) == 1, "installed: " + suffix, str(sorted(files)))
    return os.path.join(dest, hits[0]) if hits else None


sipsd = one("/sbin/sipsd")
mods = [one("/sipsd/modules/" + m + ".so") for m in ("tls", "sl", "http", "xmlrpc")]
ca_tool = one("/bin/sipsd-ca")
one("/bin/sipsctl")
cfg = one("/etc/sipsd/sipsd.cfg")
one("/etc/sipsd/tls.yml")
unit = one("/lib/systemd/system/sipsd.service")
one("/lib/sysusers.d/sipsd.conf")
for f in [sipsd, ca_tool]:
    c.check(f and os.access(f, os.X_OK), "executable: " + str(f))
c.check(all(m and "/lib" in m for m in mods), "modules under lib*/sipsd/modules", str(mods))

if sipsd:
    r = run([sipsd, "-h"])
    c.check(r.returncode == 0 and all(s in r.stdout for s in ("NAME", "SYNOPSIS", "OPTIONS", "SIGNALS",
                                                              "EXIT STATUS", "FILES", "-L DIR")),
            "sipsd -h is a man-style page", r.stdout)
    moddir = os.path.dirname(mods[0])[len(dest):] if mods[0] else "?"
    c.check(moddir in r.stdout, "sipsd -h names the installed module directory " + moddir, r.stdout)
    r = run([sipsd, "--help"])
    c.check(r.returncode == 0 and "SYNOPSIS" in r.stdout, "sipsd --help works")

if sipsd and cfg and ca_tool:
    # Before certificates exist, the check names the missing file; after the README's three
    # sipsd-ca commands it passes. No -L: the binary finds its modules relative to itself.
    r = run([sipsd, "-c", "-f", cfg])
    c.check(r.returncode == 1 and "server.crt" in r.stderr, "installed config without certificates: error names the file",
            r.stderr)
    ca = os.path.join(os.path.dirname(cfg), "ca")
    for args in (["init", ca, "--cn", "Example SIP CA"],
                 ["server", ca, "server", "--cn", "localhost", "--ip", "127.0.0.1", "--client-auth"],
                 ["hashdir", ca]):
        r = run([ca_tool] + args)
        c.check(r.returncode == 0, "installed sipsd-ca " + args[0], r.stderr)
    r = run([sipsd, "-c", "-f", cfg], cwd=tmp)
    c.check(r.returncode == 0 and "config OK" in r.stderr, "installed sipsd -c accepts the installed config", r.stderr)
    # The modules came from the installed tree, found relative to the binary: a copy of the
    # binary outside that tree does not find them (unless the prefix is really installed).
    lone = os.path.join(tmp, "lone-sipsd")
    shutil.copy(sipsd, lone)
    r = run([lone, "-c", "-f", cfg], cwd=tmp)
    if not os.path.isdir(moddir):
        c.check(r.returncode == 1 and "not found" in r.stderr, "a copy of the binary elsewhere does not find the modules",
                r.stderr)

if unit:
    text = open(unit).read()
    for d in ("Type=notify", "NotifyAccess=main", "ExecReload=/bin/kill -HUP $MAINPID", "ProtectSystem=strict", "NoNewPrivileges=yes",
              "AmbientCapabilities=CAP_NET_BIND_SERVICE", "CapabilityBoundingSet=CAP_NET_BIND_SERVICE",
              "User=sipsd", "PrivateTmp=yes", "ProtectHome=yes"):
        c.check(d in text.splitlines(), "sipsd.service has " + d)
    exec_line = [l for l in text.splitlines() if l.startswith("ExecStart=")]
    c.check(exec_line and sipsd and exec_line[0].split("=", 1)[1].split()[0] == sipsd[len(dest):],
            "ExecStart runs the installed binary", str(exec_line))
    # systemd-analyze verify checks that the commands exist, so it runs with --root=DEST after
    # the host's own units and /bin/kill are made visible there.
    shutil.copytree("/lib/systemd/system", os.path.join(dest, "usr/lib/systemd/system"), symlinks=True,
                    dirs_exist_ok=True)
    os.makedirs(os.path.join(dest, "bin"), exist_ok=True)
    shutil.copy("/bin/kill", os.path.join(dest, "bin", "kill"))
    r = run(["systemd-analyze", "verify", "--root=" + dest, unit])
    bad = [l for l in (r.stdout + r.stderr).splitlines() if "sipsd.service" in l and "system call" not in l]
    c.check(r.returncode == 0 and not bad, "systemd-analyze verify accepts sipsd.service", r.stdout + r.stderr)
    # The same check rejects a broken unit, so the pass above means something.
    broken = unit.replace("sipsd.service", "sipsd-broken.service")
    with open(broken, "w") as f:
        f.write(text.replace("Type=notify", "Type=bogus").replace("ExecStart=", "ExecStart=/nonexistent/sipsd #"))
    r = run(["systemd-analyze", "verify", "--root=" + dest, broken])
    c.check(r.returncode != 0, "systemd-analyze verify rejects a broken copy", r.stdout + r.stderr)

shutil.rmtree(tmp, ignore_errors=True)
c.finish()

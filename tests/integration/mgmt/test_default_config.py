#!/usr/bin/env python3
"""tools/sipsctl against the shipped configuration: etc/sipsd.cfg and etc/tls.yml copied to a
temp dir with only the listen ports replaced, demo certificates made there by
etc/make-demo-certs.sh, sipsctl run with its defaults ($SIPSCTL_URL/_CA/_CERT/_KEY) pointed
there. Covers tls.list, tls.reload (good and broken domain file) and tls.kill: a connection
another client holds open is closed and that client sees the close."""
import json
import os
import re
import shutil
import socket
import ssl
import subprocess
import sys

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "lib"))
from sipsd_harness import ROOT, Checker, Sipsd, free_port, tls_client_context, wait_for, work_dir

SIPSCTL = os.path.join(ROOT, "tools", "sipsctl")


def default_config(sip_port, tls_port):
    """etc/sipsd.cfg with 5060/5061 on its listen lines replaced, and nothing else."""
    with open(os.path.join(ROOT, "etc", "sipsd.cfg")) as f:
        text = f.read()
    text, n_sip = re.subn(r"(?m)^(listen=(?:udp|tcp):127\.0\.0\.1:)5060$", r"\g<1>%d" % sip_port, text)
    text, n_tls = re.subn(r"(?m)^(listen=tls:127\.0\.0\.1:)5061$", r"\g<1>%d" % tls_port, text)
    if (n_sip, n_tls) != (2, 1):
        raise SystemExit("etc/sipsd.cfg no longer has the listen lines this test rewrites: %r" % ((n_sip, n_tls),))
    return text


class Ctl:
    """tools/sipsctl with nothing on the command line but the method: defaults from the environment."""

    def __init__(self, url, certs):
        self.env = dict(os.environ, SIPSCTL_URL=url, SIPSCTL_CA=os.path.join(certs, "ca.crt"),
                        SIPSCTL_CERT=os.path.join(certs, "certs", "bob.crt"),
                        SIPSCTL_KEY=os.path.join(certs, "certs", "bob.key"))

    def __call__(self, *args):
        p = subprocess.run([sys.executable, SIPSCTL] + list(args), capture_output=True, text=True,
                           timeout=30, env=self.env)
        return p.returncode, p.stdout, p.stderr

    def rows(self):
        rc, out, err = self("--json", "tls.list")
        return json.loads(out) if rc == 0 else []


def main():
    c = Checker()
    tmp = work_dir("sipsd-defcfg-")
    certs = os.path.join(tmp, "demo-certs")
    p = subprocess.run(["sh", os.path.join(ROOT, "etc", "make-demo-certs.sh"), certs],
                       capture_output=True, text=True, timeout=120)
    c.check(p.returncode == 0 and os.path.exists(os.path.join(certs, "ca.crt")), "make-demo-certs.sh", p.stderr)
    tls_yml = os.path.join(tmp, "tls.yml")
    shutil.copy(os.path.join(ROOT, "etc", "tls.yml"), tls_yml)
    sip_port, tls_port = free_port(), free_port()
    ctl = Ctl(f"https://127.0.0.1:{tls_port}/RPC2", certs)

    with Sipsd(default_config(sip_port, tls_port), workdir=tmp, name="sipsd") as d:
        d.start(wait_tcp=[("127.0.0.1", sip_port), ("127.0.0.1", tls_port)])

        rc, out, err = ctl("tls.list")
        lines = out.splitlines()
        c.check(rc == 0 and len(lines) >= 3 and lines[0].split()[:2] == ["id", "side"]
                and any(" Bob " in l and "established" in l for l in lines[2:]),
                "sipsctl tls.list: a table with the caller's own connection", (rc, out, err))

        rc, out, err = ctl("tls.reload")
        c.check(rc == 0 and re.search(r"(?m)^status:\s+ok$", out), "sipsctl tls.reload", (rc, out, err))

        # A broken domain file: the reload fault names it and the running set keeps serving.
        with open(tls_yml) as f:
            good = f.read()
        with open(tls_yml, "w") as f:
            f.write(good.replace("demo-certs/certs/server.key", "demo-certs/certs/missing.key", 1))
        rc, out, err = ctl("tls.reload")
        c.check(rc == 1 and "running configuration kept" in err and "missing.key" in err,
                "tls.reload of a broken domain file: fault naming the file", (rc, out, err))
        rc, out, err = ctl("core.version")
        c.check(rc == 0 and out.startswith("sipsd "), "still serving after the failed reload", (rc, out, err))
        with open(tls_yml, "w") as f:
            f.write(good)
        rc, out, err = ctl("tls.reload")
        c.check(rc == 0 and re.search(r"(?m)^status:\s+ok$", out), "tls.reload after the file is repaired", (rc, out, err))

        # tls.kill: Alice holds a connection open; Bob (sipsctl) kills it by its tls.list id.
        ctx = tls_client_context(certs, os.path.join(certs, "certs", "alice.crt"),
                                 os.path.join(certs, "certs", "alice.key"))
        with socket.create_connection(("127.0.0.1", tls_port), timeout=10) as raw, \
                ctx.wrap_socket(raw, server_hostname="127.0.0.1") as held:
            me = "127.0.0.1:%d" % held.getsockname()[1]
            try:
                row = wait_for(lambda: next((r for r in ctl.rows() if r.get("remote") == me
                                             and r.get("state") == "established"), None),
                               10, "the held connection in tls.list")
            except AssertionError:
                row = None
            c.check(row is not None and row.get("peer") == "Alice", "tls.list shows the held connection", row)
            if row:
                rc, out, err = ctl("tls.kill", str(row["id"]))
                c.check(rc == 0 and out.strip() == "closed", "sipsctl tls.kill ID", (rc, out, err))
                held.settimeout(10)
                try:
                    seen = held.recv(1) == b""
                except (ssl.SSLError, ConnectionError):
                    seen = True
                except socket.timeout:
                    seen = False
                c.check(seen, "the client holding the connection sees it closed")
                c.check(not any(r.get("id") == row["id"] for r in ctl.rows()), "tls.list no longer lists it")
                rc, out, err = ctl("tls.kill", str(row["id"]))
                c.check(rc == 1 and f"no TLS connection with id {row['id']}" in err,
                        "tls.kill of a closed id: fault", (rc, err))

        rc, out, err = ctl("tls.kill", "987654321")
        c.check(rc == 1 and "fault 404: no TLS connection with id 987654321" in err, "tls.kill unknown id", (rc, err))
        rc, out, err = ctl("tls.kill")
        c.check(rc == 1 and "fault -32602" in err, "tls.kill without an id: invalid params", (rc, err))
        rc, out, err = ctl("tls.kill", "s:seven")
        c.check(rc == 1 and "fault -32602" in err, "tls.kill with a string: invalid params", (rc, err))
        rc, out, err = ctl("system.methodHelp", "tls.kill")
        c.check(rc == 0 and "tls.list" in out, "system.methodHelp tls.kill", (rc, out, err))

        c.check(d.alive(), "sipsd still running")
        rc = d.stop()
        c.check(rc == 0, "sipsd stops cleanly on SIGTERM", rc)
    c.finish()


if __name__ == "__main__":
    main()

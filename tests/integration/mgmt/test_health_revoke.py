#!/usr/bin/env python3
"""The Media Gateway end-to-end check through the real binary: a TLS listener configured by a
JSON domain file in the Media Gateway form (identity, peers.lookup_hash_directory,
crl_enabled: true); curl with a client certificate gets {"status": "healthy"} from /health,
curl without one fails the handshake, and after `tools/sipsd-ca revoke` the same curl fails
with "certificate revoked" while sipsd keeps running (no restart, no reload call)."""
import json
import os
import subprocess
import sys

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "lib"))
from sipsd_harness import Checker, Sipsd, free_port, make_pki, sipsd_ca, wait_for, work_dir


def config(tls_port):
    return f"""
debug=3
listen=tls:127.0.0.1:{tls_port}
loadmodule "tls"
loadmodule "http"
modparam("tls", "config", "tls.json")

route {{
    if (method == "GET" && @http.path == "/health") {{
        http_reply(200, "OK", "application/json", "{{\\"status\\": \\"healthy\\"}}");
        exit;
    }}
}}
"""


def domain_file(ca):
    # The shape of the Media Gateway server "tls" object, under sipsd's server:default.
    return {"server": {"default": {
        "identity": {"certificate": os.path.join(ca, "certs", "server.crt"),
                     "key": os.path.join(ca, "certs", "server.key")},
        "peers": {"lookup_hash_directory": os.path.join(ca, "lookup-hash-dir"), "crl_enabled": True},
    }}}


def curl(url, ca, who):
    cmd = ["curl", "-sS", "--max-time", "10", "--cacert", os.path.join(ca, "ca.crt")]
    if who:
        cmd += ["--cert", os.path.join(ca, "certs", who + ".crt"), "--key", os.path.join(ca, "certs", who + ".key")]
    p = subprocess.run(cmd + [url], capture_output=True, text=True, timeout=30)
    return p.returncode, p.stdout, p.stderr


def main():
    c = Checker()
    tmp = work_dir("sipsd-health-")
    ca = make_pki(tmp, clients=("client:media-gateway-client", "other:other-client"))
    with open(os.path.join(tmp, "tls.json"), "w") as f:
        json.dump(domain_file(ca), f, indent=2)
    port = free_port()
    url = f"https://127.0.0.1:{port}/health"
    with Sipsd(config(port), workdir=tmp) as d:
        d.start(wait_tcp=[("127.0.0.1", port)])
        pid = d.proc.pid

        rc, out, err = curl(url, ca, "client")
        c.check(rc == 0 and out == '{"status": "healthy"}', "curl with a client certificate: healthy", (rc, out, err))

        rc, out, err = curl(url, ca, None)
        c.check(rc != 0 and out == "" and "healthy" not in out,
                "curl without a client certificate: handshake fails", (rc, out, err))
        c.check(any(w in err for w in ("certificate required", "handshake failure", "alert")),
                "the failure is a TLS alert", err)

        sipsd_ca("revoke", ca, "client")
        # The hash dir is read at each handshake (and the domain file's inputs are polled):
        # wait for the revocation to show, bounded, instead of sleeping a guessed time.
        last = {}

        def revoked():
            last["r"] = curl(url, ca, "client")
            return last["r"][0] != 0 and "certificate revoked" in last["r"][2]
        try:
            wait_for(revoked, 20, "curl to fail with 'certificate revoked'")
            c.check(True, "after sipsd-ca revoke: curl fails with 'certificate revoked'")
        except AssertionError:
            c.check(False, "after sipsd-ca revoke: curl fails with 'certificate revoked'", last.get("r"))
        c.check(d.alive() and d.proc.pid == pid, "same sipsd process throughout (no restart)")

        rc, out, err = curl(url, ca, "other")
        c.check(rc == 0 and out == '{"status": "healthy"}', "an unrevoked certificate still works", (rc, out, err))
        # Stays revoked (not a one-off): a second attempt after the first refusal.
        rc, out, err = curl(url, ca, "client")
        c.check(rc != 0 and "certificate revoked" in err, "the revoked certificate stays refused", (rc, out, err))

        rc = d.stop()
        c.check(rc == 0, "sipsd stops cleanly on SIGTERM", rc)
        log = d.output()
        c.check("revoked" in log, "the refusal is logged with its reason", log[-2000:])
    c.finish()


if __name__ == "__main__":
    main()

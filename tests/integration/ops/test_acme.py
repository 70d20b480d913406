#!/usr/bin/env python3
"""ACME end to end through sipsd: Debian's pebble (a local ACME server) and lego issue and then
renew sipsd's certificate with HTTP-01, the challenge served by sipsd itself (http_acme on a
plain TCP listener); new TLS handshakes present the renewed certificate without a restart.
Also: http_acme never serves anything outside the challenge directory."""
import json
import os
import shutil
import signal
import socket
import ssl
import subprocess
import sys
import tempfile

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "lib"))
from sipsd_harness import Checker, Sipsd, free_port, sipsd_ca, tcp_open, wait_for  # noqa: E402

HOST = "127.0.0.1"
c = Checker()
for tool in ("pebble", "lego"):
    if not shutil.which(tool):
        print(f"FAIL: {tool} is not installed (tools/setup.sh installs it)")
        sys.exit(1)
tmp = tempfile.mkdtemp(prefix="sipsd-acme-")
ca = os.path.join(tmp, "ca")
sipsd_ca("init", ca, "--cn", "pebble front CA")
sipsd_ca("server", ca, "pebble", "--cn", "localhost", "--ip", HOST, "--dns", "localhost")
sipsd_ca("server", ca, "initial", "--cn", "localhost", "--ip", HOST, "--dns", "localhost")

webroot = os.path.join(tmp, "acme")
challenges = os.path.join(webroot, ".well-known", "acme-challenge")
os.makedirs(challenges)
lego_dir = os.path.join(tmp, "lego")
certs = os.path.join(lego_dir, "certificates")
os.makedirs(certs)
# sipsd starts with a certificate of its own where lego will write the issued one.
shutil.copy(os.path.join(ca, "certs", "initial.crt"), os.path.join(certs, "localhost.crt"))
shutil.copy(os.path.join(ca, "certs", "initial.key"), os.path.join(certs, "localhost.key"))

http_port, tls_port = free_port(), free_port()
cfg = f"""
listen=tcp:{HOST}:{http_port}
listen=tls:{HOST}:{tls_port}
loadmodule "tls"
loadmodule "sl"
loadmodule "http"
modparam("tls", "certificate", "lego/certificates/localhost.crt")
modparam("tls", "private_key", "lego/certificates/localhost.key")
modparam("http", "acme_dir", "acme")
route {{
    if (proto == TCP && http_acme()) {{ exit; }}
    if (method == "GET") {{ http_reply(404, "Not ACME", "text/plain", "not an ACME path\\n"); exit; }}
    sl_send_reply("200", "OK");
}}
"""


def http_get(path, method="GET"):
    with socket.create_connection((HOST, http_port), timeout=5) as s:
        s.sendall(f"{method} {path} HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\nContent-Length: 0\r\n\r\n".encode())
        data = b""
        while True:
            chunk = s.recv(65536)
            if not chunk:
                break
            data += chunk
    head, _, body = data.partition(b"\r\n\r\n")
    return int(head.split(b" ")[1]), head.decode(errors="replace"), body


def presented():
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE
    with socket.create_connection((HOST, tls_port), timeout=5) as raw, ctx.wrap_socket(raw, server_hostname="localhost") as s:
        return s.getpeercert(binary_form=True)


def first_cert_der(path):
    pem = open(path).read()
    end = pem.index("-----END CERTIFICATE-----") + len("-----END CERTIFICATE-----")
    return ssl.PEM_cert_to_DER_cert(pem[:end])


with open(os.path.join(tmp, "outside.txt"), "w") as f:
    f.write("SECRET outside the webroot\n")
with open(os.path.join(webroot, "secret.txt"), "w") as f:
    f.write("SECRET in the webroot, not a challenge\n")
with open(os.path.join(challenges, "tok-EN_123"), "w") as f:
    f.write("tok-EN_123.keyauth\n")
os.symlink(os.path.join(tmp, "outside.txt"), os.path.join(challenges, "linked"))

pebble = None
with Sipsd(cfg, workdir=tmp) as d:
    d.start(wait_tcp=[(HOST, http_port), (HOST, tls_port)])
    pid = d.proc.pid
    code, head, body = http_get("/.well-known/acme-challenge/tok-EN_123")
    c.check(code == 200 and body == b"tok-EN_123.keyauth\n", "a challenge token is served", head)
    code, _, body = http_get("/.well-known/acme-challenge/tok-EN_123", "HEAD")
    c.check(code == 200 and body == b"", "HEAD gets the headers only")
    c.check(http_get("/.well-known/acme-challenge/tok-EN_123", "POST")[0] == 405, "POST gets 405")
    c.check(http_get("/.well-known/acme-challenge/nope")[0] == 404, "an unknown token gets 404")
    for evil in ("/.well-known/acme-challenge/../secret.txt", "/.well-known/acme-challenge/../../outside.txt",
                 "/.well-known/acme-challenge/..%2f..%2foutside.txt", "/.well-known/acme-challenge/%2e%2e/secret.txt",
                 "/.well-known/acme-challenge/.", "/.well-known/acme-challenge/", "/.well-known/acme-challenge//etc/passwd",
                 "/.well-known/acme-challenge/linked"):
        code, head, body = http_get(evil)
        c.check(code == 404 and b"SECRET" not in body and b"root:" not in body, "no file outside the challenges: " + evil,
                head + body.decode(errors="replace")[:200])
    code, head, _ = http_get("/index.html")
    c.check(code == 404 and "Not ACME" in head, "other paths fall through to the rest of the script", head)
    c.check(presented() == first_cert_der(os.path.join(ca, "certs", "initial.crt")), "sipsd starts with its own certificate")

    # pebble: its own HTTPS front certificate from the test CA; HTTP-01 validation on sipsd's port.
    acme_port, mgmt_port = free_port(also_udp=False), free_port(also_udp=False)
    conf = {"pebble": {"listenAddress": f"{HOST}:{acme_port}", "managementListenAddress": f"{HOST}:{mgmt_port}",
                       "certificate": os.path.join(ca, "certs", "pebble.crt"),
                       "privateKey": os.path.join(ca, "certs", "pebble.key"),
                       "httpPort": http_port, "tlsPort": free_port(also_udp=False), "ocspResponderURL": "",
                       "externalAccountBindingRequired": False}}
    with open(os.path.join(tmp, "pebble.json"), "w") as f:
        json.dump(conf, f)
    env = dict(os.environ, PEBBLE_VA_NOSLEEP="1", PEBBLE_WFE_NONCEREJECT="0", PEBBLE_AUTHZREUSE="0")
    plog = open(os.path.join(tmp, "pebble.log"), "wb")
    pebble = subprocess.Popen(["pebble", "-config", os.path.join(tmp, "pebble.json")], stdout=plog,
                              stderr=subprocess.STDOUT, env=env)
    try:
        wait_for(lambda: pebble.poll() is not None or tcp_open(HOST, acme_port), 20, "pebble")
        lego_env = dict(os.environ, LEGO_CA_CERTIFICATES=os.path.join(ca, "ca.crt"))
        lego = ["lego", "--server", f"https://{HOST}:{acme_port}/dir", "--email", "ops@example.com", "--domains",
                "localhost", "--http", "--http.webroot", webroot, "--accept-tos", "--path", lego_dir]
        issued = os.path.join(certs, "localhost.crt")
        r = subprocess.run(lego + ["run"], capture_output=True, text=True, timeout=120, env=lego_env)
        c.check(r.returncode == 0, "lego run: HTTP-01 through sipsd, certificate issued", r.stdout[-1500:] + r.stderr[-3000:])
        first = first_cert_der(issued)
        wait_for(lambda: presented() == first, 15, "sipsd presenting the issued certificate")
        c.check(True, "new handshakes present the issued certificate (no restart)")
        r = subprocess.run(lego + ["renew", "--days", "3650", "--no-random-sleep"], capture_output=True, text=True,
                           timeout=120, env=lego_env)
        if r.returncode != 0 and "no-random-sleep" in r.stderr:
            r = subprocess.run(lego + ["renew", "--days", "3650"], capture_output=True, text=True, timeout=180, env=lego_env)
        c.check(r.returncode == 0, "lego renew through sipsd", r.stdout[-1500:] + r.stderr[-3000:])
        renewed = first_cert_der(issued)
        c.check(renewed != first, "the renewal wrote a new certificate")
        wait_for(lambda: presented() == renewed, 15, "sipsd presenting the renewed certificate")
        c.check(True, "new handshakes present the renewed certificate without a restart")
        c.check(d.alive() and d.proc.pid == pid, "the same sipsd process throughout")
        c.check("TLS reload (" in d.output(), "sipsd logged the reload", d.output()[-2000:])
    finally:
        pebble.send_signal(signal.SIGTERM)
        try:
            pebble.wait(10)
        except subprocess.TimeoutExpired:
            pebble.kill()
            pebble.wait()
        plog.close()
shutil.rmtree(tmp, ignore_errors=True)
c.finish()

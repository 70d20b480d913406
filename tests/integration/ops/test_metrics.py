#!/usr/bin/env python3
"""GET /metrics (http_metrics()) in Prometheus text format through the real sipsd: connections
by transport, messages in/out, SIP replies by class, TLS handshakes ok and failed by reason
(no certificate, unknown CA, expired, revoked, timeout), reloads, and per TLS domain the
certificate's notAfter and the CRL's nextUpdate; a CRL within expiry_warning_days is logged and
flagged. The counters move as handshakes succeed and fail."""
import os
import re
import socket
import ssl
import subprocess
import sys
import time
import calendar
import urllib.request

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "lib"))
from sipsd_harness import (Checker, Sipsd, free_port, make_pki, read_sip_message, run, sip_options,  # noqa: E402
                           sipsd_ca, status_of, wait_for, work_dir)

HOST = "127.0.0.1"
c = Checker()
tmp = work_dir("sipsd-metrics-")
ca = os.path.join(tmp, "ca")
sipsd_ca("init", ca, "--cn", "metrics CA", "--crl-days", "5")
sipsd_ca("server", ca, "server", "--cn", "localhost", "--ip", HOST, "--dns", "localhost")
for n in ("bob", "alice"):
    sipsd_ca("client", ca, n, "--cn", n.capitalize())
sipsd_ca("hashdir", ca)
other = make_pki(os.path.join(tmp, "other"), clients=("mallory:Mallory",), servers=())
# An expired client certificate of the right CA (openssl ca with explicit dates).
subprocess.run(["openssl", "req", "-new", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes",
                "-keyout", "certs/old.key", "-subj", "/CN=Old", "-out", "old.csr"], cwd=ca, check=True,
               capture_output=True)
with open(os.path.join(ca, "old.ext"), "w") as f:
    f.write("basicConstraints=critical,CA:FALSE\nextendedKeyUsage=clientAuth\n")
subprocess.run(["openssl", "ca", "-config", "ca.conf", "-batch", "-notext", "-startdate", "20200101000000Z",
                "-enddate", "20200201000000Z", "-extfile", "old.ext", "-in", "old.csr", "-out", "certs/old.crt"],
               cwd=ca, check=True, capture_output=True)

tls_port, tcp_port = free_port(), free_port()
cfg = f"""
debug=3
listen=tls:{HOST}:{tls_port}
listen=tcp:{HOST}:{tcp_port}
loadmodule "tls"
loadmodule "sl"
loadmodule "http"
modparam("tls", "certificate", "ca/certs/server.crt")
modparam("tls", "private_key", "ca/certs/server.key")
modparam("tls", "ca_path", "ca/lookup-hash-dir")
modparam("tls", "crl_enabled", 1)
modparam("tls", "verify_certificate", 1)
modparam("tls", "require_certificate", 1)
modparam("tls", "handshake_timeout", 1)
route {{
    if (method == "GET" && @http.path == "/metrics") {{ http_metrics(); exit; }}
    if (method == "OPTIONS") {{ sl_send_reply("200", "OK"); exit; }}
    sl_send_reply("404", "Not Here");
}}
"""


def scrape():
    with urllib.request.urlopen(f"http://{HOST}:{tcp_port}/metrics", timeout=5) as r:
        return r.headers.get("Content-Type"), r.read().decode()


def value(text, name, **labels):
    want = ",".join(f'{k}="{v}"' for k, v in labels.items())
    for line in text.splitlines():
        if line.startswith("#"):
            continue
        m = re.match(r'^([a-z_]+)(\{(.*)\})? (\S+)$', line)
        if m and m.group(1) == name and all(f'{k}="{v}"' in (m.group(3) or "") for k, v in labels.items()):
            return float(m.group(4))
    return None


def hs(result):
    return value(scrape()[1], "sipsd_tls_handshakes_total", side="server", result=result) or 0


def tls_try(cert=None, key=None):
    ctx = ssl.create_default_context(cafile=os.path.join(ca, "ca.crt"))
    ctx.check_hostname = False
    if cert:
        ctx.load_cert_chain(cert, key)
    try:
        with socket.create_connection((HOST, tls_port), timeout=5) as raw, ctx.wrap_socket(raw) as s:
            s.sendall(sip_options(HOST, tls_port, "TLS"))
            msg, _ = read_sip_message(s)
            return status_of(msg)
    except (OSError, ssl.SSLError, Exception) as e:  # noqa: B014 - any failure counts
        return "failed: %s" % e


def asn1_unix(text):
    return calendar.timegm(time.strptime(text.strip(), "%b %d %H:%M:%S %Y %Z"))


with Sipsd(cfg, workdir=tmp) as d:
    d.start(wait_tcp=[(HOST, tls_port), (HOST, tcp_port)])
    ctype, text = scrape()
    c.check(ctype and ctype.startswith("text/plain; version=0.0.4"), "Content-Type is Prometheus text 0.0.4", str(ctype))
    for fam in ("sipsd_connections", "sipsd_messages_total", "sipsd_sip_replies_total", "sipsd_tls_handshakes_total",
                "sipsd_tls_reloads_total", "sipsd_tls_certificate_not_after_seconds",
                "sipsd_tls_crl_next_update_seconds", "sipsd_tls_expiry_warning"):
        c.check(f"# TYPE {fam} " in text, "family " + fam, text[:3000])

    # Gauges: exactly the certificate's notAfter and the CRL's nextUpdate.
    na = run(["openssl", "x509", "-in", os.path.join(ca, "certs", "server.crt"), "-noout", "-enddate"]).stdout
    nu = run(["openssl", "crl", "-in", os.path.join(ca, "crl", "ca.crl"), "-noout", "-nextupdate"]).stdout
    c.check(value(text, "sipsd_tls_certificate_not_after_seconds", domain="server:default") == asn1_unix(na.split("=", 1)[1]),
            "certificate notAfter gauge = the file's notAfter", text)
    c.check(value(text, "sipsd_tls_crl_next_update_seconds", domain="server:default") == asn1_unix(nu.split("=", 1)[1]),
            "CRL nextUpdate gauge = the CRL's nextUpdate", text)
    # The CRL expires in 5 days, inside the default 14: flagged and logged; the certificate not.
    # "in 4 days 23 hours" or, within the second the CRL was made, "in 5 days 0 hours".
    c.check(value(text, "sipsd_tls_expiry_warning", domain="server:default", kind="crl") == 1,
            "a CRL within expiry_warning_days is flagged", text)
    c.check(value(text, "sipsd_tls_expiry_warning", domain="server:default", kind="certificate") == 0,
            "a certificate far from expiry is not flagged", text)
    c.check(value(text, "sipsd_tls_expiry_warning_days") == 14, "expiry_warning_days defaults to 14")
    crl_lines = [l for l in d.output().splitlines() if "reaches its nextUpdate" in l]
    c.check(len(crl_lines) == 1 and re.search(r"WARNING: tls: CRL \S+ of CA 'metrics CA' \(TLS domains? [^)]*server:default"
                                              r"[^)]*\) reaches its nextUpdate .* in [45] days", crl_lines[0]) is not None,
            "the due CRL is logged as a warning at start, in one line naming its domains", d.output()[-2000:])

    base = {r: hs(r) for r in ("ok", "no_certificate", "unknown_ca", "expired", "revoked", "timeout")}
    crt = lambda n: (os.path.join(ca, "certs", n + ".crt"), os.path.join(ca, "certs", n + ".key"))  # noqa: E731
    c.check(tls_try(*crt("bob")) == 200, "Bob's handshake and OPTIONS succeed")
    wait_for(lambda: hs("ok") == base["ok"] + 1, 5, "ok handshake counted")
    c.check(True, "handshakes ok +1")
    text = scrape()[1]
    c.check((value(text, "sipsd_sip_replies_total", origin="local", **{"class": "2xx"}) or 0) >= 1,
            "the 200 to OPTIONS is counted as a local 2xx reply", text)
    c.check((value(text, "sipsd_messages_total", direction="in") or 0) >= 2, "messages in counted", text)

    tls_try()
    wait_for(lambda: hs("no_certificate") == base["no_certificate"] + 1, 5, "no_certificate counted")
    c.check(True, "a handshake without certificate: no_certificate +1")
    tls_try(os.path.join(other, "certs", "mallory.crt"), os.path.join(other, "certs", "mallory.key"))
    wait_for(lambda: hs("unknown_ca") == base["unknown_ca"] + 1, 5, "unknown_ca counted")
    c.check(True, "a certificate of another CA: unknown_ca +1")
    tls_try(*crt("old"))
    wait_for(lambda: hs("expired") == base["expired"] + 1, 5, "expired counted")
    c.check(True, "an expired certificate: expired +1")

    reloads = value(scrape()[1], "sipsd_tls_reloads_total", result="ok") or 0
    sipsd_ca("revoke", ca, "alice")
    wait_for(lambda: (value(scrape()[1], "sipsd_tls_reloads_total", result="ok") or 0) > reloads, 10, "reload after revoke")
    c.check(True, "the CRL change is a counted reload")
    tls_try(*crt("alice"))
    wait_for(lambda: hs("revoked") == base["revoked"] + 1, 5, "revoked counted")
    c.check(True, "a revoked certificate: revoked +1")

    # A peer that connects and says nothing is cut at handshake_timeout (1 s).
    with socket.create_connection((HOST, tls_port), timeout=5) as idle:
        wait_for(lambda: hs("timeout") == base["timeout"] + 1, 8, "timeout counted")
        c.check(True, "a silent peer: timeout +1")

    # Connections by transport move while a TLS connection is held open.
    ctx = ssl.create_default_context(cafile=os.path.join(ca, "ca.crt"))
    ctx.check_hostname = False
    ctx.load_cert_chain(*crt("bob"))
    before = value(scrape()[1], "sipsd_connections", transport="tls") or 0
    with socket.create_connection((HOST, tls_port), timeout=5) as raw, ctx.wrap_socket(raw) as s:
        s.sendall(sip_options(HOST, tls_port, "TLS"))
        read_sip_message(s)
        c.check(value(scrape()[1], "sipsd_connections", transport="tls") == before + 1,
                "an open TLS connection shows in sipsd_connections{transport=\"tls\"}")
        c.check((value(scrape()[1], "sipsd_connections", transport="tcp") or 0) >= 1,
                "the scrape's own TCP connection shows in sipsd_connections{transport=\"tcp\"}")
    final = scrape()[1]
    c.check(hs("ok") == base["ok"] + 2 and value(final, "sipsd_tls_handshakes_total", side="server", result="revoked") == base["revoked"] + 1,
            "every outcome was counted exactly once", final)
c.finish()

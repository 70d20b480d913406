#!/usr/bin/env python3
"""A Kamailio tls.cfg works unchanged: modparam("tls", "config", "tls.cfg") with [server:default],
[server:IP:PORT], [server:any] + server_name_mode, [client:default], [client:IP:PORT] and
[client:any] + server_id. Handshakes present the right certificates; forwards to the client
domains present theirs; differences are warnings naming FILE:LINE; Kamailio-only modparams are
accepted with a warning; broken input is an error with FILE:LINE:COL."""
import os
import shutil
import socket
import ssl
import sys
import tempfile
import threading

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "lib"))
from sipsd_harness import (Checker, Sipsd, build_dir, free_port, run, sipsd_binary, sipsd_ca,  # noqa: E402
                           wait_for)

HOST = "127.0.0.1"
c = Checker()
tmp = tempfile.mkdtemp(prefix="sipsd-kamtls-")
ca = os.path.join(tmp, "ca")
sipsd_ca("init", ca, "--cn", "Kamailio migration CA")
for name, cn in (("default", "default.example"), ("port", "port.example"), ("anysrv", "any.example")):
    sipsd_ca("server", ca, name, "--cn", cn, "--dns", cn, "--ip", HOST)
for name, cn in (("clidef", "client-default"), ("kam", "kam-client"), ("carrier", "carrier")):
    sipsd_ca("client", ca, name, "--cn", cn)

p1, p2, up1, up2 = free_port(), free_port(), free_port(also_udp=False), free_port(also_udp=False)
udp = free_port()

# The tls.cfg as a Kamailio admin has it: relative paths, Kamailio names and comments.
tls_cfg = f"""#
# Kamailio TLS configuration (migrated as is)
#
[server:default]
method = TLSv1.2+
verify_certificate = no
require_certificate = no
private_key = ca/certs/default.key
certificate = ca/certs/default.crt
ca_list = ca/ca.crt
server_id = default-srv

[server:{HOST}:{p2}]
method = TLSv1.2+
verify_certificate = yes
require_certificate = no
pkey_file = ca/certs/port.key
cert_file = "ca/certs/port.crt"
verify_depth = 3
ca_list = ca/ca.crt   # trailing comment

[server:any]
private_key = ca/certs/anysrv.key
certificate = ca/certs/anysrv.crt
server_name = any.example
server_name_mode = 1

[client:default]
verify_certificate = yes
require_certificate = yes
certificate = ca/certs/clidef.crt
private_key = ca/certs/clidef.key
ca_list = ca/ca.crt

[client:{HOST}:{up1}]
verify_certificate = yes
private_key = ca/certs/kam.key
certificate = ca/certs/kam.crt
calist_file = ca/ca.crt
cipher_list = HIGH:!aNULL

[client:any]
server_id = carrier
certificate = ca/certs/carrier.crt
private_key = ca/certs/carrier.key
verify_client = on
"""
with open(os.path.join(tmp, "tls.cfg"), "w") as f:
    f.write(tls_cfg)
lines = tls_cfg.splitlines()


def line_of(text, start=0):
    return next(i + 1 for i, l in enumerate(lines) if i >= start and text in l)


sipsd_cfg = f"""
listen=udp:{HOST}:{udp}
listen=tls:{HOST}:{p1}
listen=tls:{HOST}:{p2}
loadmodule "tls.so"
loadmodule "sl.so"
modparam("tls", "config", "tls.cfg")
modparam("tls", "ssl_release_buffers", 1)
modparam("tls", "send_close_notify", 1)
modparam("tls", "renegotiation", 0)
modparam("tls", "low_mem_threshold1", -1)
modparam("tls", "tls_disable_compression", 1)
route {{
    if (@ruri.user == "fwd") {{ forward_tls("{HOST}", {up1}); exit; }}
    if (@ruri.user == "carrier") {{ tls_set_connect_server_id("carrier"); forward_tls("{HOST}", {up2}); exit; }}
    sl_send_reply("200", "OK");
}}
"""
cfg_path = os.path.join(tmp, "sipsd.cfg")
with open(cfg_path, "w") as f:
    f.write(sipsd_cfg)

# 1. sipsd -c: OK, with warnings that name FILE:LINE for each difference.
r = run([sipsd_binary(), "-c", "-f", cfg_path, "-L", os.path.join(build_dir(), "modules"), "-L", build_dir()])
c.check(r.returncode == 0 and "config OK" in r.stderr, "sipsd -c accepts the Kamailio tls.cfg", r.stderr)
tcfg = os.path.join(tmp, "tls.cfg")
for what, needle in (("server_id on a server domain", f"{tcfg}:{line_of('server_id = default-srv')}:"),
                     ("server_name_mode", f"{tcfg}:{line_of('server_name_mode')}:"),
                     ("verify_client on a client domain", f"{tcfg}:{line_of('verify_client')}:")):
    c.check(needle in r.stderr and "warning" in r.stderr, f"warning names FILE:LINE for {what}", r.stderr)
cfgl = sipsd_cfg.splitlines()
for param in ("ssl_release_buffers", "send_close_notify", "renegotiation", "low_mem_threshold1"):
    ln = next(i + 1 for i, l in enumerate(cfgl) if param in l)
    c.check(f"{cfg_path}:{ln}:" in r.stderr and f'modparam("tls", "{param}") has no effect' in r.stderr,
            f"Kamailio modparam {param} is accepted with a warning naming its line", r.stderr)


# 2. Upstream TLS servers that require a client certificate and record who presented it.
def upstream(port, seen):
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.load_cert_chain(os.path.join(ca, "certs", "default.crt"), os.path.join(ca, "certs", "default.key"))
    ctx.load_verify_locations(os.path.join(ca, "ca.crt"))
    ctx.verify_mode = ssl.CERT_REQUIRED
    srv = socket.create_server((HOST, port))
    srv.settimeout(30)

    def serve():
        try:
            conn, _ = srv.accept()
            with ctx.wrap_socket(conn, server_side=True) as s:
                cert = s.getpeercert()
                seen.append(dict(x[0] for x in cert["subject"])["commonName"])
                s.recv(65536)
        except (OSError, ssl.SSLError) as e:
            seen.append("error: %s" % e)
        finally:
            srv.close()
    t = threading.Thread(target=serve, daemon=True)
    t.start()
    return t


def server_cn(port, sni=None):
    ctx = ssl.create_default_context(cafile=os.path.join(ca, "ca.crt"))
    ctx.check_hostname = False
    with socket.create_connection((HOST, port), timeout=5) as raw:
        with ctx.wrap_socket(raw, server_hostname=sni) as s:
            return dict(x[0] for x in s.getpeercert()["subject"])["commonName"]


def options(user):
    msg = (f"OPTIONS sip:{user}@{HOST}:{udp} SIP/2.0\r\nVia: SIP/2.0/UDP {HOST}:9;branch=z9hG4bK{user}\r\n"
           f"Max-Forwards: 70\r\nFrom: <sip:t@x>;tag=1\r\nTo: <sip:{user}@x>\r\nCall-ID: {user}@t\r\n"
           f"CSeq: 1 OPTIONS\r\nContent-Length: 0\r\n\r\n").encode()
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        s.sendto(msg, (HOST, udp))


seen1, seen2 = [], []
t1, t2 = upstream(up1, seen1), upstream(up2, seen2)
with Sipsd(sipsd_cfg, workdir=tmp, name="sipsd") as d:
    shutil.copy(os.path.join(tmp, "tls.cfg"), os.path.join(tmp, "tls.cfg.bak"))
    d.start(wait_tcp=[(HOST, p1), (HOST, p2)])
    c.check(server_cn(p1) == "default.example", "[server:default] certificate on the default listener")
    c.check(server_cn(p2) == "port.example", f"[server:{HOST}:{p2}] certificate on its listener")
    c.check(server_cn(p1, "any.example") == "any.example", "[server:any] server_name any.example by SNI")
    c.check(server_cn(p2, "a.any.example") == "any.example", "server_name_mode = 1: a subdomain by SNI")
    c.check(server_cn(p1, "other.example") == "default.example", "an unknown SNI name gets the default")
    options("fwd")
    wait_for(lambda: seen1, 15, "the forward to the client domain")
    c.check(seen1 == ["kam-client"], f"forward to [client:{HOST}:{up1}] presents its certificate", str(seen1) + d.output()[-2000:])
    options("carrier")
    wait_for(lambda: seen2, 15, "the forward with server_id carrier")
    c.check(seen2 == ["carrier"], "tls_set_connect_server_id(\"carrier\") uses [client:any] server_id = carrier",
            str(seen2) + d.output()[-2000:])

# 3. Errors name FILE:LINE:COL; the stock Debian file fails only on its missing certificates.
bad = tls_cfg.replace("verify_depth = 3", "verify_dept = 3")
with open(os.path.join(tmp, "tls.cfg"), "w") as f:
    f.write(bad)
r = run([sipsd_binary(), "-c", "-f", cfg_path, "-L", os.path.join(build_dir(), "modules"), "-L", build_dir()])
c.check(r.returncode == 1 and f"{tcfg}:{line_of('verify_depth')}:1: unknown setting 'verify_dept'" in r.stderr,
        "an unknown setting is an error with FILE:LINE:COL", r.stderr)
with open(os.path.join(tmp, "tls.cfg"), "w") as f:
    f.write(tls_cfg + f"\n[server:{HOST}:{p2}]\ncertificate = ca/certs/port.crt\nprivate_key = ca/certs/port.key\n")
r = run([sipsd_binary(), "-c", "-f", cfg_path, "-L", os.path.join(build_dir(), "modules"), "-L", build_dir()])
c.check(r.returncode == 1 and "needs a server_name to tell them apart" in r.stderr and f"{tcfg}:{len(lines) + 2}:1" in r.stderr,
        "a second section for one address without server_name is an error naming both", r.stderr)
if os.path.exists("/etc/kamailio/tls.cfg"):
    shutil.copy("/etc/kamailio/tls.cfg", os.path.join(tmp, "tls.cfg"))
    r = run([sipsd_binary(), "-c", "-f", cfg_path, "-L", os.path.join(build_dir(), "modules"), "-L", build_dir()])
    c.check(r.returncode == 1 and "kamailio-selfsigned" in r.stderr and "unknown" not in r.stderr,
            "Debian's stock tls.cfg parses; only its missing certificate is reported", r.stderr)
shutil.rmtree(tmp, ignore_errors=True)
c.finish()

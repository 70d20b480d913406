#!/usr/bin/env python3
"""patches/kamailio: Debian's packaged kamailio.cfg and tls.cfg, patched with `patch`, make
the stock Kamailio a mutual-TLS peer of sipsd. A sipp call flow (INVITE, 180, 200, ACK, BYE)
runs both ways on loopback:
  sipsd -> kamailio: sipp UAC -UDP-> sipsd -mTLS-> kamailio -UDP-> sipp UAS
  kamailio -> sipsd: sipp UAC -UDP-> kamailio -mTLS-> sipsd -UDP-> sipp UAS
and a TLS client without a certificate of the shared CA is refused by kamailio."""
import os
import shutil
import signal
import socket
import ssl
import subprocess
import sys
import tempfile

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "lib"))
from sipsd_harness import (ROOT, Checker, Sipsd, free_port, run, sipsd_ca, tcp_open, tls_params, udp_bound,  # noqa: E402
                           wait_for)

HOST = "127.0.0.1"
CALLS = 5
c = Checker()
for f in ("/etc/kamailio/kamailio.cfg", "/etc/kamailio/tls.cfg"):
    if not os.path.exists(f):
        print(f"FAIL: {f} is missing (tools/setup.sh installs kamailio and kamailio-tls-modules)")
        sys.exit(1)
for tool in ("kamailio", "patch", "sipp"):
    if not shutil.which(tool):
        print(f"FAIL: {tool} is not installed")
        sys.exit(1)

tmp = tempfile.mkdtemp(prefix="sipsd-kamailio-")
kam = os.path.join(tmp, "kamailio")
os.makedirs(os.path.join(kam, "certs"))
os.makedirs(os.path.join(kam, "run"))
# 1. The packaged files, patched as the kit's README says.
for name in ("kamailio.cfg", "tls.cfg"):
    shutil.copy("/etc/kamailio/" + name, os.path.join(kam, name))
    r = run(["patch", "-p1", "-d", kam, "-i", os.path.join(ROOT, "patches", "kamailio", name + ".patch")])
    c.check(r.returncode == 0, "patch applies to the packaged " + name, r.stdout + r.stderr)

# 2. One CA for both; each side's certificate is good for serving and for connecting out.
ca = os.path.join(tmp, "ca")
sipsd_ca("init", ca, "--cn", "interop CA")
for n in ("kamailio", "sipsd"):
    sipsd_ca("server", ca, n, "--cn", n, "--ip", HOST, "--dns", "localhost", "--client-auth")
sipsd_ca("client", ca, "stranger", "--cn", "stranger")
shutil.copy(os.path.join(ca, "ca.crt"), os.path.join(kam, "certs", "ca.crt"))
for ext in ("crt", "key"):
    shutil.copy(os.path.join(ca, "certs", "kamailio." + ext), os.path.join(kam, "certs", "kamailio." + ext))

k_udp, k_tls = free_port(), free_port()
s_udp, s_tls = free_port(), free_port()
uas1, uas2, uac1, uac2 = free_port(), free_port(), free_port(), free_port()
with open(os.path.join(kam, "kamailio-local.cfg"), "w") as f:
    f.write(f'listen=udp:{HOST}:{k_udp}\nlisten=tls:{HOST}:{k_tls}\n'
            f'#!define SIPSD_DU "sip:{HOST}:{s_tls};transport=tls"\n')

sipsd_cfg = f"""
listen=udp:{HOST}:{s_udp}
listen=tls:{HOST}:{s_tls}
loadmodule "tls"
loadmodule "sl"
{tls_params('ca/certs/sipsd.crt', 'ca/certs/sipsd.key', 'ca/ca.crt', 1, 1)}
route {{
    if (proto == TLS) {{
        # from kamailio: only its verified certificate is let through
        if (!@tls.peer.verified || @tls.peer != "kamailio") {{
            sl_send_reply("403", "Forbidden");
            exit;
        }}
        forward();
        exit;
    }}
    # from the UAC: to kamailio over mutual TLS
    forward_tls("{HOST}", {k_tls});
}}
"""

# sipp's built-in uac without a route set would send ACK/BYE by request URI only; a proxy
# that record-routes (Kamailio) needs them routed (RFC 3261 §12.2.1.1): the same flow, rrs on.
UAC_XML = """<?xml version="1.0" encoding="ISO-8859-1" ?>
<scenario name="uac with route set">
  <send retrans="500"><![CDATA[
INVITE sip:[service]@[remote_ip]:[remote_port] SIP/2.0
Via: SIP/2.0/[transport] [local_ip]:[local_port];branch=[branch]
From: sipp <sip:sipp@[local_ip]:[local_port]>;tag=[pid]SIPpTag00[call_number]
To: [service] <sip:[service]@[remote_ip]:[remote_port]>
Call-ID: [call_id]
CSeq: 1 INVITE
Contact: sip:sipp@[local_ip]:[local_port]
Max-Forwards: 70
Content-Type: application/sdp
Content-Length: [len]

v=0
o=user1 53655765 2353687637 IN IP[local_ip_type] [local_ip]
s=-
c=IN IP[media_ip_type] [media_ip]
t=0 0
m=audio [media_port] RTP/AVP 0
a=rtpmap:0 PCMU/8000
]]></send>
  <!-- "global": a 100/180 may also come after the 200 (Kamailio's UDP children relay replies in
       parallel and UDP keeps no order); a real UAC drops such a stray provisional, sipp would
       abort the call on it. advance_state="false": it changes nothing ([last_*], state). -->
  <recv response="100" optional="global" advance_state="false"/>
  <recv response="180" optional="global" advance_state="false"/>
  <recv response="200" rrs="true" rtd="true"/>
  <send><![CDATA[
ACK [next_url] SIP/2.0
Via: SIP/2.0/[transport] [local_ip]:[local_port];branch=[branch]
From: sipp <sip:sipp@[local_ip]:[local_port]>;tag=[pid]SIPpTag00[call_number]
To: [service] <sip:[service]@[remote_ip]:[remote_port]>[peer_tag_param]
Call-ID: [call_id]
CSeq: 1 ACK
[routes]
Contact: sip:sipp@[local_ip]:[local_port]
Max-Forwards: 70
Content-Length: 0

]]></send>
  <pause milliseconds="100"/>
  <send retrans="500"><![CDATA[
BYE [next_url] SIP/2.0
Via: SIP/2.0/[transport] [local_ip]:[local_port];branch=[branch]
From: sipp <sip:sipp@[local_ip]:[local_port]>;tag=[pid]SIPpTag00[call_number]
To: [service] <sip:[service]@[remote_ip]:[remote_port]>[peer_tag_param]
Call-ID: [call_id]
CSeq: 2 BYE
[routes]
Contact: sip:sipp@[local_ip]:[local_port]
Max-Forwards: 70
Content-Length: 0

]]></send>
  <recv response="200" crlf="true"/>
</scenario>
"""
# And a UAS that copies Record-Route into its 2xx, as RFC 3261 §12.1.1 asks (the built-in one
# does not).
UAS_XML = """<?xml version="1.0" encoding="ISO-8859-1" ?>
<scenario name="uas with record-route">
  <recv request="INVITE" crlf="true"/>
  <send><![CDATA[
SIP/2.0 180 Ringing
[last_Via:]
[last_From:]
[last_To:];tag=[pid]SIPpTag01[call_number]
[last_Call-ID:]
[last_CSeq:]
[last_Record-Route:]
Contact: <sip:[local_ip]:[local_port];transport=[transport]>
Content-Length: 0

]]></send>
  <!-- a phone rings before it answers; Kamailio's two UDP children may still relay the 200
       before the 180 under load (UDP keeps no order): the UAC above accepts a late 180 -->
  <pause milliseconds="30"/>
  <send retrans="500"><![CDATA[
SIP/2.0 200 OK
[last_Via:]
[last_From:]
[last_To:];tag=[pid]SIPpTag01[call_number]
[last_Call-ID:]
[last_CSeq:]
[last_Record-Route:]
Contact: <sip:[local_ip]:[local_port];transport=[transport]>
Content-Type: application/sdp
Content-Length: [len]

v=0
o=user1 53655765 2353687637 IN IP[local_ip_type] [local_ip]
s=-
c=IN IP[media_ip_type] [media_ip]
t=0 0
m=audio [media_port] RTP/AVP 0
a=rtpmap:0 PCMU/8000
]]></send>
  <recv request="ACK" optional="true" rtd="true" crlf="true"/>
  <recv request="BYE"/>
  <send><![CDATA[
SIP/2.0 200 OK
[last_Via:]
[last_From:]
[last_To:]
[last_Call-ID:]
[last_CSeq:]
Contact: <sip:[local_ip]:[local_port];transport=[transport]>
Content-Length: 0

]]></send>
</scenario>
"""
uas_xml = os.path.join(tmp, "uas_rr.xml")
with open(uas_xml, "w") as f:
    f.write(UAS_XML)
uac_xml = os.path.join(tmp, "uac_routes.xml")
with open(uac_xml, "w") as f:
    f.write(UAC_XML)

procs = []


def start(args, log):
    p = subprocess.Popen(args, stdout=open(log, "wb"), stderr=subprocess.STDOUT, cwd=tmp)
    procs.append(p)
    return p


def stop(p):
    if p.poll() is None:
        p.send_signal(signal.SIGTERM)
        try:
            p.wait(10)
        except subprocess.TimeoutExpired:
            p.kill()
            p.wait()


def tail(path, n=3000):
    try:
        return open(path, errors="replace").read()[-n:]
    except OSError:
        return ""


klog = os.path.join(tmp, "kamailio.log")
try:
    with Sipsd(sipsd_cfg, workdir=tmp) as d:
        d.start(wait_tcp=[(HOST, s_tls)])
        kp = start(["kamailio", "-f", os.path.join(kam, "kamailio.cfg"), "-DD", "-E", "-Y", os.path.join(kam, "run"),
                    "-m", "64", "-M", "8"], klog)
        wait_for(lambda: kp.poll() is not None or tcp_open(HOST, k_tls), 30, "kamailio TLS listener")
        c.check(kp.poll() is None, "the patched Debian kamailio runs", tail(klog))

        for what, uas, uac, via in (("sipsd -> kamailio", uas1, uac1, s_udp), ("kamailio -> sipsd", uas2, uac2, k_udp)):
            up = start(["sipp", "-sf", uas_xml, "-i", HOST, "-p", str(uas), "-nostdin"],
                       os.path.join(tmp, f"uas-{uas}.log"))
            wait_for(lambda: up.poll() is not None or udp_bound(uas), 10, "sipp UAS bound")
            r = run(["sipp", "-sf", uac_xml, f"{HOST}:{uas}", "-rsa", f"{HOST}:{via}", "-i", HOST, "-p", str(uac), "-s",
                     "service", "-m", str(CALLS), "-r", "10", "-timeout", "60", "-timeout_error",
                     "-nostdin"], timeout=120, cwd=tmp)
            c.check(r.returncode == 0, f"{what}: {CALLS} sipp calls (INVITE/180/200/ACK/BYE) succeed",
                    r.stdout[-1500:] + r.stderr[-1500:] + "\nkamailio:\n" + tail(klog) + "\nsipsd:\n" + d.output()[-2000:])
            stop(up)

        # kamailio's side of the kit: a TLS client without a certificate of the CA gets no SIP through.
        ctx = ssl.create_default_context(cafile=os.path.join(ca, "ca.crt"))
        ctx.check_hostname = False
        refused = False
        try:
            with socket.create_connection((HOST, k_tls), timeout=5) as raw, ctx.wrap_socket(raw) as s:
                s.sendall(b"OPTIONS sip:x@127.0.0.1 SIP/2.0\r\n\r\n")
                refused = s.recv(100) == b""
        except (OSError, ssl.SSLError):
            refused = True
        c.check(refused, "kamailio refuses a TLS client without a certificate (require_certificate)")
        stop(kp)
finally:
    for p in procs:
        stop(p)
shutil.rmtree(tmp, ignore_errors=True)
c.finish()

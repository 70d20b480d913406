#!/usr/bin/env python3
"""Management through the real binary: the XML-RPC script of SER's TLS documentation run
unchanged on a TLS listener, called with tools/sipsctl and raw sockets; HTTPS /health with
client certificates; keep-alive and Connection: close; malformed XML-RPC answered with a
fault on a connection that stays usable; the issue's walk-through for Alice (core.version,
system.listMethods, tls.list showing her own connection, core.kill denied); core.kill refused
for Bob, obeyed for SER-Killer."""
import os
import socket
import ssl
import subprocess
import sys
import xmlrpc.client

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "lib"))
from sipsd_harness import (ROOT, Checker, Sipsd, free_port, header, make_pki, read_sip_message, status_of,
                           tls_client_context, tls_params, wait_for, work_dir)

SIPSCTL = os.path.join(ROOT, "tools", "sipsctl")


def config(tls_port, tcp_port, ca):
    return f"""
debug=3
children=2
listen=tls:127.0.0.1:{tls_port}
listen=tcp:127.0.0.1:{tcp_port}
loadmodule "tls"
loadmodule "sl"
loadmodule "xmlrpc"
loadmodule "http"
{tls_params(f'{ca}/certs/server.crt', f'{ca}/certs/server.key', f'{ca}/ca.crt', 1, 0)}

route {{
    if (method == "GET" && @http.path == "/health") {{
        http_reply(200, "OK", "application/json", "{{\\"status\\": \\"healthy\\"}}");
        exit;
    }}
    if (proto == TLS && (method == "POST" || method == "GET")) {{
        create_via();
        if (!@tls.peer.verified) {{
            xmlrpc_reply("400", "Unauthorized");
            break;
        }}
        if (@xmlrpc.method == "core.kill") {{
            if (@tls.peer != "SER-Killer") {{
                xmlrpc_reply("400", "Access to core.kill denied");
                break;
            }}
        }}
        dispatch_rpc();
        break;
    }}
    if (proto == TCP && src_ip == 127.0.0.1 && method == "POST") {{
        dispatch_rpc();
        break;
    }}
}}
"""


def sipsctl(url, ca, who, *args):
    cmd = [sys.executable, SIPSCTL, "-u", url, "--ca", os.path.join(ca, "ca.crt")]
    if who:
        cmd += ["--cert", os.path.join(ca, "certs", who + ".crt"), "--key", os.path.join(ca, "certs", who + ".key")]
    else:
        cmd += ["--no-cert"]
    p = subprocess.run(cmd + list(args), capture_output=True, text=True, timeout=30)
    return p.returncode, p.stdout, p.stderr


def xml_call(method, params_xml=""):
    return (f'<?xml version="1.0"?><methodCall><methodName>{method}</methodName>'
            f'<params>{params_xml}</params></methodCall>').encode()


def http_post(body, version="HTTP/1.1", extra=""):
    return (f"POST /RPC2 {version}\r\nHost: 127.0.0.1\r\nContent-Type: text/xml\r\n{extra}"
            f"Content-Length: {len(body)}\r\n\r\n").encode() + body


def main():
    c = Checker()
    tmp = work_dir("sipsd-mgmt-")
    ca = make_pki(tmp, clients=("bob:Bob", "alice:Alice", "ser-killer:SER-Killer"))
    tls_port, tcp_port = free_port(), free_port()
    url = f"https://127.0.0.1:{tls_port}/RPC2"
    with Sipsd(config(tls_port, tcp_port, ca), workdir=tmp) as d:
        d.start(wait_tcp=[("127.0.0.1", tls_port), ("127.0.0.1", tcp_port)])

        # Alice, step by step as issue 6 describes her session.
        rc, out, err = sipsctl(url, ca, "alice", "core.version")
        c.check(rc == 0 and out.startswith("sipsd "), "core.version as Alice", (rc, out, err))
        rc, out, err = sipsctl(url, ca, "alice", "system.listMethods")
        c.check(rc == 0 and {"core.version", "tls.list", "tls.kill"} <= set(out.split()),
                "system.listMethods as Alice lists tls.kill", out)
        rc, out, err = sipsctl(url, ca, "alice", "core.kill")
        c.check(rc == 1 and "fault 400: Access to core.kill denied" in err, "core.kill refused for Alice", (rc, err))
        # tls.list on a connection of her own: the entry whose remote address is this socket.
        actx = tls_client_context(ca, os.path.join(ca, "certs", "alice.crt"), os.path.join(ca, "certs", "alice.key"))
        with socket.create_connection(("127.0.0.1", tls_port), timeout=10) as raw, \
                actx.wrap_socket(raw, server_hostname="127.0.0.1") as s:
            s.sendall(http_post(xml_call("tls.list")))
            msg, _ = read_sip_message(s)
            try:
                (rows,), _ = xmlrpc.client.loads(msg.split(b"\r\n\r\n", 1)[1])
            except Exception as e:  # a fault or garbage: show it
                rows = [repr(e)]
            me = "127.0.0.1:%d" % s.getsockname()[1]
            mine = [r for r in rows if isinstance(r, dict) and r.get("remote") == me]
            c.check(len(mine) == 1 and mine[0].get("peer") == "Alice" and mine[0].get("verified") is True
                    and mine[0].get("state") == "established" and mine[0].get("side") == "server",
                    "tls.list shows Alice's own connection, verified", (me, rows))
        c.check(d.alive(), "sipsd still running after Alice's session")

        rc, out, err = sipsctl(url, ca, "bob", "core.version")
        c.check(rc == 0 and out.startswith("sipsd "), "core.version as Bob", (rc, out, err))
        rc, out, err = sipsctl(url, ca, "bob", "system.listMethods")
        names = out.split()
        c.check(rc == 0 and {"core.kill", "core.stats", "core.uptime", "tls.list"} <= set(names),
                "system.listMethods lists core and tls methods", out)
        rc, out, err = sipsctl(url, ca, "bob", "tls.list")
        c.check(rc == 0 and "peer" in out.splitlines()[0] and " Bob " in out, "tls.list shows Bob as a table", out)
        rc, out, err = sipsctl(url, ca, "bob", "core.stats")
        c.check(rc == 0 and "messages_in:" in out and "workers:" in out, "core.stats", out)
        rc, out, err = sipsctl(url, ca, "bob", "core.kill")
        c.check(rc == 1 and "fault 400: Access to core.kill denied" in err, "core.kill refused for Bob", (rc, err))
        c.check(d.alive(), "sipsd still running after the refused core.kill")
        rc, out, err = sipsctl(url, ca, None, "core.version")
        c.check(rc == 1 and "fault 400: Unauthorized" in err, "no client certificate: Unauthorized", (rc, err))

        # HTTPS /health (the Media Gateway check) with curl and a client certificate.
        p = subprocess.run(["curl", "-s", "--cacert", os.path.join(ca, "ca.crt"),
                            "--cert", os.path.join(ca, "certs", "bob.crt"),
                            "--key", os.path.join(ca, "certs", "bob.key"), f"https://127.0.0.1:{tls_port}/health"],
                           capture_output=True, text=True, timeout=30)
        c.check(p.stdout == '{"status": "healthy"}', "curl /health", (p.returncode, p.stdout, p.stderr))

        # One TLS connection: malformed body -> fault, then a good call on the same connection.
        ctx = tls_client_context(ca, os.path.join(ca, "certs", "bob.crt"), os.path.join(ca, "certs", "bob.key"))
        with socket.create_connection(("127.0.0.1", tls_port), timeout=10) as raw, \
                ctx.wrap_socket(raw, server_hostname="127.0.0.1") as s:
            s.sendall(http_post(b"<methodCall><methodName>core.version</methodName><params><param><value><i4>x"))
            msg, rest = read_sip_message(s)
            c.check(status_of(msg) == 200 and b"<int>-32700</int>" in msg and b"line 1, column" in msg,
                    "malformed XML-RPC gets a -32700 fault with a position", msg[-300:])
            c.check(header(msg, "Connection") is None, "keep-alive on HTTP/1.1", msg[:300])
            s.sendall(http_post(xml_call("core.uptime")))
            msg, rest = read_sip_message(s, rest)
            c.check(status_of(msg) == 200 and b"<name>uptime</name>" in msg, "same connection serves the next call")
            body = msg.split(b"\r\n\r\n", 1)[1]
            c.check(header(msg, "Content-Length") == str(len(body)), "Content-Length matches the body")
            s.sendall(http_post(xml_call("core.version"), extra="Connection: close\r\n"))
            msg, rest = read_sip_message(s, rest)
            c.check(header(msg, "Connection") == "close", "Connection: close echoed", msg[:300])
            try:
                closed = s.recv(1) == b""
            except (ssl.SSLError, OSError):
                closed = True
            c.check(closed, "server closes after Connection: close")

        # Plain TCP, HTTP/1.0 without keep-alive: answered, then closed.
        with socket.create_connection(("127.0.0.1", tcp_port), timeout=10) as s:
            s.sendall(http_post(xml_call("system.methodHelp", "<param><value>core.kill</value></param>"),
                                version="HTTP/1.0"))
            msg, rest = read_sip_message(s)
            c.check(b"gracefully" in msg and header(msg, "Connection") == "close", "XML-RPC over TCP, HTTP/1.0", msg)
            c.check(s.recv(1) == b"", "HTTP/1.0 connection closed after the answer")

        rc, out, err = sipsctl(url, ca, "ser-killer", "core.kill")
        c.check(rc == 0 and out.strip() == "shutting down", "core.kill as SER-Killer answers", (rc, out, err))
        try:
            wait_for(lambda: not d.alive(), 15, "sipsd to stop after core.kill")
            c.check(d.proc.returncode == 0, "sipsd exits 0 after core.kill", d.proc.returncode)
        except AssertionError as e:
            c.check(False, "sipsd stops after core.kill", str(e))
        log = d.output()
        c.check("xmlrpc_reply 400 to TLS:127.0.0.1:" in log and "called core.kill" in log,
                "refusals and calls are logged", log[-2000:])
    c.finish()


if __name__ == "__main__":
    main()

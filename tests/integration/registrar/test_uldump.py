#!/usr/bin/env python3
"""ul.dump of a table larger than the send queue, through the real sipsd binary and sipsctl.
3,000 AoRs are registered over UDP on a sipsd with one worker (so the dump and the SIP
traffic share it); their dump (~2 MB of XML) is twice tcp_max_send_queue (1 MiB), which cut
the answer before ul.dump was streamed.
  - sipsctl ul.dump over TCP and TLS: complete, every AoR there once, with its contact;
  - a client that reads slowly (small receive buffer and segments, late start, pauses): the whole answer arrives
    (HTTP/1.1 chunked, well-formed XML-RPC, every AoR), sipsd never hits its send queue bound,
    and OPTIONS sent to the same worker meanwhile are all answered, promptly;
  - ul.dump brief (Kamailio's argument): AoRs and contact URIs only; another argument: fault;
  - an HTTP/1.0 client gets the whole answer ending with the connection;
  - a client that goes away in the middle: sipsd logs it and keeps serving (next dump fine).
Run: SIPSD_BUILD_DIR=build python3 tests/integration/registrar/test_uldump.py"""
import json
import os
import socket
import sys
import time
import xmlrpc.client

HERE = os.path.dirname(__file__)
sys.path.insert(0, os.path.join(HERE, "..", "lib"))
sys.path.insert(0, HERE)
from sipsd_harness import ROOT, Checker, Sipsd, free_port, make_pki, run, tls_params, wait_for, work_dir  # noqa: E402,E501
from bulk_ua import HOST, OptionsProbe, bulk_register, one_worker_config  # noqa: E402

SIPSCTL = os.path.join(ROOT, "tools", "sipsctl")
AORS = 3000

def sipsctl(tcp, *args, as_json=True, url=None, tls_args=()):
    r = run([sys.executable, SIPSCTL, "-u", url or f"http://{HOST}:{tcp}/RPC2"] + list(tls_args) +
            (["--json"] if as_json else []) + list(args), timeout=60)
    return r.returncode, r.stdout, r.stderr


def dechunk(body):
    """An HTTP/1.1 chunked body: (data, True) when it ended with the last chunk, else (what came, False)."""
    out = b""
    while True:
        line, sep, rest = body.partition(b"\r\n")
        if not sep:
            return out, False
        size = int(line.split(b";")[0], 16)
        if size == 0:
            return out, True
        if len(rest) < size + 2:
            return out + rest[:size], False
        out += rest[:size]
        body = rest[size + 2:]


def raw_dump(tcp, params=(), version="HTTP/1.1", rcvbuf=None, read=65536, pause=0.0, give_up_after=None, wait=0.0):
    """POSTs ul.dump over a plain socket and reads the answer as a (slow) client would: `wait`
    s before the first read (busy elsewhere), then `read` bytes at a time with `pause` s between.
    Returns (head, body bytes, complete, seconds from the first byte to the end)."""
    body = xmlrpc.client.dumps(tuple(params), "ul.dump").encode()
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    if rcvbuf:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, rcvbuf)
        # Segments of a real network, not loopback's 64 KiB: the kernel then buffers little for
        # sipsd (its send buffer grows with the segment size), as it would for a remote client.
        s.setsockopt(socket.IPPROTO_TCP, socket.TCP_MAXSEG, 1400)
    s.settimeout(20)
    s.connect((HOST, tcp))
    s.sendall((f"POST /RPC2 {version}\r\nHost: {HOST}\r\nContent-Type: text/xml\r\n"
               f"Content-Length: {len(body)}\r\n\r\n").encode() + body)
    time.sleep(wait)
    data = b""
    first = None
    while True:
        try:
            got = s.recv(read)
        except socket.timeout:
            break
        if not got:
            break
        first = first or time.monotonic()
        data += got
        if give_up_after and len(data) >= give_up_after:
            break
        if data.endswith(b"\r\n0\r\n\r\n"):
            break
        if pause:
            time.sleep(pause)
    end = time.monotonic()
    s.close()
    head, _, rest = data.partition(b"\r\n\r\n")
    head = head.decode(errors="replace")
    if "transfer-encoding: chunked" in head.lower():
        payload, complete = dechunk(rest)
    else:
        payload, complete = rest, True  # ends with the connection: only the XML can tell
    return head, payload, complete, (end - first) if first else 0.0


def records_of(payload):
    """The ul.dump result of an XML-RPC document (raises on malformed XML)."""
    (result,), _ = xmlrpc.client.loads(payload)
    return result


def main():
    c = Checker()
    udp, tcp, tls = free_port(), free_port(), free_port()
    ca = make_pki(work_dir("sipsd-uldump-pki-"), clients=("bob:Bob",))
    tls_lines = (f'listen=tls:{HOST}:{tls}\nloadmodule "tls"\n' +
                 tls_params(f"{ca}/certs/server.crt", f"{ca}/certs/server.key", f"{ca}/ca.crt", 1, 0))
    users = [f"u{i:05d}" for i in range(AORS)]
    with Sipsd(one_worker_config(udp, tcp, tls=tls_lines), name="uldump") as sipsd:
        sipsd.start(wait_tcp=[(HOST, tcp)])
        t0 = time.monotonic()
        ok = bulk_register(udp, users)
        c.check(ok == AORS, f"{AORS} AoRs registered over UDP ({time.monotonic() - t0:.1f}s)", f"got {ok} 200s")

        # sipsctl, reading as fast as it can.
        rc, out, err = sipsctl(tcp, "ul.dump")
        dump = json.loads(out) if rc == 0 else {}
        aors = [r["aor"] for r in dump.get("records", [])]
        c.check(rc == 0 and sorted(aors) == users and dump.get("aors") == AORS and dump.get("contacts") == AORS,
                f"sipsctl ul.dump: all {AORS} AoRs, each once, with the counts", f"rc={rc} n={len(aors)} {err[-300:]}")
        sample = next((r for r in dump.get("records", []) if r["aor"] == "u00042"), {})
        ct = (sample.get("contacts") or [{}])[0]
        c.check(ct.get("contact", "").startswith("sip:u00042@127.0.0.1:") and ct.get("user_agent", "").startswith("bulk-ua"),
                "ul.dump shows a binding's contact and User-Agent", str(sample))

        # The same over TLS (sipsctl's default transport), with a client certificate.
        rc, out, err = sipsctl(tcp, "ul.dump", url=f"https://{HOST}:{tls}/RPC2",
                               tls_args=("--ca", f"{ca}/ca.crt", "--cert", f"{ca}/certs/bob.crt"))
        tls_aors = sorted(r["aor"] for r in json.loads(out)["records"]) if rc == 0 else []
        c.check(tls_aors == users, f"sipsctl ul.dump over TLS: all {AORS} AoRs", f"rc={rc} {err[-300:]}")

        # A slow reader: the answer comes as it reads; the worker keeps answering SIP meanwhile.
        probe = OptionsProbe(udp, every=0.005).start()
        time.sleep(0.2)
        t_start = time.monotonic()
        head, payload, complete, took = raw_dump(tcp, rcvbuf=32768, read=16384, pause=0.01, wait=0.5)
        t_end = time.monotonic()
        time.sleep(0.1)
        probe.stop()
        answered, lost, slowest = probe.between(t_start, t_end)
        try:
            result = records_of(payload)
            slow_aors = sorted(r["aor"] for r in result["records"])
        except Exception as e:  # noqa: BLE001 - a malformed answer is the failure reported
            result, slow_aors = {}, [f"unparsable: {e}"]
        c.check("Transfer-Encoding: chunked" in head and complete,
                f"slow reader: the answer is chunked and ends with its last chunk ({len(payload)} bytes in {took:.1f}s)",
                head)
        c.check(slow_aors == users and len(payload) > (1 << 20),
                "slow reader: well-formed XML-RPC with every AoR, larger than tcp_max_send_queue (1 MiB)",
                f"{len(slow_aors)} AoRs")
        c.check(answered >= 20 and lost == 0 and slowest < 0.5,
                "OPTIONS to the same worker answered while the dump was written",
                f"answered {answered}, lost {lost}, slowest {slowest * 1000:.0f} ms")
        print(f"   OPTIONS during the slow dump: {answered} answered, slowest {slowest * 1000:.1f} ms", flush=True)
        c.check("send queue over" not in sipsd.output(), "sipsd never reached its send queue bound",
                sipsd.output()[-500:])

        # Kamailio's "brief": AoRs and contact URIs only.
        rc, out, err = sipsctl(tcp, "ul.dump", "brief")
        brief = json.loads(out) if rc == 0 else {}
        recs = brief.get("records", [])
        c.check(rc == 0 and len(recs) == AORS and all(list(x.keys()) == ["contact"] for r in recs for x in r["contacts"]),
                "ul.dump brief: every AoR with its contact URI only", f"rc={rc} {err[-200:]} {recs[:1]}")
        rc, out, err = sipsctl(tcp, "ul.dump", "brief", as_json=False)
        lines = out.splitlines()
        c.check(rc == 0 and lines[:1] == [f"table location  store memory  aors {AORS}  contacts {AORS}"] and
                len(lines) == 1 + 2 * AORS and "u00042 (1 contact)" in lines and
                any(x.startswith("  sip:u00042@127.0.0.1:") for x in lines),
                "sipsctl ul.dump brief prints each AoR with its contact URI, one line each", "\n".join(lines[:5]))
        rc, out, err = sipsctl(tcp, "ul.dump", "full")
        c.check(rc == 1 and "-32602" in err and "brief" in err, "ul.dump with another argument: fault -32602 naming 'brief'",
                f"rc={rc} {err}")

        # HTTP/1.0: no chunks; the answer ends with the connection.
        head, payload, complete, _ = raw_dump(tcp, version="HTTP/1.0")
        ok10 = False
        try:
            ok10 = len(records_of(payload)["records"]) == AORS
        except Exception:  # noqa: BLE001
            pass
        c.check(head.startswith("HTTP/1.1 200") and "Connection: close" in head and "Content-Length" not in head and
                "chunked" not in head and ok10, "HTTP/1.0 client: the whole answer, ended by closing the connection", head)

        # A client that leaves in the middle: logged, and the next dump is whole.
        head, payload, complete, _ = raw_dump(tcp, rcvbuf=32768, read=16384, give_up_after=100000)
        c.check(not complete, "a client that stops reading midway got an incomplete (chunked) body")
        try:
            wait_for(lambda: "the connection closed before the answer was complete" in sipsd.output() or
                     "answer abandoned" in sipsd.output(), 15, "the abandoned dump to be logged")
            c.check(True, "sipsd logs the abandoned answer")
        except AssertionError as e:
            c.check(False, "sipsd logs the abandoned answer", str(e))
        rc, out, err = sipsctl(tcp, "ul.dump")
        c.check(rc == 0 and len(json.loads(out)["records"]) == AORS and sipsd.alive(),
                "after that, sipsd still runs and dumps the whole table", err[-300:])
    c.finish()


if __name__ == "__main__":
    main()

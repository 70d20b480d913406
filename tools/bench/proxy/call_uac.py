"""The benchmark's caller (run-proxy-bench.py): complete calls INVITE -> 200 -> ACK -> BYE -> 200
through a record-routing proxy, over UDP or over one TLS connection, W calls in flight.

ACK and BYE follow the route set of the 200 (its Record-Routes reversed as Route, request-URI
= the callee's Contact), so they pass the proxy's loose_route(). A call without its BYE's 200
within 8 s counts as failed. Over UDP nothing is retransmitted: on loopback a loss shows up as a
failed call, which the report prints.
"""
import re
import select
import socket
import ssl
import time

# A caller hangs up a little after its ACK: a proxy whose UDP workers share one socket
# (Kamailio's children) may otherwise relay a back-to-back BYE before the ACK, and the UAS
# (sipp) breaks the call on the early BYE.
BYE_DELAY = 0.02
_HDR = re.compile(rb"^([A-Za-z-]+)[ \t]*:[ \t]*(.*)$")
_LEN = re.compile(rb"\r\n(?:content-length|l)[ \t]*:[ \t]*(\d+)", re.I)


class Conn:
    def __init__(self, proto, host, port, cafile):
        self.proto = proto
        if proto == "udp":
            self.sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
            self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 8 << 20)
            self.sock.bind((host, 0))
            self.sock.connect((host, port))
        else:
            ctx = ssl.create_default_context(cafile=cafile)
            ctx.check_hostname = False
            raw = socket.create_connection((host, port), timeout=10)
            raw.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            self.sock = ctx.wrap_socket(raw)
        self.local = self.sock.getsockname()
        self.buf = b""

    def send(self, data):
        if self.proto == "udp":
            self.sock.send(data)
        else:
            self.sock.sendall(data)

    def messages(self, timeout):
        """Complete messages received within `timeout` seconds (maybe none)."""
        if self.proto == "tls" and self.sock.pending() == 0 or self.proto == "udp":
            r, _, _ = select.select([self.sock], [], [], timeout)
            if not r:
                return []
        out = []
        if self.proto == "udp":
            self.sock.setblocking(False)
            try:
                while True:
                    out.append(self.sock.recv(65535))
            except (BlockingIOError, InterruptedError):
                pass
            finally:
                self.sock.setblocking(True)
            return out
        self.sock.setblocking(False)
        try:
            while True:
                chunk = self.sock.recv(65536)
                if not chunk:
                    raise ConnectionError("the proxy closed the TLS connection")
                self.buf += chunk
        except (ssl.SSLWantReadError, BlockingIOError):
            pass
        finally:
            self.sock.setblocking(True)
        while True:
            end = self.buf.find(b"\r\n\r\n")
            if end < 0:
                break
            m = _LEN.search(self.buf, 0, end + 2)
            total = end + 4 + (int(m.group(1)) if m else 0)
            if len(self.buf) < total:
                break
            out.append(self.buf[:total])
            self.buf = self.buf[total:]
        return out

    def close(self):
        self.sock.close()


def parse_reply(msg):
    """status, call-id, cseq method, to, [record-route values], contact uri."""
    head = msg.split(b"\r\n\r\n", 1)[0].split(b"\r\n")
    if not head[0].startswith(b"SIP/2.0 "):
        return None
    status = int(head[0][8:11])
    cid = meth = to = contact = b""
    rr = []
    for line in head[1:]:
        m = _HDR.match(line)
        if not m:
            continue
        n, v = m.group(1).lower(), m.group(2)
        if n in (b"call-id", b"i"):
            cid = v
        elif n == b"cseq":
            meth = v.split()[-1]
        elif n in (b"to", b"t"):
            to = v
        elif n == b"record-route":
            rr.extend(x.strip() for x in v.split(b","))
        elif n in (b"contact", b"m"):
            mm = re.search(rb"<([^>]+)>", v)
            contact = mm.group(1) if mm else v.split(b";")[0]
    return status, cid, meth, to, rr, contact


class Caller:
    def __init__(self, conn, host, uas_port):
        self.c = conn
        self.via_proto = b"UDP" if conn.proto == "udp" else b"TLS"
        self.local = f"{conn.local[0]}:{conn.local[1]}".encode()
        self.ruri = f"sip:service@{host}:{uas_port}".encode()
        self.contact = b"<sip:uac@" + self.local + (b";transport=tls>" if conn.proto == "tls" else b">")
        self.n = 0
        self.tag = str(time.time_ns() % 10**9).encode()

    def invite(self):
        self.n += 1
        cid = b"%d-%s@bench" % (self.n, self.tag)
        msg = (b"INVITE " + self.ruri + b" SIP/2.0\r\n"
               b"Via: SIP/2.0/" + self.via_proto + b" " + self.local + b";branch=z9hG4bK" + cid[:-6] + b"i;rport\r\n"
               b"Max-Forwards: 70\r\n"
               b"From: <sip:uac@bench.example>;tag=f" + cid[:-6] + b"\r\n"
               b"To: <" + self.ruri + b">\r\n"
               b"Call-ID: " + cid + b"\r\nCSeq: 1 INVITE\r\nContact: " + self.contact + b"\r\n"
               b"Content-Length: 0\r\n\r\n")
        self.c.send(msg)
        return cid

    def in_dialog(self, method, cseq, cid, to, rr, target):
        route = (b"Route: " + b", ".join(reversed(rr)) + b"\r\n") if rr else b""
        msg = (method + b" " + target + b" SIP/2.0\r\n"
               b"Via: SIP/2.0/" + self.via_proto + b" " + self.local + b";branch=z9hG4bK" + cid[:-6] + method[:1] +
               b";rport\r\n" + route +
               b"Max-Forwards: 70\r\n"
               b"From: <sip:uac@bench.example>;tag=f" + cid[:-6] + b"\r\n"
               b"To: " + to + b"\r\nCall-ID: " + cid + b"\r\nCSeq: %d " % cseq + method + b"\r\n"
               b"Content-Length: 0\r\n\r\n")
        self.c.send(msg)


def run_calls(proto, host, port, uas_port, calls, window, cafile, warmup=0, on_warm=None):
    """Runs `warmup` complete calls (not counted), then on_warm() (when given), then `calls` more
    with `window` in flight, all on the same socket or TLS connection, so the measured calls reach
    the proxy's worker that the warm-up warmed. Returns completed, failed and elapsed of the
    measured calls."""
    conn = Conn(proto, host, port, cafile)
    try:
        caller = Caller(conn, host, uas_port)
        if warmup:
            _calls(conn, caller, warmup, window, proto, host, port)
        if on_warm:
            on_warm()
        return _calls(conn, caller, calls, window, proto, host, port)
    finally:
        conn.close()


def _calls(conn, caller, calls, window, proto, host, port):
    """`calls` complete calls on conn, `window` in flight, until all ended (completed or failed)."""
    active = {}  # call-id -> [state, started]; state 0 inviting, 1 bye sent
    byes = []  # (due, call-id, to, rr, target): a BYE waits BYE_DELAY after the ACK
    started = completed = failed = 0
    t0 = time.monotonic()
    last_sweep = t0
    try:
        while completed + failed < calls:
            while len(active) < window and started < calls:
                active[caller.invite()] = [0, time.monotonic()]
                started += 1
            now = time.monotonic()
            while byes and byes[0][0] <= now:
                _, cid, to, rr, target = byes.pop(0)
                caller.in_dialog(b"BYE", 2, cid, to, rr, target)
            for msg in conn.messages(0.2 if not byes else max(0.0, byes[0][0] - now)):
                p = parse_reply(msg)
                if not p:
                    continue
                status, cid, meth, to, rr, contact = p
                st = active.get(cid)
                if st is None:
                    continue
                if meth == b"INVITE" and status >= 200 and st[0] == 0:
                    if status >= 300:
                        failed += 1
                        del active[cid]
                        continue
                    target = contact or caller.ruri
                    caller.in_dialog(b"ACK", 1, cid, to, rr, target)
                    byes.append((time.monotonic() + BYE_DELAY, cid, to, rr, target))
                    st[0] = 1
                elif meth == b"BYE" and status >= 200 and st[0] == 1:
                    del active[cid]
                    if status < 300:
                        completed += 1
                    else:
                        failed += 1
            now = time.monotonic()
            if now - last_sweep > 1:
                last_sweep = now
                for cid in [k for k, v in active.items() if now - v[1] > 8]:
                    del active[cid]
                    failed += 1
    except (ConnectionError, OSError) as e:
        # The server gave up on us (e.g. out of memory): the calls not done count as failed.
        print(f"call_uac: {proto} connection to {host}:{port} lost: {e}")
        failed = calls - completed
    return {"completed": completed, "failed": failed, "elapsed": time.monotonic() - t0}


def ring_calls(host, port, uas_port, calls, timeout=60):
    """Starts `calls` INVITEs over UDP (500 at a time without a 180) and returns how many rang."""
    conn = Conn("udp", host, port, None)
    caller = Caller(conn, host, uas_port)
    waiting, rang = set(), set()
    started = 0
    deadline = time.monotonic() + timeout
    try:
        while len(rang) < calls and time.monotonic() < deadline:
            while len(waiting) < 500 and started < calls:
                waiting.add(caller.invite())
                started += 1
            for msg in conn.messages(0.2):
                p = parse_reply(msg)
                if p and p[0] == 180 and p[1] in waiting:
                    waiting.discard(p[1])
                    rang.add(p[1])
    finally:
        conn.close()
    return len(rang)

"""Many registrations at once and a SIP liveness probe, for the ul.dump test and its benchmark
(tools/bench/registrar/uldump-stall.py). Standard library only."""
import select
import socket
import threading
import time

HOST = "127.0.0.1"

# One worker serving RPCs over TCP (and TLS), REGISTER (save) and OPTIONS (200) on UDP and TCP: the dump
# and the SIP traffic share that worker. `settings`: extra global lines (e.g. tcp_max_send_queue).
CONFIG = """
debug=3
children=1
{settings}
listen=udp:{host}:{udp}
listen=tcp:{host}:{tcp}
{tls}
loadmodule "sl"
loadmodule "xmlrpc"
loadmodule "usrloc"
loadmodule "registrar"

route {{
    if ((proto == TCP || proto == TLS) && method == "POST") {{
        dispatch_rpc();
        exit;
    }}
    if (method == "REGISTER") {{
        save("location");
        exit;
    }}
    if (method == "OPTIONS") {{
        sl_reply("200", "OK");
        exit;
    }}
    sl_reply("404", "Not here");
}}
"""


def one_worker_config(udp, tcp, settings="", tls=""):
    """`tls`: the listen=tls line and the tls module's lines, when RPCs go over TLS too."""
    return CONFIG.format(host=HOST, udp=udp, tcp=tcp, settings=settings, tls=tls)


def _register(user, port, local, cseq=1, expires=3600):
    call_id = f"bulk-{user}@{local[0]}"
    # A phone-sized REGISTER (User-Agent included): the dump's size per binding is realistic.
    return (f"REGISTER sip:example.com SIP/2.0\r\n"
            f"Via: SIP/2.0/UDP {local[0]}:{local[1]};branch=z9hG4bK-{user}-{cseq};rport\r\n"
            f"Max-Forwards: 70\r\n"
            f"From: <sip:{user}@example.com>;tag=t{user}\r\n"
            f"To: <sip:{user}@example.com>\r\n"
            f"Call-ID: {call_id}\r\n"
            f"CSeq: {cseq} REGISTER\r\n"
            f"Contact: <sip:{user}@{local[0]}:{local[1]};transport=udp>\r\n"
            f"Expires: {expires}\r\n"
            f"User-Agent: bulk-ua/1.0 (sipsd ul.dump test)\r\n"
            f"Content-Length: 0\r\n\r\n").encode()


def bulk_register(port, users, window=256, timeout=60):
    """REGISTERs users[i] over UDP with `window` in flight; returns the number of 200s.
    Lost datagrams are sent again after 1 s (UDP on a loaded machine)."""
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4 << 20)
    s.bind((HOST, 0))
    local = s.getsockname()
    pending = {}  # user -> sent at
    todo = list(users)[::-1]
    ok = 0
    deadline = time.monotonic() + timeout
    s.setblocking(False)
    while (todo or pending) and time.monotonic() < deadline:
        while todo and len(pending) < window:
            u = todo.pop()
            s.sendto(_register(u, port, local), (HOST, port))
            pending[u] = time.monotonic()
        r, _, _ = select.select([s], [], [], 0.2)
        while r:
            try:
                data = s.recv(65535)
            except BlockingIOError:
                break
            if not data.startswith(b"SIP/2.0 200"):
                continue
            cid = data.split(b"\r\nCall-ID: ", 1)[1].split(b"\r\n", 1)[0].decode()
            u = cid[len("bulk-"):].split("@", 1)[0]
            if pending.pop(u, None) is not None:
                ok += 1
        now = time.monotonic()
        for u, at in list(pending.items()):
            if now - at > 1.0:
                s.sendto(_register(u, port, local), (HOST, port))
                pending[u] = now
    s.close()
    return ok


class OptionsProbe:
    """Sends an OPTIONS over UDP every `every` s from a thread and times each answer: the gaps
    the probe sees are how long the worker serving it was busy elsewhere (e.g. with ul.dump)."""

    def __init__(self, port, every=0.005):
        self.port = port
        self.every = every
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.sock.bind((HOST, 0))
        self.local = self.sock.getsockname()
        self.samples = []  # (sent at, answered after s or None)
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _options(self, n):
        return (f"OPTIONS sip:ping@example.com SIP/2.0\r\n"
                f"Via: SIP/2.0/UDP {self.local[0]}:{self.local[1]};branch=z9hG4bK-probe-{n};rport\r\n"
                f"Max-Forwards: 70\r\nFrom: <sip:probe@example.com>;tag=p\r\nTo: <sip:ping@example.com>\r\n"
                f"Call-ID: probe-{n}\r\nCSeq: {n} OPTIONS\r\nContent-Length: 0\r\n\r\n").encode()

    def _run(self):
        n = 0
        self.sock.settimeout(2.0)
        while not self._stop.is_set():
            n += 1
            t0 = time.monotonic()
            self.sock.sendto(self._options(n), (HOST, self.port))
            took = None
            while True:
                try:
                    data = self.sock.recv(65535)
                except socket.timeout:
                    break
                if f"CSeq: {n} OPTIONS".encode() in data:
                    took = time.monotonic() - t0
                    break
            self.samples.append((t0, took))
            rest = self.every - (time.monotonic() - t0)
            if rest > 0:
                time.sleep(rest)

    def start(self):
        self._thread.start()
        return self

    def stop(self):
        self._stop.set()
        self._thread.join()
        self.sock.close()

    def between(self, t0, t1):
        """The probes sent in [t0, t1]: (answered count, lost count, slowest answer in s)."""
        inside = [took for at, took in self.samples if t0 <= at <= t1]
        answered = [t for t in inside if t is not None]
        return len(answered), len(inside) - len(answered), max(answered, default=0.0)

"""Helpers for integration tests: start the real sipsd on loopback ports chosen at run time,
wait for conditions (never blind sleeps), run real clients (sipp, curl, openssl), stop cleanly.
Standard library only."""
import os
import random
import shutil
import signal
import socket
import ssl
import subprocess
import sys
import tempfile
import time
import xmlrpc.client

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", "..", ".."))


def build_dir():
    return os.environ.get("SIPSD_BUILD_DIR") or os.path.join(ROOT, "build")


def sipsd_binary():
    return os.environ.get("SIPSD_BIN") or os.path.join(build_dir(), "sipsd")


# Ports the tests choose come from outside the kernel's ephemeral range (ip_local_port_range):
# a port chosen there and bound by sipsd, sipp or kamailio seconds later can meanwhile be taken by
# any connect(), unbound UDP send or bind(0) on the machine, for as long as that socket lives (a
# CI run lost kamailio_interop that way: "timed out waiting for sipp uas"). The kernel never
# hands out a port outside that range by itself, so only an explicit bind can take one of these.
# Below 20000: well-known services and baresip's default RTP ports (10000-20000).
_PORT_FLOOR = 20000
_ports_given = set()
_port_random = random.Random()  # seeded from os.urandom: processes pick different sequences


def _chosen_port_ranges():
    """[(low, high)] ranges of ports the kernel never assigns on its own ([] if unknown)."""
    try:
        with open("/proc/sys/net/ipv4/ip_local_port_range") as f:
            low, high = (int(x) for x in f.read().split())
    except (OSError, ValueError):
        return []
    return [(a, b) for a, b in ((_PORT_FLOOR, low - 1), (high + 1, 65535)) if b - a >= 1000]


def _bindable(family, kind, host, port):
    s = socket.socket(family, kind)
    try:
        s.bind((host, port))
        return True
    except OSError:
        return False
    finally:
        s.close()


def free_port(kind=socket.SOCK_STREAM, also_udp=True, host="127.0.0.1"):
    """A port free for `kind` (and UDP when asked) on host, never handed out twice by this process,
    from outside the ephemeral range when the machine has room for that."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    ranges = _chosen_port_ranges()
    for _ in range(500):
        if ranges:
            low, high = _port_random.choices(ranges, weights=[b - a + 1 for a, b in ranges])[0]
            port = _port_random.randint(low, high)
        else:  # every port is ephemeral: let the kernel choose
            with socket.socket(family, kind) as s:
                s.bind((host, 0))
                port = s.getsockname()[1]
        if port in _ports_given or not _bindable(family, kind, host, port):
            continue
        if also_udp and kind != socket.SOCK_DGRAM and not _bindable(family, socket.SOCK_DGRAM, host, port):
            continue
        _ports_given.add(port)
        return port
    raise RuntimeError("no free port")


def wait_for(cond, timeout=10.0, what="condition"):
    deadline = time.monotonic() + timeout
    delay = 0.005
    while time.monotonic() < deadline:
        r = cond()
        if r:
            return r
        time.sleep(delay)
        delay = min(delay * 2, 0.1)
    raise AssertionError("timed out waiting for " + what)


def tcp_open(host, port):
    try:
        with socket.create_connection((host, port), timeout=0.5):
            return True
    except OSError:
        return False


def udp_bound(port, host="127.0.0.1"):
    """True once some process holds the UDP port (a peer such as sipp gives no other readiness
    signal: datagrams sent before it binds are lost)."""
    s = socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET, socket.SOCK_DGRAM)
    try:
        s.bind((host, port))
        return False
    except OSError:
        return True
    finally:
        s.close()


# The temp dirs of this test run (configs, certificates, logs): removed by Checker.finish when
# every check passed, kept and named when one failed.
_WORK_DIRS = []


def work_dir(prefix="sipsd-it-"):
    """A new temp dir that Checker.finish removes after a passing run (and names after a failing one)."""
    d = tempfile.mkdtemp(prefix=prefix)
    _WORK_DIRS.append(d)
    return d


class Failure(Exception):
    pass


class Checker:
    """Counts checks; prints one PASS/FAIL line each and a closing 'N passed, N failed' line."""

    def __init__(self):
        self.passed = 0
        self.failed = 0

    def check(self, cond, what, detail=""):
        if cond:
            self.passed += 1
            print("PASS:", what, flush=True)
        else:
            self.failed += 1
            print("FAIL:", what, detail, flush=True)
        return cond

    def finish(self):
        print(f"{self.passed} passed, {self.failed} failed", flush=True)
        bad = self.failed or not self.passed
        if bad and _WORK_DIRS:
            print("logs kept in", " ".join(_WORK_DIRS), flush=True)
        elif not bad:
            for d in _WORK_DIRS:
                shutil.rmtree(d, ignore_errors=True)
        sys.exit(1 if bad else 0)


class Sipsd:
    """One sipsd process running a config written to a temp dir."""

    def __init__(self, cfg_text, workdir=None, name="sipsd", extra_args=()):
        self.dir = workdir or work_dir()
        self.cfg = os.path.join(self.dir, name + ".cfg")
        with open(self.cfg, "w") as f:
            f.write(cfg_text)
        self.log_path = os.path.join(self.dir, name + ".log")
        self.extra = list(extra_args)
        self.proc = None

    def start(self, wait_tcp=None, wait_udp=None, preexec_fn=None, timeout=10):
        self.log = open(self.log_path, "wb")
        args = [sipsd_binary(), "-f", self.cfg, "-E", "-L", os.path.join(build_dir(), "modules"),
                "-L", build_dir()] + self.extra
        # preexec_fn: e.g. lower a resource limit for the sipsd process only.
        self.proc = subprocess.Popen(args, stdout=self.log, stderr=subprocess.STDOUT, preexec_fn=preexec_fn)
        for host, port in (wait_tcp or []):
            wait_for(lambda: self.proc.poll() is not None or tcp_open(host, port), timeout, f"sipsd on {host}:{port}")
            if self.proc.poll() is not None:
                raise Failure("sipsd exited at start:\n" + self.output())
        return self

    def output(self):
        try:
            with open(self.log_path, "rb") as f:
                return f.read().decode(errors="replace")
        except OSError:
            return ""

    def alive(self):
        return self.proc is not None and self.proc.poll() is None

    def stop(self, timeout=10):
        if self.proc is None:
            return None
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
                raise Failure("sipsd did not stop within %ss after SIGTERM" % timeout)
        self.log.close()
        return self.proc.returncode

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        try:
            self.stop()
        except Failure:
            pass


def run(cmd, timeout=120, **kw):
    return subprocess.run(cmd, capture_output=True, text=True, timeout=timeout, **kw)


def sipsd_ca(*args):
    r = run([os.path.join(ROOT, "tools", "sipsd-ca")] + list(args))
    if r.returncode != 0:
        raise Failure("sipsd-ca %s failed: %s" % (" ".join(args), r.stderr))
    return r


def make_pki(dirpath, clients=("bob:Bob", "alice:Alice"), servers=(("server", "localhost", "127.0.0.1"),)):
    """A CA with server and client certificates and a hash dir, made with tools/sipsd-ca."""
    ca = os.path.join(dirpath, "ca")
    sipsd_ca("init", ca, "--cn", "sipsd test CA")
    for name, cn, ip in servers:
        sipsd_ca("server", ca, name, "--cn", cn, "--ip", ip, "--dns", cn)
    for spec in clients:
        name, cn = spec.split(":")
        sipsd_ca("client", ca, name, "--cn", cn, "--email", name + "@example.org")
    sipsd_ca("hashdir", ca)
    return ca


def crt(ca, name):
    """The certificate tools/sipsd-ca issued to `name` in the CA directory `ca`."""
    return os.path.join(ca, "certs", name + ".crt")


def key(ca, name):
    return os.path.join(ca, "certs", name + ".key")


def tls_client_context(ca, cert=None, key=None, version=None):
    """A client context trusting the CA in `ca` (no host name check), with a certificate when
    given, and pinned to one TLS version (ssl.TLSVersion) when asked."""
    ctx = ssl.create_default_context(cafile=os.path.join(ca, "ca.crt"))
    ctx.check_hostname = False
    if cert:
        ctx.load_cert_chain(cert, key)
    if version:
        ctx.minimum_version = version
        ctx.maximum_version = version
    return ctx


def client_ctx(ca, who=None, version=None):
    """tls_client_context with the certificate of `who` (a name in the CA directory)."""
    return tls_client_context(ca, crt(ca, who) if who else None, key(ca, who) if who else None, version)


def tls_params(cert, key, ca_list=None, verify=None, require=None):
    """The modparam("tls", ...) lines of a config: identity, trusted CAs, verification."""
    lines = [f'modparam("tls", "certificate", "{cert}")', f'modparam("tls", "private_key", "{key}")']
    if ca_list:
        lines.append(f'modparam("tls", "ca_list", "{ca_list}")')
    if verify is not None:
        lines.append(f'modparam("tls", "verify_certificate", {int(verify)})')
    if require is not None:
        lines.append(f'modparam("tls", "require_certificate", {int(require)})')
    return "\n".join(lines)


def rpc(port, host="127.0.0.1"):
    """XML-RPC to sipsd's dispatch_rpc() over plain TCP."""
    return xmlrpc.client.ServerProxy(f"http://{host}:{port}/RPC2")


def sip_options(host, port, proto="TCP", branch="z9hG4bKit1", call_id="it-1@test", cseq=1, local=("127.0.0.1", 5999)):
    return (f"OPTIONS sip:{host}:{port} SIP/2.0\r\n"
            f"Via: SIP/2.0/{proto} {local[0]}:{local[1]};branch={branch};rport\r\n"
            f"Max-Forwards: 70\r\n"
            f"From: <sip:tester@example.org>;tag=it{cseq}\r\n"
            f"To: <sip:{host}>\r\n"
            f"Call-ID: {call_id}\r\n"
            f"CSeq: {cseq} OPTIONS\r\n"
            f"Content-Length: 0\r\n\r\n").encode()


def read_sip_message(sock, buf=b""):
    """Reads one Content-Length framed message from a stream socket; returns (msg, rest)."""
    while b"\r\n\r\n" not in buf:
        chunk = sock.recv(65536)
        if not chunk:
            raise Failure("connection closed before a full message; got %r" % buf)
        buf += chunk
    head, _, rest = buf.partition(b"\r\n\r\n")
    length = 0
    for line in head.split(b"\r\n")[1:]:
        name, _, value = line.partition(b":")
        if name.strip().lower() in (b"content-length", b"l"):
            length = int(value.strip())
    while len(rest) < length:
        chunk = sock.recv(65536)
        if not chunk:
            raise Failure("connection closed inside a body")
        rest += chunk
    return head + b"\r\n\r\n" + rest[:length], rest[length:]


def first_line(msg):
    return msg.split(b"\r\n", 1)[0].decode(errors="replace")


def reason_of(msg):
    parts = first_line(msg).split(" ", 2)
    return parts[2] if len(parts) > 2 else ""


def headers(msg, name):
    """Every value of header `name` (case-insensitive), in order."""
    out = []
    for line in msg.split(b"\r\n\r\n", 1)[0].split(b"\r\n")[1:]:
        k, _, v = line.partition(b":")
        if k.strip().lower() == name.lower().encode():
            out.append(v.strip().decode())
    return out


def header(msg, name):
    """First value of header `name` (case-insensitive), or None."""
    values = headers(msg, name)
    return values[0] if values else None


def run_sections(sections, tmp_prefix, setup):
    """Runs the sections named on the command line (default: all of `sections`, name -> function
    taking (checker, tmp, setup result)) in a fresh temp dir; a section that crashes is a failed
    check, not the end of the others. Exits with the checker's verdict."""
    c = Checker()
    tmp = work_dir(tmp_prefix)
    ctx = setup(tmp)
    for name in sys.argv[1:] or list(sections):
        t0 = time.monotonic()
        try:
            sections[name](c, tmp, ctx)
        except Exception as e:  # noqa: BLE001 - one section's crash must not hide the others
            c.check(False, f"{name}: ran to the end", f"{type(e).__name__}: {e}")
        print(f"-- {name}: {time.monotonic() - t0:.1f}s", flush=True)
    c.finish()


def finish(c, tmp):
    """Ends a test: keeps the work directory (logs, configs) when a check failed, else removes it."""
    if c.failed:
        print("logs kept in", tmp)
    else:
        shutil.rmtree(tmp, ignore_errors=True)
    c.finish()


def status_of(msg):
    line = msg.split(b"\r\n", 1)[0].decode(errors="replace")
    parts = line.split(" ", 2)
    return int(parts[1]) if len(parts) > 1 and parts[1].isdigit() else None


def client_hello(server_name="peer.example.org"):
    """The bytes of a real TLS ClientHello (python ssl), for peers that send it slowly or in part."""
    ctx = ssl.create_default_context()
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE
    inc, out = ssl.MemoryBIO(), ssl.MemoryBIO()
    obj = ctx.wrap_bio(inc, out, server_hostname=server_name)
    try:
        obj.do_handshake()
    except ssl.SSLWantReadError:
        pass
    return out.read()

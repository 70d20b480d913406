"""A minimal SIP user agent for the registrar tests: a TLS or UDP socket, REGISTER/MESSAGE
builders, replies to received requests. Standard library only."""
import os
import socket
import ssl
import sys
import uuid

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "lib"))
from sipsd_harness import first_line, header, headers, read_sip_message, status_of  # noqa: E402,F401

HOST = "127.0.0.1"


def request(method, ruri, frm, to, call_id, cseq, via, contact=None, expires=None, extra="", body="",
            content_type="text/plain"):
    """A request; `frm`/`to` are URIs, or whole header values (with tags) inside a dialog."""
    lines = [f"{method} {ruri} SIP/2.0",
             f"Via: {via}",
             "Max-Forwards: 70",
             f"From: {frm}" if frm.startswith("<") else f"From: <{frm}>;tag={uuid.uuid4().hex[:8]}",
             f"To: {to}" if to.startswith("<") else f"To: <{to}>",
             f"Call-ID: {call_id}",
             f"CSeq: {cseq} {method}"]
    if contact:
        lines.append(f"Contact: {contact}")
    if expires is not None:
        lines.append(f"Expires: {expires}")
    if extra:
        lines.extend(extra.rstrip("\r\n").split("\r\n"))
    if body:
        lines.append(f"Content-Type: {content_type}")
    lines.append(f"Content-Length: {len(body.encode())}")
    return ("\r\n".join(lines) + "\r\n\r\n" + body).encode()


def reply_to(req, code, reason, to_tag="uas1", extra=""):
    """A UAS reply: the request's Vias, Record-Routes, From, Call-ID, CSeq; To with a tag;
    `extra` header lines (e.g. a Contact)."""
    head = req.split(b"\r\n\r\n", 1)[0].split(b"\r\n")[1:]
    out = [f"SIP/2.0 {code} {reason}"]
    for line in head:
        k = line.split(b":", 1)[0].strip().lower()
        if k in (b"via", b"v", b"record-route", b"from", b"f", b"call-id", b"i", b"cseq"):
            out.append(line.decode())
        elif k in (b"to", b"t"):
            t = line.decode()
            out.append(t if ";tag=" in t else t + ";tag=" + to_tag)
    if extra:
        out.extend(extra.rstrip("\r\n").split("\r\n"))
    out.append("Content-Length: 0")
    return ("\r\n".join(out) + "\r\n\r\n").encode()


class TlsUa:
    """A phone on one TLS connection to sipsd, with its client certificate."""

    def __init__(self, port, ca, cert=None, key=None, user="alice", domain="example.com"):
        ctx = ssl.create_default_context(cafile=os.path.join(ca, "ca.crt"))
        ctx.check_hostname = False
        if cert:
            ctx.load_cert_chain(cert, key)
        raw = socket.create_connection((HOST, port), timeout=10)
        self.sock = ctx.wrap_socket(raw)
        self.buf = b""
        self.local = self.sock.getsockname()
        self.user = user
        self.domain = domain
        self.call_id = uuid.uuid4().hex + "@" + HOST
        self.cseq = 0
        self.port = port

    def via(self, branch=None):
        return f"SIP/2.0/TLS {self.local[0]}:{self.local[1]};branch=z9hG4bK{branch or uuid.uuid4().hex[:12]};rport"

    def register(self, contact=None, expires=None, aor_user=None, call_id=None, cseq=None, extra=""):
        """Sends a REGISTER; returns the reply."""
        aor = f"sip:{aor_user or self.user}@{self.domain}"
        if cseq is None:
            self.cseq += 1
            cseq = self.cseq
        self.send(request("REGISTER", f"sip:{self.domain}", aor, aor, call_id or self.call_id, cseq, self.via(),
                          contact=contact, expires=expires, extra=extra))
        return self.recv()

    def send(self, data):
        self.sock.sendall(data)

    def recv(self, timeout=10):
        self.sock.settimeout(timeout)
        msg, self.buf = read_sip_message(self.sock, self.buf)
        return msg

    def close(self):
        try:
            self.sock.close()
        except OSError:
            pass


class UdpUa:
    """A UDP client (the caller side)."""

    def __init__(self):
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.sock.bind((HOST, 0))
        self.local = self.sock.getsockname()

    def via(self):
        return f"SIP/2.0/UDP {self.local[0]}:{self.local[1]};branch=z9hG4bK{uuid.uuid4().hex[:12]};rport"

    def message(self, port, ruri, text="hello", frm="sip:bob@example.net"):
        self.call_id = uuid.uuid4().hex
        req = request("MESSAGE", ruri, frm, ruri, self.call_id, 1, self.via(), body=text)
        self.sock.sendto(req, (HOST, port))
        return req

    def invite(self, port, ruri, frm="sip:bob@example.net"):
        sdp = "v=0\r\no=- 1 1 IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\nm=audio 4000 RTP/AVP 0\r\n"
        self.call_id = uuid.uuid4().hex
        req = request("INVITE", ruri, frm, ruri, self.call_id, 1, self.via(),
                      contact=f"<sip:bob@{self.local[0]}:{self.local[1]}>", body=sdp, content_type="application/sdp")
        self.sock.sendto(req, (HOST, port))
        self.invite_req = req
        return req

    def in_dialog(self, method, port, ok, cseq):
        """ACK or BYE inside the dialog the 2xx `ok` to the last INVITE set up (RFC 3261 §12.2.1):
        to its Contact, along its Record-Routes reversed, sent to `port` (the first proxy)."""
        target = header(ok, "Contact").split(">", 1)[0].lstrip("<")
        route = [r.strip() for h in headers(ok, "Record-Route") for r in h.split(",")][::-1]
        extra = "".join(f"Route: {r}\r\n" for r in route)
        req = request(method, target, header(self.invite_req, "From"), header(ok, "To"), self.call_id, cseq,
                      self.via(), extra=extra)
        self.sock.sendto(req, (HOST, port))
        return req

    def recv(self, timeout=5, skip_provisional=True):
        """Next final reply to the last request sent (or a request); None on timeout.
        Late answers to earlier requests are skipped."""
        self.sock.settimeout(timeout)
        while True:
            try:
                data, _ = self.sock.recvfrom(65536)
            except socket.timeout:
                return None
            code = status_of(data)
            if code is not None and header(data, "Call-ID") != getattr(self, "call_id", None):
                continue
            if skip_provisional and code is not None and code < 200:
                continue
            return data

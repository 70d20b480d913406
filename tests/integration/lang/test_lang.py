#!/usr/bin/env python3
"""The Kamailio habits of the config language through the real binary (issue 11 items 1-2):
  preprocessor  a Kamailio-style `#!define WITH_TLS` / `#!ifdef` / `#!else` config applies only
                the live branch (which listener opens, which debug level), in the file and with -A
  xlog          `xlog("$rm $rU from $si")` prints the values of a real OPTIONS request
  routes        Kamailio's `request_route`, brace-less `if (!has_totag()) return;` / `else`, and
                a clear load error for the route kinds sipsd does not run (event_route ...)
  switch        Kamailio's switch/case/default (string, regex and integer labels, fall-through,
                break), while with break and the max_while_loops guard, // comments, '...' strings
                and "a" "b" joined, answering real requests; sipsd -c errors at FILE:LINE:COL for
                enable_sctp=yes, a bad memdbg and bad switch labels"""
import os
import socket
import subprocess
import sys
import tempfile

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "lib"))
from sipsd_harness import (Checker, Sipsd, free_port, make_pki, read_sip_message, sip_options, sipsd_binary,
                           status_of, tcp_open, tls_client_context, wait_for, work_dir)


def preproc_config(ca, define, tls_port, tcp_port, udp_port):
    return f"""#!KAMAILIO
{"#!define WITH_TLS" if define else "# WITH_TLS is not defined here"}
#!define MARK "preprocessor-mark"
#!ifdef WITH_TLS
debug=3
loadmodule "tls"
listen=tls:127.0.0.1:{tls_port}
modparam("tls", "certificate", "{ca}/certs/server.crt")
modparam("tls", "private_key", "{ca}/certs/server.key")
#!else
debug=1
listen=tcp:127.0.0.1:{tcp_port}
#!endif
listen=udp:127.0.0.1:{udp_port}
loadmodule "sl"
route {{
    log(3, MARK);
    sl_reply(200, "OK");
}}
"""


def options_over(sock, port, proto, tag):
    sock.sendall(sip_options("127.0.0.1", port, proto=proto, branch="z9hG4bK" + tag, call_id=tag + "@it"))
    msg, _ = read_sip_message(sock)
    return status_of(msg)


def tls_ok(ctx, port):
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=2) as raw:
            with ctx.wrap_socket(raw) as s:
                return options_over(s, port, "TLS", "tls1") == 200
    except OSError:
        return False


def preprocessor(c, work):
    ca = make_pki(work)
    ctx = tls_client_context(ca)
    for label, define, extra in (("#!define WITH_TLS", True, ()), ("no define", False, ()),
                                 ("-A WITH_TLS", False, ("-A", "WITH_TLS"))):
        tls_port, tcp_port, udp_port = free_port(), free_port(), free_port()
        cfg = preproc_config(ca, define, tls_port, tcp_port, udp_port)
        with Sipsd(cfg, workdir=tempfile.mkdtemp(dir=work), extra_args=extra) as s:
            want_tls = define or bool(extra)
            live = tls_port if want_tls else tcp_port
            dead = tcp_port if want_tls else tls_port
            s.start(wait_tcp=[("127.0.0.1", live)])
            c.check(not tcp_open("127.0.0.1", dead), f"{label}: the other branch's listener {dead} is not open")
            if want_tls:
                c.check(tls_ok(ctx, tls_port), f"{label}: TLS listener answers OPTIONS with 200")
            else:
                with socket.create_connection(("127.0.0.1", tcp_port), timeout=2) as sock:
                    c.check(options_over(sock, tcp_port, "TCP", "tcp1") == 200, f"{label}: TCP listener answers 200")
            # debug=3 (TLS branch) logs the INFO line with the define's value; debug=1 does not.
            if want_tls:
                wait_for(lambda: "preprocessor-mark" in s.output(), 5, "the INFO log line")
                c.check("INFO: script: preprocessor-mark" in s.output(), f"{label}: debug=3 applied (INFO line logged)")
            else:
                c.check("preprocessor-mark" not in s.output(), f"{label}: debug=1 applied (no INFO line)",
                        s.output()[-500:])
            c.check(s.stop() == 0, f"{label}: sipsd stops cleanly")


def udp_client():
    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    sock.bind(("127.0.0.1", 0))
    sock.settimeout(0.5)
    return sock, sock.getsockname()[1]


def udp_answer(sock, req, port, what):
    """Sends req until an answer arrives (UDP may lose either) and returns the answer."""
    got = []

    def answered():
        sock.sendto(req, ("127.0.0.1", port))
        try:
            got.append(sock.recv(65536))
            return True
        except socket.timeout:
            return False
    wait_for(answered, 10, what)
    return got[-1]


XLOG_CONFIG = """debug=3
listen=udp:127.0.0.1:{port}
loadmodule "sl"
route {{
    xlog("$rm $rU from $si");
    xlog(L_INFO, "ua=$ua cseq=$cs via=@via[1].host:@via[1].port proto=$pr");
    if ($rm == "OPTIONS" && $si == 127.0.0.1) {{
        $du = "sip:10.0.0.2:5060;transport=tls";
        xlog(L_NOTICE, "du=$du\\n");
        sl_reply(200, "OK");
    }}
}}
"""


def xlog(c, work):
    port = free_port()
    with Sipsd(XLOG_CONFIG.format(port=port), workdir=tempfile.mkdtemp(dir=work)) as s:
        s.start()
        sock, lport = udp_client()
        req = (f"OPTIONS sip:carol@127.0.0.1:{port} SIP/2.0\r\n"
               f"Via: SIP/2.0/UDP 127.0.0.1:{lport};branch=z9hG4bKxlog1\r\n"
               "Max-Forwards: 70\r\nFrom: <sip:tester@example.org>;tag=x1\r\nTo: <sip:carol@127.0.0.1>\r\n"
               "Call-ID: xlog-1@it\r\nCSeq: 21 OPTIONS\r\nUser-Agent: it-agent\r\nContent-Length: 0\r\n\r\n").encode()

        c.check(status_of(udp_answer(sock, req, port, "200 to OPTIONS")) == 200, "xlog: OPTIONS answered 200")
        sock.close()
        out = s.output()
        c.check(f"ERROR: script: OPTIONS carol from 127.0.0.1" in out, "xlog(\"$rm $rU from $si\") prints the values",
                out[-800:])
        c.check(f"INFO: script: ua=it-agent cseq=21 via=127.0.0.1:{lport} proto=udp" in out,
                "xlog(L_INFO, ...) interpolates $ua $cs @via[1].host:@via[1].port $pr", out[-800:])
        c.check("NOTICE: script: du=sip:10.0.0.2:5060;transport=tls\n" in out, "$du assigned and read back", out[-800:])
    # An unknown $x in an xlog string is a load error at FILE:LINE:COL.
    bad = Sipsd('route {\n    xlog("fine $rm, bad $nope");\n}\n', workdir=tempfile.mkdtemp(dir=work))
    r = subprocess.run([sipsd_binary(), "-c", "-f", bad.cfg], capture_output=True, text=True, timeout=60)
    c.check(r.returncode == 1 and f"{bad.cfg}:2:25: error: unknown pseudo-variable $nope" in r.stderr,
            "unknown $x in xlog: FILE:LINE:COL error", r.stderr)


KAMAILIO_ROUTES_CONFIG = """listen=udp:127.0.0.1:{port}
loadmodule "sl.so"
request_route {{
    route(WITHINDLG);
    if (is_method("OPTIONS")) sl_send_reply("200", "Keepalive");
    else sl_send_reply("405", "Method Not Allowed");
}}
route[WITHINDLG] {{
    if (!has_totag()) return;
    sl_send_reply("481", "Call/Transaction Does Not Exist");
    exit;
}}
reply_route {{
    drop;
}}
"""


def kamailio_routes(c, work):
    port = free_port()
    with Sipsd(KAMAILIO_ROUTES_CONFIG.format(port=port), workdir=tempfile.mkdtemp(dir=work)) as s:
        s.start()
        sock, lport = udp_client()

        def ask(method, to_tag, n):
            req = (f"{method} sip:carol@127.0.0.1:{port} SIP/2.0\r\n"
                   f"Via: SIP/2.0/UDP 127.0.0.1:{lport};branch=z9hG4bKkr{n}\r\n"
                   "Max-Forwards: 70\r\nFrom: <sip:tester@example.org>;tag=k1\r\n"
                   f"To: <sip:carol@127.0.0.1>{to_tag}\r\nCall-ID: kr-{n}@it\r\nCSeq: 1 {method}\r\n"
                   "Content-Length: 0\r\n\r\n").encode()
            answer = udp_answer(sock, req, port, f"an answer to {method}")
            return answer.split(b"\r\n", 1)[0].decode(errors="replace")
        c.check(ask("OPTIONS", "", 1) == "SIP/2.0 200 Keepalive", "request_route: brace-less if answers OPTIONS 200")
        c.check(ask("OPTIONS", ";tag=t1", 2) == "SIP/2.0 481 Call/Transaction Does Not Exist",
                "route[WITHINDLG]: `if (!has_totag()) return;` falls through only with a To tag")
        c.check(ask("INFO", "", 3) == "SIP/2.0 405 Method Not Allowed", "brace-less else branch runs")
        sock.close()
    bad = Sipsd('loadmodule "sl"\nrequest_route {\n    sl_reply(200, "OK");\n}\n'
                'event_route[xhttp:request] {\n    xhttp_reply("200", "OK", "text/html", "");\n}\n',
                workdir=tempfile.mkdtemp(dir=work))
    r = subprocess.run([sipsd_binary(), "-c", "-f", bad.cfg], capture_output=True, text=True, timeout=60)
    c.check(r.returncode == 1 and f"{bad.cfg}:5:1: error: event_route[xhttp:request] is not supported" in r.stderr
            and "xhttp_reply" not in r.stderr, "event_route: one error naming it at FILE:LINE:COL, not its body",
            r.stderr)


SWITCH_CONFIG = """debug=3
listen=udp:127.0.0.1:{port}
max_while_loops=5   // Kamailio's guard for while loops
memdbg=5
memlog=5
enable_sctp=no
loadmodule "sl.so"
request_route {{
    // pick the answer by the R-URI user, Kamailio style
    switch ($rU) {{
        case "busy":
            sl_send_reply("486", "Busy"
                                 " Here");
            exit;
        case "gone":
        case "moved":               # two labels, one answer
            sl_send_reply('410', 'Gone');
            exit;
        case /"^[0-9]+$":
            route(NUMBER);
            exit;
        case "fall":
            xlog("L_INFO", "fell "
                 "through\\n");      // no break: runs on into default
        default:
            break;
    }}
    while (is_method("OPTIONS")) {{
        break;                      // leaves the loop, not the script
    }}
    if (is_method("OPTIONS")) {{
        sl_send_reply("200", "After" " switch");
        exit;
    }}
    while (1) {{
        xlog("L_INFO", "looping\\n");
    }}
    sl_send_reply("404", "Not Found");
}}
route[NUMBER] {{
    switch (@ruri.user) {{
        case 100: sl_send_reply("480", "Hundred");
        case 101: exit;
        default: sl_send_reply("484", "Other number");
    }}
}}
"""


def switch_strings(c, work):
    port = free_port()
    with Sipsd(SWITCH_CONFIG.format(port=port), workdir=tempfile.mkdtemp(dir=work)) as s:
        s.start()
        sock, lport = udp_client()

        def ask(method, user, n):
            req = (f"{method} sip:{user}@127.0.0.1:{port} SIP/2.0\r\n"
                   f"Via: SIP/2.0/UDP 127.0.0.1:{lport};branch=z9hG4bKsw{n}\r\n"
                   "Max-Forwards: 70\r\nFrom: <sip:tester@example.org>;tag=s1\r\n"
                   f"To: <sip:{user}@127.0.0.1>\r\nCall-ID: sw-{n}@it\r\nCSeq: 1 {method}\r\n"
                   "Content-Length: 0\r\n\r\n").encode()
            answer = udp_answer(sock, req, port, f"an answer to {method} {user}")
            return answer.split(b"\r\n", 1)[0].decode(errors="replace")
        c.check(ask("INFO", "busy", 1) == "SIP/2.0 486 Busy Here", "switch on $rU: string case; joined reason")
        c.check(ask("INFO", "gone", 2) == "SIP/2.0 410 Gone", "two labels share one body; '...' strings")
        c.check(ask("INFO", "moved", 3) == "SIP/2.0 410 Gone", "the second label enters the same body")
        c.check(ask("INFO", "100", 4) == "SIP/2.0 480 Hundred", "regex label; integer switch on @ruri.user")
        c.check(ask("INFO", "2000", 5) == "SIP/2.0 484 Other number", "integer switch: default")
        c.check(ask("OPTIONS", "fall", 6) == "SIP/2.0 200 After switch",
                "no break: falls into default, whose break leaves the switch; break leaves a while")
        wait_for(lambda: "fell through" in s.output(), 5, "the fall-through xlog line")
        c.check(ask("INFO", "nobody", 7) == "SIP/2.0 404 Not Found",
                "a runaway while is left after max_while_loops and the script goes on")
        out = s.output()
        runaways = out.count("ran more than max_while_loops=5 times; left it")
        c.check(runaways >= 1 and out.count("looping") == 5 * runaways,
                "while (1) ran its body 5 times per message, then was left", out[-1200:])
        line = SWITCH_CONFIG.splitlines().index("    while (1) {{") + 1
        c.check(f"while loop at {s.cfg}:{line}:5 ran more than" in out, "the runaway log names FILE:LINE:COL",
                out[-600:])
        sock.close()
    for text, line, what in (
            ('enable_sctp=yes\nroute { exit; }\n', "1:13: error: enable_sctp=yes: sipsd has no SCTP transport",
             "enable_sctp=yes"),
            ('memdbg=lots\nroute { exit; }\n', "1:8: error: memdbg takes an integer, not 'lots'", "memdbg=lots"),
            ('route {\n  switch (method) {\n    case "A": exit;\n    case 2: exit;\n  }\n}\n',
             "4:10: error: integer label in a switch on strings", "mixed switch labels"),
            ('route {\n  switch (method) {\n    case "A": exit;\n    default: exit;\n    default: drop;\n  }\n}\n',
             "5:5: error: a switch takes one default label", "two defaults")):
        bad = Sipsd(text, workdir=tempfile.mkdtemp(dir=work))
        r = subprocess.run([sipsd_binary(), "-c", "-f", bad.cfg], capture_output=True, text=True, timeout=60)
        c.check(r.returncode == 1 and f"{bad.cfg}:{line}" in r.stderr, f"sipsd -c rejects {what} at FILE:LINE:COL",
                r.stderr)


def main():
    c = Checker()
    work = work_dir("sipsd-lang-")
    preprocessor(c, work)
    xlog(c, work)
    kamailio_routes(c, work)
    switch_strings(c, work)
    c.finish()


if __name__ == "__main__":
    main()

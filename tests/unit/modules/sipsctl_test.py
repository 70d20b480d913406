#!/usr/bin/env python3
# tools/sipsctl against a local XML-RPC server: output formats (scalars, structs, tables,
# JSON), argument typing, exit codes for faults and transport failures, and HTTPS with a
# client certificate made by tools/sipsd-ca (the server requires and verifies it).
# Usage: sipsctl_test.py SIPSCTL SIPSD_CA
import os
import shutil
import socket
import ssl
import subprocess
import sys
import tempfile
import threading
import unittest
from xmlrpc.server import SimpleXMLRPCRequestHandler, SimpleXMLRPCServer

SIPSCTL = os.path.abspath(sys.argv[1])
SIPSD_CA = os.path.abspath(sys.argv[2])


class QuietHandler(SimpleXMLRPCRequestHandler):
    rpc_paths = ("/RPC2",)

    def log_message(self, *args):
        pass


class Fault(Exception):
    pass


def start_server(ssl_ctx=None):
    server = SimpleXMLRPCServer(("127.0.0.1", 0), requestHandler=QuietHandler, allow_none=True,
                                logRequests=False)
    server.register_function(lambda: "sipsd 0.1.0", "core.version")
    server.register_function(lambda: {"now": "2026-11-23T10:00:00Z", "uptime": 42}, "core.uptime")
    server.register_function(lambda: [
        {"id": 1, "peer": "Bob", "version": "TLSv1.3"},
        {"id": 12, "peer": "SER-Killer", "version": "TLSv1.2", "cipher": "ECDHE"},
    ], "tls.list")
    server.register_function(lambda: {"total": 2, "workers": [{"worker": 0, "n": 1}, {"worker": 1, "n": 1}],
                                      "empty": []}, "core.stats")
    server.register_function(lambda *a: [[type(x).__name__, x] for x in a], "echo")
    # Answers as strings: the standard library cannot marshal its own 64-bit integers back.
    server.register_function(lambda *a: [type(x).__name__ + ":" + str(x) for x in a], "echo_text")
    server.register_function(lambda: ["a", "b"], "system.listMethods")

    def deny():
        raise Fault("Access to core.kill denied")
    server.register_function(deny, "core.kill")
    # SimpleXMLRPCServer turns exceptions into fault code 1; override to send sipsd's 400.
    orig = server._dispatch

    def dispatch(method, params):
        try:
            return orig(method, params)
        except Fault as e:
            import xmlrpc.client
            raise xmlrpc.client.Fault(400, str(e))
    server._dispatch = dispatch
    if ssl_ctx:
        server.socket = ssl_ctx.wrap_socket(server.socket, server_side=True)
    t = threading.Thread(target=server.serve_forever, daemon=True)
    t.start()
    return server


def run(*args, env=None):
    e = dict(os.environ)
    for k in ("SIPSCTL_URL", "SIPSCTL_CERT", "SIPSCTL_KEY", "SIPSCTL_CA"):
        e.pop(k, None)
    e.update(env or {})
    p = subprocess.run([sys.executable, SIPSCTL] + list(args), capture_output=True, text=True, timeout=60, env=e)
    return p.returncode, p.stdout, p.stderr


class PlainHttp(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.server = start_server()
        cls.url = "http://127.0.0.1:%d/RPC2" % cls.server.server_address[1]

    @classmethod
    def tearDownClass(cls):
        cls.server.shutdown()
        cls.server.server_close()

    def call(self, *args):
        return run("-u", self.url, *args)

    def test_scalar(self):
        self.assertEqual(self.call("core.version"), (0, "sipsd 0.1.0\n", ""))

    def test_struct_lines(self):
        rc, out, _ = self.call("core.uptime")
        self.assertEqual(rc, 0)
        self.assertEqual(out, "now:    2026-11-23T10:00:00Z\nuptime: 42\n")

    def test_table(self):
        rc, out, _ = self.call("tls.list")
        self.assertEqual(rc, 0)
        self.assertEqual(out.splitlines(), [
            "id  peer        version  cipher",
            "--  ----------  -------  ------",
            "1   Bob         TLSv1.3",
            "12  SER-Killer  TLSv1.2  ECDHE",
        ])

    def test_nested_struct_with_table(self):
        rc, out, _ = self.call("core.stats")
        self.assertEqual(rc, 0)
        self.assertEqual(out.splitlines(), [
            "total:   2",
            "workers:",
            "  worker  n",
            "  ------  -",
            "  0       1",
            "  1       1",
            "empty:   (empty)",
        ])

    def test_list_of_strings(self):
        self.assertEqual(self.call("system.listMethods"), (0, "a\nb\n", ""))

    def test_argument_types(self):
        rc, out, _ = self.call("--json", "echo", "7", "-3", "x", "s:12", "d:1.5", "b:true", "i:0x10")
        self.assertEqual(rc, 0)
        import json
        self.assertEqual(json.loads(out), [["int", 7], ["int", -3], ["str", "x"], ["str", "12"],
                                           ["float", 1.5], ["bool", True], ["int", 16]])

    def test_64_bit_integer_arguments(self):
        # sipsd's connection ids (tls.list, tls.kill ID) exceed 32 bits: sent as <i8>.
        rc, out, err = self.call("echo_text", "7", "4294967296", "-9223372036854775808", "i:0x7fffffffffffffff")
        self.assertEqual((rc, err), (0, ""))
        self.assertEqual(out.splitlines(), ["int:7", "int:4294967296", "int:-9223372036854775808",
                                            "int:9223372036854775807"])
        rc, _, err = self.call("echo_text", "9223372036854775808")
        self.assertEqual(rc, 2)
        self.assertIn("64 bits", err)

    def test_fault_exit_code(self):
        rc, out, err = self.call("core.kill")
        self.assertEqual(rc, 1)
        self.assertEqual(out, "")
        self.assertEqual(err, "sipsctl: core.kill: fault 400: Access to core.kill denied\n")

    def test_unknown_method_is_fault(self):
        rc, _, err = self.call("no.such")
        self.assertEqual(rc, 1)
        self.assertIn("no.such", err)

    def test_usage_errors(self):
        self.assertEqual(run("-u", "ftp://x/", "core.version")[0], 2)
        self.assertEqual(self.call("echo", "i:zz")[0], 2)
        self.assertEqual(run()[0], 2)

    def test_http_error_status(self):
        rc, _, err = run("-u", self.url.replace("/RPC2", "/other"), "core.version")
        self.assertEqual(rc, 3)
        self.assertIn("HTTP 404", err)

    def test_connection_refused(self):
        s = socket.socket()
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
        s.close()
        rc, _, err = run("-u", "http://127.0.0.1:%d/RPC2" % port, "core.version")
        self.assertEqual(rc, 3)
        self.assertIn("refused", err.lower())


@unittest.skipUnless(shutil.which("openssl"), "openssl CLI needed for the test CA")
class MutualTls(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.tmp = tempfile.mkdtemp(prefix="sipsctl-test-")
        ca = os.path.join(cls.tmp, "ca")
        sh = ["sh", SIPSD_CA]
        subprocess.run(sh + ["init", ca, "--cn", "test CA"], check=True, capture_output=True)
        subprocess.run(sh + ["server", ca, "server", "--ip", "127.0.0.1"], check=True, capture_output=True)
        subprocess.run(sh + ["client", ca, "bob", "--cn", "Bob"], check=True, capture_output=True)
        cls.ca = ca
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        ctx.load_cert_chain(os.path.join(ca, "certs", "server.crt"), os.path.join(ca, "certs", "server.key"))
        ctx.load_verify_locations(os.path.join(ca, "ca.crt"))
        ctx.verify_mode = ssl.CERT_REQUIRED
        cls.server = start_server(ctx)
        cls.url = "https://127.0.0.1:%d/RPC2" % cls.server.server_address[1]

    @classmethod
    def tearDownClass(cls):
        cls.server.shutdown()
        cls.server.server_close()
        shutil.rmtree(cls.tmp, ignore_errors=True)

    def certs(self):
        c = os.path.join(self.ca, "certs")
        return ["--cert", os.path.join(c, "bob.crt"), "--key", os.path.join(c, "bob.key"),
                "--ca", os.path.join(self.ca, "ca.crt")]

    def test_with_client_certificate(self):
        self.assertEqual(run("-u", self.url, *self.certs(), "core.version"), (0, "sipsd 0.1.0\n", ""))

    def test_key_found_next_to_certificate(self):
        c = os.path.join(self.ca, "certs")
        rc, out, err = run("-u", self.url, "--cert", os.path.join(c, "bob.crt"), "--ca", os.path.join(self.ca, "ca.crt"),
                           "core.version")
        self.assertEqual((rc, out, err), (0, "sipsd 0.1.0\n", ""))

    def test_options_from_environment(self):
        c = os.path.join(self.ca, "certs")
        env = {"SIPSCTL_URL": self.url, "SIPSCTL_CERT": os.path.join(c, "bob.crt"),
               "SIPSCTL_KEY": os.path.join(c, "bob.key"), "SIPSCTL_CA": os.path.join(self.ca, "ca.crt")}
        self.assertEqual(run("core.version", env=env)[0], 0)

    def test_without_client_certificate_no_answer(self):
        rc, _, err = run("-u", self.url, "--no-cert", "--ca", os.path.join(self.ca, "ca.crt"), "core.version")
        self.assertEqual(rc, 3)
        self.assertTrue(err.startswith("sipsctl: " + self.url), err)
        self.assertIn("no client certificate was sent", err)

    def test_unknown_server_ca_is_refused(self):
        c = os.path.join(self.ca, "certs")
        rc, _, err = run("-u", self.url, "--cert", os.path.join(c, "bob.crt"), "--key", os.path.join(c, "bob.key"),
                         "--ca", os.path.join(c, "bob.crt"), "core.version")
        self.assertEqual(rc, 3)
        self.assertIn("certificate verify failed", err)

    def test_missing_certificate_file_is_usage_error(self):
        rc, _, err = run("-u", self.url, "--cert", "/nonexistent.crt", "core.version")
        self.assertEqual(rc, 2)
        self.assertIn("/nonexistent.crt", err)


if __name__ == "__main__":
    unittest.main(argv=[sys.argv[0], "-v"])

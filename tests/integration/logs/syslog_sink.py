#!/usr/bin/env python3
"""A stand-in syslog daemon for tests: binds a datagram socket at PATH (/dev/log in a private
mount namespace) and appends every datagram it receives to OUT as one JSON string per line.
It exits once its parent (the sipsd it listens for) is gone and the socket is drained, so it
never outlives the test."""
import json
import os
import socket
import sys

path, out = sys.argv[1], sys.argv[2]
parent = os.getppid()
s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
s.bind(path)
s.settimeout(0.2)
with open(out, "a") as f:
    while True:
        try:
            data = s.recv(65536)
        except socket.timeout:
            if os.getppid() != parent:
                break
            continue
        f.write(json.dumps(data.decode("latin-1")) + "\n")
        f.flush()

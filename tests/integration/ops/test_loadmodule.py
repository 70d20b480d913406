#!/usr/bin/env python3
"""loadmodule as SER/Kamailio users write it: "tls", "tls.so", "./modules/tls/tls.so" (SER's
source-tree path, which does not exist here) and mpath= with "NAME.so"; checked with sipsd -c.
A module that is nowhere is an error naming FILE:LINE:COL and every place tried."""
import os
import sys

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "lib"))
from sipsd_harness import Checker, build_dir, make_pki, run, sipsd_binary, work_dir  # noqa: E402

c = Checker()
tmp = work_dir("sipsd-loadmodule-")
ca = make_pki(tmp, clients=())
crt, key = os.path.join(ca, "certs", "server.crt"), os.path.join(ca, "certs", "server.key")


def check_cfg(name, head, expect_ok=True, cwd=None):
    path = os.path.join(tmp, name + ".cfg")
    with open(path, "w") as f:
        f.write(head + f'''
listen=tls:127.0.0.1:5061
modparam("tls", "certificate", "{crt}")
modparam("tls", "private_key", "{key}")
route {{ sl_send_reply("200", "OK"); }}
''')
    r = run([sipsd_binary(), "-c", "-f", path], cwd=cwd or tmp)
    if expect_ok:
        c.check(r.returncode == 0 and "config OK" in r.stderr, "loadmodule " + name, r.stderr)
    return path, r


check_cfg("bare-names", 'loadmodule "tls"\nloadmodule "sl"\n')
check_cfg("dot-so", 'loadmodule "tls.so"\nloadmodule "sl.so"\n')
check_cfg("ser-source-path", 'loadmodule "./modules/tls/tls.so"\nloadmodule "./modules/sl/sl.so"\n')
check_cfg("mpath-dot-so", f'mpath="{build_dir()}/modules"\nloadmodule "{build_dir()}/tls/tls.so"\nloadmodule "sl.so"\n')
check_cfg("absolute-path", f'loadmodule "{build_dir()}/tls/tls.so"\nloadmodule "{build_dir()}/modules/sl/sl.so"\n')
# A relative path that exists is taken as written (relative to the working directory).
os.makedirs(os.path.join(tmp, "modules", "sl"), exist_ok=True)
os.symlink(os.path.join(build_dir(), "modules", "sl", "sl.so"), os.path.join(tmp, "modules", "sl", "sl.so"))
check_cfg("existing-relative-path", 'loadmodule "tls"\nloadmodule "./modules/sl/sl.so"\n')

path, r = check_cfg("missing", 'loadmodule "tls"\nloadmodule "sl"\nloadmodule "nosuch.so"\n', expect_ok=False)
c.check(r.returncode == 1 and f"{path}:3:12: error: module 'nosuch.so' not found" in r.stderr,
        "a missing module is an error with FILE:LINE:COL", r.stderr)
c.check("nosuch/nosuch.so" in r.stderr and "/modules/nosuch.so" in r.stderr,
        "the error lists where it looked", r.stderr)
path, r = check_cfg("missing-path", 'loadmodule "tls"\nloadmodule "sl"\nloadmodule "./modules/nope/nope.so"\n',
                    expect_ok=False)
c.check(r.returncode == 1 and "module './modules/nope/nope.so' not found" in r.stderr, "a missing SER path is an error",
        r.stderr)
c.finish()

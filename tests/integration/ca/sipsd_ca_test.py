#!/usr/bin/env python3
"""End-to-end test of tools/sipsd-ca: runs the real tool and checks its output with the openssl
CLI (`openssl verify -CApath HASHDIR -crl_check`, `openssl x509 -ext`, `openssl crl`).

Usage: sipsd_ca_test.py PATH/TO/sipsd-ca [PATH/TO/make-demo-certs.sh]
Prints one PASS/FAIL line per check and exits 1 if any check failed.
"""

import os
import re
import stat
import subprocess
import sys
import tempfile

TOOL = os.path.abspath(sys.argv[1]) if len(sys.argv) > 1 else os.path.join(
    os.path.dirname(os.path.abspath(__file__)), '..', '..', '..', 'tools', 'sipsd-ca')

# The same openssl the tool runs (meson passes the one it found).
OPENSSL = os.environ.get('OPENSSL', 'openssl')
DEMO = os.path.abspath(sys.argv[2]) if len(sys.argv) > 2 else os.path.join(
    os.path.dirname(TOOL), '..', 'etc', 'make-demo-certs.sh')

failures = []


def check(name, ok, detail=''):
    if ok:
        print(f'PASS {name}')
    else:
        print(f'FAIL {name}' + (f': {detail}' if detail else ''))
        failures.append(name)
    return ok


def run(*args, env=None):
    p = subprocess.run(list(args), capture_output=True, text=True, env=env, timeout=60)
    return p.returncode, p.stdout + p.stderr


def tool(*args, env=None):
    return run('sh', TOOL, *args, env=env)


def openssl(*args):
    return run(OPENSSL, *args)


def must(name, result):
    """A step later checks depend on: a failure is reported and stops the run."""
    rc, out = result
    if not check(name, rc == 0, out.strip()):
        finish()
    return out


def finish():
    print(f'{len(failures)} check(s) failed: {", ".join(failures)}' if failures else 'all checks passed')
    sys.exit(1 if failures else 0)


def verify(hashdir, cert, purpose=None):
    args = ['verify', '-CApath', hashdir, '-crl_check']
    if purpose:
        args += ['-purpose', purpose]
    return openssl(*args, cert)


def ext(cert, name):
    return openssl('x509', '-in', cert, '-noout', '-ext', name)[1]


def subject(cert):
    return openssl('x509', '-in', cert, '-noout', '-subject', '-nameopt', 'RFC2253')[1].strip()


def last_update(crl):
    """lastUpdate as YYYYMMDDHHMMSS ('' if unreadable), so later means greater."""
    rc, out = openssl('crl', '-in', crl, '-noout', '-lastupdate', '-dateopt', 'iso_8601')
    return re.sub(r'\D', '', out) if rc == 0 else ''


def read(path):
    try:
        with open(path) as f:
            return f.read()
    except OSError as e:
        return f'<{e}>'


def crl_hash(crl):
    return openssl('crl', '-in', crl, '-noout', '-hash')[1].strip()


def cert_hash(cert):
    return openssl('x509', '-in', cert, '-noout', '-hash')[1].strip()


def check_key(name, path, algo):
    mode = stat.S_IMODE(os.stat(path).st_mode)
    check(f'{name}: key mode is 0600', mode == 0o600, oct(mode))
    first = read(path).split('\n', 1)[0].strip()
    check(f'{name}: key is PKCS#8 PEM', first == '-----BEGIN PRIVATE KEY-----', first)
    text = openssl('pkey', '-in', path, '-noout', '-text')[1]
    want = 'ASN1 OID: prime256v1' if algo == 'ec' else 'Private-Key: (2048 bit'
    check(f'{name}: key is {algo}', want in text, text.splitlines()[0] if text else 'no output')


def seq_files(hashdir, h, crl):
    """Sequence numbers present for hash h (HASH.N or HASH.rN), sorted."""
    pat = re.compile(re.escape(h) + (r'\.r(\d+)$' if crl else r'\.(\d+)$'))
    return sorted(int(m.group(1)) for f in os.listdir(hashdir) if (m := pat.match(f)))


def main():
    work = tempfile.mkdtemp(prefix='sipsd-ca-test.')
    print(f'# work dir {work} (removed when every check passes)')
    ca = os.path.join(work, 'ca')
    certs = os.path.join(ca, 'certs')
    hd = os.path.join(ca, 'lookup-hash-dir')

    rc, out = tool('--help')
    check('--help exits 0 and lists every command',
          rc == 0 and all(c in out for c in ('init', 'server', 'client', 'hashdir', 'revoke', 'crl')), out)

    # --- init -------------------------------------------------------------------------------
    must('init', tool('init', ca, '--cn', 'Test CA'))
    for f in ('ca.crt', 'ca.key', 'ca.conf', 'index.txt', 'serial', 'crlnumber', 'crl/ca.crl'):
        check(f'init creates {f}', os.path.isfile(os.path.join(ca, f)))
    check_key('ca', os.path.join(ca, 'ca.key'), 'ec')
    check('CA subject has CN and organization',
          subject(os.path.join(ca, 'ca.crt')) == 'subject=CN=Test CA,O=sipsd demo',
          subject(os.path.join(ca, 'ca.crt')))
    rc, out = tool('init', ca)
    check('init on an existing CA fails', rc != 0 and 'already holds a CA' in out, out)

    # --- server -----------------------------------------------------------------------------
    must('server with IP and DNS SANs',
         tool('server', ca, 'srv', '--cn', 'localhost', '--ip', '127.0.0.1', '--ip', '::1',
              '--dns', 'localhost'))
    srv = os.path.join(certs, 'srv.crt')
    san = ext(srv, 'subjectAltName')
    check('server SANs are as asked',
          'IP Address:127.0.0.1' in san and 'IP Address:0:0:0:0:0:0:0:1' in san and 'DNS:localhost' in san,
          san)
    eku = ext(srv, 'extendedKeyUsage')
    check('server EKU is serverAuth only',
          'TLS Web Server Authentication' in eku and 'Client' not in eku, eku)
    check('server subject', subject(srv) == 'subject=CN=localhost,O=sipsd demo', subject(srv))
    check_key('server', os.path.join(certs, 'srv.key'), 'ec')
    rc, out = openssl('verify', '-CAfile', os.path.join(ca, 'ca.crt'), '-purpose', 'sslserver', srv)
    check('server verifies for purpose sslserver', rc == 0, out)
    rc, out = openssl('verify', '-CAfile', os.path.join(ca, 'ca.crt'), '-purpose', 'sslclient', srv)
    check('server does not verify for purpose sslclient', rc != 0, out)

    must('server without SAN options', tool('server', ca, 'sip.example.org'))
    s2 = os.path.join(certs, 'sip.example.org.crt')
    check('default SAN is DNS:NAME', 'DNS:sip.example.org' in ext(s2, 'subjectAltName'), ext(s2, 'subjectAltName'))
    check('default CN is NAME', 'CN=sip.example.org' in subject(s2), subject(s2))

    must('server --client-auth', tool('server', ca, 'proxy', '--ip', '127.0.0.2', '--client-auth'))
    eku = ext(os.path.join(certs, 'proxy.crt'), 'extendedKeyUsage')
    check('--client-auth adds clientAuth to serverAuth',
          'TLS Web Server Authentication' in eku and 'TLS Web Client Authentication' in eku, eku)

    # --- clients ----------------------------------------------------------------------------
    must('client bob', tool('client', ca, 'bob', '--cn', 'Bob', '--email', 'bob@example.com'))
    bob = os.path.join(certs, 'bob.crt')
    eku = ext(bob, 'extendedKeyUsage')
    check('client EKU is clientAuth only', 'TLS Web Client Authentication' in eku and 'Server' not in eku, eku)
    check('client e-mail SAN', 'email:bob@example.com' in ext(bob, 'subjectAltName'), ext(bob, 'subjectAltName'))
    check('client subject has CN, organization and e-mail',
          subject(bob) == 'subject=emailAddress=bob@example.com,CN=Bob,O=sipsd demo', subject(bob))
    check_key('client', os.path.join(certs, 'bob.key'), 'ec')
    must('client alice', tool('client', ca, 'alice', '--cn', 'Alice', '--org', 'Example Org'))
    alice = os.path.join(certs, 'alice.crt')
    check('client --org', 'O=Example Org' in subject(alice), subject(alice))
    must('client with UTF-8 and /+= in the subject',
         tool('client', ca, 'mueller', '--cn', 'Bob Müller', '--org', 'A/B+C=D'))
    m = openssl('x509', '-in', os.path.join(certs, 'mueller.crt'), '-noout', '-subject',
                '-nameopt', 'utf8,sep_comma_plus,dn_rev')[1].strip()
    check('subject values are taken literally', m == 'subject=CN=Bob Müller,O=A/B+C=D', m)
    # A CA made with --org issues certificates of that organization unless --org says otherwise.
    oca = os.path.join(work, 'org-ca')
    must('init --org', tool('init', oca, '--cn', 'Org CA', '--org', 'Example Inc'))
    must('server on the --org CA', tool('server', oca, 'proxy1', '--ip', '192.0.2.10'))
    must('client on the --org CA', tool('client', oca, 'dana', '--email', 'dana@example.com'))
    must('client on the --org CA with its own --org', tool('client', oca, 'erik', '--org', 'Partner Ltd'))
    for n, want in (('proxy1', 'O=Example Inc'), ('dana', 'O=Example Inc'), ('erik', 'O=Partner Ltd')):
        got = subject(os.path.join(oca, 'certs', n + '.crt'))
        check(f'{n} on a CA made with --org "Example Inc" has {want}', got.endswith(',' + want), got)
    rc, out = tool('client', ca, 'ctl', '--cn', 'a\tb')
    check('control characters in --cn are refused', rc != 0 and 'control characters' in out, out)
    must('client carol', tool('client', ca, 'carol'))
    carol = os.path.join(certs, 'carol.crt')

    # --- hash dir and verification ----------------------------------------------------------
    must('hashdir', tool('hashdir', ca))
    h = cert_hash(os.path.join(ca, 'ca.crt'))
    check('hashdir holds CA as HASH.0 and CRL as HASH.r0',
          seq_files(hd, h, False) == [0] and seq_files(hd, h, True) == [0], sorted(os.listdir(hd)))
    check('CRL hash equals CA subject hash', crl_hash(os.path.join(ca, 'crl', 'ca.crl')) == h)
    rc, out = verify(hd, bob, 'sslclient')
    check('fresh client verifies with -CApath -crl_check', rc == 0, out)
    rc, out = verify(hd, srv, 'sslserver')
    check('server verifies with -CApath -crl_check', rc == 0, out)
    must('hashdir again', tool('hashdir', ca))
    check('hashdir twice adds nothing',
          seq_files(hd, h, False) == [0] and seq_files(hd, h, True) == [0], sorted(os.listdir(hd)))

    # A second hash dir, given as OUT, is remembered and kept current by revoke/crl.
    other = os.path.join(work, 'other-hash-dir')
    must('hashdir DIR OUT', tool('hashdir', ca, other))
    check('OUT holds CA and CRL', seq_files(other, h, False) == [0] and seq_files(other, h, True) == [0],
          sorted(os.listdir(other)))

    # --- revoke -----------------------------------------------------------------------------
    lu0 = last_update(os.path.join(hd, f'{h}.r0'))
    must('revoke bob', tool('revoke', ca, 'bob'))
    check('revoke publishes HASH.r1', seq_files(hd, h, True) == [0, 1], sorted(os.listdir(hd)))
    check('revoke publishes into the remembered OUT too', seq_files(other, h, True) == [0, 1],
          sorted(os.listdir(other)))
    lu1 = last_update(os.path.join(hd, f'{h}.r1'))
    check('r1 lastUpdate is later than r0', lu1 > lu0, f'{lu0} -> {lu1}')
    rc, out = verify(hd, bob)
    check('revoked client fails as revoked', rc != 0 and 'certificate revoked' in out, out)
    rc, out = verify(other, bob)
    check('revoked client fails as revoked in OUT', rc != 0 and 'certificate revoked' in out, out)
    rc, out = verify(hd, alice)
    check('another client still verifies after revoke', rc == 0, out)
    rc, out = tool('revoke', ca, 'bob')
    check('revoking a revoked NAME fails', rc != 0 and 'already revoked' in out, out)

    must('second revoke (alice)', tool('revoke', ca, 'alice', '--reason', 'keyCompromise'))
    check('second revoke publishes HASH.r2', seq_files(hd, h, True) == [0, 1, 2], sorted(os.listdir(hd)))
    lu2 = last_update(os.path.join(hd, f'{h}.r2'))
    check('r2 lastUpdate is later than r1', lu2 > lu1, f'{lu1} -> {lu2}')
    rc, out = verify(hd, alice)
    check('second revoked client fails as revoked', rc != 0 and 'certificate revoked' in out, out)
    rc, out = verify(hd, bob)
    check('first revoked client is still revoked', rc != 0 and 'certificate revoked' in out, out)
    rc, out = verify(hd, carol)
    check('third client still verifies', rc == 0, out)

    # --- crl renewal ------------------------------------------------------------------------
    must('crl', tool('crl', ca))
    check('crl publishes HASH.r3', seq_files(hd, h, True) == [0, 1, 2, 3], sorted(os.listdir(hd)))
    lu3 = last_update(os.path.join(hd, f'{h}.r3'))
    check('r3 lastUpdate is later than r2', lu3 > lu2, f'{lu2} -> {lu3}')
    check('crl/ca.crl is the published CRL',
          read(os.path.join(ca, 'crl', 'ca.crl')) == read(os.path.join(hd, f'{h}.r3')))
    rc, out = verify(hd, bob)
    check('revoked client stays revoked after renewal', rc != 0 and 'certificate revoked' in out, out)
    rc, out = verify(hd, carol)
    check('valid client verifies after renewal', rc == 0, out)

    # --- sequence numbers are found, never assumed --------------------------------------------
    crowded = os.path.join(work, 'crowded')
    os.mkdir(crowded)
    # Another CA with the very same subject: same hash, different certificate and CRL.
    twin = os.path.join(work, 'twin')
    must('init twin CA (same subject)', tool('init', twin, '--cn', 'Test CA'))
    must('hashdir of twin CA into crowded', tool('hashdir', twin, crowded))
    must('hashdir of CA into crowded', tool('hashdir', ca, crowded))
    check('same-hash CA goes to HASH.1 and its CRL to HASH.r1',
          seq_files(crowded, h, False) == [0, 1] and seq_files(crowded, h, True) == [0, 1],
          sorted(os.listdir(crowded)))
    rc, out = verify(crowded, carol)
    check('client verifies in a hash dir shared with a same-subject CA', rc == 0, out)
    os.remove(os.path.join(crowded, f'{h}.r0'))
    must('crl with a hole in the sequence', tool('crl', ca))
    check('a hole is filled, not extended', seq_files(crowded, h, True) == [0, 1], sorted(os.listdir(crowded)))

    # --- errors -----------------------------------------------------------------------------
    rc, out = tool('revoke', ca, 'nobody')
    check('revoke of unknown NAME fails clearly', rc != 0 and "unknown NAME 'nobody'" in out, out)
    empty = os.path.join(work, 'empty')
    os.mkdir(empty)
    rc, out = tool('client', empty, 'x')
    check('DIR not initialised fails clearly', rc != 0 and 'not initialised' in out, out)
    rc, out = tool('hashdir', os.path.join(work, 'missing'))
    check('missing DIR fails clearly', rc != 0 and 'does not exist' in out, out)
    rc, out = tool('client', ca, 'bob')
    check('name already issued fails clearly', rc != 0 and 'already issued' in out, out)
    rc, out = tool('server', ca, 'srv', '--ip', '127.0.0.9')
    check('server name already issued fails clearly', rc != 0 and 'already issued' in out, out)
    rc, out = tool('client', ca, '../evil')
    check('NAME with a path is refused', rc != 0 and 'bad NAME' in out
          and not os.path.exists(os.path.join(ca, 'evil.crt')), out)
    rc, out = tool('server', ca, 'bad', '--ip', 'not-an-ip')
    check('bad --ip is refused', rc != 0 and '--ip' in out, out)
    rc, out = tool('init', os.path.join(work, 'x'), '--algo', 'dsa')
    check('bad --algo is refused', rc != 0 and '--algo' in out, out)
    rc, out = tool('frobnicate')
    check('unknown command is a usage error', rc == 2 and 'unknown command' in out, out)
    env = dict(os.environ, OPENSSL=os.path.join(work, 'no-such-openssl'))
    rc, out = tool('client', ca, 'dave', env=env)
    check('openssl missing fails clearly', rc != 0 and 'openssl not found' in out, out)
    check('no stray files after failures',
          sorted(f for f in os.listdir(certs)) ==
          sorted(['alice.crt', 'alice.key', 'bob.crt', 'bob.key', 'carol.crt', 'carol.key',
                  'mueller.crt', 'mueller.key', 'proxy.crt', 'proxy.key', 'sip.example.org.crt', 'sip.example.org.key',
                  'srv.crt', 'srv.key']), sorted(os.listdir(certs)))
    check('no lock left behind', not os.path.exists(os.path.join(ca, '.lock')))

    # --- RSA ----------------------------------------------------------------------------------
    rsa = os.path.join(work, 'rsa')
    must('init --algo rsa', tool('init', rsa, '--algo', 'rsa'))
    check_key('rsa ca', os.path.join(rsa, 'ca.key'), 'rsa')
    must('rsa client', tool('client', rsa, 'eve', '--email', 'eve@example.com'))
    check_key('rsa client', os.path.join(rsa, 'certs', 'eve.key'), 'rsa')
    must('rsa server', tool('server', rsa, 'srv', '--ip', '127.0.0.1'))
    check_key('rsa server', os.path.join(rsa, 'certs', 'srv.key'), 'rsa')
    must('rsa hashdir', tool('hashdir', rsa))
    rc, out = verify(os.path.join(rsa, 'lookup-hash-dir'), os.path.join(rsa, 'certs', 'eve.crt'), 'sslclient')
    check('rsa client verifies', rc == 0, out)
    must('ec client under rsa CA', tool('client', rsa, 'frank', '--algo', 'ec'))
    check_key('ec client under rsa CA', os.path.join(rsa, 'certs', 'frank.key'), 'ec')

    # The CA directory is relocatable: ca.conf uses paths relative to itself.
    moved = os.path.join(work, 'moved')
    os.rename(rsa, moved)
    must('issue from a moved CA', tool('client', moved, 'grace'))
    must('revoke in a moved CA', tool('revoke', moved, 'eve'))
    mhd = os.path.join(moved, 'lookup-hash-dir')
    rc, out = verify(mhd, os.path.join(moved, 'certs', 'eve.crt'))
    check('moved CA: revoked client fails as revoked', rc != 0 and 'certificate revoked' in out, out)
    rc, out = verify(mhd, os.path.join(moved, 'certs', 'grace.crt'))
    check('moved CA: new client verifies', rc == 0, out)

    # --- the quick start's demo certificates ------------------------------------------------
    demo = os.path.join(work, 'demo-certs')
    must('make-demo-certs.sh', run('sh', DEMO, demo))
    dcerts = os.path.join(demo, 'certs')
    dhd = os.path.join(demo, 'lookup-hash-dir')
    for n, cn in (('bob', 'Bob'), ('alice', 'Alice'), ('ser-killer', 'SER-Killer')):
        c = os.path.join(dcerts, f'{n}.crt')
        rc, out = verify(dhd, c, 'sslclient')
        check(f'demo client {n} verifies', rc == 0, out)
        check(f'demo client {n} has CN {cn} and an organization',
              f'CN={cn},' in subject(c) and 'O=sipsd demo' in subject(c), subject(c))
    dsrv = os.path.join(dcerts, 'server.crt')
    rc, out = verify(dhd, dsrv, 'sslserver')
    check('demo server verifies', rc == 0, out)
    san = ext(dsrv, 'subjectAltName')
    check('demo server SANs', all(s in san for s in ('IP Address:127.0.0.1', 'IP Address:0:0:0:0:0:0:0:1',
                                                     'DNS:localhost')), san)
    before = read(dsrv)
    rc, out = run('sh', DEMO, demo)
    check('make-demo-certs.sh is idempotent', rc == 0 and read(dsrv) == before, out)
    check('make-demo-certs.sh leaves no temporary dir', sorted(os.listdir(work)).count('demo-certs') == 1
          and not any(f.startswith('demo-certs.tmp') for f in os.listdir(work)), sorted(os.listdir(work)))

    subprocess.run(['rm', '-rf', work], check=False)
    finish()


if __name__ == '__main__':
    try:
        main()
    except Exception as e:  # an unexpected state is a failure with its reason, not a traceback
        check('test ran to completion', False, f'{type(e).__name__}: {e}')
        finish()

#!/bin/sh
# Makes the quick start's demo CA and certificates in etc/demo-certs/ (git ignores it) with
# tools/sipsd-ca, once: when etc/demo-certs/ca.crt exists it does nothing.
#   CA:      etc/demo-certs/ca.crt, ca.key, crl/ca.crl
#   server:  certs/server.crt|key   CN localhost, SAN IP:127.0.0.1, IP:::1, DNS:localhost;
#            EKU serverAuth and clientAuth, so a demo proxy can also present it when it forwards
#            over TLS to another one that verifies its peers
#   clients: certs/bob, certs/alice, certs/ser-killer (CN Bob, Alice, SER-Killer)
#   hashdir: etc/demo-certs/lookup-hash-dir (for ca_path / peers.lookup_hash_directory)
# Usage: etc/make-demo-certs.sh [DIR]   (default: etc/demo-certs next to this script)
set -eu
here=$(cd "$(dirname "$0")" && pwd -P)
ca_tool=$here/../tools/sipsd-ca
dest=${1:-$here/demo-certs}

if [ -f "$dest/ca.crt" ]; then
    exit 0
fi
if [ -e "$dest" ]; then
    echo "make-demo-certs: error: $dest exists but holds no ca.crt (an interrupted run?); remove it and rerun" >&2
    exit 1
fi

# Build next to the destination and rename at the end, so an interrupted run leaves no
# half-made CA behind under the real name (the CA directory is relocatable).
tmp="$dest.tmp.$$"
trap 'rm -rf "$tmp"' EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

sh "$ca_tool" init "$tmp" --cn "sipsd demo CA" >/dev/null
sh "$ca_tool" server "$tmp" server --cn localhost --ip 127.0.0.1 --ip ::1 --dns localhost \
    --client-auth >/dev/null
sh "$ca_tool" client "$tmp" bob --cn Bob --email bob@example.com >/dev/null
sh "$ca_tool" client "$tmp" alice --cn Alice --email alice@example.com >/dev/null
sh "$ca_tool" client "$tmp" ser-killer --cn SER-Killer >/dev/null
sh "$ca_tool" hashdir "$tmp" >/dev/null
mv "$tmp" "$dest"
trap - EXIT
echo "make-demo-certs: demo CA and certificates created in $dest"

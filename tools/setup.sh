#!/bin/sh
# Installs what a fresh Debian 12 machine lacks and builds sipsd into ./build (or $BUILD_DIR).
# Usage: tools/setup.sh [extra meson options]
set -eu
cd "$(dirname "$0")/.."

PKGS="g++ meson ninja-build pkg-config libssl-dev openssl libevent-dev libyaml-cpp-dev libboost-dev
doctest-dev sip-tester curl python3 libclang-rt-14-dev libhiredis-dev redis-server"
# ops tests: the ACME end-to-end test (pebble, lego), systemd-analyze for the unit, and the
# patches/ interop kit run against Debian's kamailio.
PKGS="$PKGS pebble lego systemd kamailio kamailio-tls-modules patch"
# registrar test with real phones: baresip-core has the binary and every module it uses headless
# (ausine, opus, ctrl_tcp, menu); the "baresip" metapackage would add GTK/X11/GStreamer front-ends.
PKGS="$PKGS baresip-core"

missing=""
for p in $PKGS; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing="$missing $p"
done
if [ -n "$missing" ]; then
  echo "setup: installing:$missing"
  SUDO=""
  [ "$(id -u)" -eq 0 ] || SUDO="sudo"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq $missing
fi

BUILD_DIR="${BUILD_DIR:-build}"
if [ ! -f "$BUILD_DIR/build.ninja" ]; then
  meson setup "$BUILD_DIR" "$@"
else
  [ $# -eq 0 ] || meson configure "$BUILD_DIR" "$@"
fi
ninja -C "$BUILD_DIR"

#!/bin/sh
# Sets up a fresh machine, makes the demo certificates on first run, and runs sipsd in the
# foreground on etc/sipsd.cfg.  Usage: tools/run.sh [extra sipsd options]
set -eu
cd "$(dirname "$0")/.."
tools/setup.sh
if [ -x etc/make-demo-certs.sh ]; then etc/make-demo-certs.sh; fi
exec build/sipsd -f etc/sipsd.cfg "$@"

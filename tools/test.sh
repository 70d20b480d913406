#!/bin/sh
# Sets up a fresh machine (tools/setup.sh), builds with warnings as errors, runs every test,
# then builds the unit tests under ASan+UBSan and runs them too.
set -eu
cd "$(dirname "$0")/.."
BUILD_DIR=build tools/setup.sh -Dwerror=true
meson test -C build --print-errorlogs --num-processes 2

BUILD_DIR=build-asan tools/setup.sh -Dwerror=true -Db_sanitize=address,undefined -Dbuildtype=debug
ASAN_OPTIONS=detect_leaks=1 UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1 \
  meson test -C build-asan --suite unit --print-errorlogs --num-processes 2

#!/bin/sh
# Sets up a fresh machine (tools/setup.sh), builds with warnings as errors and runs every test
# (unit, integration, and the fuzz targets for 3 s each); then builds everything under
# ASan+UBSan and runs every suite again there: unit, integration (the real sipsd and its
# modules, sanitized) and the fuzz targets for SIPSD_FUZZ_SECONDS (25 s) each.
set -eu
cd "$(dirname "$0")/.."
start=$(date +%s)
BUILD_DIR=build tools/setup.sh -Dwerror=true
meson test -C build --print-errorlogs --num-processes 2

BUILD_DIR=build-asan tools/setup.sh -Dwerror=true -Db_sanitize=address,undefined -Dbuildtype=debug
# The sanitized build is several times slower: the load parts of the integration tests run
# with fewer clients there (the full sizes ran above), their timing bounds stay the same.
# SIPSD_SANITIZED tells tests that RSS figures are the sanitizer allocator's (checked above).
ASAN_OPTIONS=detect_leaks=1 UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1 \
  SIPSD_FUZZ_SECONDS="${SIPSD_FUZZ_SECONDS:-25}" \
  SIPSD_SANITIZED=1 SIPSD_IT_TLS_CLIENTS=50 SIPSD_IT_TRICKLERS=100 SIPSD_IT_CALLS=100 \
  meson test -C build-asan --print-errorlogs --num-processes 2
echo "test.sh: all suites passed in $(( $(date +%s) - start )) s"

#!/bin/sh
# run-bench.sh: sipsd against a bare epoll+OpenSSL baseline, measured side by side in ONE run,
# with ratios against that run's baseline (the machines are noisy: compare ratios, not runs).
#   1. OPTIONS->200 over TCP:  sipsd-baseline, sipsd children=1, sipsd children=2 (same load)
#   2. full TLS handshakes:    sipsd-baseline tls, sipsd tls  (server CPU per handshake)
#   3. OPTIONS->200 over persistent TLS connections: sipsd-baseline tls, sipsd tls
# or, with --soak N: N full handshakes from 64 concurrent clients against sipsd, RSS before/after;
# or, with --resumption: clients reconnecting in a loop and offering their last session, TLS 1.3 and
# 1.2, 1 and $HS_CONNS clients, baseline and sipsd: the share of handshakes that resumed.
# Builds nothing: expects sipsd-bench, sipsd-baseline, sipsd and the modules in $BUILD_DIR
# (default build/, made by tools/setup.sh).  Certificates are made with tools/sipsd-ca in a
# temporary directory.  See tools/bench/README.md for what each figure means.
set -eu
cd "$(dirname "$0")/../.."
ROOT=$(pwd)

usage() {
    cat <<'EOF_USAGE'
Usage: tools/bench/run-bench.sh [--duration S] [--rounds R] [--soak N | --resumption] [--keep]
  --duration S   seconds per measurement (default 5; env DURATION)
  --rounds R     repeat the whole comparison R times, report medians (default 1; env ROUNDS)
  --soak N       instead of the comparison: N full TLS handshakes (64 concurrent clients, one
                 OPTIONS each) against sipsd; reports RSS before/half-way/after and liveness
  --resumption   instead of the comparison: session resumption rate (TLS 1.3 and 1.2, 1 and
                 HS_CONNS clients reconnecting in a loop), baseline and sipsd side by side
  --keep         keep the temporary directory (configs, certificates, logs, JSON results)
Environment: BUILD_DIR (default build), CONNS (32) and PIPELINE (4) for OPTIONS runs,
  HS_CONNS (64) concurrent handshake clients, THREADS (1) load threads,
  TLS_CHILDREN (1) sipsd workers for the TLS runs, ALGO (ec|rsa, default ec) key type.
EOF_USAGE
}

DURATION=${DURATION:-5}
ROUNDS=${ROUNDS:-1}
SOAK=0
RESUMPTION=0
KEEP=0
while [ $# -gt 0 ]; do
    case "$1" in
        --duration) [ $# -ge 2 ] || { usage >&2; exit 2; }; DURATION=$2; shift 2 ;;
        --rounds) [ $# -ge 2 ] || { usage >&2; exit 2; }; ROUNDS=$2; shift 2 ;;
        --soak) [ $# -ge 2 ] || { usage >&2; exit 2; }; SOAK=$2; shift 2 ;;
        --resumption) RESUMPTION=1; shift ;;
        --keep) KEEP=1; shift ;;
        -h|--help) usage; exit 0 ;;
        *) printf 'run-bench: unknown option %s\n' "$1" >&2; usage >&2; exit 2 ;;
    esac
done
case "$SOAK$ROUNDS" in *[!0-9]*) printf 'run-bench: --soak and --rounds take integers\n' >&2; exit 2 ;; esac

BUILD_DIR=${BUILD_DIR:-build}
case "$BUILD_DIR" in /*) ;; *) BUILD_DIR="$ROOT/$BUILD_DIR" ;; esac
CONNS=${CONNS:-32}
PIPELINE=${PIPELINE:-4}
HS_CONNS=${HS_CONNS:-64}
THREADS=${THREADS:-1}
TLS_CHILDREN=${TLS_CHILDREN:-1}
ALGO=${ALGO:-ec}
BENCH="$BUILD_DIR/tools/bench/sipsd-bench"
BASELINE="$BUILD_DIR/tools/bench/sipsd-baseline"
SIPSD="$BUILD_DIR/sipsd"

for f in "$BENCH" "$BASELINE"; do
    [ -x "$f" ] || { printf 'run-bench: %s not found: build first (tools/setup.sh, or BUILD_DIR=...)\n' "$f" >&2; exit 1; }
done

TMP=$(mktemp -d "${TMPDIR:-/tmp}/sipsd-bench.XXXXXX")
SERVER_PID=
# shellcheck disable=SC2317  # invoked by the trap
cleanup() {
    if [ -n "$SERVER_PID" ]; then kill "$SERVER_PID" 2>/dev/null || :; wait "$SERVER_PID" 2>/dev/null || :; fi
    if [ "$KEEP" = 1 ]; then printf 'run-bench: kept %s\n' "$TMP"; else rm -rf "$TMP"; fi
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# --- certificates ----------------------------------------------------------------------------
CA="$TMP/ca"
tools/sipsd-ca init "$CA" --algo "$ALGO" >/dev/null
tools/sipsd-ca server "$CA" server --ip 127.0.0.1 --algo "$ALGO" >/dev/null
tools/sipsd-ca client "$CA" bench --algo "$ALGO" >/dev/null
SRV_CRT="$CA/certs/server.crt"; SRV_KEY="$CA/certs/server.key"
CLI_CRT="$CA/certs/bench.crt"; CLI_KEY="$CA/certs/bench.key"; CA_CRT="$CA/ca.crt"
TLS_CLIENT="--cert $CLI_CRT --key $CLI_KEY --ca $CA_CRT"

free_port() {
    python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

# Waits until something accepts on 127.0.0.1:$1 while process $2 lives (10 s at most).
wait_port() {
    python3 - "$1" "$2" <<'EOF_PY'
import os, socket, sys, time
port, pid = int(sys.argv[1]), int(sys.argv[2])
deadline = time.monotonic() + 10
while time.monotonic() < deadline:
    try:
        os.kill(pid, 0)
    except OSError:
        sys.exit(1)
    try:
        socket.create_connection(("127.0.0.1", port), timeout=0.5).close()
        sys.exit(0)
    except OSError:
        time.sleep(0.02)
sys.exit(1)
EOF_PY
}

# sipsd config: $1 file, $2 children, $3 listen proto, $4 port.
write_cfg() {
    cat > "$1" <<EOF_CFG
# written by tools/bench/run-bench.sh
debug=1
children=$2
listen=$3:127.0.0.1:$4
tcp_connection_lifetime=120
tcp_max_connections=20000

loadmodule "sl"
loadmodule "tls"
modparam("tls", "certificate", "$SRV_CRT")
modparam("tls", "private_key", "$SRV_KEY")
modparam("tls", "ca_list", "$CA_CRT")
modparam("tls", "verify_certificate", 1)
modparam("tls", "require_certificate", 1)

route {
    if (method == "OPTIONS") {
        sl_reply(200, "OK");
        exit;
    }
    sl_reply(404, "Not Here");
}
EOF_CFG
}

# start_server NAME KIND PROTO [CHILDREN]: sets SERVER_PID and PORT; KIND = baseline | sipsd.
start_server() {
    PORT=$(free_port)
    log="$TMP/$1.log"
    if [ "$2" = baseline ]; then
        if [ "$3" = tls ]; then
            "$BASELINE" --listen "127.0.0.1:$PORT" --proto tls --cert "$SRV_CRT" --key "$SRV_KEY" --ca "$CA_CRT" >"$log" 2>&1 &
        else
            "$BASELINE" --listen "127.0.0.1:$PORT" --proto "$3" >"$log" 2>&1 &
        fi
    else
        cfg="$TMP/$1.cfg"
        write_cfg "$cfg" "$4" "$3" "$PORT"
        if [ ! -x "$SIPSD" ]; then
            printf 'sipsd binary %s not found\n' "$SIPSD" >"$log"
            return 1
        fi
        if ! "$SIPSD" -c -f "$cfg" -L "$BUILD_DIR/modules" -L "$BUILD_DIR" >"$log" 2>&1; then
            return 1
        fi
        "$SIPSD" -f "$cfg" -L "$BUILD_DIR/modules" -L "$BUILD_DIR" -E >>"$log" 2>&1 &
    fi
    SERVER_PID=$!
    wait_port "$PORT" "$SERVER_PID"
}

stop_server() {
    if [ -n "$SERVER_PID" ]; then
        kill "$SERVER_PID" 2>/dev/null || :
        wait "$SERVER_PID" 2>/dev/null || :
        SERVER_PID=
    fi
}

RESULTS="$TMP/results.tsv"
: > "$RESULTS"
FAILED=0

# measure GROUP LABEL KIND PROTO CHILDREN -- BENCH_ARGS...: one server, one bench run, one result line.
measure() {
    group=$1; label=$2; kind=$3; proto=$4; children=$5; shift 6
    name=$(printf '%s-%s' "$group" "$label" | tr -c 'A-Za-z0-9_.-' '_')
    printf 'run-bench: %-14s %-18s ... ' "$group" "$label" >&2
    if ! start_server "$name" "$kind" "$proto" "$children"; then
        reason=$(grep -m1 -i 'error' "$TMP/$name.log" 2>/dev/null || head -n1 "$TMP/$name.log" 2>/dev/null || :)
        printf 'server did not start: %s\n' "$reason" >&2
        printf '%s\t%s\t{"failed": %s}\n' "$group" "$label" \
            "$(printf '%s' "${reason:-did not start}" | python3 -c 'import json,sys; print(json.dumps(sys.stdin.read()))')" >> "$RESULTS"
        stop_server
        FAILED=1
        return 0
    fi
    json=$("$BENCH" --json --target "127.0.0.1:$PORT" --proto "$proto" --threads "$THREADS" \
        --duration "$DURATION" --server-pid "$SERVER_PID" "$@" 2>"$TMP/$name.bench.err") || :
    if [ -z "$json" ]; then
        json=$(head -n1 "$TMP/$name.bench.err" | python3 -c 'import json,sys; print(json.dumps({"failed": "sipsd-bench: " + sys.stdin.read().strip()}))')
    fi
    if ! kill -0 "$SERVER_PID" 2>/dev/null; then
        json=$(printf '%s' "$json" | python3 -c 'import json,sys; d=json.loads(sys.stdin.read()); d["failed"]="server died during the run"; print(json.dumps(d))')
        FAILED=1
        SERVER_PID=
    fi
    stop_server
    printf '%s\t%s\t%s\n' "$group" "$label" "$json" >> "$RESULTS"
    printf '%s\n' "$json" | python3 -c 'import json,sys; d=json.loads(sys.stdin.read()); print("failed: "+d["failed"] if "failed" in d else "%.0f ops/s, %s us server CPU/op, %d errors" % (d["ops_per_s"], d["server_cpu_us_per_op"], d["errors"]))' >&2
}

# --- soak ------------------------------------------------------------------------------------
# TLS_CLIENT holds three options and paths under our own mktemp directory (no blanks).
# shellcheck disable=SC2086
if [ "$SOAK" -gt 0 ]; then
    if ! start_server soak sipsd tls 2; then
        printf 'run-bench: sipsd did not start:\n' >&2; cat "$TMP/soak.log" >&2; exit 1
    fi
    rss() { sed -n 's/^VmRSS:[[:space:]]*\([0-9]*\).*/\1/p' "/proc/$SERVER_PID/status"; }
    half=$((SOAK / 2)); rest=$((SOAK - half))
    # Warm-up: the first handshakes fill allocator arenas and OpenSSL caches, which is not a leak.
    "$BENCH" --json --target "127.0.0.1:$PORT" --proto tls $TLS_CLIENT --mode handshake --connections 64 \
        --count 640 --request-per-conn >/dev/null 2>&1 || :
    rss0=$(rss)
    r1=$("$BENCH" --json --target "127.0.0.1:$PORT" --proto tls $TLS_CLIENT --mode handshake --connections 64 \
        --count "$half" --request-per-conn --server-pid "$SERVER_PID" 2>&1) || :
    rss1=$(rss 2>/dev/null || :)
    r2=$("$BENCH" --json --target "127.0.0.1:$PORT" --proto tls $TLS_CLIENT --mode handshake --connections 64 \
        --count "$rest" --request-per-conn --server-pid "$SERVER_PID" 2>&1) || :
    alive=no
    if kill -0 "$SERVER_PID" 2>/dev/null; then alive=yes; fi
    rss2=$(rss 2>/dev/null || :)
    python3 - "$SOAK" "$alive" "${rss0:-0}" "${rss1:-0}" "${rss2:-0}" "$r1" "$r2" <<'EOF_PY'
import json, sys
n, alive, rss0, rss1, rss2 = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4] or 0), int(sys.argv[5] or 0)
runs = []
for text in sys.argv[6:8]:
    try:
        runs.append(json.loads(text.strip().splitlines()[-1]))
    except (ValueError, IndexError):
        runs.append({"ops": 0, "errors": -1, "first_error": text.strip()[:200]})
ops = sum(r["ops"] for r in runs)
errors = sum(r["errors"] for r in runs if r["errors"] >= 0)
print("soak: %s full TLS handshakes (+1 OPTIONS each) from 64 concurrent clients against sipsd" % n)
print("  completed   %d, errors %d%s" % (ops, errors, "" if all(r["errors"] >= 0 for r in runs) else " (a bench run failed)"))
for i, r in enumerate(runs):
    if r.get("server_cpu_us_per_op") is not None:
        print("  half %d      %.0f handshakes/s, %.0f us server CPU/handshake" % (i + 1, r["ops_per_s"], r["server_cpu_us_per_op"]))
    if r.get("first_error"):
        print("  first error %s" % r["first_error"])
print("  RSS         %d KiB after warm-up, %d KiB half-way, %d KiB at the end" % (rss0, rss1, rss2))
print("              growth in the second half: %+d KiB (a leak grows in both halves)" % (rss2 - rss1))
print("  sipsd alive %s" % alive)
ok = alive == "yes" and errors == 0 and all(r["errors"] == 0 for r in runs) and ops == int(n)
print("soak: %s" % ("PASS" if ok else "FAIL"))
sys.exit(0 if ok else 1)
EOF_PY
    exit $?
fi

# --- resumption ------------------------------------------------------------------------------
# shellcheck disable=SC2086
if [ "$RESUMPTION" = 1 ]; then
    for v in 1.3 1.2; do
        for n in 1 "$HS_CONNS"; do
            RS_LOAD="--mode handshake --resume --tls-version $v --connections $n"
            measure "resume-tls$v-${n}c" baseline baseline tls 1 -- $RS_LOAD $TLS_CLIENT
            measure "resume-tls$v-${n}c" "sipsd-children=$TLS_CHILDREN" sipsd tls "$TLS_CHILDREN" -- $RS_LOAD $TLS_CLIENT
        done
    done
    python3 - "$RESULTS" "$DURATION" <<'EOF_PY'
import json, sys
path, duration = sys.argv[1:3]
print()
print("session resumption: clients reconnect in a loop offering their last session, %s s per row" % duration)
head = "%-20s %-18s %9s %9s %9s %13s %7s" % ("group", "server", "cycles", "resumed", "resumed%", "srv CPU us/op", "errors")
print(head)
print("-" * len(head))
bad = False
for line in open(path):
    group, label, text = line.rstrip("\n").split("\t", 2)
    r = json.loads(text)
    if "failed" in r:
        print("%-20s %-18s FAILED: %s" % (group, label, r["failed"]))
        bad = True
        continue
    ops = r["ops"]
    pct = 100.0 * r["resumed"] / ops if ops else 0.0
    cpu = r.get("server_cpu_us_per_op")
    print("%-20s %-18s %9d %9d %8.1f%% %13s %7d" % (group, label, ops, r["resumed"], pct,
          "n/a" if cpu is None else "%.2f" % cpu, r["errors"]))
sys.exit(1 if bad else 0)
EOF_PY
    exit $?
fi

# --- the comparison --------------------------------------------------------------------------
OPT_LOAD="--connections $CONNS --pipeline $PIPELINE"
HS_LOAD="--mode handshake --connections $HS_CONNS --no-resume"
round=1
while [ "$round" -le "$ROUNDS" ]; do
    # shellcheck disable=SC2086  # the load options are word lists on purpose
    {
    measure tcp-options baseline baseline tcp 1 -- $OPT_LOAD
    measure tcp-options sipsd-children=1 sipsd tcp 1 -- $OPT_LOAD
    measure tcp-options sipsd-children=2 sipsd tcp 2 -- $OPT_LOAD
    measure tls-handshake baseline baseline tls 1 -- $HS_LOAD $TLS_CLIENT
    measure tls-handshake "sipsd-children=$TLS_CHILDREN" sipsd tls "$TLS_CHILDREN" -- $HS_LOAD $TLS_CLIENT
    measure tls-options baseline baseline tls 1 -- $OPT_LOAD $TLS_CLIENT
    measure tls-options "sipsd-children=$TLS_CHILDREN" sipsd tls "$TLS_CHILDREN" -- $OPT_LOAD $TLS_CLIENT
    }
    round=$((round + 1))
done

python3 - "$RESULTS" "$DURATION" "$ROUNDS" "$CONNS" "$PIPELINE" "$HS_CONNS" "$THREADS" "$ALGO" <<'EOF_PY'
import json, statistics, sys
path, duration, rounds, conns, pipeline, hs_conns, threads, algo = sys.argv[1:9]
rows = {}
order = []
for line in open(path):
    group, label, text = line.rstrip("\n").split("\t", 2)
    key = (group, label)
    if key not in rows:
        rows[key] = []
        order.append(key)
    rows[key].append(json.loads(text))

def med(runs, field):
    vals = [r[field] for r in runs if "failed" not in r and r.get(field) is not None]
    return statistics.median(vals) if vals else None

def fmt(v, spec):
    return "n/a" if v is None else format(v, spec)

def ratio(v, base):
    return "n/a" if v is None or not base else "%.2fx" % (v / base)

print()
print("sipsd benchmark: %s s per measurement, %s round(s), medians; load: %s connections x pipeline %s "
      "(OPTIONS), %s handshake clients, %s load thread(s), %s keys, mutual TLS" %
      (duration, rounds, conns, pipeline, hs_conns, threads, algo))
print("ratios are against the baseline of the same group in this run (ops/s: higher is better; CPU/op: lower is better)")
head = "%-14s %-18s %11s %8s %13s %8s %9s %9s %7s" % ("group", "server", "ops/s", "x base", "srv CPU us/op",
                                                        "x base", "p50 us", "p99 us", "errors")
print(head)
print("-" * len(head))
base = {}
for group, label in order:
    runs = rows[(group, label)]
    good = [r for r in runs if "failed" not in r]
    if label == "baseline":
        base[group] = (med(runs, "ops_per_s"), med(runs, "server_cpu_us_per_op"))
    b_ops, b_cpu = base.get(group, (None, None))
    ops, cpu = med(runs, "ops_per_s"), med(runs, "server_cpu_us_per_op")
    if not good:
        print("%-14s %-18s FAILED: %s" % (group, label, runs[-1].get("failed")))
        continue
    errors = sum(r["errors"] for r in good)
    print("%-14s %-18s %11s %8s %13s %8s %9s %9s %7d" % (
        group, label, fmt(ops, ".0f"), ratio(ops, b_ops), fmt(cpu, ".2f"), ratio(cpu, b_cpu),
        fmt(med(runs, "p50_us"), ".1f"), fmt(med(runs, "p99_us"), ".1f"), errors))
    for r in good:
        if r.get("first_error"):
            print("%-33s first error: %s" % ("", r["first_error"]))
c1 = rows.get(("tcp-options", "sipsd-children=1"))
c2 = rows.get(("tcp-options", "sipsd-children=2"))
if c1 and c2 and med(c1, "ops_per_s") and med(c2, "ops_per_s"):
    print("\nOPTIONS->200 over TCP: children=2 / children=1 = %.2fx" % (med(c2, "ops_per_s") / med(c1, "ops_per_s")))
EOF_PY
exit "$FAILED"

#!/usr/bin/env bash
# Registrar benchmark (one run, ratios): REGISTER/s and memory per binding for sipsd in memory,
# sipsd with Redis (db_url), and Kamailio's registrar with usrloc in memory (db_mode 0), on this
# machine, each with 2 workers on UDP; then lookup latency with 1,000, 10,000 and all bindings.
#   tools/bench/registrar/run-registrar-bench.sh [BINDINGS [ROUNDS]]
#   (default 100000 bindings, 5 lookup rounds; build/ must exist, or SIPSD_BUILD_DIR)
# Load: sipp, one REGISTER per new AoR (-inf users.csv), up to 200 in flight. Memory: the sum of
# the server's processes' PSS (Kamailio's shared memory counted once) before and after, divided
# by the number of bindings; with Redis, plus Redis's used_memory growth.
# Lookups: three instances of each server hold 1,000, 10,000 and BINDINGS bindings side by side;
# sipsd-bench sends OPTIONS sip:u<k>@example.com with k uniformly random over the instance's
# registered AoRs (--ruri-users), the script answers 200 after lookup("location") (404 if not
# found: every 404 is counted and reported). ROUNDS rounds of LOOKUP_SECS (default 2) s per
# instance, the sizes interleaved (rotated each round); the table gives the median of the rounds.
set -euo pipefail
cd "$(dirname "$0")/../../.."
N=${1:-100000}
ROUNDS=${2:-5}
LOOKUP_SECS=${LOOKUP_SECS:-2}
MID=$((N / 10))   # the middle table size (10,000 for the default)
BUILD=${SIPSD_BUILD_DIR:-build}
WORK=$(mktemp -d /tmp/sipsd-regbench-XXXX)
trap 'for p in ${PIDS:-}; do kill $p 2>/dev/null || true; done; rm -rf "$WORK"' EXIT
PIDS=""

free_port() { python3 -c 'import socket;s=socket.socket(socket.AF_INET,socket.SOCK_DGRAM);s.bind(("127.0.0.1",0));print(s.getsockname()[1])'; }
sum_procs() {  # FILE AWK PID...: the number AWK prints from /proc/P/FILE, summed over the pids and their children
  local file=$1 prog=$2 total=0
  shift 2
  for p in "$@"; do
    for q in $p $(pgrep -P "$p" || true); do
      v=$(awk "$prog" /proc/$q/$file 2>/dev/null || echo 0)
      total=$((total + ${v:-0}))
    done
  done
  echo $total
}
pss_kb() { sum_procs smaps_rollup '/^Pss:/{print $2}' "$@"; }   # PSS (kB)
cpu_ticks() { sum_procs stat '{print $14 + $15}' "$@"; }        # utime+stime (clock ticks)
HZ=$(getconf CLK_TCK)
wait_udp() {  # until an OPTIONS on port $1 gets any answer
  for _ in $(seq 100); do
    python3 - "$1" <<'PY' && return 0
import socket,sys
s=socket.socket(socket.AF_INET,socket.SOCK_DGRAM); s.settimeout(0.2); s.bind(("127.0.0.1",0))
p=s.getsockname()[1]
m=("OPTIONS sip:x@127.0.0.1 SIP/2.0\r\nVia: SIP/2.0/UDP 127.0.0.1:%d;branch=z9hG4bKw\r\nFrom: <sip:w@x>;tag=1\r\nTo: <sip:x@example.com>\r\nCall-ID: w\r\nCSeq: 1 OPTIONS\r\nContent-Length: 0\r\n\r\n"%p).encode()
s.sendto(m,("127.0.0.1",int(sys.argv[1])))
try: s.recv(2000)
except OSError: sys.exit(1)
PY
    sleep 0.1
  done
  echo "server on $1 did not answer" >&2; exit 1
}

SMALL=1000
users_csv() {  # $1 first, $2 end (exclusive) -> sipp injection file
  python3 -c "
print('SEQUENTIAL')
for i in range($1, $2): print('u%d;' % i)"
}
users_csv 0 "$SMALL" > "$WORK/small.csv"
users_csv "$SMALL" "$N" > "$WORK/rest.csv"
users_csv 0 "$MID" > "$WORK/mid.csv"

sipsd_cfg() {  # $1 port, $2 extra modparams
  cat <<CFG
debug=1
children=2
listen=udp:127.0.0.1:$1
loadmodule "sl"
loadmodule "usrloc"
loadmodule "registrar"
modparam("registrar", "max_expires", 7200)
$2
route {
    if (method == "REGISTER") { save("location"); exit; }
    if (method == "OPTIONS") {
        if (lookup("location")) { sl_reply("200", "OK"); } else { sl_reply("404", "Not Found"); }
        exit;
    }
}
CFG
}

kamailio_cfg() {  # $1 port, $2 extra modparams
  cat <<CFG
debug=0
log_stderror=yes
children=2
listen=udp:127.0.0.1:$1
mpath="/usr/lib/x86_64-linux-gnu/kamailio/modules/"
loadmodule "sl.so"
loadmodule "pv.so"
loadmodule "usrloc.so"
loadmodule "registrar.so"
modparam("usrloc", "db_mode", 0)
$2
modparam("registrar", "max_expires", 7200)
request_route {
    if (method == "REGISTER") { save("location"); exit; }
    if (method == "OPTIONS") {
        if (lookup("location")) { sl_send_reply("200", "OK"); } else { sl_send_reply("404", "Not Found"); }
        exit;
    }
}
CFG
}

register_run() {  # $1 port, $2 csv, $3 count -> prints "seconds"
  local t0 t1
  t0=$(date +%s.%N)
  sipp 127.0.0.1:$1 -sf tools/bench/registrar/register.xml -inf "$2" -m "$3" -r 100000 -l 200 \
       -timeout 120 -timeout_error -nostdin -bg >/dev/null 2>&1 || true
  # -bg returns at once; wait for that sipp to finish
  while pgrep -f "sipp 127.0.0.1:$1 -sf" >/dev/null; do sleep 0.2; done
  t1=$(date +%s.%N)
  python3 -c "print('%.2f' % ($t1 - $t0))"
}

lookup_round() {  # $1 port, $2 users -> one sipsd-bench JSON line (or nothing)
  "$BUILD/tools/bench/sipsd-bench" --target 127.0.0.1:$1 --proto udp --connections 4 --duration "$LOOKUP_SECS" \
      --ruri "sip:u@example.com" --ruri-users "$2" --json 2>/dev/null | tail -1 || true
}

loadavg() { cut -d' ' -f1-3 /proc/loadavg; }

# $1 server name, $2 command template (PORT, CFG, LOG and DB are replaced), $3 config generator,
# $4 redis port or "". Three instances: BINDINGS (REGISTER/s and memory measured on it), then
# 1,000 and 10,000; then the interleaved lookup rounds; then all three are stopped.
run_server() {
  local name=$1 tmpl=$2 gen=$3 rport=$4 rpid=${5:-}
  local -a ports=() pids=() sizes=("$N" "$SMALL" "$MID")
  local k
  for k in 0 1 2; do
    local port cfg log cmd
    port=$(free_port)
    cfg="$WORK/$gen-$k.cfg"; log="$WORK/$gen-$k.log"
    "$gen" "$port" "$k" > "$cfg"
    cmd=${tmpl//PORT/$port}; cmd=${cmd//CFG/$cfg}; cmd=${cmd//LOG/$log}
    eval "exec $cmd" &
    pids[$k]=$!; ports[$k]=$port
    PIDS="$PIDS ${pids[$k]}"
    wait_udp "$port"
    if [ "$k" = 0 ]; then
      # The big table: REGISTER/s over all but the first 1,000, memory over all.
      local base redis0=0 secs mem rate
      base=$(pss_kb "${pids[0]}")
      [ -n "$rport" ] && redis0=$(redis-cli -p "$rport" info memory | awk -F: '/^used_memory:/{print $2}' | tr -d '\r')
      register_run "$port" "$WORK/small.csv" "$SMALL" >/dev/null
      local c0 c1
      c0=$(cpu_ticks "${pids[0]}" $rpid)
      secs=$(register_run "$port" "$WORK/rest.csv" "$((N - SMALL))")
      c1=$(cpu_ticks "${pids[0]}" $rpid)
      sleep 1
      mem=$(( $(pss_kb "${pids[0]}") - base ))
      if [ -n "$rport" ]; then
        local r1; r1=$(redis-cli -p "$rport" info memory | awk -F: '/^used_memory:/{print $2}' | tr -d '\r')
        mem=$(( mem + (r1 - redis0) / 1024 ))
      fi
      rate=$(python3 -c "print(int(($N - $SMALL) / $secs))")
      echo "$name|$rate|$(python3 -c "print(round($mem * 1024 / $N))")|$(python3 -c "print('%.1f' % (($c1 - $c0) * 1e6 / $HZ / ($N - $SMALL)))")" \
        >> "$WORK/register.txt"
    elif [ "$k" = 1 ]; then
      register_run "$port" "$WORK/small.csv" "$SMALL" >/dev/null
    else
      register_run "$port" "$WORK/mid.csv" "$MID" >/dev/null
    fi
  done
  local round
  for round in $(seq "$ROUNDS"); do
    local j
    for j in 0 1 2; do
      k=$(( (j + round) % 3 ))
      local c0 js c1
      c0=$(cpu_ticks "${pids[$k]}")
      js=$(lookup_round "${ports[$k]}" "${sizes[$k]}")
      c1=$(cpu_ticks "${pids[$k]}")
      printf '%s\t%s\t%s\t%s\t%s\n' "$name" "${sizes[$k]}" "$round" "$((c1 - c0))" "$js" >> "$WORK/lookups.tsv"
    done
  done
  for k in 0 1 2; do kill "${pids[$k]}"; wait "${pids[$k]}" 2>/dev/null || true; done
}

: > "$WORK/register.txt"; : > "$WORK/lookups.tsv"
LOAD0=$(loadavg)
sipsd_mem_cfg() { sipsd_cfg "$1" ""; }
run_server "sipsd (memory)" "$BUILD/sipsd -f CFG -E -L $BUILD/modules > LOG 2>&1" sipsd_mem_cfg ""

RP=$(free_port)
redis-server --port "$RP" --bind 127.0.0.1 --save "" --appendonly no > "$WORK/redis.log" 2>&1 &
RPID=$!; PIDS="$PIDS $RPID"
for _ in $(seq 50); do redis-cli -p "$RP" ping >/dev/null 2>&1 && break; sleep 0.1; done
sipsd_redis_cfg() {  # each instance its own Redis database: three separate tables
  sipsd_cfg "$1" "modparam(\"usrloc\", \"db_url\", \"redis://127.0.0.1:$RP/$2\")
modparam(\"usrloc\", \"node_address\", \"sip:127.0.0.1:$1\")"
}
run_server "sipsd (Redis)" "$BUILD/sipsd -f CFG -E -L $BUILD/modules > LOG 2>&1" sipsd_redis_cfg "$RP" "$RPID"

kamailio_cfg_k() { kamailio_cfg "$1" ""; }
run_server "Kamailio 5.6 (usrloc in memory)" "kamailio -f CFG -DD -E -m 1024 -M 16 > LOG 2>&1" kamailio_cfg_k ""
# Kamailio's usrloc hash has 2^hash_size slots (default 10: 1,024) with a list per slot; the
# same with 2^17 slots, as its docs advise for large tables.
kamailio_cfg_h() { kamailio_cfg "$1" 'modparam("usrloc", "hash_size", 17)'; }
run_server "Kamailio 5.6, usrloc hash_size 17" "kamailio -f CFG -DD -E -m 1024 -M 16 > LOG 2>&1" kamailio_cfg_h ""
LOAD1=$(loadavg)

python3 - "$WORK/register.txt" "$WORK/lookups.tsv" "$N" "$SMALL" "$MID" "$ROUNDS" "$LOOKUP_SECS" "$LOAD0" "$LOAD1" "$HZ" <<'PY'
import json, statistics, sys
reg_file, look_file, n, small, mid, rounds, secs, load0, load1, hz = sys.argv[1:]
hz = int(hz)
n, small, mid = int(n), int(small), int(mid)
sizes = sorted({small, mid, n})
reg = [l.rstrip('\n').split('|') for l in open(reg_file) if l.strip()]
look = {}
for line in open(look_file):
    name, size, rnd, ticks, js = line.rstrip('\n').split('\t', 4)
    try:
        d = json.loads(js)
        # The server's CPU per lookup (all its processes): less sensitive than latency to
        # what else runs on the machine.
        d['cpu_us'] = int(ticks) * 1e6 / hz / d['ops'] if d['ops'] else 0.0
    except (ValueError, KeyError):
        d = None
    look.setdefault((name, int(size)), []).append(d)
print('bindings: %d, 2 workers each, UDP; REGISTER: sipp, 200 in flight; load average (1/5/15 min) %s at the start, %s at the end'
      % (n, load0, load1))
print('%-34s %12s %14s %18s' % ('server', 'REGISTER/s', 'bytes/binding', 'CPU us/REGISTER'))
for name, rate, mem, cpu in reg:
    print('%-34s %12s %14s %18s' % (name, rate, mem, cpu))
print('(CPU: the server\'s processes, and redis-server for the Redis row, over the timed REGISTERs)')
print()
print('lookups: sipsd-bench, 4 clients, OPTIONS for a random registered AoR; median of %s rounds of %s s, sizes interleaved'
      % (rounds, secs))
print('%-34s %s  %s' % ('server', '  '.join('%-34s' % ('p50/p99 us, rate, CPU/lookup @%d' % s) for s in sizes),
                         '@%d/@%d: p50 CPU  404s+timeouts' % (n, small)))
for name, _, _, _ in reg:
    cells, p50s, cpus, bad = [], {}, {}, 0
    for s in sizes:
        runs = [d for d in look.get((name, s), []) if d]
        bad += sum(d.get('non200', 0) + d.get('timeouts', 0) for d in runs)
        missing = int(rounds) - len(runs)
        if not runs:
            cells.append('%-26s' % 'n/a'); continue
        p50 = statistics.median(d['p50_us'] for d in runs)
        p99 = statistics.median(d['p99_us'] for d in runs)
        ops = statistics.median(d['ops_per_s'] for d in runs)
        cpu = statistics.median(d['cpu_us'] for d in runs)
        p50s[s], cpus[s] = p50, cpu
        cells.append('%-34s' % ('%.1f/%.1f @ %d/s, %.1f us%s' % (p50, p99, ops, cpu,
                                                             ' (%d runs failed)' % missing if missing else '')))
    def ratio(v):
        return '%.2f' % (v[n] / v[small]) if n in v and small in v and v[small] else 'n/a'
    print('%-34s %s  %-5s %-5s %d' % (name, '  '.join(cells), ratio(p50s), ratio(cpus), bad))
print()
print('every round (p50/p99 us @ rate/s, CPU us/lookup, !404s+timeouts):')
for (name, s), runs in sorted(look.items(), key=lambda kv: (kv[0][0], kv[0][1])):
    print('  %-32s @%-7d %s' % (name, s, '  '.join(
        '%.0f/%.0f@%d,%.1f%s' % (d['p50_us'], d['p99_us'], d['ops_per_s'], d['cpu_us'],
                            '!%d' % (d['non200'] + d['timeouts']) if d['non200'] + d['timeouts'] else '')
        if d else 'failed' for d in runs)))
PY

echo
echo "in-process (usrloc-lookup-bench: one replica, random AoRs, median of 5 rounds, sizes interleaved):"
"$BUILD/tools/bench/usrloc-lookup-bench" --rounds 5 \
    --sizes "$(printf '%s\n' "$SMALL" "$MID" "$N" "$((N * 10))" | sort -nu | paste -sd,)"

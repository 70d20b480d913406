#!/usr/bin/env bash
# Registrar benchmark (one run, ratios): REGISTER/s and memory per binding for sipsd in memory,
# sipsd with Redis (db_url), and Kamailio's registrar with usrloc in memory (db_mode 0), on this
# machine, each with 2 workers on UDP; then lookup latency with 1,000 and with all bindings.
#   tools/bench/registrar/run-registrar-bench.sh [BINDINGS]   (default 100000; build/ must exist)
# Load: sipp, one REGISTER per new AoR (-inf users.csv), up to 200 in flight. Memory: the sum of
# the server's processes' PSS (Kamailio's shared memory counted once) before and after, divided
# by the number of bindings; with Redis, plus Redis's used_memory growth. Lookups: sipsd-bench
# sends OPTIONS for one registered AoR, the script answers 200 after lookup("location").
set -euo pipefail
cd "$(dirname "$0")/../../.."
N=${1:-100000}
BUILD=${SIPSD_BUILD_DIR:-build}
WORK=$(mktemp -d /tmp/sipsd-regbench-XXXX)
trap 'for p in ${PIDS:-}; do kill $p 2>/dev/null || true; done; rm -rf "$WORK"' EXIT
PIDS=""

free_port() { python3 -c 'import socket;s=socket.socket(socket.AF_INET,socket.SOCK_DGRAM);s.bind(("127.0.0.1",0));print(s.getsockname()[1])'; }
pss_kb() {  # sum of PSS over the given pids and their children
  local total=0
  for p in "$@"; do
    for q in $p $(pgrep -P "$p" || true); do
      v=$(awk '/^Pss:/{print $2}' /proc/$q/smaps_rollup 2>/dev/null || echo 0)
      total=$((total + ${v:-0}))
    done
  done
  echo $total
}
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
python3 -c "
print('SEQUENTIAL')
for i in range($SMALL): print('u%d;' % i)" > "$WORK/small.csv"
python3 -c "
print('SEQUENTIAL')
for i in range($SMALL, $N): print('u%d;' % i)" > "$WORK/rest.csv"

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

kamailio_cfg() {
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

lookup_lat() {  # $1 port, $2 user -> p50 latency us and rate
  "$BUILD/tools/bench/sipsd-bench" --target 127.0.0.1:$1 --proto udp --connections 4 --duration 3 \
      --ruri "sip:$2@example.com" --json 2>/dev/null | tail -1
}

summ() {  # sipsd-bench JSON -> "p50/p99 us @ rate/s"
  python3 -c "
import json,sys
try:
    d=json.loads(sys.argv[1])
except Exception:
    print('n/a'); sys.exit()
bad=d.get('non200',0)+d.get('timeouts',0)
print('%s/%s us @ %d/s%s' % (d['p50_us'], d['p99_us'], d['ops_per_s'], ' (%d NOT 200)' % bad if bad else ''))" "$1"
}

results=()
run_one() {  # $1 name, $2 start command (background), $3 port, $4 redis port or ""
  local name=$1 port=$3
  eval "exec $2" &
  local pid=$!
  PIDS="$PIDS $pid"
  wait_udp "$port"
  # 1,000 bindings first: the lookup latency with a small table.
  local base redis0=0
  base=$(pss_kb $pid)
  [ -n "$4" ] && redis0=$(redis-cli -p "$4" info memory | awk -F: '/^used_memory:/{print $2}' | tr -d '\r')
  local secs rate mem lat1 lat2
  register_run "$port" "$WORK/small.csv" "$SMALL" >/dev/null
  lat1=$(lookup_lat "$port" "u$((SMALL - 1))")
  secs=$(register_run "$port" "$WORK/rest.csv" "$((N - SMALL))")
  sleep 1
  mem=$(( $(pss_kb $pid) - base ))
  if [ -n "$4" ]; then
    local r1; r1=$(redis-cli -p "$4" info memory | awk -F: '/^used_memory:/{print $2}' | tr -d '\r')
    mem=$(( mem + (r1 - redis0) / 1024 ))
  fi
  rate=$(python3 -c "print(int(($N - $SMALL) / $secs))")
  lat2=$(lookup_lat "$port" "u$((N - 1))")
  results+=("$name|$rate|$(python3 -c "print(round($mem * 1024 / $N))")|$(summ "$lat1")|$(summ "$lat2")")
  kill $pid; wait $pid 2>/dev/null || true
}

P1=$(free_port); P2=$(free_port); P3=$(free_port); RP=$(free_port)
sipsd_cfg "$P1" "" > "$WORK/mem.cfg"
run_one "sipsd (memory)" "$BUILD/sipsd -f $WORK/mem.cfg -E -L $BUILD/modules > $WORK/mem.log 2>&1" "$P1" ""

redis-server --port "$RP" --bind 127.0.0.1 --save "" --appendonly no > "$WORK/redis.log" 2>&1 &
RPID=$!; PIDS="$PIDS $RPID"
sleep 0.5
sipsd_cfg "$P2" "modparam(\"usrloc\", \"db_url\", \"redis://127.0.0.1:$RP/0\")
modparam(\"usrloc\", \"node_address\", \"sip:127.0.0.1:$P2\")" > "$WORK/redis.cfg"
run_one "sipsd (Redis)" "$BUILD/sipsd -f $WORK/redis.cfg -E -L $BUILD/modules > $WORK/redis-sipsd.log 2>&1" "$P2" "$RP"

kamailio_cfg "$P3" > "$WORK/kam.cfg"
run_one "Kamailio 5.6 (usrloc in memory)" "kamailio -f $WORK/kam.cfg -DD -E -m 1024 -M 16 > $WORK/kam.log 2>&1" "$P3" ""

echo "bindings: $N, 2 workers each, UDP, sipp REGISTER load (200 in flight)"
printf '%-34s %12s %14s  %-28s %s\n' server "REGISTER/s" "bytes/binding" "lookup p50/p99 @1000" "lookup p50/p99 @$N"
for r in "${results[@]}"; do
  IFS='|' read -r n rate mem l1 l2 <<<"$r"
  printf '%-34s %12s %14s  %-28s %s\n' "$n" "$rate" "$mem" "$l1" "$l2"
done

#!/bin/bash
# Runs the measurements of docs/BENCHMARKS.md: the hub (or, for fanout, the Python reference
# broadcast server) alone on core 0; redis-server, the api and the load tool on core 1.
# Usage: docs/benchmarks/run_benchmarks.sh [idle|classroom|fanout|all]   (from the repository root,
# after `swift build -c release --scratch-path .build-release-load`). Results go to $OUT.
set -u
B=${BUILD:-.build-release-load/release}
OUT=${OUT:-/tmp/attendance-bench}
WHAT=${1:-all}
mkdir -p "$OUT"
port() { python3 -c 'import socket;s=socket.socket();s.bind(("127.0.0.1",0));print(s.getsockname()[1])'; }
RP=$(port); HP=$(port); AP=$(port); REF=$(port)
PIDS=()
cleanup() {
    for pid in "${PIDS[@]}"; do kill "$pid" 2>/dev/null; done
    wait 2>/dev/null
    redis-cli -p "$RP" shutdown nosave >/dev/null 2>&1
}
trap cleanup EXIT
taskset -c 1 redis-server --port "$RP" --save '' --appendonly no --daemonize yes --logfile "$OUT/redis.log"
sleep 0.3

start_hub() {
    taskset -c 0 "$B/attendance" hub --dev --listen "127.0.0.1:$HP" --redis "redis://127.0.0.1:$RP" --log-level info 2>"$OUT/hub.log" &
    HUB_PID=$!; PIDS+=("$HUB_PID")
    until curl -sf "127.0.0.1:$HP/healthz" >/dev/null; do sleep 0.1; done
}
stop_hub() { kill "$HUB_PID"; wait "$HUB_PID" 2>/dev/null; }
start_api() {
    # Default limits: every simulated student joins from 127.0.0.1, as a school behind one NAT does.
    taskset -c 1 "$B/attendance" api --dev --listen "127.0.0.1:$AP" --redis "redis://127.0.0.1:$RP" --log-level warning \
        2>"$OUT/api.log" &
    PIDS+=($!)
    until curl -sf "127.0.0.1:$AP/healthz" >/dev/null; do sleep 0.1; done
}
# CPU seconds (user+system) a process has used so far, from /proc/PID/stat.
cpu_s() { awk -v hz="$(getconf CLK_TCK)" '{ printf "%.2f", ($14 + $15) / hz }' "/proc/$1/stat"; }
# load NAME SERVER_PID ARGS…: one run of the load tool; prints its summary and the server's CPU use.
load() {
    local name=$1 server=$2; shift 2
    echo "== $name: attendance-load $*" | tee -a "$OUT/commands.txt"
    local before; before=$(cpu_s "$server")
    taskset -c 1 /usr/bin/time -f "load tool: %e s elapsed, %U s user, %S s sys, %M KiB max RSS" \
        "$B/attendance-load" "$@" --json "$OUT/$name.json" --html "$OUT/$name.html" 2>"$OUT/$name.log"
    echo "exit $?" >>"$OUT/$name.log"
    echo "server (pid $server) CPU during the run: $(awk -v a="$before" -v b="$(cpu_s "$server")" 'BEGIN { printf "%.2f", b - a }') s" >>"$OUT/$name.log"
    grep -v '^\[' "$OUT/$name.log"; cat "$OUT/$name.json" 2>/dev/null
}

if [[ $WHAT == idle || $WHAT == all ]]; then
    start_hub
    load idle-10000 "$HUB_PID" idle --clients 10000 --hub-pid "$HUB_PID" --hold-s 10 --hub "ws://127.0.0.1:$HP" --sources 2
    stop_hub
fi
if [[ $WHAT == classroom || $WHAT == all ]]; then
    start_hub; start_api
    for spec in 100 500 1000; do
        load "classroom-${spec}x9" "$HUB_PID" classroom --classes "$spec" --students 9 --window-s 20 \
            --hub "ws://127.0.0.1:$HP" --api "http://127.0.0.1:$AP" --sources 2
    done
    stop_hub
fi
if [[ $WHAT == fanout || $WHAT == all ]]; then
    start_hub
    [[ $WHAT == fanout ]] && start_api
    for rate in ${RATES:-500 1000 2000}; do
        load "fanout-hub-r$rate" "$HUB_PID" fanout --classes 100 --subscribers 10000 --rate "$rate" --duration-s 10 \
            --hub "ws://127.0.0.1:$HP" --api "http://127.0.0.1:$AP" --sources 2
    done
    stop_hub
    taskset -c 0 python3 docs/benchmarks/reference_broadcast_server.py --listen "127.0.0.1:$REF" --redis "127.0.0.1:$RP" 2>"$OUT/reference.log" &
    REF_PID=$!; PIDS+=("$REF_PID")
    until curl -sf "127.0.0.1:$REF/healthz" >/dev/null; do sleep 0.1; done
    for rate in ${RATES:-500 1000 2000}; do
        load "fanout-reference-r$rate" "$REF_PID" fanout --classes 100 --subscribers 10000 --rate "$rate" --duration-s 10 \
            --hub "ws://127.0.0.1:$REF" --api "http://127.0.0.1:$AP" --sources 2
    done
fi

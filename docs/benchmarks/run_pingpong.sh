#!/bin/bash
# Runs the request/reply measurement of docs/BENCHMARKS.md: `attendance hub --dev` and a reference
# WebSocket pong server, both pinned to core 0 (only one is busy at a time), the load tool on core 1.
# Usage (from the repository root, after `swift build -c release --scratch-path .build-release-pp`):
#   REFERENCE=/path/to/pong docs/benchmarks/run_pingpong.sh
# REFERENCE is a server started as `REFERENCE <port>` that answers each message carrying "id":"x" with
# {"type":"pong","id":"x"} (this repository does not ship or build one). Results go to $OUT.
set -u
B=${BUILD:-.build-release-pp/release}
OUT=${OUT:-/tmp/attendance-pingpong}
REFERENCE=${REFERENCE:?set REFERENCE to the reference pong server binary}
CLIENTS=${CLIENTS:-100}
DEPTHS=${DEPTHS:-1 16 64}
REPS=${REPS:-3}
SECONDS_PER_RUN=${SECONDS_PER_RUN:-5}
mkdir -p "$OUT"
port() { python3 -c 'import socket;s=socket.socket();s.bind(("127.0.0.1",0));print(s.getsockname()[1])'; }
RP=$(port); HP=$(port); UP=$(port)
PIDS=()
cleanup() {
    for pid in "${PIDS[@]}"; do kill "$pid" 2>/dev/null; done
    wait 2>/dev/null
    redis-cli -p "$RP" shutdown nosave >/dev/null 2>&1
}
trap cleanup EXIT
# The hub needs Redis to start; nothing in this scenario touches it afterwards.
taskset -c 1 redis-server --port "$RP" --save '' --appendonly no --daemonize yes --logfile "$OUT/redis.log"
sleep 0.3
taskset -c 0 "$B/attendance" hub --dev --listen "127.0.0.1:$HP" --redis "redis://127.0.0.1:$RP" --log-level warning 2>"$OUT/hub.log" &
HUB_PID=$!; PIDS+=("$HUB_PID")
taskset -c 0 "$REFERENCE" "$UP" >"$OUT/reference.log" 2>&1 &
REF_PID=$!; PIDS+=("$REF_PID")
until curl -sf "127.0.0.1:$HP/healthz" >/dev/null; do sleep 0.1; done
until curl -s -o /dev/null "127.0.0.1:$UP/"; do sleep 0.1; done

cpu_s() { awk -v hz="$(getconf CLK_TCK)" '{ printf "%.2f", ($14 + $15) / hz }' "/proc/$1/stat"; }
# run NAME SERVER_PID PORT DEPTH: one pingpong run; appends a line to $OUT/summary.tsv.
run() {
    local name=$1 server=$2 port=$3 depth=$4
    local before; before=$(cpu_s "$server")
    taskset -c 1 "$B/attendance-load" pingpong --clients "$CLIENTS" --depth "$depth" --duration-s "$SECONDS_PER_RUN" \
        --hub "ws://127.0.0.1:$port" --json "$OUT/$name.json" --html "$OUT/$name.html" 2>"$OUT/$name.log"
    local status=$?
    local server_cpu; server_cpu=$(awk -v a="$before" -v b="$(cpu_s "$server")" 'BEGIN { printf "%.2f", b - a }')
    local tool_cpu; tool_cpu=$(grep -o 'tool CPU in the window: [0-9.]* s = [0-9]* %' "$OUT/$name.log" | grep -o '[0-9]* %$')
    python3 - "$OUT/$name.json" "$name" "$depth" "$server_cpu" "${tool_cpu:-?}" "$status" >>"$OUT/summary.tsv" <<'PY'
import json, sys
path, name, depth, server_cpu, tool_cpu, status = sys.argv[1:]
try:
    r = json.load(open(path))
except Exception:
    print(f"{name}\t{depth}\tFAILED (exit {status})"); sys.exit()
l = r["ack_latency_ms"] or {}
print(f"{name}\t{depth}\t{r['messages_per_s']:.0f}\t{r['errors']}\t{l.get('p50')}\t{l.get('p99')}\t{l.get('max')}\t{server_cpu}\t{tool_cpu}")
PY
    tail -1 "$OUT/summary.tsv"
}

printf 'run\tdepth\tmsg/s\terrors\tp50 ms\tp99 ms\tmax ms\tserver CPU s\ttool CPU\n' >"$OUT/summary.tsv"
# Servers alternate run by run, so drift in the machine's load affects both alike.
for depth in $DEPTHS; do
    for rep in $(seq 1 "$REPS"); do
        run "hub-d$depth-r$rep" "$HUB_PID" "$HP" "$depth"
        run "uws-d$depth-r$rep" "$REF_PID" "$UP" "$depth"
    done
done

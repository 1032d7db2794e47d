#!/bin/bash
# Past one process's descriptors (docs/SCALING.md): HUBS hub processes listening on one address with
# --reuse-port, one api, one redis-server, and LOADS load-tool processes running at once, each with
# its share of the classes (or idle connections) and its own descriptors.
# Usage (from the repository root, after `swift build -c release --scratch-path .build-release`):
#   docs/benchmarks/run_scale.sh classroom    # CLASSES classes × STUDENTS students + one dashboard each
#   docs/benchmarks/run_scale.sh idle         # IDLE idle connections, held HOLD_S seconds
# Results go to $OUT: each load process's JSON and log, and processes.tsv with every process's peak
# RSS (VmHWM), RSS at the end, CPU seconds (user + system) and open descriptors (how the kernel
# spread the connections over the hubs), with the kernel's socket counts and memory at that moment.
set -u
B=${BUILD:-.build-release/release}
OUT=${OUT:-/tmp/attendance-scale}
WHAT=${1:-classroom}
HUBS=${HUBS:-4}
LOADS=${LOADS:-4}
CLASSES=${CLASSES:-5000}
STUDENTS=${STUDENTS:-9}
WINDOW_S=${WINDOW_S:-30}
IDLE=${IDLE:-100000}
HOLD_S=${HOLD_S:-10}
SOURCES=${SOURCES:-4}
mkdir -p "$OUT"
port() { python3 -c 'import socket;s=socket.socket();s.bind(("127.0.0.1",0));print(s.getsockname()[1])'; }
RP=$(port); HP=$(port); AP=$(port)
PIDS=()
cleanup() {
    for pid in "${PIDS[@]}"; do kill "$pid" 2>/dev/null; done
    wait 2>/dev/null
    redis-cli -p "$RP" shutdown nosave >/dev/null 2>&1
}
trap cleanup EXIT
redis-server --port "$RP" --save '' --appendonly no --daemonize yes --logfile "$OUT/redis.log" --pidfile "$OUT/redis.pid"
sleep 0.3
HUB_PIDS=()
for i in $(seq 1 "$HUBS"); do
    "$B/attendance" hub --dev --reuse-port --listen "127.0.0.1:$HP" --redis "redis://127.0.0.1:$RP" --log-level warning 2>"$OUT/hub$i.log" &
    HUB_PIDS+=($!); PIDS+=($!)
done
"$B/attendance" api --dev --listen "127.0.0.1:$AP" --redis "redis://127.0.0.1:$RP" --hub-url "ws://127.0.0.1:$HP/ws" --log-level warning 2>"$OUT/api.log" &
API_PID=$!; PIDS+=($!)
until curl -sf "127.0.0.1:$HP/healthz" >/dev/null && curl -sf "127.0.0.1:$AP/healthz" >/dev/null; do sleep 0.1; done
sleep 1

stat_line() {  # NAME PID: peak RSS KiB, RSS KiB, CPU s, open descriptors
    local hz; hz=$(getconf CLK_TCK)
    printf '%s\t%s\t%s\t%s\t%s\t%s\n' "$1" "$2" "$(awk '/VmHWM/ {print $2}' "/proc/$2/status")" "$(awk '/VmRSS/ {print $2}' "/proc/$2/status")" \
        "$(awk -v hz="$hz" '{ printf "%.2f", ($14 + $15) / hz }' "/proc/$2/stat")" "$(ls "/proc/$2/fd" | wc -l)"
}

snapshot() {
    for i in "${!HUB_PIDS[@]}"; do stat_line "hub$((i + 1))" "${HUB_PIDS[$i]}"; done
    stat_line api "$API_PID"
    stat_line redis "$(cat "$OUT/redis.pid")"
    for i in "${!LOAD_PIDS[@]}"; do kill -0 "${LOAD_PIDS[$i]}" 2>/dev/null && stat_line "load$((i + 1))" "${LOAD_PIDS[$i]}"; done
}
LOAD_PIDS=()
printf 'process\tpid\tpeak RSS KiB\tRSS KiB\tCPU s\tdescriptors\n' >"$OUT/processes.tsv"
snapshot >"$OUT/processes.before.tsv"
{ cat /proc/net/sockstat; grep -E 'MemAvailable|Slab' /proc/meminfo; } >"$OUT/kernel.before.txt"
for i in $(seq 1 "$LOADS"); do
    if [[ $WHAT == idle ]]; then
        # The idle scenario reads one hub's VmRSS; processes.tsv has every hub's.
        "$B/attendance-load" idle --clients $((IDLE / LOADS)) --hub-pid "${HUB_PIDS[0]}" --hold-s "$HOLD_S" \
            --hub "ws://127.0.0.1:$HP" --sources "$SOURCES" --json "$OUT/load$i.json" >"$OUT/load$i.log" 2>&1 &
    else
        "$B/attendance-load" classroom --classes $((CLASSES / LOADS)) --students "$STUDENTS" --window-s "$WINDOW_S" \
            --hub "ws://127.0.0.1:$HP" --api "http://127.0.0.1:$AP" --sources "$SOURCES" \
            --json "$OUT/load$i.json" >"$OUT/load$i.log" 2>&1 &
    fi
    LOAD_PIDS+=($!)
done
# Every second until the load ends: a snapshot of every process; processes.tsv keeps the one in
# which the hubs held the most descriptors (all clients connected), plus the CPU at the end.
best=0
for pid in "${LOAD_PIDS[@]}"; do
    while kill -0 "$pid" 2>/dev/null; do
        snapshot >"$OUT/processes.now.tsv"
        held=$(awk '/^hub/ { n += $6 } END { print n + 0 }' "$OUT/processes.now.tsv")
        if (( held > best )); then
            best=$held; cp "$OUT/processes.now.tsv" "$OUT/processes.peak.tsv"
            { cat /proc/net/sockstat; grep -E 'MemAvailable|Slab' /proc/meminfo; } >"$OUT/kernel.peak.txt"
        fi
        cp "$OUT/processes.now.tsv" "$OUT/processes.last.tsv"
        sleep 1
    done
done
{ echo "# before connecting"; cat "$OUT/processes.before.tsv" "$OUT/kernel.before.txt"
  echo "# when the hubs held the most descriptors ($best)"; cat "$OUT/processes.peak.tsv" "$OUT/kernel.peak.txt"
  echo "# last sample before the load ended"; cat "$OUT/processes.last.tsv"; } >>"$OUT/processes.tsv"
cat "$OUT/processes.tsv"
python3 - "$OUT" "$LOADS" <<'PY'
import json, sys
out, loads = sys.argv[1], int(sys.argv[2])
for i in range(1, loads + 1):
    try:
        r = json.load(open(f"{out}/load{i}.json"))
    except Exception as e:
        print(f"load{i}: no result ({e})"); continue
    keep = {k: r.get(k) for k in ("clients", "checkins", "errors", "lost_events", "duplicate_events",
                                  "hub_rss_kib", "hub_rss_per_conn_bytes")}
    for k in ("ack_latency_ms", "event_latency_ms"):
        if isinstance(r.get(k), dict):
            keep[k] = {p: r[k].get(p) for p in ("p50", "p99", "p999", "max")}
    print(f"load{i}: {json.dumps(keep)}")
PY

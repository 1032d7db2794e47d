#!/usr/bin/env bash
# The same classroom load through one Redis and through a local Redis Cluster (3 masters + 3
# replicas), one after the other on this machine, release build. Prints the load tool's summary
# and the CPU seconds the redis-server processes used during each run (docs/SCALING.md).
#   scripts/cluster-bench.sh [classes] [students] [window_s]
set -euo pipefail
cd "$(dirname "$0")/.."
classes=${1:-500}; students=${2:-20}; window=${3:-20}
swift build -c release >/dev/null
bin=$(swift build -c release --show-bin-path)
work=var/cluster-bench
rm -rf "$work"; mkdir -p "$work" var/redis
pids=()
cleanup() {
  kill "${pids[@]}" 2>/dev/null || true
  for port in 7400 7401 7402 7403 7404 7405 7406; do redis-cli -p "$port" shutdown nosave >/dev/null 2>&1 || true; done
  wait 2>/dev/null || true
}
trap cleanup EXIT INT TERM
start_node() { # port [cluster args…]
  local port=$1; shift
  mkdir -p "$work/$port"
  redis-server Config/redis.conf --port "$port" --dir "$PWD/$work/$port" --daemonize yes \
    --pidfile "$PWD/$work/$port/redis.pid" --logfile "$PWD/$work/$port/redis.log" "$@"
  for _ in $(seq 100); do redis-cli -p "$port" ping >/dev/null 2>&1 && break; sleep 0.05; done
}
cpu() { # total utime+stime (clock ticks) of the redis-servers of the given ports
  local total=0
  for port in "$@"; do
    local pid; pid=$(cat "$work/$port/redis.pid")
    total=$((total + $(awk '{print $14 + $15}' "/proc/$pid/stat")))
  done
  echo "$total"
}
run() { # label ports… -- redis args…
  local label=$1; shift
  local ports=(); while [[ $1 != -- ]]; do ports+=("$1"); shift; done; shift
  "$bin/attendance" hub --dev --listen 127.0.0.1:7480 --workers 2 --log-level error "$@" & local hub=$!
  "$bin/attendance" api --dev --listen 127.0.0.1:7481 --log-level error --join-limit-per-address 1000000 \
    --join-limit-per-code 1000000 "$@" & local api=$!
  pids+=("$hub" "$api")
  for _ in $(seq 200); do
    curl -sf 127.0.0.1:7480/healthz >/dev/null 2>&1 && curl -sf 127.0.0.1:7481/healthz >/dev/null 2>&1 && break; sleep 0.05
  done
  local before; before=$(cpu "${ports[@]}")
  echo "== $label"
  "$bin/attendance-load" classroom --classes "$classes" --students "$students" --window-s "$window" \
    --hub ws://127.0.0.1:7480 --api http://127.0.0.1:7481 2>&1 | grep -v '^\['
  awk -v a="$before" -v b="$(cpu "${ports[@]}")" -v hz="$(getconf CLK_TCK)" -v n="${#ports[@]}" \
    'BEGIN { printf "redis-server CPU during the run: %.2f s over %d process(es)\n", (b - a) / hz, n }'
  kill "$hub" "$api"; wait "$hub" "$api" 2>/dev/null || true
}
start_node 7400
run "single Redis" 7400 -- --redis redis://127.0.0.1:7400
for port in 7401 7402 7403 7404 7405 7406; do
  start_node "$port" --cluster-enabled yes --cluster-config-file nodes.conf --cluster-node-timeout 2000 --cluster-require-full-coverage no
done
redis-cli --cluster create $(printf '127.0.0.1:%s ' 7401 7402 7403 7404 7405 7406) --cluster-replicas 1 --cluster-yes >/dev/null
for _ in $(seq 200); do redis-cli -p 7401 cluster info | grep -q 'cluster_state:ok' && break; sleep 0.1; done
sleep 2  # the replicas' first sync
run "Redis Cluster (3 masters + 3 replicas)" 7401 7402 7403 7404 7405 7406 -- --redis-cluster 127.0.0.1:7401,127.0.0.1:7402,127.0.0.1:7403

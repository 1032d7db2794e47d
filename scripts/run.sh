#!/usr/bin/env bash
# Starts redis-server (Config/redis.conf, data under var/), the hub and the api on their defaults;
# Ctrl-C stops all three.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
swift build -c release
mkdir -p var/redis
pids=()
cleanup() { kill "${pids[@]}" 2>/dev/null || true; wait 2>/dev/null || true; }
trap cleanup EXIT INT TERM
if ! redis-cli -p 6379 ping >/dev/null 2>&1; then
  redis-server Config/redis.conf & pids+=($!)
  for _ in $(seq 100); do redis-cli -p 6379 ping >/dev/null 2>&1 && break; sleep 0.05; done
fi
bin=$(swift build -c release --show-bin-path)
"$bin/attendance" hub --dev & pids+=($!)
"$bin/attendance" api --dev & pids+=($!)
echo "hub: ws://127.0.0.1:8080/ws   api: http://127.0.0.1:8081   (Ctrl-C stops)"
wait -n "${pids[@]}"

#!/usr/bin/env bash
# The long fault runs (`make chaos`): for each fault, a fresh redis-server with AOF `appendfsync
# always`, two hub processes with `--workers 2 --reuse-port` on one address, one api, and
# `attendance-load classroom` making 1,000 check-ins at 200/s (20 classes × 50 students over 5 s,
# dashboards spread over both hubs) while it injects the fault. Writes each run's JSON and a
# faults × results table to var/chaos/ and prints the table. Every process it starts is stopped on
# exit. FAULTS="kill-redis stop-redis kill-hub kill-master" picks the faults. kill-master runs on a
# Redis Cluster instead (six nodes, three masters + three replicas, cluster-node-timeout 1000 ms,
# processes with --redis-cluster and --durability replica) and kill -9s a master 2 s in, restarting
# it 4 s later (it rejoins as a replica of the node that took over).
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
swift build -c release
bin=$(swift build -c release --show-bin-path)
out=var/chaos
mkdir -p "$out"
faults=${FAULTS:-kill-redis stop-redis kill-hub kill-master}
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }

pids=()
dir=""
cleanup() {
  for pid in "${pids[@]}"; do kill -CONT "$pid" 2>/dev/null || true; kill -9 "$pid" 2>/dev/null || true; done
  if [[ -n "$dir" ]]; then
    for file in "$dir"/redis.pid "$dir"/*/redis.pid; do
      [[ -f "$file" ]] || continue
      pid=$(cat "$file"); kill -CONT "$pid" 2>/dev/null || true; kill -9 "$pid" 2>/dev/null || true
    done
  fi
  wait 2>/dev/null || true
  pids=()
}
trap cleanup EXIT INT TERM

healthy() { for _ in $(seq 200); do [[ $(curl -s -o /dev/null -w '%{http_code}' "http://127.0.0.1:$1/healthz") == 200 ]] && return 0; sleep 0.05; done; return 1; }

for fault in $faults; do
  dir=$(mktemp -d)
  redis_port=$(free_port); hub_port=$(free_port); api_port=$(free_port)
  if [[ $fault == kill-master ]]; then
    nodes=()
    for i in 1 2 3 4 5 6; do
      port=$(free_port); mkdir -p "$dir/$port"
      node_cmd="redis-server --port $port --cluster-port $(free_port) --bind 127.0.0.1 --dir $dir/$port --save '' --appendonly yes --appendfsync always --pidfile $dir/$port/redis.pid --loglevel warning --cluster-enabled yes --cluster-config-file nodes.conf --cluster-node-timeout 1000 --cluster-require-full-coverage no --daemonize yes"
      eval "$node_cmd"; echo "$node_cmd" > "$dir/$port/start"
      for _ in $(seq 100); do redis-cli -p "$port" ping >/dev/null 2>&1 && break; sleep 0.05; done
      nodes+=("127.0.0.1:$port")
    done
    redis-cli --cluster create "${nodes[@]}" --cluster-replicas 1 --cluster-yes >/dev/null
    first=${nodes[0]##*:}
    for _ in $(seq 300); do
      [[ $(redis-cli -p "$first" cluster nodes | grep -c ' slave ') == 3 ]] && redis-cli -p "$first" cluster info | grep -q cluster_state:ok \
        && [[ $(for n in "${nodes[@]}"; do redis-cli -p "${n##*:}" info replication; done | grep -c 'state=online') == 3 ]] && break
      sleep 0.1
    done
    victim=$(redis-cli -p "$first" cluster nodes | awk '$3 ~ /master/ && NF > 8 { split($2, a, "[:@]"); print a[2]; exit }')
    common=(--dev --redis-cluster "$(IFS=,; echo "${nodes[*]}")" --durability replica --log-level error)
  else
    redis_cmd="redis-server --port $redis_port --bind 127.0.0.1 --dir $dir --save '' --appendonly yes --appendfsync always --pidfile $dir/redis.pid --loglevel warning --daemonize yes"
    eval "$redis_cmd"
    for _ in $(seq 100); do redis-cli -p "$redis_port" ping >/dev/null 2>&1 && break; sleep 0.05; done
    common=(--dev --redis "redis://127.0.0.1:$redis_port" --log-level error)
  fi
  "$bin/attendance" hub "${common[@]}" --listen "127.0.0.1:$hub_port" --workers 2 --reuse-port 2>>"$dir/hub1.log" & hub1=$!; pids+=($hub1)
  "$bin/attendance" hub "${common[@]}" --listen "127.0.0.1:$hub_port" --workers 2 --reuse-port 2>>"$dir/hub2.log" & hub2=$!; pids+=($hub2)
  "$bin/attendance" api "${common[@]}" --listen "127.0.0.1:$api_port" 2>>"$dir/api.log" & api=$!; pids+=($api)
  healthy "$hub_port"; healthy "$api_port"
  case $fault in
    kill-redis) chaos=(--chaos kill-redis@2s+2s --redis-pid-file "$dir/redis.pid" --redis-restart "$redis_cmd") ;;
    stop-redis) chaos=(--chaos stop-redis@2s+10s --redis-pid-file "$dir/redis.pid") ;;
    kill-hub)   chaos=(--chaos kill-hub@2s --hub-pid "$hub1" --hub-pid "$hub2") ;;
    kill-master) chaos=(--chaos kill-redis@2s+4s --redis-pid-file "$dir/$victim/redis.pid" --redis-restart "sh $dir/$victim/start") ;;
    *) echo "unknown fault $fault" >&2; exit 2 ;;
  esac
  echo "== $fault" >&2
  "$bin/attendance-load" classroom --classes 20 --students 50 --window-s 5 \
      --hub "ws://127.0.0.1:$hub_port" --api "http://127.0.0.1:$api_port" "${chaos[@]}" \
      --ack-timeout-s 30 --json "$out/$fault.json" || echo "attendance-load exited $? for $fault" >&2
  cleanup
  rm -rf "$dir"; dir=""
done

python3 - "$out" $faults <<'EOF' | tee "$out/results.md"
import json, sys, os
out, faults = sys.argv[1], sys.argv[2:]
print("| fault | check-ins acked | lost acked | lost events | duplicate events | errors | failed attempts | outage ms | slowest failure ms | recovered ms after restore | reconnects |")
print("|---|---|---|---|---|---|---|---|---|---|---|")
for fault in faults:
    path = os.path.join(out, fault + ".json")
    if not os.path.exists(path):
        print(f"| {fault} | no result | | | | | | | | | |"); continue
    r = json.load(open(path))
    f = (r.get("faults") or [{}])[0]
    show = lambda v: "—" if v is None else str(v)
    print(f"| {f.get('fault', fault)}@{f.get('at_s')}s" + (f"+{f.get('down_s')}s" if f.get('down_s') else "") +
          f" | {show(r.get('acked'))}/{show(r.get('checkins'))} | {show(r.get('lost_acked'))} | {show(r.get('lost_events'))}"
          f" | {show(r.get('duplicate_events'))} | {show(r.get('errors'))} | {show(f.get('failed'))} | {show(f.get('outage_ms'))}"
          f" | {show(f.get('slowest_failure_ms'))} | {show(f.get('recover_ms'))} | {show(r.get('reconnects'))} |")
EOF

#!/usr/bin/env bash
# A local Redis Cluster (3 masters + 3 replicas, ports 7001-7006, data under var/cluster/) and the
# hub and api on it (--redis-cluster); Ctrl-C stops everything.
#   scripts/run-cluster.sh                 cluster + hub + api (release build)
#   scripts/run-cluster.sh --cluster-only  only the cluster, until Ctrl-C
# Each node runs Config/redis.conf (AOF, appendfsync always) with its own port, directory and
# cluster settings; a cluster left in var/cluster/ from an earlier run is started again as it was.
set -euo pipefail
cd "$(dirname "$0")/.."
only_cluster=0
[[ "${1:-}" == "--cluster-only" ]] && only_cluster=1
base=${ATTENDANCE_CLUSTER_BASE_PORT:-7001}
ports=()
for i in 0 1 2 3 4 5; do ports+=($((base + i))); done
pids=()
mkdir -p var/redis  # Config/redis.conf names it; each node gets its own --dir below
cleanup() {
  kill "${pids[@]}" 2>/dev/null || true
  for port in "${ports[@]}"; do redis-cli -p "$port" shutdown nosave >/dev/null 2>&1 || true; done
  wait 2>/dev/null || true
}
trap cleanup EXIT INT TERM
for port in "${ports[@]}"; do
  dir=var/cluster/$port
  mkdir -p "$dir"
  redis-server Config/redis.conf --port "$port" --dir "$PWD/$dir" --daemonize yes --pidfile "$PWD/$dir/redis.pid" \
    --logfile "$PWD/$dir/redis.log" --cluster-enabled yes --cluster-config-file nodes.conf \
    --cluster-node-timeout 2000 --cluster-require-full-coverage no --maxmemory 512mb
done
for port in "${ports[@]}"; do
  for _ in $(seq 100); do redis-cli -p "$port" ping >/dev/null 2>&1 && break; sleep 0.05; done
done
if ! redis-cli -p "$base" cluster info | grep -q 'cluster_state:ok'; then
  if [[ $(redis-cli -p "$base" cluster info | grep cluster_known_nodes | tr -dc 0-9) == 1 ]]; then
    redis-cli --cluster create $(printf '127.0.0.1:%s ' "${ports[@]}") --cluster-replicas 1 --cluster-yes >/dev/null
  fi
  for _ in $(seq 200); do redis-cli -p "$base" cluster info | grep -q 'cluster_state:ok' && break; sleep 0.1; done
fi
nodes=$(printf '127.0.0.1:%s,' "${ports[@]}"); nodes=${nodes%,}
echo "redis cluster: $nodes"
if [[ $only_cluster == 1 ]]; then
  echo "(Ctrl-C stops the cluster)"
  while true; do sleep 3600 & wait $!; done
fi
scripts/setup.sh
swift build -c release
bin=$(swift build -c release --show-bin-path)
"$bin/attendance" hub --dev --redis-cluster "$nodes" & pids+=($!)
"$bin/attendance" api --dev --redis-cluster "$nodes" & pids+=($!)
echo "hub: ws://127.0.0.1:8080/ws   api: http://127.0.0.1:8081   (Ctrl-C stops)"
wait -n "${pids[@]}"  # (a trap runs during `wait`, not during a foreground command)

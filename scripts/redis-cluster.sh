#!/usr/bin/env bash
# A local Redis Cluster for tests and trials: 3 masters and 3 replicas of
# Debian's redis-server on loopback (no containers), under .data/redis-cluster.
#   bash scripts/redis-cluster.sh start   # prints REDIS_CLUSTER_NODES=...
#   bash scripts/redis-cluster.sh stop
#   bash scripts/redis-cluster.sh nodes   # the seed URLs, comma-separated
#   bash scripts/redis-cluster.sh restart-node PORT   # after a test killed it: rejoins
# REDIS_CLUSTER_BASE_PORT (default 7100) is the first of its six ports.
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/services.sh >/dev/null

BASE_PORT="${REDIS_CLUSTER_BASE_PORT:-7100}"
DIR="$SN_DATA/redis-cluster"
PORTS=$(seq "$BASE_PORT" $((BASE_PORT + 5)))

nodes() {
  local urls=()
  for port in $PORTS; do urls+=("redis://127.0.0.1:$port"); done
  (IFS=,; echo "${urls[*]}")
}

cluster_ok() {
  for port in $PORTS; do
    redis-cli -p "$port" cluster info 2>/dev/null | grep -q '^cluster_state:ok' || return 1
  done
}

# Failover within seconds (node timeout 2 s), no persistence: a test cluster.
# The node's nodes.conf stays in its directory, so a restarted node rejoins.
start_node() {
  redis-server --bind 127.0.0.1 --port "$1" --daemonize yes --dir "$DIR/$1" \
    --cluster-enabled yes --cluster-config-file nodes.conf --cluster-node-timeout 2000 \
    --save "" --appendonly no --logfile "$DIR/$1/redis.log" --pidfile "$DIR/$1/redis.pid"
}

restart_node() {
  start_node "$1"
  wait_for 127.0.0.1 "$1" "Redis Cluster node"
  for _ in $(seq 1 100); do cluster_ok && return 0; sleep 0.2; done
  echo "redis-cluster: the cluster is not whole again after restarting $1" >&2
  return 1
}

start() {
  command -v redis-server >/dev/null || install_package redis-server
  command -v redis-cli >/dev/null || install_package redis-tools
  if cluster_ok; then echo "REDIS_CLUSTER_NODES=$(nodes)"; return 0; fi
  stop >/dev/null 2>&1 || true
  rm -rf "$DIR"
  for port in $PORTS; do
    mkdir -p "$DIR/$port"
    start_node "$port"
  done
  for port in $PORTS; do wait_for 127.0.0.1 "$port" "Redis Cluster node"; done
  local addresses=()
  for port in $PORTS; do addresses+=("127.0.0.1:$port"); done
  redis-cli --cluster create "${addresses[@]}" --cluster-replicas 1 --cluster-yes >"$DIR/create.log"
  for _ in $(seq 1 100); do
    if cluster_ok && [ "$(redis-cli -p "$BASE_PORT" cluster nodes | grep -c slave)" = 3 ]; then
      echo "REDIS_CLUSTER_NODES=$(nodes)"
      return 0
    fi
    sleep 0.2
  done
  echo "redis-cluster: the cluster did not become ready; see $DIR" >&2
  return 1
}

stop() {
  for port in $PORTS; do redis-cli -p "$port" shutdown nosave >/dev/null 2>&1 || true; done
  echo "redis-cluster: stopped"
}

case "${1:-}" in
  start) start ;;
  stop) stop ;;
  nodes) nodes ;;
  restart-node) restart_node "${2:?a port}" ;;
  *) echo "usage: scripts/redis-cluster.sh start|stop|nodes|restart-node PORT" >&2; exit 2 ;;
esac

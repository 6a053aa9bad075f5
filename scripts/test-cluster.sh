#!/usr/bin/env bash
# The tests that lean on Redis hardest, run against a local Redis Cluster
# (scripts/redis-cluster.sh: 3 masters, 3 replicas on loopback): delivery
# across processes, writes per event-loop turn, presence, notice numbers,
# queue limits, rate limits and BullMQ on hash-tagged keys, sharded
# pub/sub; then a master killed under load (cluster-failover). Paths given
# replace the list (set REDIS_CLUSTER_FAILOVER=1 to include the failover test).
set -euo pipefail
cd "$(dirname "$0")/.."
nodes=$(bash scripts/redis-cluster.sh start | sed -n 's/^REDIS_CLUSTER_NODES=//p')
export REDIS_CLUSTER_NODES="$nodes"
trap 'bash scripts/redis-cluster.sh stop >/dev/null' EXIT
CLUSTER_TESTS=(
  src/redis/writes-per-turn.spec.ts
  src/messages/notice-numbers.spec.ts
  src/messages/device-queues.spec.ts
  src/rate-limit/rate-limiter.spec.ts
  test/e2e/messaging.e2e-spec.ts
  test/e2e/live-delivery.e2e-spec.ts
  test/e2e/multi-process.e2e-spec.ts
  test/e2e/fanout-recovery.e2e-spec.ts
  test/e2e/redis-loss.e2e-spec.ts
  test/e2e/queue-limits.e2e-spec.ts
  test/e2e/rate-limits.e2e-spec.ts
  test/e2e/cluster.e2e-spec.ts
)
if [ $# -gt 0 ]; then
  bash scripts/test.sh "$@"
  exit
fi
bash scripts/test.sh "${CLUSTER_TESTS[@]}"
# Kills a master: alone, after the others.
REDIS_CLUSTER_FAILOVER=1 bash scripts/test.sh test/e2e/cluster-failover.e2e-spec.ts

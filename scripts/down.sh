#!/usr/bin/env bash
# npm run down: stops the PostgreSQL and Redis that scripts/services.sh
# started under .data/ (npm run up, npm test), keeping their data. Servers
# it did not start (found at DATABASE_URL / REDIS_URL) are left alone.
set -euo pipefail
cd "$(dirname "$0")/.."
SN_DATA="${SN_DATA:-$PWD/.data}"

stopped=0
if [ -f "$SN_DATA/postgres/postmaster.pid" ]; then
  bin=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1)
  as=()
  [ "$(id -u)" = 0 ] && as=(runuser -u postgres --)
  "${as[@]}" "$bin/pg_ctl" -D "$SN_DATA/postgres" -m fast -w stop >/dev/null
  echo "down: stopped the PostgreSQL in $SN_DATA/postgres"
  stopped=1
fi
pidfile="$SN_DATA/redis/redis.pid"
if [ -f "$pidfile" ] && kill -0 "$(cat "$pidfile")" 2>/dev/null; then
  pid=$(cat "$pidfile")
  kill "$pid"
  # Redis removes its pid file on a clean exit; wait for the process itself.
  for _ in $(seq 1 100); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
  rm -f "$pidfile"
  echo "down: stopped the Redis in $SN_DATA/redis"
  stopped=1
fi
[ "$stopped" = 1 ] || echo "down: nothing of ours is running under $SN_DATA"

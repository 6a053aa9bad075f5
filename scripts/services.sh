#!/usr/bin/env bash
# Sourced by scripts/up.sh and scripts/test.sh. Makes sure PostgreSQL and Redis
# answer at DATABASE_URL / REDIS_URL (defaults: the standard local ports).
# Where nothing answers, starts a local one under .data/ (installing the Debian
# package first when it is missing and we are root), and says so;
# scripts/down.sh (npm run down) stops those.

: "${DATABASE_URL:=postgres://postgres@127.0.0.1:5432/supernode}"
: "${REDIS_URL:=redis://127.0.0.1:6379}"
export DATABASE_URL REDIS_URL

SN_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
SN_DATA="${SN_DATA:-$SN_ROOT/.data}"

# host and port of a URL such as postgres://user:pw@host:5432/db
url_host() { local rest="${1#*://}"; rest="${rest#*@}"; rest="${rest%%/*}"; echo "${rest%%:*}"; }
url_port() { local rest="${1#*://}"; rest="${rest#*@}"; rest="${rest%%/*}"; [[ "$rest" == *:* ]] && echo "${rest##*:}" || echo "$2"; }

answers() { (exec 3<>"/dev/tcp/$1/$2") 2>/dev/null; }

wait_for() {
  local host=$1 port=$2 name=$3
  for _ in $(seq 1 60); do answers "$host" "$port" && return 0; sleep 0.5; done
  echo "services: $name did not start on $host:$port" >&2
  return 1
}

install_package() {
  if [ "$(id -u)" != 0 ]; then
    echo "services: $1 is not installed; install it (sudo apt-get install $1) or set the URL to a running server" >&2
    return 1
  fi
  echo "services: installing $1 from Debian's packages"
  DEBIAN_FRONTEND=noninteractive apt-get update -qq >/dev/null
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "$1" >/dev/null
}

ensure_postgres() {
  local host port
  host=$(url_host "$DATABASE_URL"); port=$(url_port "$DATABASE_URL" 5432)
  answers "$host" "$port" && return 0
  echo "services: nothing answers at $host:$port; starting a local PostgreSQL in $SN_DATA/postgres"
  local bin
  bin=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1)
  if [ -z "$bin" ]; then install_package postgresql || return 1; bin=$(ls -d /usr/lib/postgresql/*/bin | sort -V | tail -n 1); fi
  mkdir -p "$SN_DATA"
  # PostgreSQL refuses to run as root: run it as the postgres user when we are root.
  local as=()
  if [ "$(id -u)" = 0 ]; then
    id postgres >/dev/null 2>&1 || useradd --system --home "$SN_DATA/postgres" postgres
    as=(runuser -u postgres --)
  fi
  if [ ! -f "$SN_DATA/postgres/PG_VERSION" ]; then
    mkdir -p "$SN_DATA/postgres"
    [ "$(id -u)" = 0 ] && chown postgres "$SN_DATA/postgres"
    "${as[@]}" "$bin/initdb" -D "$SN_DATA/postgres" -U postgres --auth=trust >/dev/null
  fi
  [ "$(id -u)" = 0 ] && chown -R postgres "$SN_DATA/postgres"
  "${as[@]}" "$bin/pg_ctl" -D "$SN_DATA/postgres" -l "$SN_DATA/postgres/server.log" -w \
    -o "-p $port -k /tmp -c listen_addresses=$host" start >/dev/null
  wait_for "$host" "$port" PostgreSQL
  echo "services: PostgreSQL runs in the background; npm run down stops it"
}

ensure_redis() {
  local host port
  host=$(url_host "$REDIS_URL"); port=$(url_port "$REDIS_URL" 6379)
  answers "$host" "$port" && return 0
  echo "services: nothing answers at $host:$port; starting a local Redis in $SN_DATA/redis"
  command -v redis-server >/dev/null || install_package redis-server || return 1
  mkdir -p "$SN_DATA/redis"
  redis-server --bind "$host" --port "$port" --daemonize yes --dir "$SN_DATA/redis" \
    --save "" --appendonly no --logfile "$SN_DATA/redis/redis.log" \
    --pidfile "$SN_DATA/redis/redis.pid"
  wait_for "$host" "$port" Redis
  echo "services: Redis runs in the background; npm run down stops it"
}

ensure_postgres && ensure_redis

#!/usr/bin/env bash
# npm run bench [-- --quick] [-- <scenario>...]: builds the server, then runs
# bench/main.ts, which provisions a fresh database and Redis prefix, starts the
# API and worker processes, runs the ceilings and scenarios, prints JSON and a
# Markdown table, and removes what it made. See bench/README.md.
set -euo pipefail
cd "$(dirname "$0")/.."

# Every idle socket is a file descriptor: take the hard limit (20,000 sockets
# need more than most defaults allow).
ulimit -n "$(ulimit -Hn)" 2>/dev/null || true

: "${DATABASE_URL:=postgres://postgres@127.0.0.1:5432/supernode}"
: "${REDIS_URL:=redis://127.0.0.1:6379}"
export DATABASE_URL REDIS_URL

# bench/ab.sh builds once and sets BENCH_SKIP_BUILD for its runs.
if [[ -z ${BENCH_SKIP_BUILD:-} ]]; then
  echo "[bench] building the server (npm run build)" >&2
  npm run --silent build >&2
fi
exec node --import tsx bench/main.ts "$@"

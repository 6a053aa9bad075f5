#!/usr/bin/env bash
# bash bench/faults/run.sh <entry.ts> [args...]: builds the server, then runs
# the entry (bench/faults/main.ts for npm run faults, bench/soak/main.ts for
# npm run soak; RELIABILITY.md). Both need Debian's redis-server and
# PostgreSQL binaries: installed when missing.
set -euo pipefail
cd "$(dirname "$0")/../.."
# shellcheck source=../../scripts/services.sh
source scripts/services.sh
command -v redis-server >/dev/null || install_package redis-server
ls -d /usr/lib/postgresql/*/bin >/dev/null 2>&1 || install_package postgresql
entry=$1
shift
echo "[$(basename "$(dirname "$entry")")] building the server (npm run build)" >&2
npm run --silent build >&2
exec node --import tsx "$entry" "$@"

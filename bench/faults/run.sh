#!/usr/bin/env bash
# npm run faults [-- <scenario>...] [-- --rate N --seconds N --fault-at N]:
# builds the server, then runs bench/faults/main.ts (RELIABILITY.md). Needs
# Debian's redis-server and PostgreSQL binaries: installed when missing.
set -euo pipefail
cd "$(dirname "$0")/../.."
# shellcheck source=../../scripts/services.sh
source scripts/services.sh
command -v redis-server >/dev/null || install_package redis-server
ls -d /usr/lib/postgresql/*/bin >/dev/null 2>&1 || install_package postgresql
echo "[faults] building the server (npm run build)" >&2
npm run --silent build >&2
exec node --import tsx bench/faults/main.ts "$@"

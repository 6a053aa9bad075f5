#!/usr/bin/env bash
# The whole test suite on real PostgreSQL and Redis (found or started by services.sh).
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/ensure-deps.sh
source scripts/services.sh
# The call tests allocate a relay on a real coturn (Debian's), started by the test itself.
command -v turnserver >/dev/null || bash scripts/coturn.sh install
# The fault suite's short scenarios run a Redis and a PostgreSQL of their own.
command -v redis-server >/dev/null || install_package redis-server
ls -d /usr/lib/postgresql/*/bin >/dev/null 2>&1 || install_package postgresql
# The operators' files (deploy/) are checked by promtool (Debian's prometheus
# package, whose daemon the tests never start) and systemd-analyze.
command -v promtool >/dev/null || install_package prometheus
command -v systemd-analyze >/dev/null || install_package systemd
# The SDK's browser test drives Debian's Chromium (playwright-core, headless).
command -v chromium >/dev/null || install_package chromium
# The connection-budget test counts each process's sockets with ss (iproute2).
command -v ss >/dev/null || install_package iproute2
# The CLI's chat is driven in a terminal multiplexer.
command -v tmux >/dev/null || install_package tmux
npm run --silent build
NODE_OPTIONS="--experimental-vm-modules ${NODE_OPTIONS:-}" exec npx jest "$@"

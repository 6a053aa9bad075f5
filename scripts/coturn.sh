#!/usr/bin/env bash
# TURN for the call tests (test/support/coturn.ts starts its own turnserver on
# loopback): makes sure Debian's coturn is installed (as scripts/services.sh
# installs PostgreSQL and Redis: when missing and we are root).
#   bash scripts/coturn.sh install
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/services.sh

ensure_coturn() {
  command -v turnserver >/dev/null && command -v turnutils_uclient >/dev/null && return 0
  install_package coturn
}

case "${1:-install}" in
  install) ensure_coturn ;;
  *) echo "usage: scripts/coturn.sh install" >&2; exit 2 ;;
esac

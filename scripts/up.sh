#!/usr/bin/env bash
# Installs, finds or starts PostgreSQL and Redis, migrates, builds and runs the server (ROLE=all by default).
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/ensure-deps.sh
source scripts/services.sh
npm run --silent build
node dist/scripts/migrate.js
exec node dist/src/main.js

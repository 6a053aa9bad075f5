#!/usr/bin/env bash
# npm run bench:ab -- <git rev> [--rounds=N] <bench args...>
#
# The same scenarios against two versions of the server, alternated within
# one sitting (A = the server at <git rev>, B = this checkout's, uncommitted
# changes included), so that a change is judged by ratios measured side by
# side on this noisy machine. The harness, the load generators and the SDK
# are this checkout's for both; the database is migrated by this checkout,
# so both versions must share a schema. Example:
#
#   npm run bench:ab -- HEAD --rounds=3 ingest accept-latency
#
# Prints each run's figures and, per figure, the median of A, of B and B/A.
set -euo pipefail
cd "$(dirname "$0")/.."

if [[ $# -lt 2 ]]; then
  sed -n '2,13p' "$0" | sed 's/^# \{0,1\}//' >&2
  exit 2
fi
rev=$1
shift
rounds=3
args=()
for arg in "$@"; do
  case $arg in
    --rounds=*) rounds=${arg#--rounds=} ;;
    *) args+=("$arg") ;;
  esac
done

# Side A: a worktree of <rev> with this checkout's node_modules, built.
commit=$(git rev-parse --short=12 "$rev")
# Outside this checkout, so that lint, tests and the type check never see it.
base=${TMPDIR:-/tmp}/supernode-ab/$commit
if [[ ! -d $base ]]; then
  echo "[ab] worktree of $rev ($commit) in $base" >&2
  git worktree add --detach --force "$base" "$commit" >&2
fi
ln -sfn "$PWD/node_modules" "$base/node_modules"
echo "[ab] building A ($commit) and B (this checkout)" >&2
(cd "$base" && npm run --silent build >&2)
npm run --silent build >&2

results=()
for round in $(seq 1 "$rounds"); do
  for side in A B; do
    echo "[ab] round $round/$rounds: $side" >&2
    marker=$(mktemp)
    server=()
    [[ $side == A ]] && server=(BENCH_SERVER_ROOT="$base")
    env BENCH_SKIP_BUILD=1 "${server[@]}" bash bench/run.sh --no-ceilings "${args[@]}" >/dev/null
    newest=$(find bench/results -name '*.json' -newer "$marker" | sort | tail -1)
    rm -f "$marker"
    results+=("$side=$newest")
  done
done
node --import tsx bench/ab-summary.ts "${results[@]}"

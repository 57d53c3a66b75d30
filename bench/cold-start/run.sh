#!/usr/bin/env bash
# Cold start of the built service: milliseconds from spawning `node dist/main.js` to the
# first 200 from /health, on a fresh and an existing embedded DATA_DIR and on PostgreSQL
# (a fresh database, then the same one migrated), followed by a SIGTERM (exit code shown).
#   bash bench/cold-start/run.sh [postgres://postgres@127.0.0.1:5432/test]
set -u
cd "$(dirname "$0")/../.."
node scripts/ensure-built.js
admin=${1:-postgres://postgres@127.0.0.1:5432/test}
port=18877

measure() { # label, env assignments...
  local label=$1; shift
  local start; start=$(date +%s%N)
  env "$@" PORT=$port LOG_LEVEL=warn DELIVERY_TRACKING_IN_PROCESS=false node dist/main.js >/dev/null 2>&1 &
  local pid=$!
  until curl -sf "http://127.0.0.1:$port/api/v1/orchestrator/health" >/dev/null; do sleep 0.05; done
  local end; end=$(date +%s%N)
  kill -TERM $pid; wait $pid; local code=$?
  echo "$label: $(( (end - start) / 1000000 )) ms to /health 200 (SIGTERM exit $code)"
}

dir=$(mktemp -d)
measure "embedded, fresh DATA_DIR" DATA_DIR="$dir"
measure "embedded, existing DATA_DIR" DATA_DIR="$dir"
rm -rf "$dir"

db=orch_cold_start_$$
psql "$admin" -qc "CREATE DATABASE $db" >/dev/null
url=${admin%/*}/$db
measure "PostgreSQL, migrating" DATABASE_URL="$url"
measure "PostgreSQL, migrated" DATABASE_URL="$url"
psql "$admin" -qc "DROP DATABASE $db WITH (FORCE)" >/dev/null

#!/usr/bin/env bash
# Full-text search latency and throughput on SQLite and PostgreSQL (docs/benchmarks.md,
# "Search"): ROWS posts of deterministic pseudo-English (seed.py: a Zipf-like vocabulary,
# titles and bodies), written straight into the database so ssot's triggers index them;
# wrk sends random queries (common, middling and rare words, two words, a word being
# typed) to GET /api/posts/search?q=...&take=20, as the admin and as a user under the
# rules (published posts and their own; `notes` only on their own, so it takes no part); each
# with the search cache off (SSOT_SEARCH_CACHE_MB=0: every search runs) and on (64 MiB, the default: from an
# empty cache, then the same queries again).
#
# Usage: bench/search/run.sh   (env: ROWS=100000 DURATION=10s CONNECTIONS=32 THREADS=2 TAKE=20;
#        PG_URL=postgres://postgres@127.0.0.1:5432 to include PostgreSQL, the default; empty: SQLite only)
set -euo pipefail
cd "$(dirname "$0")/../.."
ROWS=${ROWS:-100000}
source bench/lib.sh
TAKE=${TAKE:-20}
PG_URL=${PG_URL-postgres://postgres@127.0.0.1:5432}
SSOT=${CARGO_TARGET_DIR:-target}/release/ssot
cargo build --release -q -p ssot-cli
export SSOT_JWT_SECRET=bench-search-jwt-secret-0123456789abcdef

echo "== $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs), load $(cut -d' ' -f1-3 /proc/loadavg)"
echo "== wrk -t$THREADS -c$CONNECTIONS -d$DURATION, $ROWS posts, /search?q=...&take=$TAKE; release build; $(date -u +%F)"
printf '| database | search cache | caller | requests/s | p50 | p99 | errors |\n|---|---|---|---|---|---|---|\n'

run() { # name url schema port
  local name=$1 url=$2 schema=$3 port=$4 base="http://127.0.0.1:$4"
  "$SSOT" migrate "$schema" --database "$url" >/dev/null
  local started=$SECONDS
  python3 bench/search/seed.py "$name" "${url#sqlite:}" "$ROWS" "$work/queries"
  echo "   ($name: $ROWS rows written and indexed in $((SECONDS - started)) s)" >&2
  "$SSOT" serve "$schema" --database "$url" --listen "127.0.0.1:$port" --admin-key bench >"$work/$name.log" 2>&1 &
  local server=$!
  wait_for "$base/healthz"
  local token
  token=$(curl -sf -X POST "$base/api/auth/signup" -H 'content-type: application/json' \
    -d '{"email": "reader@example.com", "password": "correct horse battery"}' |
    python3 -c 'import json, sys; print(json.load(sys.stdin)["accessToken"])')
  local prefix="/api/posts/search?take=$TAKE&q="
  kill "$server"
  wait "$server" 2>/dev/null || true
  # Each caller with the search cache off (every search runs), then on (the default).
  for cache in 0 64; do
    SSOT_SEARCH_CACHE_MB=$cache "$SSOT" serve "$schema" --database "$url" --listen "127.0.0.1:$port" --admin-key bench >>"$work/$name.log" 2>&1 &
    server=$!
    wait_for "$base/healthz"
    # With the cache, each caller twice: from an empty cache (each query's first ask runs), then again.
    local rounds label; rounds=$([ "$cache" = 0 ] && echo 1 || echo 2)
    for who in admin user; do
      local auth="Bearer bench"; [ "$who" = user ] && auth="Bearer $token"
      for round in $(seq 1 "$rounds"); do
        label=off; [ "$cache" != 0 ] && label="${cache} MiB, $([ "$round" = 1 ] && echo empty || echo 'run again')"
        printf '| %s | %s | %s | %s |\n' "$name" "$label" "$who" "$(wrk_cells ../search/search.lua "$base" QUERIES_FILE="$work/queries" PREFIX="$prefix" AUTH="$auth")"
      done
    done
    kill "$server"
    wait "$server" 2>/dev/null || true
  done
}

run sqlite "sqlite:$work/ssot.db" bench/search/schema.prisma 4430
if [ -n "$PG_URL" ]; then
  db=ssot_bench_search
  psql "$PG_URL/postgres" -qc "DROP DATABASE IF EXISTS $db" -c "CREATE DATABASE $db" >/dev/null
  sed 's/"sqlite"/"postgresql"/' bench/search/schema.prisma >"$work/pg.prisma"
  run postgres "$PG_URL/$db" "$work/pg.prisma" 4431
  psql "$PG_URL/postgres" -qc "DROP DATABASE IF EXISTS $db WITH (FORCE)" >/dev/null
fi

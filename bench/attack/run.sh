#!/usr/bin/env bash
# Get-by-id latency while slow queries attack, against the same without them, on SQLite
# and PostgreSQL: ATTACKERS clients send, back to back, the slow filter of
# crates/testkit/src/slow.rs (relation filters four levels deep through a many-to-many
# relation, OR-ed at each level) while wrk gets posts by random id.
#
# Usage: bench/attack/run.sh   (env: DURATION=10s CONNECTIONS=32 THREADS=2 ATTACKERS=8;
#        PG_URL=postgres://postgres@127.0.0.1:5432 to include PostgreSQL, which is the default)
set -euo pipefail
cd "$(dirname "$0")/../.."
source bench/lib.sh
ATTACKERS=${ATTACKERS:-8}
PG_URL=${PG_URL-postgres://postgres@127.0.0.1:5432}
cargo build --release -q -p ssot-cli
cargo build -q -p ssot-testkit --example slow
slow=target/debug/examples/slow
filter=$(python3 -c 'import sys, urllib.parse; print(urllib.parse.quote(sys.argv[1]))' "$($slow attack)")
seq 1 6000 >"$work/ids"

echo "== $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs), load $(cut -d' ' -f1-3 /proc/loadavg)"
echo "== wrk -t$THREADS -c$CONNECTIONS -d$DURATION get by id; $ATTACKERS attackers; release build, default limits (5 s budget)"
printf '| database | while | requests/s | p50 | p99 | errors | attack answers |\n|---|---|---|---|---|---|---|\n'

run() { # name url schema port
  local name=$1 url=$2 schema=$3 port=$4 base="http://127.0.0.1:$4"
  target/release/ssot migrate "$schema" --database "$url" >/dev/null
  $slow seed "$url"
  target/release/ssot serve "$schema" --database "$url" --listen "127.0.0.1:$port" >"$work/$name.log" 2>&1 &
  local server=$!
  wait_for "$base/healthz"
  printf '| %s | quiet | %s | |\n' "$name" "$(wrk_cells get.lua "$base" IDS_FILE="$work/ids" PREFIX=/api/posts/)"
  local attackers=()
  for i in $(seq 1 "$ATTACKERS"); do
    (while true; do curl -s -o /dev/null -w '%{http_code}\n' "$base/api/posts?where=$filter" >>"$work/$name.attack"; done) &
    attackers+=($!)
  done
  sleep 2
  local cells
  cells=$(wrk_cells get.lua "$base" IDS_FILE="$work/ids" PREFIX=/api/posts/)
  kill "${attackers[@]}" 2>/dev/null || true
  wait "${attackers[@]}" 2>/dev/null || true
  local answers
  answers=$(sort "$work/$name.attack" | uniq -c | awk '{printf "%s%s×%s", sep, $1, $2; sep=", "}')
  printf '| %s | %s attacking | %s | %s |\n' "$name" "$ATTACKERS" "$cells" "$answers"
  kill "$server"
  wait "$server" 2>/dev/null || true
}

run sqlite "sqlite:$work/ssot.db" bench/attack/schema.prisma 4420
if [ -n "$PG_URL" ]; then
  db=ssot_bench_attack
  psql "$PG_URL/postgres" -qc "DROP DATABASE IF EXISTS $db" -c "CREATE DATABASE $db" >/dev/null
  sed 's/"sqlite"/"postgresql"/' bench/attack/schema.prisma >"$work/pg.prisma"
  SSOT_JWT_SECRET=unused-but-required-0123456789abcdef run postgres "$PG_URL/$db" "$work/pg.prisma" 4421
  psql "$PG_URL/postgres" -qc "DROP DATABASE IF EXISTS $db WITH (FORCE)" >/dev/null
fi

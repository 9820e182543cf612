#!/usr/bin/env bash
# Get-by-id latency while slow queries attack, against the same without them, on SQLite
# and PostgreSQL: ATTACKERS clients send, back to back, the slow filter of
# crates/testkit/src/slow.rs (relation filters four levels deep through a many-to-many
# relation, OR-ed at each level) while wrk gets posts by random id.
#
# The host's load drifts, so the run is ROUNDS rounds of quiet-then-attacked on one server,
# and the summary is the median of each.
#
# Usage: bench/attack/run.sh   (env: DURATION=5s CONNECTIONS=32 THREADS=2 ATTACKERS=8 ROUNDS=3;
#        PG_URL=postgres://postgres@127.0.0.1:5432 to include PostgreSQL, which is the default; empty: SQLite only)
set -euo pipefail
cd "$(dirname "$0")/../.."
DURATION=${DURATION:-5s}
source bench/lib.sh
ATTACKERS=${ATTACKERS:-8}
ROUNDS=${ROUNDS:-3}
PG_URL=${PG_URL-postgres://postgres@127.0.0.1:5432}
cargo build --release -q -p ssot-cli
cargo build -q -p ssot-testkit --example slow
slow=target/debug/examples/slow
filter=$(python3 -c 'import sys, urllib.parse; print(urllib.parse.quote(sys.argv[1]))' "$($slow attack)")
seq 1 6000 >"$work/ids"

echo "== $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs), load $(cut -d' ' -f1-3 /proc/loadavg)"
echo "== wrk -t$THREADS -c$CONNECTIONS -d$DURATION get by id; $ATTACKERS attackers; $ROUNDS rounds; release build, default limits (5 s budget)"
printf '| database | round | while | requests/s | p50 | p99 | errors | attack answers |\n|---|---|---|---|---|---|---|---|\n'

run() { # name url schema port
  local name=$1 url=$2 schema=$3 port=$4 base="http://127.0.0.1:$4"
  target/release/ssot migrate "$schema" --database "$url" >/dev/null
  $slow seed "$url"
  target/release/ssot serve "$schema" --database "$url" --listen "127.0.0.1:$port" >"$work/$name.log" 2>&1 &
  local server=$!
  wait_for "$base/healthz"
  for round in $(seq 1 "$ROUNDS"); do
    printf '| %s | %s | quiet | %s | |\n' "$name" "$round" "$(wrk_cells get.lua "$base" IDS_FILE="$work/ids" PREFIX=/api/posts/)"
    local attackers=()
    : >"$work/$name.attack"
    for i in $(seq 1 "$ATTACKERS"); do
      (while true; do curl -s -o /dev/null -w '%{http_code}\n' "$base/api/posts?where=$filter" >>"$work/$name.attack"; done) &
      attackers+=($!)
    done
    sleep 2
    local cells answers
    cells=$(wrk_cells get.lua "$base" IDS_FILE="$work/ids" PREFIX=/api/posts/)
    kill "${attackers[@]}" 2>/dev/null || true
    wait "${attackers[@]}" 2>/dev/null || true
    answers=$(sort "$work/$name.attack" | uniq -c | awk '{printf "%s%s×%s", sep, $1, $2; sep=", "}')
    printf '| %s | %s | %s attacking | %s | %s |\n' "$name" "$round" "$ATTACKERS" "$cells" "$answers"
    sleep 6 # the attack's last queries end at their budget
  done | tee -a "$work/table"
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

python3 - "$work/table" <<'PY'
import re, statistics, sys
def ms(cell):
    value, unit = re.match(r"([\d.]+)(\w+)", cell.strip()).groups()
    return float(value) * {"us": 0.001, "ms": 1.0, "s": 1000.0}[unit]
rows = [[c.strip() for c in l.strip().strip("|").split("|")] for l in open(sys.argv[1]) if l.startswith("| ")]
for db in dict.fromkeys(r[0] for r in rows):
    quiet = [r for r in rows if r[0] == db and r[2] == "quiet"]
    loud = [r for r in rows if r[0] == db and r[2] != "quiet"]
    med = lambda rs, i, f: statistics.median(f(r[i]) for r in rs)
    print(f"{db}: get-by-id p99 median {med(quiet, 5, ms):.2f} ms quiet, {med(loud, 5, ms):.2f} ms under attack; "
          f"requests/s {med(quiet, 3, float):.0f} quiet, {med(loud, 3, float):.0f} under attack ({len(quiet)} rounds)")
PY

#!/usr/bin/env bash
# @@service webhooks: how fast a backlog drains, and the delivery lag under a steady load.
#
# 1. Backlog: BACKLOG rows written by plain SQL while `ssot serve` is stopped (its cursor
#    already exists), then the server started: deliveries/s until the local receiver
#    (bench/services/receiver.py, asyncio, answers 204) has every one.
# 2. Steady: RATE writes/s through the REST API for STEADY seconds, the server delivering
#    as they commit: the lag from the change's commit (the event's `timestamp`, the change
#    log's `at`) to its receipt, p50 and p99.
#
# Usage: bench/services/run.sh   (env: BACKLOG=20000 RATE=200 STEADY=15;
#        PG_URL=postgres://postgres@127.0.0.1:5432 to include PostgreSQL, the default; empty: SQLite only)
set -euo pipefail
cd "$(dirname "$0")/../.."
work=$(mktemp -d)
trap 'kill $(jobs -p) 2>/dev/null; wait 2>/dev/null; rm -rf "$work"' EXIT
wait_for() { # url
  for _ in $(seq 1 100); do curl -sf "$1" >/dev/null && return 0; sleep 0.1; done
  echo "no answer from $1" >&2
  exit 1
}
BACKLOG=${BACKLOG:-20000}
RATE=${RATE:-200}
STEADY=${STEADY:-15}
PG_URL=${PG_URL-postgres://postgres@127.0.0.1:5432}
cargo build --release -q -p ssot-cli
bin=${CARGO_TARGET_DIR:-target}/release/ssot
export HOOK_SECRET=whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw SSOT_LOG=warn

echo "== $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs), load $(cut -d' ' -f1-3 /proc/loadavg)"
echo "== release build; backlog $BACKLOG events; steady $RATE writes/s for ${STEADY}s through REST; default concurrency (32)"
printf '| database | backlog | drained in | deliveries/s | steady writes/s | lag p50 | lag p99 | delivered |\n|---|---|---|---|---|---|---|---|\n'

count() { wc -l <"$1" | tr -d ' '; }

run() { # name url schema port rawsql
  local name=$1 url=$2 schema=$3 port=$4 raw=$5 base="http://127.0.0.1:$4" hooks="$work/$1.hooks"
  : >"$hooks"
  python3 bench/services/receiver.py $((port + 1)) "$hooks" &
  local receiver=$!
  export HOOK_URL="http://127.0.0.1:$((port + 1))/hooks"
  "$bin" migrate "$schema" --database "$url" >/dev/null
  # Once, to create the service's cursor at the log's end; then the backlog, written by plain SQL.
  "$bin" serve "$schema" --database "$url" --listen "127.0.0.1:$port" >"$work/$name.log" 2>&1 &
  local server=$!
  wait_for "$base/healthz"
  kill "$server"
  wait "$server" 2>/dev/null || true
  $raw "INSERT INTO \"Post\" (\"title\", \"n\") SELECT 'backlog', x FROM (WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c WHERE x < $BACKLOG) SELECT x FROM c) AS s"
  local start end
  start=$(date +%s%N)
  "$bin" serve "$schema" --database "$url" --listen "127.0.0.1:$port" >>"$work/$name.log" 2>&1 &
  server=$!
  while [ "$(count "$hooks")" -lt "$BACKLOG" ]; do sleep 0.05; done
  end=$(date +%s%N)
  local seconds rate
  seconds=$(python3 -c "print(f'{($end - $start) / 1e9:.2f} s')")
  rate=$(python3 -c "print(round($BACKLOG / (($end - $start) / 1e9)))")
  # Steady: RATE writes/s through REST, then the lag of the events that load made (the lines
  # the receiver appends after the backlog's).
  local skip
  skip=$(count "$hooks")
  python3 - "$base" "$RATE" "$STEADY" <<'PY'
import http.client, json, sys, time
base, rate, seconds = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
host, port = base.removeprefix("http://").split(":")
conn = http.client.HTTPConnection(host, int(port))
start = time.time()
for i in range(rate * seconds):
    due = start + i / rate
    if due > time.time():
        time.sleep(due - time.time())
    conn.request("POST", "/api/posts", json.dumps({"title": "steady", "n": i}), {"content-type": "application/json"})
    conn.getresponse().read()
PY
  local want=$((RATE * STEADY))
  for _ in $(seq 1 100); do [ "$(count "$hooks")" -ge $((skip + want)) ] && break; sleep 0.1; done
  local lags
  lags=$(python3 - "$hooks" "$skip" <<'PY'
import sys
lines = open(sys.argv[1]).read().splitlines()[int(sys.argv[2]):]
lags = sorted(int(r) - int(t) for r, t, _ in (line.split() for line in lines))
pick = lambda q: lags[min(len(lags) - 1, int(q * len(lags)))]
print(f"{pick(0.5)} ms | {pick(0.99)} ms | {len(lags)}")
PY
)
  printf '| %s | %s | %s | %s | %s | %s |\n' "$name" "$BACKLOG" "$seconds" "$rate" "$RATE" "$lags"
  kill "$server" "$receiver"
  wait "$server" "$receiver" 2>/dev/null || true
}

sqlite_raw() { sqlite3 "$work/ssot.db" "$1"; }
run sqlite "sqlite:$work/ssot.db" bench/services/schema.prisma 4450 sqlite_raw
if [ -n "$PG_URL" ]; then
  db=ssot_bench_services
  psql "$PG_URL/postgres" -qc "DROP DATABASE IF EXISTS $db" -c "CREATE DATABASE $db" >/dev/null
  sed 's/provider = "sqlite"/provider = "postgresql"/' bench/services/schema.prisma >"$work/pg.prisma"
  pg_raw() { psql "$PG_URL/$db" -qc "$1" >/dev/null; }
  run postgres "$PG_URL/$db" "$work/pg.prisma" 4460 pg_raw
fi

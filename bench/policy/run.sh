#!/usr/bin/env bash
# The cost of policies: get-by-id and filtered-list throughput for a signed-in user under
# `published || isOwner`, against the admin key (which skips the rules), on one server
# and one database, alternating the two callers so the host's load drifts over both.
#
# Usage: bench/policy/run.sh   (env: DURATION=10s CONNECTIONS=32 THREADS=2 ROWS=10000 ROUNDS=2)
set -euo pipefail
cd "$(dirname "$0")/../.."
DURATION=${DURATION:-10s}
CONNECTIONS=${CONNECTIONS:-32}
THREADS=${THREADS:-2}
ROWS=${ROWS:-10000}
ROUNDS=${ROUNDS:-2}
work=$(mktemp -d)
trap 'kill $(jobs -p) 2>/dev/null; wait 2>/dev/null; rm -rf "$work"' EXIT

command -v wrk >/dev/null || DEBIAN_FRONTEND=noninteractive apt-get install -y -q wrk >/dev/null
cargo build --release -q -p ssot-cli

wait_for() { for _ in $(seq 1 100); do curl -sf "$1" >/dev/null && return 0; sleep 0.1; done; echo "no answer from $1" >&2; exit 1; }

SSOT_JWT_SECRET=bench-secret-0123456789abcdef0123456789 target/release/ssot serve bench/policy/schema.prisma \
  --database "sqlite:$work/ssot.db" --listen 127.0.0.1:4410 --admin-key bench >"$work/ssot.log" 2>&1 &
wait_for http://127.0.0.1:4410/healthz

# Two users; half the posts each, half of them published. The ids file holds the posts
# the reader may see (theirs, and the other's published ones), so every get answers 200.
python3 - "$work" "$ROWS" <<'PY'
import json, sys, urllib.request
work, n = sys.argv[1], int(sys.argv[2])
base = "http://127.0.0.1:4410"
def call(method, path, body=None, auth=None):
    headers = {"Content-Type": "application/json"}
    if auth: headers["Authorization"] = auth
    data = json.dumps(body).encode() if body is not None else None
    with urllib.request.urlopen(urllib.request.Request(base + path, data=data, method=method, headers=headers)) as r:
        return json.load(r)
users = [call("POST", "/api/auth/signup", {"email": f"u{i}@example.com", "password": "benchmark pass"}) for i in range(2)]
reader = users[0]
for start in range(0, n, 1000):
    rows = [{"title": f"post {i}", "body": "body text of a benchmark post " * 4, "published": i % 2 == 0,
             "views": i % 1000, "authorId": users[(i // 2) % 2]["user"]["id"]} for i in range(start, min(n, start + 1000))]
    call("POST", "/api/posts/bulk", {"data": rows}, "Bearer bench")
ids, skip = [], 0
while True:
    page = call("GET", f"/api/posts?take=1000&skip={skip}", auth="Bearer " + reader["accessToken"])
    ids += [r["id"] for r in page["data"]]
    skip += 1000
    if not page["meta"]["hasMore"]:
        break
open(f"{work}/ids", "w").write("\n".join(ids) + "\n")
open(f"{work}/token", "w").write(reader["accessToken"])
print(f"seeded {n} posts; the reader sees {len(ids)}")
PY
user="Bearer $(cat "$work/token")"

echo "== $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs), load $(cut -d' ' -f1-3 /proc/loadavg)"
echo "== wrk -t$THREADS -c$CONNECTIONS -d$DURATION, $ROWS rows, $ROUNDS rounds"
printf '| round | workload | caller | requests/s | p50 | p99 | errors |\n|---|---|---|---|---|---|---|\n'
measure() { # round workload caller script auth [env...]
  local round=$1 workload=$2 caller=$3 script=$4 auth=$5
  shift 5
  local out
  out=$(env AUTH="$auth" "$@" wrk -t"$THREADS" -c"$CONNECTIONS" -d"$DURATION" --latency -s "bench/rest/$script" http://127.0.0.1:4410)
  local rps p50 p99 errors
  rps=$(awk '/^Requests\/sec/ {print $2}' <<<"$out")
  p50=$(awk '$1 == "50%" {print $2}' <<<"$out")
  p99=$(awk '$1 == "99%" {print $2}' <<<"$out")
  errors=$(awk '/Non-2xx/ {print $5}' <<<"$out")
  printf '| %s | %s | %s | %s | %s | %s | %s |\n' "$round" "$workload" "$caller" "$rps" "$p50" "$p99" "${errors:-0}"
}
list='/api/posts?where=%7B%22published%22%3Atrue%2C%22views%22%3A%7B%22gte%22%3A500%7D%7D&orderBy=%7B%22views%22%3A%22asc%22%7D&take=20'
for round in $(seq 1 "$ROUNDS"); do
  measure "$round" "get by id" "admin key" get.lua "Bearer bench" IDS_FILE="$work/ids" PREFIX=/api/posts/
  measure "$round" "get by id" "user (policy)" get.lua "$user" IDS_FILE="$work/ids" PREFIX=/api/posts/
  measure "$round" "list 20, filtered" "admin key" list.lua "Bearer bench" LIST_PATH="$list"
  measure "$round" "list 20, filtered" "user (policy)" list.lua "$user" LIST_PATH="$list"
done

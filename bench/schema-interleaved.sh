#!/usr/bin/env bash
# ssot's check against Prisma's validate, interleaved: ten rounds, each timing ssot
# (release build with mimalloc, 300 checks in one process) and then Prisma 6.19 (200
# validations after warm-up), so that the shared host's load drifts over both alike.
# Prints each round's per-check times and ratio, then the median ratio.
# Usage: bench/schema-interleaved.sh [SCHEMA] [ROUNDS]
set -euo pipefail
cd "$(dirname "$0")/.."
file=${1:-$(ls -S ../shared/corpus/prisma-real/*.prisma 2>/dev/null | head -1)}
rounds=${2:-10}
[ -n "$file" ] || { echo "no schema given and ../shared/corpus/prisma-real is absent" >&2; exit 2; }
[ -d tests/oracle/node_modules ] || (cd tests/oracle && npm ci --no-audit --no-fund --loglevel=error)
cargo build -q --release -p ssot-schema --example check_file
echo "== $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs), load $(cut -d' ' -f1-3 /proc/loadavg); $file"
ratios=()
for round in $(seq 1 "$rounds"); do
  # "300 checks in 351ms (1.17ms each), 0 invalid": the per-check time, in ms.
  ssot_ms=$(target/release/examples/check_file "$file" 300 | sed -E 's/.*\(([0-9.]+)(µs|ms) each.*/\1 \2/' |
    awk '{ print ($2 == "µs") ? $1 / 1000 : $1 }')
  prisma_ms=$(node bench/prisma-validate.mjs "$file" 200 | awk '/^prisma 6.19/ { for (i = 1; i <= NF; i++) if ($i == "median") print $(i + 1) }')
  ratio=$(awk -v p="$prisma_ms" -v s="$ssot_ms" 'BEGIN { printf "%.1f", p / s }')
  ratios+=("$ratio")
  echo "round $round: ssot ${ssot_ms} ms, prisma 6.19 ${prisma_ms} ms, ratio ${ratio}"
done
printf '%s\n' "${ratios[@]}" | sort -n | awk '{ a[NR] = $1 } END { print "median ratio: " a[int((NR + 1) / 2)] " (min " a[1] ", max " a[NR] ")" }'

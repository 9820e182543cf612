#!/usr/bin/env bash
# ssot's check against Prisma's validate, interleaved: ten rounds, each timing ssot
# (release build with mimalloc, 300 checks in one process) and then Prisma 6.19 (200
# validations after warm-up), so that the shared host's load drifts over both alike.
# Prints each round's per-check times and ratios, then the median ratios: of wall times
# (the median check on each side), and of CPU times (the mean on each side), which on a
# shared host do not count the time other processes hold the cores.
# Usage: bench/schema-interleaved.sh [SCHEMA] [ROUNDS]
set -euo pipefail
cd "$(dirname "$0")/.."
file=${1:-$(ls -S ../shared/corpus/prisma-real/*.prisma 2>/dev/null | head -1)}
rounds=${2:-10}
[ -n "$file" ] || { echo "no schema given and ../shared/corpus/prisma-real is absent" >&2; exit 2; }
[ -d tests/oracle/node_modules ] || (cd tests/oracle && npm ci --no-audit --no-fund --loglevel=error)
cargo build -q --release -p ssot-schema --example check_file
check_file=${CARGO_TARGET_DIR:-target}/release/examples/check_file
echo "== $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs), load $(cut -d' ' -f1-3 /proc/loadavg); $file"
# A Rust duration as printed ("851.2µs", "1.17ms", "2.1s") in milliseconds.
to_ms() { awk '{ v = $0; u = v; sub(/^[0-9.]+/, "", u); sub(/[a-zµ]+$/, "", v)
  print (u == "ns") ? v / 1e6 : (u == "µs") ? v / 1000 : (u == "s") ? v * 1000 : v }'; }
median() { sort -n | awk '{ a[NR] = $1 } END { print a[int((NR + 1) / 2)] " (min " a[1] ", max " a[NR] ")" }'; }
ratios=()
cpu_ratios=()
for round in $(seq 1 "$rounds"); do
  # "300 checks in 351ms (1.17ms each, median 1.1ms), 0 invalid; cpu 1.02ms each"
  out=$("$check_file" "$file" 300)
  ssot_ms=$(sed -E 's/.*median ([0-9.]+[a-zµ]+)\).*/\1/' <<<"$out" | to_ms)
  ssot_cpu=$(sed -E 's/.*cpu ([0-9.]+[a-zµ]+) each.*/\1/' <<<"$out" | to_ms)
  line=$(node bench/prisma-validate.mjs "$file" 200 | grep '^prisma 6.19')
  prisma_ms=$(awk '{ for (i = 1; i <= NF; i++) if ($i == "median") print $(i + 1) }' <<<"$line")
  prisma_cpu=$(awk '{ for (i = 1; i <= NF; i++) if ($i == "cpu") print $(i + 1) }' <<<"$line")
  ratio=$(awk -v p="$prisma_ms" -v s="$ssot_ms" 'BEGIN { printf "%.1f", p / s }')
  cpu_ratio=$(awk -v p="$prisma_cpu" -v s="$ssot_cpu" 'BEGIN { printf "%.1f", p / s }')
  ratios+=("$ratio")
  cpu_ratios+=("$cpu_ratio")
  echo "round $round: wall: ssot ${ssot_ms} ms, prisma 6.19 ${prisma_ms} ms (medians), ratio ${ratio};" \
    "cpu: ssot ${ssot_cpu} ms, prisma ${prisma_cpu} ms (mean), ratio ${cpu_ratio}"
done
echo "median ratio (wall): $(printf '%s\n' "${ratios[@]}" | median)"
echo "median ratio (cpu): $(printf '%s\n' "${cpu_ratios[@]}" | median)"

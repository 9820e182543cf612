#!/usr/bin/env bash
# `ssot check`'s parse + validate against Prisma's own validator on the same file, in one
# run on one machine: criterion for ssot (release build, fat LTO, mimalloc as in the
# binary), and bench/prisma-validate.mjs for @prisma/prisma-schema-wasm 6.19 and latest.
# Usage: bench/schema-check.sh [SCHEMA]   (default: the largest schema in the corpus)
set -euo pipefail
cd "$(dirname "$0")/.."

file=${1:-$(ls -S ../shared/corpus/prisma-real/*.prisma 2>/dev/null | head -1)}
if [ -z "$file" ]; then
  echo "no schema given and ../shared/corpus/prisma-real is absent" >&2
  exit 2
fi
if [ ! -d tests/oracle/node_modules ]; then
  (cd tests/oracle && npm ci --no-audit --no-fund --loglevel=error)
fi

echo "== machine: $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs), load $(cut -d' ' -f1-3 /proc/loadavg)"
echo "== ssot (criterion; the bench picks the corpus's largest schema)"
cargo bench -q -p ssot-schema --bench parse_validate -- --warm-up-time 3 --measurement-time 10 2>&1 \
  | grep -E '^check/|time:' | grep -v 'change'
echo "== prisma-schema-wasm on $file"
node bench/prisma-validate.mjs "$file" 500

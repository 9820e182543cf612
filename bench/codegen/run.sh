#!/usr/bin/env bash
# The code generator and the generated client, measured (docs/benchmarks.md, "Code generation, type-checking
# and bundle size"); prints the tables as Markdown on stdout, progress on stderr.
#
#   bench/codegen/run.sh            # from anywhere; env: SCHEMA, CORPUS, SSOT_BIN, RUNS, TSC_RUNS, TSC_VERSIONS
#
# 1. `ssot generate --target ts|openapi|sql` on the corpus's largest schema: wall time of the release binary
#    (median of RUNS, fresh output directory each run) and the phases it prints on stderr.
# 2. `tsc --noEmit --extendedDiagnostics` of the same calls (usage/body.ts) against ssot's generated client and
#    against Prisma Client's generated types for the same schema, with each TypeScript version installed
#    (median of TSC_RUNS interleaved rounds); Prisma's own `prisma generate` time beside ssot's.
# 3. esbuild `--bundle --minify --format=esm`, gzip -9: ssot's runtime (everything it exports, and
#    `createClient` alone), the generated client, and @supabase/supabase-js and pocketbase measured the same way.
#
# Installs the exact versions of package.json / package-lock.json into bench/codegen/node_modules (ignored by
# git; install scripts off: none is needed, and @prisma/engines' would download engines). Needs node and npm;
# builds the release binary when SSOT_BIN is not there.
set -euo pipefail
export LC_ALL=C

here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
cd "$root"

RUNS=${RUNS:-11}
TSC_RUNS=${TSC_RUNS:-5}
TSC_VERSIONS=${TSC_VERSIONS:-"typescript typescript-6 typescript-5"} # packages of bench/codegen/package.json
PRISMA_GEN_RUNS=${PRISMA_GEN_RUNS:-3}
CORPUS=${CORPUS:-$root/../shared/corpus/prisma-real}
SSOT_BIN=${SSOT_BIN:-${CARGO_TARGET_DIR:-$root/target}/release/ssot}

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
log() { echo "$*" >&2; }

# --- what is needed --------------------------------------------------------------------------------------------
if [ ! -x "$SSOT_BIN" ]; then
  log "building the release binary"
  cargo build --release -p ssot-cli >&2
fi
if [ ! -f "$here/node_modules/.package-lock.json" ] || [ "$here/package-lock.json" -nt "$here/node_modules/.package-lock.json" ]; then
  log "installing bench/codegen's packages"
  (cd "$here" && npm ci --ignore-scripts --no-audit --no-fund --silent) >&2
fi
command -v /usr/bin/time >/dev/null || DEBIAN_FRONTEND=noninteractive apt-get install -y -q time >/dev/null
nm="$here/node_modules"
version() { node -p "require('$nm/$1/package.json').version"; }

# The largest schema of the corpus: most models, then most bytes.
if [ -z "${SCHEMA:-}" ]; then
  SCHEMA=$(for f in "$CORPUS"/*.prisma; do
    printf '%d %d %s\n' "$(grep -c '^model ' "$f")" "$(wc -c <"$f")" "$f"
  done | sort -k1,1n -k2,2n | tail -1 | cut -d' ' -f3-)
fi
models=$(grep -c '^model ' "$SCHEMA")
enums=$(grep -c '^enum ' "$SCHEMA" || true)

median() { sort -g | awk '{ v[NR] = $1 } END { if (NR % 2) print v[(NR + 1) / 2]; else printf "%.4g\n", (v[NR / 2] + v[NR / 2 + 1]) / 2 }'; }
minmax() { sort -g | awk 'NR == 1 { lo = $1 } { hi = $1 } END { print lo "–" hi }'; }
ms() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.1f", (b - a) * 1000 }'; }
kib() { awk -v b="$1" 'BEGIN { printf "%.1f KiB", b / 1024 }'; }

echo "## Code generation, type-checking and bundle size"
echo
echo "- machine: $(nproc) cores ($(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2- | sed 's/^ *//')), $(awk '/MemTotal/ { printf "%.0f GiB", $2 / 1048576 }' /proc/meminfo), $(uname -sr); load average at the start: $(cut -d' ' -f1-3 /proc/loadavg)"
echo "- ssot: \`$(git rev-parse --short HEAD)\`$(git diff --quiet HEAD -- crates sdk 2>/dev/null || echo ' (with uncommitted changes)'), \`$SSOT_BIN\`; $(node --version) (npm $(npm --version))"
echo "- schema: \`$(basename "$SCHEMA")\`: $models models, $enums enums, $(wc -l <"$SCHEMA") lines, $(wc -c <"$SCHEMA") bytes"
echo "- started $(date -u '+%Y-%m-%d %H:%M UTC')"
echo

# --- 1. generation time ----------------------------------------------------------------------------------------
# One run: prints "wall check emit write" in ms; OUT is emptied first unless KEEP is set.
gen_once() { # target out
  [ -n "${KEEP:-}" ] || rm -rf "$2"
  local t0 t1
  t0=$EPOCHREALTIME
  "$SSOT_BIN" generate "$SCHEMA" --out "$2" --target "$1" >/dev/null 2>"$work/gen.err"
  t1=$EPOCHREALTIME
  printf '%s %s %s %s\n' "$(ms "$t0" "$t1")" \
    "$(awk '$1 == "check" { print $2 }' "$work/gen.err")" \
    "$(awk '$1 == "emit" { print $2 }' "$work/gen.err")" \
    "$(awk '$1 == "write" { print $2 }' "$work/gen.err")"
}
gen_row() { # label target out
  local label=$1 target=$2 out=$3
  log "generate --target $target ($label): $RUNS runs"
  gen_once "$target" "$out" >/dev/null # warm-up (and, for KEEP, the files to compare with)
  : >"$work/runs"
  for _ in $(seq "$RUNS"); do gen_once "$target" "$out" >>"$work/runs"; done
  local wall check emit write size met
  wall=$(cut -d' ' -f1 "$work/runs" | median)
  check=$(cut -d' ' -f2 "$work/runs" | median)
  emit=$(cut -d' ' -f3 "$work/runs" | median)
  write=$(cut -d' ' -f4 "$work/runs" | median)
  size=$(find "$out" -type f -printf '%s\n' | awk '{ s += $1; n++ } END { printf "%d file%s, %.0f KB", n, (n > 1 ? "s" : ""), s / 1000 }')
  met=$(awk -v w="$wall" 'BEGIN { print (w <= 50 ? "yes" : "**no**") }')
  echo "| \`--target $target\` | $label | $size | **$wall ms** ($(cut -d' ' -f1 "$work/runs" | minmax)) | $check ms | $emit ms | $write ms | $met |"
}

echo "### 1. \`ssot generate\`: wall time of the release binary, median of $RUNS runs (min–max), and its phases (medians)"
echo
echo "| target | output directory | what it writes | wall | check | emit | write | ≤ 50 ms |"
echo "|---|---|---|---|---|---|---|---|"
gen_row "fresh" ts "$work/gen-ts"
KEEP=1 gen_row "unchanged" ts "$work/gen-ts"
gen_row "fresh" openapi "$work/gen-openapi"
gen_row "fresh" sql "$work/gen-sql"
echo

# --- 2. type-check time ----------------------------------------------------------------------------------------
tc="$work/tc"
mkdir -p "$tc"
ln -s "$nm" "$tc/node_modules"
echo '{ "type": "module" }' >"$tc/package.json"
cp "$here/tsconfig.json" "$tc/tsconfig.base.json"
"$SSOT_BIN" generate "$SCHEMA" --out "$tc/ssot" --target ts >/dev/null 2>&1

# Prisma's copy of the schema: its generator blocks replaced by one `prisma-client` generator writing .ts files
# into ./prisma, and the datasource's URLs dropped (Prisma 7 takes them from prisma.config.ts, not the schema).
awk '
  /^generator[ \t]/ { skip = 1 }
  skip { if ($0 ~ /^}/) skip = 0; next }
  /^datasource[ \t]/ { ds = 1 }
  ds && /^}/ { ds = 0 }
  ds && /^[ \t]*(url|directUrl|shadowDatabaseUrl)[ \t]*=/ { next }
  { print }
  END { print "\ngenerator client {\n  provider               = \"prisma-client\"\n  output                 = \"./prisma\"\n  generatedFileExtension = \"ts\"\n  importFileExtension    = \"ts\"\n}" }
' "$SCHEMA" >"$tc/schema.prisma"

prisma_generate() { # prints its wall time in ms
  local t0 t1
  rm -rf "$tc/prisma"
  t0=$EPOCHREALTIME
  (cd "$tc" && "$nm/.bin/prisma" generate --schema schema.prisma >"$work/prisma.log" 2>&1) || return 1
  t1=$EPOCHREALTIME
  ms "$t0" "$t1"
}
prisma_note=""
log "prisma generate: $PRISMA_GEN_RUNS runs"
if ! prisma_generate >/dev/null; then
  # Prisma 7's CLI fetches its schema engine before generating, though `generate` does not run it; with no way to
  # its download host that fails. A path to any existing file in PRISMA_SCHEMA_ENGINE_BINARY skips the download.
  prisma_note="plain \`prisma generate\` failed here: \`$(grep -m1 -i 'error' "$work/prisma.log" | cut -c1-200)\`; it ran with PRISMA_SCHEMA_ENGINE_BINARY set to an empty file (the engine is not run by \`generate\`)"
  : >"$work/no-schema-engine"
  export PRISMA_SCHEMA_ENGINE_BINARY="$work/no-schema-engine"
  prisma_generate >/dev/null || { cat "$work/prisma.log" >&2; exit 1; }
fi
: >"$work/runs"
for _ in $(seq "$PRISMA_GEN_RUNS"); do { prisma_generate; echo; } >>"$work/runs"; done
prisma_gen=$(median <"$work/runs")
prisma_size=$(find "$tc/prisma" -type f -name '*.ts' -printf '%s\n' | awk '{ s += $1; n++ } END { printf "%d files, %.1f MB", n, s / 1e6 }')
ssot_size=$(find "$tc/ssot" -type f -name '*.ts' -printf '%s\n' | awk '{ s += $1; n++ } END { printf "%d files, %.0f KB", n, s / 1000 }')

# The checked files: a header giving `db`, then the calls, or nothing (what importing the client alone costs).
ssot_header="import type { \$Client } from './ssot/ssot.js';
declare const db: \$Client;"
prisma_header="import type { PrismaClient } from './prisma/client.ts';
declare const db: PrismaClient;"
printf '%s\n' "$ssot_header" >"$tc/ssot-import.ts"
printf '%s\n' "$prisma_header" >"$tc/prisma-import.ts"
{ printf '%s\n' "$ssot_header"; cat "$here/usage/body.ts"; } >"$tc/ssot-usage.ts"
{ printf '%s\n' "$prisma_header"; cat "$here/usage/body.ts"; } >"$tc/prisma-usage.ts"
{ printf '%s\n' "$ssot_header"; cat "$here/usage/nested-where-include.ts"; } >"$tc/ssot-nested.ts"
{ printf '%s\n' "$prisma_header"; cat "$here/usage/nested-where-include.ts"; } >"$tc/prisma-nested.ts"
echo 'export {};' >"$tc/empty.ts"
# What-if: ssot's generated files marked `// @ts-nocheck` as Prisma marks its own (tsc then parses and binds them
# but reports nothing in them, so it checks them only as far as the calls need their types).
cp -r "$tc/ssot" "$tc/ssot-nocheck"
for f in "$tc"/ssot-nocheck/ssot.ts "$tc"/ssot-nocheck/runtime/*.ts; do { echo '// @ts-nocheck'; cat "$f"; } >"$f.new"; mv "$f.new" "$f"; done
{ printf '%s\n' "${ssot_header//.\/ssot\//./ssot-nocheck/}"; cat "$here/usage/body.ts"; } >"$tc/ssot-nocheck-usage.ts"
cases="empty ssot-import ssot-usage prisma-import prisma-usage ssot-nocheck-usage"
for c in $cases ssot-nested prisma-nested; do
  printf '{ "extends": "./tsconfig.base.json", "files": ["%s.ts"] }\n' "$c" >"$tc/tsconfig.$c.json"
done

tsc_of() { echo "$nm/$1/bin/tsc"; }
# One run: appends "check total memory wall cpu errors" (ms, ms, MB, ms, ms, count) to $work/tsc.VERSION.CASE.
tsc_once() { # package case
  local out rc=0
  out=$(cd "$tc" && /usr/bin/time -f 'TIME %e %U %S' "$(tsc_of "$1")" -p "tsconfig.$2.json" --extendedDiagnostics 2>&1) || rc=$?
  awk -v rc="$rc" '
    function sec(v) { sub(/s$/, "", v); return v * 1000 }
    /^Check time:/ { check = sec($3) }
    /^Total time:/ { total = sec($3) }
    /^Memory used:/ { v = $3; sub(/K$/, "", v); mem = v / 1024 }
    /error TS/ { errors++ }
    /^TIME / { wall = $2 * 1000; cpu = ($3 + $4) * 1000 }
    END { printf "%.0f %.0f %.0f %.0f %.0f %d\n", check, total, mem, wall, cpu, errors + (rc != 0 && !errors) }
  ' <<<"$out" >>"$work/tsc.$1.$2"
  [ "$rc" = 0 ] || printf '%s\n' "$out" | grep 'error' | head -3 >&2
}
for v in $TSC_VERSIONS; do
  log "$v $(version "$v"): warm-up"
  for c in $cases; do tsc_once "$v" "$c"; done
  for c in $cases; do : >"$work/tsc.$v.$c"; done
done
for round in $(seq "$TSC_RUNS"); do
  log "tsc round $round of $TSC_RUNS (load $(cut -d' ' -f1 /proc/loadavg))"
  for v in $TSC_VERSIONS; do for c in $cases; do tsc_once "$v" "$c"; done; done
done

echo "### 2. Type-checking the same calls: ssot's generated client against Prisma Client $(version prisma)"
echo
echo "\`ssot generate --target ts\` writes $ssot_size (ssot.ts and the runtime it imports); \`prisma generate\`"
echo "(\`prisma-client\` generator, .ts output) writes $prisma_size in $prisma_gen ms (median of $PRISMA_GEN_RUNS,"
echo "wall, \`node_modules/.bin/prisma generate\`)${prisma_note:+; $prisma_note}."
echo
echo "\`tsc -p tsconfig.CASE.json --noEmit --extendedDiagnostics\` (strict, NodeNext, \`skipLibCheck\`, lib ES2022 + DOM,"
echo "@types/node $(version @types/node)); medians of $TSC_RUNS interleaved rounds after a warm-up. *check* and *total* are"
echo "tsc's own figures; *wall* and *CPU* (user + system) are the process's (\`/usr/bin/time\`), node's start included."
echo
echo "| TypeScript | file | check | total | wall | CPU | memory | errors |"
echo "|---|---|---|---|---|---|---|---|"
for v in $TSC_VERSIONS; do
  for c in $cases; do
    f="$work/tsc.$v.$c"
    echo "| $(version "$v") | $c | $(cut -d' ' -f1 "$f" | median) ms | **$(cut -d' ' -f2 "$f" | median) ms** | $(cut -d' ' -f4 "$f" | median) ms | $(cut -d' ' -f5 "$f" | median) ms | $(cut -d' ' -f3 "$f" | median) MB | $(cut -d' ' -f6 "$f" | sort -n | tail -1) |"
  done
done
echo
echo "A relation's arguments with both \`where\` and \`include\` inside an \`include\` (usage/nested-where-include.ts):"
echo
for v in $TSC_VERSIONS; do
  for side in ssot prisma; do
    if out=$(cd "$tc" && "$(tsc_of "$v")" -p "tsconfig.$side-nested.json" 2>&1); then r="compiles"; else r="\`$(grep -m1 'error' <<<"$out" | sed 's/^[^:]*: //')\`"; fi
    echo "- TypeScript $(version "$v"), $side: $r"
  done
done
echo

# --- 3. bundle size --------------------------------------------------------------------------------------------
b="$work/bundle"
mkdir -p "$b"
ln -s "$nm" "$b/node_modules"
sdk="$root/sdk/src/index.ts"
printf "export * from '%s';\n" "$sdk" >"$b/ssot-runtime-all.ts"
printf "import { createClient } from '%s';\nexport const client = createClient({ url: 'http://localhost:4000' });\n" "$sdk" >"$b/ssot-runtime-createClient.ts"
printf "import { createClient } from '%s';\nexport const db = createClient({ url: 'http://localhost:4000' });\n" "$tc/ssot/ssot.ts" >"$b/ssot-generated-createClient.ts"
printf "export * from '@supabase/supabase-js';\n" >"$b/supabase-all.ts"
printf "import { createClient } from '@supabase/supabase-js';\nexport const client = createClient('http://localhost:54321', 'anon-key');\n" >"$b/supabase-createClient.ts"
printf "export * from 'pocketbase';\nexport { default } from 'pocketbase';\n" >"$b/pocketbase-all.ts"
printf "import PocketBase from 'pocketbase';\nexport const client = new PocketBase('http://localhost:8090');\n" >"$b/pocketbase-new.ts"

echo "### 3. Bundle size: esbuild $(version esbuild) \`--bundle --minify --format=esm\`, then \`gzip -9\`"
echo
echo "| library | entry (what is kept) | minified | minified + gzip | ≤ 10 kB (10,000 B) gzipped |"
echo "|---|---|---|---|---|"
bundle_row() { # name library entry-description [goal: set for ssot's rows]
  (cd "$b" && "$nm/.bin/esbuild" "$1.ts" --bundle --minify --format=esm --log-level=warning --outfile="$1.js")
  local raw gz
  raw=$(wc -c <"$b/$1.js")
  gz=$(gzip -9nc "$b/$1.js" | wc -c)
  echo "| $2 | $3 | $(kib "$raw") ($raw B) | **$(kib "$gz")** ($gz B) | $(if [ -n "${4:-}" ]; then awk -v g="$gz" 'BEGIN { print (g <= 10000 ? "yes" : "**no**") }'; else echo "(not ours)"; fi) |"
}
bundle_row ssot-runtime-all "ssot runtime (\`sdk/src\`, $(git rev-parse --short HEAD))" "\`export *\` from its index: everything" goal
bundle_row ssot-runtime-createClient "ssot runtime" "\`createClient({ url })\`" goal
bundle_row ssot-generated-createClient "ssot generated client ($models models)" "\`createClient\` of ssot.ts (its delegates, \`\$models\`, the runtime)" goal
bundle_row supabase-all "@supabase/supabase-js $(version @supabase/supabase-js)" "\`export *\`: everything"
bundle_row supabase-createClient "@supabase/supabase-js $(version @supabase/supabase-js)" "\`createClient(url, key)\`"
bundle_row pocketbase-all "pocketbase $(version pocketbase)" "\`export *\` and the default export: everything"
bundle_row pocketbase-new "pocketbase $(version pocketbase)" "\`new PocketBase(url)\`"
echo
echo "Where ssot's runtime's bytes are (esbuild \`--analyze\`, minified, before gzip):"
echo
echo '```'
(cd "$b" && "$nm/.bin/esbuild" ssot-runtime-all.ts --bundle --minify --format=esm --outfile=analyze.js --analyze --log-level=info 2>&1) |
  awk '/sdk\/src\// { sub(/[^ ]*\/sdk\/src\//, "sdk/src/"); print } /analyze\.js/ && !seen++ { print }'
echo '```'
echo
generated=$(cd "$b" && "$nm/.bin/esbuild" ssot-generated-createClient.ts --bundle --minify --format=esm --outfile=analyze2.js --analyze --log-level=info 2>&1 | awk '/ssot\/ssot\.ts/ { print $(NF - 1) }')
echo "In the generated client's bundle, ssot.ts itself (the \`\$Client\` class with its $models delegates, \`\$models\`, \`createClient\`) is $generated of it."
echo
echo "- finished $(date -u '+%Y-%m-%d %H:%M UTC'); load average at the end: $(cut -d' ' -f1-3 /proc/loadavg)"

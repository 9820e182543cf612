#!/usr/bin/env bash
# Runs every test: the Rust workspace (unit, fixture, snapshot, property, CLI,
# differential, REST, migration, change-log and corpus tests) after installing what
# they need (Prisma's validator from npm, the oracle of the differential test), then
# the TypeScript client runtime's tests (sdk/) against the freshly built `ssot`, and in Chromium the admin studio
# (tests/e2e) and the chat example (examples/chat).
# PostgreSQL tests run when SSOT_TEST_DATABASE_URL is set (.ci/run starts PostgreSQL
# and sets it); without it they are skipped, visibly.
set -euo pipefail
cd "$(dirname "$0")/.."

if [ ! -d ../shared/corpus/prisma-real ]; then
  echo "NOTE: ../shared/corpus/prisma-real is absent: tests over the real schemas are SKIPPED (they say so)"
fi

if [ -z "${SSOT_TEST_DATABASE_URL:-}" ]; then
  echo "NOTE: SSOT_TEST_DATABASE_URL is unset: every PostgreSQL test is SKIPPED (each says so); set it to a"
  echo "      server where the user may create databases, e.g. postgres://postgres@127.0.0.1:5432/postgres"
else
  echo "PostgreSQL tests run against ${SSOT_TEST_DATABASE_URL%%@*}@… (each test creates and drops its own database)"
fi

if ! "${SSOT_TEST_PYTHON:-python3}" tests/openapi/validate.py --version >/dev/null 2>&1; then
  echo "NOTE: openapi-spec-validator is missing: the OpenAPI validation test is SKIPPED (it says so); install it with"
  echo "      python3 -m pip install -r tests/openapi/requirements.txt (.ci/run does), or set SSOT_TEST_PYTHON"
fi

if [ -n "${SSOT_TEST_NATS_URL:-}" ]; then
  echo "Bus tests run against ${SSOT_TEST_NATS_URL} (each test uses a subject prefix of its own)"
else
  echo "NOTE: SSOT_TEST_NATS_URL is unset: the bus tests try nats://127.0.0.1:4222 and are SKIPPED (each says so) without it"
fi

# The SDK's packages first: its TypeScript compiler also checks the generated types (crates/codegen).
(cd sdk && npm ci --no-audit --no-fund --loglevel=error)

if [ ! -d tests/oracle/node_modules ]; then

  (cd tests/oracle && npm ci --no-audit --no-fund --loglevel=error)
fi

if cargo nextest --version >/dev/null 2>&1; then
  cargo nextest run --workspace --no-fail-fast
else
  cargo test --workspace --no-fail-fast
fi
cargo test --workspace --doc --quiet

# A short, deterministic run of the differential fuzzer: mutants of the valid fixtures,
# judged by Prisma and by the freshly built `ssot`; any disagreement fails.
cargo build --quiet -p ssot-cli
node tests/oracle/fuzz.mjs --ssot "${CARGO_TARGET_DIR:-target}/debug/ssot" --seeds tests/fixtures/schemas/valid \
  --iterations 3000 --seed 1 --out "${CARGO_TARGET_DIR:-target}/fuzz-out" --quiet --check

# The TypeScript client runtime (sdk/): built, then tested against a real `ssot serve` (the debug binary
# built above) over real HTTP and WebSocket connections.
SSOT_BIN="$(pwd)/${CARGO_TARGET_DIR:-target}/debug/ssot"
case "${CARGO_TARGET_DIR:-}" in /*) SSOT_BIN="${CARGO_TARGET_DIR}/debug/ssot" ;; esac
(cd sdk && npm run build && SSOT_BIN="$SSOT_BIN" npm test)

# In a browser (Chromium, Debian's; installed here when missing): what ssot serves itself, the admin studio (/_/)
# against a real `ssot serve` of the blog example, and docs/tutorial.md followed literally (ssot init, a Vite + React
# page on the generated hooks, two users) (tests/e2e); then the chat example (examples/chat): its client generated
# by the `ssot` built above, type-checked and bundled, driven against a real `ssot serve`, the app's
# server-rendering server and its webhook receiver (screenshots to the target directory; the committed ones are
# examples/chat/screenshots/).
command -v chromium >/dev/null || (apt-get update -q >/dev/null 2>&1; DEBIAN_FRONTEND=noninteractive apt-get install -y -q chromium >/dev/null 2>&1) || true
(cd tests/e2e && npm ci --no-audit --no-fund --loglevel=error)
(cd examples/chat && npm ci --no-audit --no-fund --loglevel=error)
CHAT_SCREENSHOTS="$(dirname "$(dirname "$SSOT_BIN")")/chat-screenshots"
if command -v chromium >/dev/null; then
  (cd tests/e2e && SSOT_BIN="$SSOT_BIN" CHROMIUM="$(command -v chromium)" npm test)
  (cd examples/chat && SSOT_BIN="$SSOT_BIN" CHROMIUM="$(command -v chromium)" CHAT_SCREENSHOTS="$CHAT_SCREENSHOTS" npm test)
else
  echo "SKIPPED: tests/e2e (the admin studio and the tutorial in a browser): Chromium is not installed and could not be (apt-get install -y chromium)"
  echo "SKIPPED: examples/chat's browser tests: Chromium is not installed and could not be (apt-get install -y chromium)"
  (cd examples/chat && SSOT_BIN="$SSOT_BIN" npm run build)
fi

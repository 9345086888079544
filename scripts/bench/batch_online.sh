#!/usr/bin/env bash
# Online latency while a batch job runs, on the same server and machine: p99 of one-row v2
# requests (wrk, fixed concurrency) with no job, then while a large job scores on the same
# `keel serve`. The batch issue's target: p99 rises by at most 2x.
#
#   swift build -c release --product keel
#   bash scripts/bench/batch_online.sh            # ROWS=1000000 CONNECTIONS=16 DURATION=15
#
# Job workers run at low task priority and yield after every batch of rows; the batcher
# serves online requests between them. Prints one JSON line.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
cd "$ROOT"
KEEL_BIN=${KEEL_BIN:-.build/release/keel}
ROWS=${ROWS:-1000000}
CONNECTIONS=${CONNECTIONS:-16}
DURATION=${DURATION:-15}
WORKERS=${WORKERS:-1}
PORT=${PORT:-18180}
S=http://127.0.0.1:$PORT
command -v wrk >/dev/null || { echo "wrk is not installed (apt-get install -y wrk)" >&2; exit 2; }
TMP=$(mktemp -d)
PID=""
cleanup() { [ -n "$PID" ] && kill "$PID" 2>/dev/null; wait "$PID" 2>/dev/null || true; rm -rf "$TMP"; }
trap cleanup EXIT
export KEEL_ADMIN_KEY=batch-online-bench-admin-key-0123456789ab KEEL_API_KEY=batch-online-bench-admin-key-0123456789ab

awk -v rows="$ROWS" -F, 'NR == 1 { print; next } { body[n++] = $0 }
    END { for (i = 0; i < rows; i++) { line = body[i % n]; line = "K" i substr(line, index(line, ",")); print line } }' \
    models/churn/holdout.csv > "$TMP/customers.csv"
"$KEEL_BIN" serve --grpc-port 0 --host 127.0.0.1 --port "$PORT" --model-repository models --data-dir "$TMP/data" --batch-folder "$TMP" \
    --batch-workers "$WORKERS" > "$TMP/keel.log" 2>&1 &
PID=$!
for _ in $(seq 1 150); do curl -fsS -o /dev/null "$S/v2/models/churn/ready" 2>/dev/null && break; sleep 0.2; done
python3 - "$TMP" <<'PY'
import json, sys
body = json.dumps(json.load(open("models/churn/sample_request.json")))
open(f"{sys.argv[1]}/post.lua", "w").write(
    'wrk.method = "POST"\nwrk.headers["Content-Type"] = "application/json"\nwrk.body = ' + json.dumps(body) + "\n")
PY
p99() { # wrk output → p99 in ms
    awk '/^ +99%/ { v = $2; if (v ~ /us$/) { sub(/us/, "", v); v /= 1000 } else if (v ~ /ms$/) { sub(/ms/, "", v) } else if (v ~ /s$/) { sub(/s/, "", v); v *= 1000 }; print v }' "$1"
}
rps() { awk '/^Requests\/sec/ { print $2 }' "$1"; }
wrk -t1 -c"$CONNECTIONS" -d3s -s "$TMP/post.lua" "$S/v2/models/churn/infer" > /dev/null
wrk -t1 -c"$CONNECTIONS" -d"${DURATION}s" --latency -s "$TMP/post.lua" "$S/v2/models/churn/infer" > "$TMP/idle.wrk"
JOB=$(KEEL_SERVER=$S "$KEEL_BIN" batch submit churn --server-path --input "$TMP/customers.csv" --output "$TMP/scores.csv")
sleep 1
wrk -t1 -c"$CONNECTIONS" -d"${DURATION}s" --latency -s "$TMP/post.lua" "$S/v2/models/churn/infer" > "$TMP/busy.wrk"
STATE=$(KEEL_SERVER=$S "$KEEL_BIN" batch status "$JOB" --json)
KEEL_SERVER=$S "$KEEL_BIN" batch watch "$JOB" > /dev/null 2>&1 || true
FINAL=$(KEEL_SERVER=$S "$KEEL_BIN" batch status "$JOB" --json)
python3 - "$(p99 "$TMP/idle.wrk")" "$(p99 "$TMP/busy.wrk")" "$(rps "$TMP/idle.wrk")" "$(rps "$TMP/busy.wrk")" "$STATE" "$FINAL" <<'PY'
import json, sys
idle, busy, rps_idle, rps_busy = map(float, sys.argv[1:5])
during, final = json.loads(sys.argv[5]), json.loads(sys.argv[6])
print(json.dumps({
    "p99_ms_idle": idle, "p99_ms_during_job": busy, "p99_ratio": round(busy / idle, 2), "target_met": busy <= 2 * idle,
    "rps_idle": rps_idle, "rps_during_job": rps_busy, "job_state_after_wrk": during["state"], "job_rows_done_after_wrk": during["rows_done"],
    "job_rows_per_s": final.get("rows_per_s"), "job_state": final["state"],
}))
PY

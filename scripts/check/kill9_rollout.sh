#!/usr/bin/env bash
# A real `keel serve` killed with SIGKILL in the middle of a canary: a new process on the same
# data folder resumes the rollout at its stored step (the dead process's controller lease lapses
# within 10 s), finishes it, and serves the promoted version. Fails on any deviation.
# Run outside `swift test` so the test suite's CPU-bound work cannot starve its timing.
#   KEEL_BIN=.build/debug/keel bash scripts/check/kill9_rollout.sh
set -euo pipefail
cd "$(dirname "$0")/../.."
KEEL_BIN=${KEEL_BIN:-.build/debug/keel}
TMP=$(mktemp -d)
PID=""
TRAFFIC=""
cleanup() {
    [ -n "$TRAFFIC" ] && kill "$TRAFFIC" 2>/dev/null || true
    if [ -n "$PID" ]; then kill "$PID" 2>/dev/null || true; wait "$PID" 2>/dev/null || true; fi
    rm -rf "$TMP"
}
trap cleanup EXIT
log() { echo "[kill9 $(date +%T)] $*" >&2; }
fail() { log "FAILED: $*"; tail -20 "$TMP/keel.log" >&2 || true; exit 1; }

. scripts/check/lib.sh
PORT=$(free_port)
export KEEL_ADMIN_KEY=kill-nine-admin-key-0123456789abcdef0123
export KEEL_SECRET=kill-nine-rollout-server-secret-0123456789abcdef  # the same on every replica
export KEEL_SERVER=http://127.0.0.1:$PORT KEEL_API_KEY=$KEEL_ADMIN_KEY
mkdir -p "$TMP/repo"

serve() {
    "$KEEL_BIN" serve --grpc-port 0 --host 127.0.0.1 --port "$PORT" --model-repository "$TMP/repo" --data-dir "$TMP/data" >> "$TMP/keel.log" 2>&1 &
    PID=$!
}
field() { # rollout field
    "$KEEL_BIN" rollout status churn --json 2>/dev/null | python3 -c "import json,sys; print(json.load(sys.stdin).get('$1'))"
}

serve
wait_http "$KEEL_SERVER/v2/health/live" 60
M=models/churn
for _ in 1 2; do "$KEEL_BIN" models register churn $M/1/model.json --schema $M/config.yaml > /dev/null; done
"$KEEL_BIN" models promote churn 1 > /dev/null
wait_http "$KEEL_SERVER/v2/models/churn/ready" 30
"$KEEL_BIN" rollout start churn 2 --steps 20,60,100 --interval 3s --check 'p95_latency_ms < 60000' --min-samples 5 > /dev/null

# Records with a new customer id on every request, so both versions get customers.
python3 - "$TMP" <<'PY'
import json, sys
recs = json.load(open("models/churn/sample_records.json"))["instances"]
for n in range(4000):
    for i, r in enumerate(recs):
        r["customer_id"] = f"K-{n}-{i}"
    open(f"{sys.argv[1]}/body-{n}.json", "w").write(json.dumps({"instances": recs}))
PY
traffic() {
    local n=0
    while true; do
        curl -s -o /dev/null -X POST -H 'Content-Type: application/json' --data "@$TMP/body-$(( n % 4000 )).json" \
            "$KEEL_SERVER/v1/models/churn:predict" || true
        n=$(( n + 1 ))
        sleep 0.02
    done
}
traffic &
TRAFFIC=$!

for _ in $(seq 1 300); do
    w=$(field weight || true)
    [ "$w" = "60" ] || [ "$w" = "60.0" ] && break
    [ "$(field state || true)" = "running" ] || fail "the rollout ended before its second step"
    sleep 0.1
done
[ "$w" = "60" ] || [ "$w" = "60.0" ] || fail "the rollout never reached its second step"
log "rollout at 60 %; kill -9 $PID"
kill -9 "$PID"
wait "$PID" 2>/dev/null || true
PID=""
serve
wait_http "$KEEL_SERVER/v2/models/churn/versions/candidate/ready" 60
state=$(field state); w=$(field weight)
log "restarted: $state at $w %"
[ "$state" = "running" ] && { [ "$w" = "60" ] || [ "$w" = "60.0" ]; } || fail "expected running at 60 % after the restart, got $state at $w %"
for _ in $(seq 1 120); do
    state=$(field state || true)
    [ "$state" = "promoted" ] && break
    [ "$state" = "running" ] || fail "the resumed rollout ended $state"
    sleep 0.5
done
[ "$state" = "promoted" ] || fail "the resumed rollout was not promoted within 60 s"
for _ in $(seq 1 50); do
    v=$(curl -fsS -X POST -H 'Content-Type: application/json' --data "@$TMP/body-0.json" "$KEEL_SERVER/v1/models/churn:predict" \
        | python3 -c "import json,sys; print(json.load(sys.stdin).get('model_version'))")
    [ "$v" = "2" ] && break
    sleep 0.2
done
[ "$v" = "2" ] || fail "v2 does not serve production after the promotion"
log "ok: resumed at its step after SIGKILL, promoted, v2 serves"

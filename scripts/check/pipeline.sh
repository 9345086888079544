#!/usr/bin/env bash
# The CI/CD pipeline of deploy/ci/github-actions.yml, run against a local Keel: validate →
# register → evaluate (gates) → canary rollout → wait for promotion, each step a `keel` command
# whose exit code decides. Also proves that each step stops a bad candidate: a broken file and a
# missed latency budget fail validation, a failing gate fails evaluation, a failing rollout check
# rolls the canary back and `keel rollout status --wait` exits 1.
#   KEEL_BIN=.build/debug/keel bash scripts/check/pipeline.sh
set -euo pipefail
cd "$(dirname "$0")/../.."
KEEL_BIN=${KEEL_BIN:-.build/debug/keel}
TMP=$(mktemp -d /tmp/keel-pipeline.XXXXXX)
PID=""
TRAFFIC=""
cleanup() {
    [ -n "$TRAFFIC" ] && kill "$TRAFFIC" 2>/dev/null || true
    if [ -n "$PID" ]; then kill "$PID" 2>/dev/null || true; wait "$PID" 2>/dev/null || true; fi
    rm -rf "$TMP"
}
trap cleanup EXIT
log() { echo "[pipeline $(date +%T)] $*" >&2; }
fail() { log "FAILED: $*"; tail -20 "$TMP/keel.log" >&2 || true; exit 1; }
# expect CODE command…: runs the command, fails the check unless it exits with CODE.
expect() {
    local want=$1; shift
    local got=0
    "$@" >"$TMP/out" 2>&1 || got=$?
    [ "$got" = "$want" ] || { cat "$TMP/out" >&2; fail "'$*' exited $got, expected $want"; }
}

. scripts/check/lib.sh
PORT=$(free_port)
export KEEL_ADMIN_KEY=pipeline-check-admin-key-0123456789abcdef
export KEEL_SERVER=http://127.0.0.1:$PORT KEEL_API_KEY=$KEEL_ADMIN_KEY
M=models/churn
mkdir -p "$TMP/repo"
"$KEEL_BIN" serve --grpc-port 0 --host 127.0.0.1 --port "$PORT" --model-repository "$TMP/repo" --data-dir "$TMP/data" >"$TMP/keel.log" 2>&1 &
PID=$!
wait_http "$KEEL_SERVER/v2/health/live" 60

# What production serves before the pipeline runs: version 1.
"$KEEL_BIN" models register churn $M/1/model.json --schema $M/config.yaml >/dev/null
"$KEEL_BIN" models promote churn 1 --force >/dev/null
wait_http "$KEEL_SERVER/v2/models/churn/ready" 30

# Traffic with a new customer id per request, so sticky routing gives the canary customers.
(
    n=0
    while true; do
        body=$(sed "s/\"customer_id\": *\"\([^\"]*\)\"/\"customer_id\": \"\1-$n\"/g" $M/sample_records.json)
        curl -s -o /dev/null -XPOST -H 'Content-Type: application/json' --data "$body" "$KEEL_SERVER/v1/models/churn:predict" || true
        n=$(( n + 1 ))
        sleep 0.02
    done
) &
TRAFFIC=$!

# 1. validate
expect 0 "$KEEL_BIN" models validate $M/1/model.json --schema $M/config.yaml --data $M/holdout.csv --label churn \
    --latency-budget-ms 300 --gate 'roc_auc >= 0.8'
log "validate: $(tail -1 "$TMP/out")"
head -c 2000 $M/1/model.json >"$TMP/broken.json"
expect 1 "$KEEL_BIN" models validate "$TMP/broken.json" --schema $M/config.yaml
grep -q "FAIL load" "$TMP/out" || fail "a truncated file must fail the load check"
expect 1 "$KEEL_BIN" models validate $M/1/model.json --schema $M/config.yaml --latency-budget-ms 0.000001
grep -q "FAIL latency" "$TMP/out" || fail "a missed budget must fail the latency check"
expect 1 "$KEEL_BIN" models validate $M/1/model.json --schema $M/config.yaml --data $M/holdout.csv --label churn --gate 'roc_auc >= 0.999'
grep -q "FAIL gates" "$TMP/out" || fail "a failing gate must fail validation"
log "validate stops a truncated file, a missed latency budget and a failing gate (exit 1)"

# 2. register
expect 0 "$KEEL_BIN" models register churn $M/1/model.json --schema $M/config.yaml --reference $M/holdout.csv --json
V=$(python3 -c "import json,sys; print(json.load(open(sys.argv[1]))['version'])" "$TMP/out")
log "register: version $V"

# 3. evaluate and check the gates
expect 0 "$KEEL_BIN" models evaluate churn "$V" --data $M/holdout.csv --label churn
expect 0 "$KEEL_BIN" models gate set churn 'roc_auc >= 0.999'
expect 1 "$KEEL_BIN" models gate list churn --version "$V"
expect 0 "$KEEL_BIN" models gate rm churn 'roc_auc >='
expect 0 "$KEEL_BIN" models gate set churn 'roc_auc >= 0.8'
expect 0 "$KEEL_BIN" models gate list churn --version "$V"
log "gates: a failing gate exits 1, passing gates exit 0"

# 4. canary, 5. wait for the decision
expect 0 "$KEEL_BIN" rollout start churn "$V" --steps 20,100 --interval 3s --check 'error_rate < 0.05' --min-samples 5
expect 0 "$KEEL_BIN" rollout status churn --wait --timeout 3m
log "canary of v$V promoted: rollout status --wait exited 0"
for _ in $(seq 1 50); do
    served=$(curl -fsS -XPOST -H 'Content-Type: application/json' --data @$M/sample_records.json "$KEEL_SERVER/v1/models/churn:predict" \
        | python3 -c "import json,sys; print(json.load(sys.stdin).get('model_version'))")
    [ "$served" = "$V" ] && break
    sleep 0.2
done
[ "$served" = "$V" ] || fail "production does not serve v$V after the promotion (serves $served)"

# A candidate whose check fails is rolled back, and the pipeline's wait step exits 1.
expect 0 "$KEEL_BIN" models register churn $M/1/model.json --schema $M/config.yaml --json
BAD=$(python3 -c "import json,sys; print(json.load(open(sys.argv[1]))['version'])" "$TMP/out")
expect 0 "$KEEL_BIN" models evaluate churn "$BAD" --data $M/holdout.csv --label churn
expect 0 "$KEEL_BIN" rollout start churn "$BAD" --steps 20,100 --interval 3s --check 'p95_latency_ms < 0.000001' --min-samples 5 --failure-limit 1
expect 1 "$KEEL_BIN" rollout status churn --wait --timeout 3m
log "canary of v$BAD with a failing check rolled back: rollout status --wait exited 1"
log "ok"

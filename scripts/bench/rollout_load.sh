#!/usr/bin/env bash
# Rollout transitions under continuous load: wrk drives the records API (a new customer id per
# request) and the v2 API while the churn model goes through a canary that is promoted, a canary
# that is rolled back, a blue-green switch, a switch back, and an A/B experiment started and
# stopped. Prints the transitions, then wrk's totals; fails when any request failed.
#   KEEL_BIN=.build/release/keel bash scripts/bench/rollout_load.sh
set -euo pipefail
cd "$(dirname "$0")/../.."
KEEL_BIN=${KEEL_BIN:-.build/release/keel}
PORT=${PORT:-18180}
DURATION=${DURATION:-90}
TMP=$(mktemp -d)
trap 'kill $(jobs -p) 2>/dev/null || true; rm -rf "$TMP"' EXIT
log() { echo "[rollout-load $(date +%T)] $*" >&2; }
command -v wrk >/dev/null || { echo "wrk is needed (apt-get install -y wrk)" >&2; exit 1; }

export KEEL_ADMIN_KEY=rollout-load-admin-key-0123456789abcdef
export KEEL_SERVER=http://127.0.0.1:$PORT KEEL_API_KEY=$KEEL_ADMIN_KEY
mkdir -p "$TMP/repo" "$TMP/data"
"$KEEL_BIN" serve --grpc-port 0 --host 127.0.0.1 --port "$PORT" --model-repository "$TMP/repo" --data-dir "$TMP/data" > "$TMP/keel.log" 2>&1 &
until curl -fsS -o /dev/null "$KEEL_SERVER/v2/health/live" 2>/dev/null; do sleep 0.2; done
M=models/churn
for _ in 1 2 3; do "$KEEL_BIN" models register churn $M/1/model.json --schema $M/config.yaml > /dev/null; done
"$KEEL_BIN" models promote churn 1 > /dev/null
until curl -fsS -o /dev/null "$KEEL_SERVER/v2/models/churn/ready" 2>/dev/null; do sleep 0.2; done

# Request bodies: the sample records with a fresh customer id each request; one v2 row.
python3 - "$TMP" <<'PY'
import json, sys
tmp = sys.argv[1]
recs = json.load(open("models/churn/sample_records.json"))["instances"]
for i, r in enumerate(recs): r["customer_id"] = f"__ID__{i}"
body = json.dumps({"instances": recs}, separators=(",", ":"))
open(f"{tmp}/records.lua", "w").write(
    'local n = 0\n'
    f'local template = {json.dumps(body)}\n'
    'request = function()\n'
    '  n = n + 1\n'
    '  local b = string.gsub(template, "__ID__", "C-" .. n .. "-")\n'
    '  return wrk.format("POST", nil, {["Content-Type"] = "application/json"}, b)\n'
    'end\n')
req = json.load(open("models/churn/sample_request.json"))
inp = req["inputs"][0]
w = inp["shape"][1]
v2 = json.dumps({"inputs": [{"name": inp["name"], "shape": [1, w], "datatype": inp["datatype"], "data": inp["data"][:w]}]}, separators=(",", ":"))
open(f"{tmp}/v2.lua", "w").write(f'wrk.method = "POST"\nwrk.body = {json.dumps(v2)}\nwrk.headers["Content-Type"] = "application/json"\n')
PY
wrk -t1 -c24 -d"${DURATION}s" -s "$TMP/records.lua" "$KEEL_SERVER/v1/models/churn:predict" > "$TMP/wrk-records.txt" 2>&1 &
WRK1=$!
wrk -t1 -c8 -d"${DURATION}s" -s "$TMP/v2.lua" "$KEEL_SERVER/v2/models/churn/infer" > "$TMP/wrk-v2.txt" 2>&1 &
WRK2=$!
sleep 3

wait_for() { # expected-exit
    set +e
    "$KEEL_BIN" rollout status churn --wait --timeout 120s > "$TMP/status.txt" 2>&1
    local rc=$?
    set -e
    head -1 "$TMP/status.txt" >&2
    [ "$rc" = "$1" ] || { cat "$TMP/status.txt" >&2; echo "expected exit $1, got $rc" >&2; exit 1; }
}
log "canary of v2 (healthy): 10 → 50 → 100 %, 3 s steps"
"$KEEL_BIN" rollout start churn 2 --steps 10,50,100 --interval 3s --check 'p95_latency_ms < 5000' --check 'p95_latency_ms <= stable * 20' --min-samples 50 > /dev/null
wait_for 0
sleep 2
log "canary of v3 (failing check): rolled back"
"$KEEL_BIN" rollout start churn 3 --steps 10,50,100 --interval 3s --check 'p95_latency_ms < 0.000001' --min-samples 50 --failure-limit 2 > /dev/null
wait_for 1
sleep 2
log "blue-green of v3: smoke tests at /versions/candidate, then the switch"
"$KEEL_BIN" rollout start churn 3 --strategy blue-green --interval 3s --check 'p95_latency_ms < 5000' --min-samples 20 > /dev/null
sleep 1.5
for _ in $(seq 1 60); do
    curl -fsS -o /dev/null -XPOST "$KEEL_SERVER/v1/models/churn/versions/candidate:predict" -d @models/churn/sample_records.json || true
    sleep 0.05
done
wait_for 0
sleep 2
log "switch back to v2"
"$KEEL_BIN" models promote churn 2 > /dev/null
sleep 3
log "A/B experiment v2 vs a new v4 (50/50, sticky by customer), then stopped"
"$KEEL_BIN" models register churn $M/1/model.json --schema $M/config.yaml > /dev/null
"$KEEL_BIN" experiment start churn --arm control=2 --arm treatment=4 --metric label_mean --mde 0.05 > /dev/null
sleep 4
"$KEEL_BIN" experiment status churn | head -1 >&2
"$KEEL_BIN" experiment stop churn > /dev/null
sleep 3
log "transitions done; waiting for wrk"
wait $WRK1 $WRK2 || true
fail=0
for f in records v2; do
    echo "== wrk $f"; grep -E "requests in|Requests/sec|Non-2xx|Socket errors" "$TMP/wrk-$f.txt"
    if grep -qE "Non-2xx|Socket errors" "$TMP/wrk-$f.txt"; then fail=1; fi
done
"$KEEL_BIN" rollout status churn > /dev/null
echo "== audit (rollout decisions)"; "$KEEL_BIN" audit --json 2>/dev/null | python3 -c "import json,sys; d=json.load(sys.stdin); [print(e['at'], e['action'], e['target'], e.get('after') or '') for e in reversed(d.get('events', d if isinstance(d, list) else [])) if e['action'].startswith(('rollout.', 'experiment.')) or e['target'].endswith('/production')]" || true
[ $fail = 0 ] && echo "no failed requests" || { echo "FAILED REQUESTS"; exit 1; }

#!/usr/bin/env bash
# Proves deploy/prometheus/rules.yml and deploy/grafana/dashboards against a real Prometheus
# (Debian's `prometheus` package) scraping a real Keel:
#  1. `promtool check rules` and `promtool test rules` (every alert firing and not firing),
#  2. the dashboards are what deploy/grafana/make_dashboards.py writes,
#  3. a Keel on SQLite with churn v1 (reference data) in production, v2 in a canary at 10 %,
#     records traffic (shifted, so inputs drift), some bad requests, ground-truth feedback, a
#     batch job and gRPC calls; Prometheus scrapes it every second and loads rules.yml,
#  4. every dashboard panel query and every recording rule is evaluated through Prometheus's
#     HTTP API: any that errors or returns no series fails the check; every alerting rule must
#     be reported healthy (an alert that rightly does not fire returns nothing, so alerts are
#     proven by the promtool unit tests, not here).
#   KEEL_BIN=.build/debug/keel bash scripts/check/prometheus.sh
set -euo pipefail
cd "$(dirname "$0")/../.."
ROOT=$PWD
KEEL_BIN=${KEEL_BIN:-.build/debug/keel}
case "$KEEL_BIN" in /*) ;; *) KEEL_BIN=$ROOT/$KEEL_BIN ;; esac
TMP=$(mktemp -d /tmp/keel-prom.XXXXXX)
PIDS=()
cleanup() {
    for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null || true; done
    for p in "${PIDS[@]}"; do wait "$p" 2>/dev/null || true; done
    rm -rf "$TMP"
}
trap cleanup EXIT
log() { echo "[prometheus $(date +%T)] $*" >&2; }
fail() { log "FAILED: $*"; tail -15 "$TMP/keel.log" >&2 || true; tail -15 "$TMP/prometheus.log" >&2 || true; exit 1; }

if ! command -v promtool >/dev/null || ! command -v prometheus >/dev/null; then
    log "installing Debian's prometheus package"
    if [ "$(id -u)" -eq 0 ]; then SUDO=(); else SUDO=(sudo -n); fi
    "${SUDO[@]}" env DEBIAN_FRONTEND=noninteractive apt-get update -q </dev/null >/dev/null
    "${SUDO[@]}" env DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends prometheus </dev/null >/dev/null
fi

promtool check rules deploy/prometheus/rules.yml >/dev/null || fail "promtool check rules"
promtool test rules deploy/prometheus/tests/rules_test.yml || fail "promtool test rules"
python3 deploy/grafana/make_dashboards.py --check || fail "dashboards are stale"
log "promtool: rules valid, unit tests pass; dashboards match their generator"

. scripts/check/lib.sh

PORT=$(free_port); GRPC=$(free_port); PROM=$(free_port)
export KEEL_ADMIN_KEY=prometheus-check-admin-key-0123456789abcdef
export KEEL_SERVER=http://127.0.0.1:$PORT KEEL_API_KEY=$KEEL_ADMIN_KEY
mkdir -p "$TMP/repo"
"$KEEL_BIN" serve --host 127.0.0.1 --port "$PORT" --grpc-port "$GRPC" --model-repository "$TMP/repo" --data-dir "$TMP/data" \
    --monitoring-interval-ms 1000 >"$TMP/keel.log" 2>&1 &
PIDS+=($!)
wait_http "$KEEL_SERVER/v2/health/live" 60

M=models/churn
"$KEEL_BIN" models register churn $M/1/model.json --schema $M/config.yaml --reference $M/holdout.csv >/dev/null
"$KEEL_BIN" models register churn $M/1/model.json --schema $M/config.yaml --reference $M/holdout.csv >/dev/null
"$KEEL_BIN" models promote churn 1 --force >/dev/null
wait_http "$KEEL_SERVER/v2/models/churn/ready" 60
# A canary that stays at its first step for the whole check.
"$KEEL_BIN" rollout start churn 2 --steps 10,50,100 --interval 1h --check 'p95_latency_ms < 60000' >/dev/null

cat >"$TMP/prometheus.yml" <<YML
global:
  scrape_interval: 1s
  evaluation_interval: 1s
rule_files:
  - $ROOT/deploy/prometheus/rules.yml
scrape_configs:
  - job_name: keel
    metrics_path: /metrics
    static_configs:
      - targets: ["127.0.0.1:$PORT"]
YML
promtool check config "$TMP/prometheus.yml" >/dev/null || fail "promtool check config"
prometheus --config.file="$TMP/prometheus.yml" --storage.tsdb.path="$TMP/tsdb" --web.listen-address="127.0.0.1:$PROM" \
    >"$TMP/prometheus.log" 2>&1 &
PIDS+=($!)
wait_http "http://127.0.0.1:$PROM/-/ready" 60
log "Prometheus $(prometheus --version 2>&1 | head -1 | awk '{print $3}') on :$PROM scraping Keel on :$PORT"

# Traffic: shifted customers (drift) through the records API, with their labels as feedback.
python3 scripts/demo/churn_traffic.py --server "$KEEL_SERVER" --data $M/holdout.csv --rows 1000 --labels "$TMP/labels.csv" --shift >/dev/null
"$KEEL_BIN" feedback send churn "$TMP/labels.csv" >/dev/null
# Bad requests (counted as failures by reason), a batch job, gRPC calls.
for _ in 1 2 3; do
    curl -s -o /dev/null -XPOST -H 'Content-Type: application/json' "$KEEL_SERVER/v2/models/churn/infer" \
        -d '{"inputs":[{"name":"input","shape":[1,3],"datatype":"FP32","data":[1,2,3]}]}'
done
head -201 $M/holdout.csv >"$TMP/batch.csv"
"$KEEL_BIN" batch submit churn --input "$TMP/batch.csv" --output "$TMP/batch-out.csv" --wait >/dev/null 2>&1 || fail "batch job"
"$KEEL_BIN" bench-grpc --target "127.0.0.1:$GRPC" --duration 1 --warmup 0 --concurrency 4 --connections 1 >/dev/null || fail "gRPC calls"
# Keep traffic flowing while the queries run (rates over the last minute need samples).
(
    while true; do
        curl -s -o /dev/null -XPOST -H 'Content-Type: application/json' --data @$M/sample_records.json "$KEEL_SERVER/v1/models/churn:predict"
        curl -s -o /dev/null -XPOST -H 'Content-Type: application/json' --data @$M/sample_request.json "$KEEL_SERVER/v2/models/churn/infer"
        sleep 0.05
    done
) &
PIDS+=($!)

python3 - "http://127.0.0.1:$PROM" deploy/grafana/dashboards deploy/prometheus/rules.yml <<'PY' || fail "queries"
import json, pathlib, re, sys, time, urllib.parse, urllib.request

base, boards, rules_file = sys.argv[1], pathlib.Path(sys.argv[2]), sys.argv[3]

def api(path, **params):
    url = base + path + ("?" + urllib.parse.urlencode(params) if params else "")
    with urllib.request.urlopen(url, timeout=30) as r:
        return json.load(r)

def query(expr):
    try:
        doc = api("/api/v1/query", query=expr)
    except urllib.error.HTTPError as e:
        return "error", json.load(e).get("error", str(e))
    if doc.get("status") != "success":
        return "error", doc.get("error")
    return "ok", doc["data"]["result"]

def substitute(expr):
    return (expr.replace("$__rate_interval", "1m").replace("$__interval", "15s").replace("$__range", "1h")
            .replace("$model", "churn"))

queries = []
for path in sorted(boards.glob("*.json")):
    board = json.loads(path.read_text())
    for panel in board["panels"]:
        for t in panel.get("targets", []):
            queries.append((f"{path.name}: {panel['title']} [{t['refId']}]", substitute(t["expr"])))
    for v in board["templating"]["list"]:
        if v["type"] == "query":
            m = re.fullmatch(r"label_values\((\w+), (\w+)\)", v["definition"])
            assert m, v["definition"]
            queries.append((f"{path.name}: variable {v['name']}", m.group(1)))

# Rules as Prometheus loaded them (so a rule the file has but Prometheus refused is caught too).
expected = {"record": len(re.findall(r"^\s*- record:", open(rules_file).read(), re.M)),
            "alert": len(re.findall(r"^\s*- alert:", open(rules_file).read(), re.M))}
deadline = time.time() + 180
pending = {}
while True:
    groups = api("/api/v1/rules")["data"]["groups"]
    rules = [r for g in groups for r in g["rules"]]
    records = [r for r in rules if r["type"] == "recording"]
    alerts = [r for r in rules if r["type"] == "alerting"]
    evaluated = all(r.get("lastEvaluation", "").startswith("20") and not r["lastEvaluation"].startswith("0001") for r in rules)
    problems = []
    if len(records) != expected["record"] or len(alerts) != expected["alert"]:
        problems.append(f"Prometheus loaded {len(records)} recording and {len(alerts)} alerting rules, the file has {expected['record']} and {expected['alert']}")
    for r in rules:
        if r.get("health") != "ok" and evaluated:
            problems.append(f"rule {r['name']}: health {r.get('health')} {r.get('lastError', '')}")
    checks = queries + [(f"recording rule {r['name']}", r["name"]) for r in records]
    for name, expr in checks:
        status, result = query(expr)
        if status == "error":
            problems.append(f"{name}: {expr}: error {result}")
        elif not result:
            problems.append(f"{name}: {expr}: no series")
    if not problems and evaluated:
        break
    if time.time() > deadline:
        print("\n".join(problems), file=sys.stderr)
        sys.exit(1)
    time.sleep(3)
print(f"{len(queries)} dashboard queries and {len(records)} recording rules return series; {len(alerts)} alerting rules healthy", file=sys.stderr)
PY
log "ok"

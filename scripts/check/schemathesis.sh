#!/usr/bin/env bash
# Runs schemathesis (from PyPI) against a live `keel serve`: every route of /openapi.json, every
# check (not_a_server_error, status/content-type/header/schema conformance, negative and positive
# data, missing headers, unsupported methods, ignored auth, ...), with an admin key.
#
#   bash scripts/check/schemathesis.sh                           # from anywhere in the repo
#   bash scripts/check/schemathesis.sh --inference-requires-key  # extra args go to `keel serve`
#
# Steps: a venv under ~/.venvs/keel-check (created from scripts/check/requirements.txt when
# missing); `keel` built in debug unless KEEL_BIN is given; the server started on a free loopback
# port with a temporary data folder, the bundled models/ repository and KEEL_ADMIN_KEY; the
# registry seeded with the churn model (version 1 as production and staging, a gate, an
# evaluation) so registry routes answer about something real; then schemathesis (two passes:
# everything, then the repository unload alone), its summaries, and the server stopped. Exits non-zero when schemathesis reports any failure or error.
#
# Environment (all optional):
#   KEEL_BIN=path        keel binary to run (default: swift build --product keel, debug)
#   MAX_EXAMPLES=25      examples per operation and phase
#   SEED=8               schemathesis seed (runs are reproducible)
#   WORKERS=1            concurrent schemathesis workers (Python 3.11's parser is not thread-safe under hypothesis)
#   VENV=~/.venvs/keel-check
#   REPORT_DIR=.build/schemathesis   where the JUnit report and the server log are kept
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
VENV="${VENV:-$HOME/.venvs/keel-check}"
MAX_EXAMPLES="${MAX_EXAMPLES:-25}"
SEED="${SEED:-8}"
WORKERS="${WORKERS:-1}"
HOST=127.0.0.1

log() { printf '[schemathesis.sh] %s\n' "$*" >&2; }
die() { log "error: $*"; exit 2; }

# ---------------------------------------------------------------- tools
if [[ ! -x "$VENV/bin/st" ]]; then
    log "creating $VENV and installing scripts/check/requirements.txt"
    python3 -m venv "$VENV"
    "$VENV/bin/pip" install -q -r "$ROOT/scripts/check/requirements.txt"
fi
log "$("$VENV/bin/st" --version)"

if [[ -z "${KEEL_BIN:-}" ]]; then
    log "building keel (debug)"
    (cd "$ROOT" && swift build --product keel >&2)
    KEEL_BIN="$ROOT/.build/debug/keel"
fi
[[ -x "$KEEL_BIN" ]] || die "keel binary '$KEEL_BIN' is not executable"
KEEL_BIN="$(cd "$(dirname "$KEEL_BIN")" && pwd)/$(basename "$KEEL_BIN")"  # the server runs from a temporary folder

# ---------------------------------------------------------------- server
TMP="$(mktemp -d "${TMPDIR:-/tmp}/keel-schemathesis.XXXXXX")"
REPORT_DIR="${REPORT_DIR:-$ROOT/.build/schemathesis}"
mkdir -p "$REPORT_DIR" "$ROOT/.build"
REPORT_DIR="$(cd "$REPORT_DIR" && pwd)"
PORT="$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')"
ADMIN_KEY="keel_check_$(python3 -c 'import secrets; print(secrets.token_hex(20))')"
BASE="http://$HOST:$PORT"
SERVER_PID=""
cleanup() {
    local status=$?
    if [[ -n "$SERVER_PID" ]] && kill -0 "$SERVER_PID" 2>/dev/null; then
        kill "$SERVER_PID" 2>/dev/null || true
        wait "$SERVER_PID" 2>/dev/null || true
    fi
    [[ -f "$TMP/server.log" ]] && cp "$TMP/server.log" "$REPORT_DIR/server.log"
    rm -rf "$TMP"
    exit "$status"
}
trap cleanup EXIT INT TERM

log "starting keel on $BASE (data in $TMP/data) $*"
# From the temporary folder, so no keel.yaml of the caller's is read.
(cd "$TMP" && exec env KEEL_ADMIN_KEY="$ADMIN_KEY" "$KEEL_BIN" serve --grpc-port 0 --host "$HOST" --port "$PORT" \
    --data-dir "$TMP/data" --model-repository "$ROOT/models" --log-level warning "$@") >"$TMP/server.log" 2>&1 &
SERVER_PID=$!
for _ in $(seq 1 240); do
    kill -0 "$SERVER_PID" 2>/dev/null || { tail -20 "$TMP/server.log" >&2; die "keel exited during startup"; }
    curl -sf "$BASE/ready" >/dev/null 2>&1 && break
    sleep 0.5
done
curl -sf "$BASE/ready" >/dev/null || die "keel did not become ready within 120 s"

# ---------------------------------------------------------------- seed the registry
api() {  # api METHOD PATH [JSON-FILE|-] [CONTENT-TYPE]: fails on a non-2xx answer
    local method=$1 path=$2 body=${3:-} type=${4:-application/json}
    local args=(-sS -o "$TMP/answer" -w '%{http_code}' -X "$method" -H "Authorization: Bearer $ADMIN_KEY" -H "Content-Type: $type")
    [[ -n "$body" ]] && args+=(--data-binary "@$body")
    local code
    code="$(curl "${args[@]}" "$BASE$path")"
    [[ "$code" == 2* ]] || die "seeding: $method $path answered $code: $(head -c 400 "$TMP/answer")"
}
python3 - "$ROOT/models/churn" >"$TMP/register.json" <<'PY'
import base64, json, pathlib, sys
folder = pathlib.Path(sys.argv[1])
print(json.dumps({
    "artifact_base64": base64.b64encode((folder / "1" / "model.json").read_bytes()).decode(),
    "filename": "model.json", "schema_yaml": (folder / "config.yaml").read_text(),
    "description": "seeded by scripts/check/schemathesis.sh", "metrics": {"roc_auc": 0.9},
}))
PY
echo '{"version": 1}' >"$TMP/version.json"
echo '{"gate": "size_mb <= 100"}' >"$TMP/gate.json"
api POST /api/v1/models/churn/versions "$TMP/register.json"
api POST /api/v1/models/churn/promote "$TMP/version.json"
api PUT /api/v1/models/churn/aliases/staging "$TMP/version.json"
api POST /api/v1/models/churn/gates "$TMP/gate.json"
api POST "/api/v1/models/churn/versions/1/evaluate?label=churn" "$ROOT/models/churn/holdout.csv" text/csv
# The server follows the registry in the background: wait until it serves the registry's churn
# (an alias resolves only then), so the repository routes meet a registry model, as in production.
for _ in $(seq 1 120); do
    curl -sf -H "Authorization: Bearer $ADMIN_KEY" "$BASE/v2/models/churn/versions/staging/ready" >/dev/null 2>&1 && break
    sleep 0.5
done
curl -sf -H "Authorization: Bearer $ADMIN_KEY" "$BASE/v2/models/churn/versions/staging/ready" >/dev/null || die "keel did not start serving the registry's churn within 60 s"
log "registry seeded: churn v1 (production, staging), gate 'size_mb <= 100', evaluated on the holdout; served"

# ---------------------------------------------------------------- schemathesis
# Two passes over the same server. Unloading a repository model is by design answered with 503
# ("not ready (unloaded)") by every later request to that model until it is loaded again, and
# not_a_server_error counts any 5xx; so the unload operation runs alone, after everything else.
UNLOAD='/v2/repository/models/{model}/unload'
run_schemathesis() {  # run_schemathesis NAME FILTER-ARGS...
    local name=$1
    shift
    log "schemathesis ($name): all checks, $MAX_EXAMPLES examples per operation, seed $SEED, $WORKERS worker(s)"
    # From .build/, so schemathesis' own example database (.schemathesis/) stays out of the tree.
    (cd "$ROOT/.build" && "$VENV/bin/st" --config-file "$ROOT/scripts/check/schemathesis.toml" run "$BASE/openapi.json" \
        --checks all \
        --header "Authorization: Bearer $ADMIN_KEY" \
        --max-examples "$MAX_EXAMPLES" --seed "$SEED" --workers "$WORKERS" \
        --request-timeout 30 --no-color \
        --report junit --report-junit-path "$REPORT_DIR/junit-$name.xml" \
        "$@")
}
set +e
run_schemathesis all-but-unload --exclude-path "$UNLOAD"
status=$?
run_schemathesis unload --include-path "$UNLOAD"
unload_status=$?
set -e
[[ $status -eq 0 ]] && status=$unload_status

kill -0 "$SERVER_PID" 2>/dev/null || { tail -20 "$TMP/server.log" >&2; die "keel is no longer running after the run"; }
curl -sf "$BASE/health" >/dev/null || die "keel stopped answering /health after the run"
log "keel still up and healthy after the run"
# What the run changed, for reading failures: the audit log and the repository index.
curl -sS -H "Authorization: Bearer $ADMIN_KEY" "$BASE/api/v1/audit?limit=10000" >"$REPORT_DIR/audit.json" || true
curl -sS -X POST "$BASE/v2/repository/index" >"$REPORT_DIR/index.json" || true
if [[ $status -ne 0 ]]; then
    log "schemathesis reported failures (exit $status); report and server log in $REPORT_DIR"
    exit 1
fi
log "schemathesis passed"

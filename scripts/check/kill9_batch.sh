#!/usr/bin/env bash
# Batch jobs survive SIGKILL and share work across replicas, with real `keel serve` processes:
#  A. SQLite: a server killed with `kill -9` in the middle of a job; a new process on the same
#     data folder resumes it from its first uncommitted chunk (it scores no committed chunk
#     again), and the output is byte-for-byte what an offline `keel batch run` writes: no row
#     lost, none duplicated, in input order.
#  B. PostgreSQL (when KEEL_TEST_DATABASE_URL is set): two replicas on one database and one
#     shared data folder score one job together; one is killed with `kill -9` mid-job, the
#     other takes its chunk once the lease expires and finishes. Both replicas committed
#     chunks, and the output is again byte-for-byte the offline one.
#   KEEL_BIN=.build/debug/keel bash scripts/check/kill9_batch.sh
set -euo pipefail
cd "$(dirname "$0")/../.."
KEEL_BIN=${KEEL_BIN:-.build/debug/keel}
KEEL_BIN=$(cd "$(dirname "$KEEL_BIN")" && pwd)/$(basename "$KEEL_BIN")
TMP=$(mktemp -d)
PIDS=()
cleanup() {
    for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null || true; wait "$p" 2>/dev/null || true; done
    rm -rf "$TMP"
}
trap cleanup EXIT
log() { echo "[kill9_batch $(date +%T)] $*" >&2; }
fail() { log "FAILED: $*"; for f in "$TMP"/*.log; do echo "--- $f" >&2; tail -15 "$f" >&2; done; exit 1; }
. scripts/check/lib.sh
export KEEL_ADMIN_KEY=kill-nine-batch-admin-key-0123456789abcdef
export KEEL_SECRET=kill-nine-batch-server-secret-0123456789abcdef  # the same on every replica
export KEEL_API_KEY=$KEEL_ADMIN_KEY
ROWS=${BATCH_ROWS:-60000}
CHUNK=${BATCH_CHUNK:-3000}
mkdir -p "$TMP/files"
# ROWS customers: the holdout repeated with fresh ids (and a quoted field every 1000th row,
# which the byte-range chunking must read like any other).
awk -v rows="$ROWS" -F, 'NR == 1 { print; next } { body[n++] = $0 }
    END { for (i = 0; i < rows; i++) { line = body[i % n]; sub(/^[^,]*/, "K" i, line)
          if (i % 1000 == 7) sub(/,month-to-month,/, ",\"month-to-month\",", line); print line } }' \
    models/churn/holdout.csv > "$TMP/files/customers.csv"
"$KEEL_BIN" batch run --model models/churn/1/model.json --input "$TMP/files/customers.csv" --output "$TMP/reference.csv" \
    --passthrough churn --chunk-rows 7000 > "$TMP/offline.json"
[ "$(wc -l < "$TMP/reference.csv")" -eq $(( ROWS + 1 )) ] || fail "the offline run wrote $(wc -l < "$TMP/reference.csv") lines"

serve() { # name port data-dir [database-url]
    local db=()
    [ -n "${4:-}" ] && db=(--database-url "$4")
    "$KEEL_BIN" serve --grpc-port 0 --host 127.0.0.1 --port "$2" --model-repository models --data-dir "$3" --batch-folder "$TMP/files" \
        --job-lease-s 2 "${db[@]}" >> "$TMP/$1.log" 2>&1 &
    PIDS+=($!)
    echo $!
}
status() { # server job field
    KEEL_SERVER=$1 "$KEEL_BIN" batch status "$2" --json | python3 -c "import json,sys; print(json.load(sys.stdin)['$3'])"
}
metric() { # server name → summed value
    curl -fsS "$1/metrics" | awk -v m="$2" '$1 ~ "^"m"({|$)" { s += $2 } END { printf "%d\n", s }'
}

# --- A. SQLite: kill -9 mid-job, resume ---------------------------------------------------
PORT=$(free_port); S=http://127.0.0.1:$PORT
PID=$(serve a "$PORT" "$TMP/data-a")
wait_http "$S/v2/models/churn/ready" 60
JOB=$(KEEL_SERVER=$S "$KEEL_BIN" batch submit churn --server-path --input "$TMP/files/customers.csv" --output "$TMP/files/scores-a.csv" \
    --passthrough churn --chunk-rows "$CHUNK")
log "A: job $JOB submitted ($ROWS rows in chunks of $CHUNK)"
TOTAL_CHUNKS=$(( (ROWS + CHUNK - 1) / CHUNK ))
for _ in $(seq 1 600); do
    DONE=$(status "$S" "$JOB" chunks_done)
    [ "$DONE" -ge 3 ] && break
    sleep 0.1
done
[ "$DONE" -ge 3 ] || fail "A: the job did not get going"
[ "$DONE" -lt "$TOTAL_CHUNKS" ] || fail "A: the job finished before the kill; raise BATCH_ROWS"
kill -9 "$PID"; wait "$PID" 2>/dev/null || true
log "A: killed the server with $DONE of $TOTAL_CHUNKS chunks committed"
PORT=$(free_port); S=http://127.0.0.1:$PORT
PID=$(serve a2 "$PORT" "$TMP/data-a")
wait_http "$S/v2/health/live" 60
KEEL_SERVER=$S "$KEEL_BIN" batch watch "$JOB" > "$TMP/watch-a.txt" 2>&1 || fail "A: the resumed job did not finish: $(tail -2 "$TMP/watch-a.txt")"
[ "$(status "$S" "$JOB" rows_done)" -eq "$ROWS" ] || fail "A: rows_done is not $ROWS"
cmp -s "$TMP/reference.csv" "$TMP/files/scores-a.csv" || fail "A: the resumed output differs from the offline run"
RETRIED=$(metric "$S" 'keel_batch_chunks_total{model="churn",outcome="retried"}')
[ "$RETRIED" -eq 0 ] || fail "A: $RETRIED chunks failed after the restart (claimed before the model was loaded?)"
RESCORED=$(metric "$S" keel_batch_rows_total)
[ "$RESCORED" -le $(( ROWS - DONE * CHUNK )) ] || fail "A: the new process scored $RESCORED rows; committed chunks were scored again"
log "A: ok — resumed, $RESCORED rows scored after the restart, output identical to the offline run"
kill "$PID" 2>/dev/null || true; wait "$PID" 2>/dev/null || true

# --- B. PostgreSQL: two replicas, one killed -------------------------------------------------
if [ -z "${KEEL_TEST_DATABASE_URL:-}" ]; then log "B: skipped (KEEL_TEST_DATABASE_URL not set)"; exit 0; fi
DB=keel_batch_$$_$RANDOM
psql "$KEEL_TEST_DATABASE_URL" -q -c "CREATE DATABASE $DB" >/dev/null
URL="${KEEL_TEST_DATABASE_URL%/*}/$DB"
P1=$(free_port); S1=http://127.0.0.1:$P1
R1=$(serve b1 "$P1" "$TMP/data-b" "$URL")
wait_http "$S1/v2/models/churn/ready" 60
P2=$(free_port); S2=http://127.0.0.1:$P2
R2=$(serve b2 "$P2" "$TMP/data-b" "$URL")
wait_http "$S2/v2/models/churn/ready" 60
JOB=$(KEEL_SERVER=$S1 "$KEEL_BIN" batch submit churn --server-path --input "$TMP/files/customers.csv" --output "$TMP/files/scores-b.csv" \
    --passthrough churn --chunk-rows "$CHUNK")
log "B: job $JOB submitted to two replicas"
for _ in $(seq 1 600); do
    C2=$(metric "$S2" 'keel_batch_chunks_total{model="churn",outcome="committed"}')
    C1=$(metric "$S1" 'keel_batch_chunks_total{model="churn",outcome="committed"}')
    [ "$C1" -ge 2 ] && [ "$C2" -ge 2 ] && break
    sleep 0.1
done
[ "$C1" -ge 2 ] && [ "$C2" -ge 2 ] || fail "B: both replicas should be committing chunks (saw $C1 and $C2)"
kill -9 "$R2"; wait "$R2" 2>/dev/null || true
log "B: killed replica 2 after it committed $C2 chunks (replica 1: $C1)"
KEEL_SERVER=$S1 "$KEEL_BIN" batch watch "$JOB" > "$TMP/watch-b.txt" 2>&1 || fail "B: the job did not finish on the surviving replica"
[ "$(status "$S1" "$JOB" rows_done)" -eq "$ROWS" ] || fail "B: rows_done is not $ROWS"
cmp -s "$TMP/reference.csv" "$TMP/files/scores-b.csv" || fail "B: the shared output differs from the offline run"
log "B: ok — two replicas shared the job, the survivor finished it, output identical to the offline run"
kill "$R1" 2>/dev/null || true; wait "$R1" 2>/dev/null || true
psql "$KEEL_TEST_DATABASE_URL" -q -c "DROP DATABASE $DB" >/dev/null 2>&1 || true

#!/usr/bin/env bash
# Runs Keel's whole test suite on a fresh Debian machine (root or not, no stdin):
#  1. installs what the tests need if absent (PostgreSQL server, SQLite headers, GNU time),
#  2. starts a throwaway PostgreSQL cluster on loopback in a temporary folder, with TLS on (a
#     certificate for 127.0.0.1 from a CA made here with openssl; KEEL_TEST_PG_TLS_CA names it,
#     KEEL_TEST_PG_TLS_OTHER_CA a CA that did not sign it),
#  3. exports KEEL_TEST_DATABASE_URL, runs `swift build --build-tests`, then `swift test` twice
#     (engine and codec suites, then the rest), then scripts/check/kill9_rollout.sh (a real
#     server killed with SIGKILL mid-rollout resumes it) and scripts/check/kill9_batch.sh (the
#     same mid-job, and two PostgreSQL replicas sharing one job), then the real Python clients:
#     tritonclient over HTTP and gRPC against a debug `keel serve` (scripts/clients/check_clients.py;
#     installed into a venv while Swift builds), and scripts/check/grpc_proto.py (our .proto's
#     field numbers against tritonclient's compiled descriptors), then scripts/check/deploy.sh
#     (Dockerfile and compose file, Kubernetes manifests, Prometheus rules and Grafana dashboards
#     against Debian's Prometheus, the release pipeline's steps),
#  4. stops and removes the cluster on exit, whatever happened.
# With KEEL_TEST_DATABASE_URL already set, that database is used and no cluster is started.
set -euo pipefail
cd "$(dirname "$0")/.."
export DEBIAN_FRONTEND=noninteractive

log() { echo "test.sh: $*" >&2; }

as_root() {
    if [ "$(id -u)" -eq 0 ]; then "$@"; elif command -v sudo >/dev/null; then sudo -n "$@"; else "$@"; fi
}

find_pg_bin() {
    local dir
    for dir in $(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V -r); do
        if [ -x "$dir/initdb" ] && [ -x "$dir/pg_ctl" ]; then echo "$dir"; return 0; fi
    done
    if command -v initdb >/dev/null && command -v pg_ctl >/dev/null; then dirname "$(command -v initdb)"; return 0; fi
    return 1
}

ensure_packages() {
    local missing=()
    find_pg_bin >/dev/null || missing+=(postgresql)
    [ -e /usr/include/sqlite3.h ] || missing+=(libsqlite3-dev)
    # GNU time measures the peak memory of model loads (LoadMemoryBoundTests).
    [ -x /usr/bin/time ] || missing+=(time)
    command -v openssl >/dev/null || missing+=(openssl)
    # protoc reads proto/inference_grpc.proto for the field-number check (nothing is generated).
    command -v protoc >/dev/null || missing+=(protobuf-compiler)
    python3 -c "import ensurepip, venv" 2>/dev/null || missing+=(python3-venv)
    # promtool and Prometheus for the rules and dashboards (scripts/check/prometheus.sh).
    command -v promtool >/dev/null && command -v prometheus >/dev/null || missing+=(prometheus)
    if [ ${#missing[@]} -gt 0 ]; then
        log "installing ${missing[*]}"
        as_root apt-get update -q </dev/null
        as_root apt-get install -y -q --no-install-recommends "${missing[@]}" </dev/null
    fi
}

free_port() {
    local port
    for _ in $(seq 1 200); do
        port=$(( 15000 + RANDOM % 17000 ))
        if ! (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; then echo "$port"; return 0; fi
    done
    log "no free port found"; return 1
}

# A CA, a server certificate for 127.0.0.1 signed by it, and an unrelated CA, in $1.
make_tls() {
    local dir=$1
    mkdir -p "$dir"
    local ca=(-newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -days 2
              -addext "basicConstraints=critical,CA:TRUE" -addext "keyUsage=critical,keyCertSign,cRLSign")
    openssl req -x509 "${ca[@]}" -keyout "$dir/ca.key" -out "$dir/ca.crt" -subj "/CN=keel test database CA" 2>/dev/null
    openssl req -x509 "${ca[@]}" -keyout "$dir/other-ca.key" -out "$dir/other-ca.crt" -subj "/CN=some other CA" 2>/dev/null
    openssl req -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -keyout "$dir/server.key" -out "$dir/server.csr" \
        -subj "/CN=127.0.0.1" 2>/dev/null
    printf 'subjectAltName=IP:127.0.0.1,DNS:localhost\nbasicConstraints=critical,CA:FALSE\nkeyUsage=critical,digitalSignature\nextendedKeyUsage=serverAuth\n' \
        >"$dir/server.ext"
    openssl x509 -req -in "$dir/server.csr" -CA "$dir/ca.crt" -CAkey "$dir/ca.key" -CAcreateserial -days 2 \
        -extfile "$dir/server.ext" -out "$dir/server.crt" 2>/dev/null
    chmod 600 "$dir/server.key"
}

PG_DIR=""
PG_BIN=""
PG_USER_CMD=()
stop_cluster() {
    if [ -n "$PG_DIR" ] && [ -d "$PG_DIR" ]; then
        "${PG_USER_CMD[@]}" "$PG_BIN/pg_ctl" -D "$PG_DIR/data" -m fast -w stop >/dev/null 2>&1 || true
        rm -rf "$PG_DIR"
    fi
}

start_cluster() {
    PG_BIN=$(find_pg_bin)
    PG_DIR=$(mktemp -d /tmp/keel-pg.XXXXXX)
    trap stop_cluster EXIT
    if [ "$(id -u)" -eq 0 ]; then
        # PostgreSQL refuses to run as root: the cluster belongs to the postgres user.
        id postgres >/dev/null 2>&1 || useradd --system --no-create-home --shell /usr/sbin/nologin postgres
        chown postgres: "$PG_DIR"
        chmod 700 "$PG_DIR"
        PG_USER_CMD=(runuser -u postgres --)
    fi
    make_tls "$PG_DIR/tls"
    if [ "$(id -u)" -eq 0 ]; then chown -R postgres: "$PG_DIR/tls"; fi
    local port
    port=$(free_port)
    log "starting PostgreSQL ($("$PG_BIN/postgres" --version)) on 127.0.0.1:$port in $PG_DIR"
    "${PG_USER_CMD[@]}" "$PG_BIN/initdb" -D "$PG_DIR/data" -U keel -A trust -E UTF8 --no-instructions >"$PG_DIR/initdb.log" 2>&1 \
        || { cat "$PG_DIR/initdb.log" >&2; exit 1; }
    "${PG_USER_CMD[@]}" "$PG_BIN/pg_ctl" -D "$PG_DIR/data" -l "$PG_DIR/server.log" -w -t 60 \
        -o "-p $port -k $PG_DIR -c listen_addresses=127.0.0.1 -c max_connections=200 -c fsync=off -c ssl=on -c ssl_cert_file=$PG_DIR/tls/server.crt -c ssl_key_file=$PG_DIR/tls/server.key" start >/dev/null \
        || { cat "$PG_DIR/server.log" >&2; exit 1; }
    for _ in $(seq 1 60); do
        if "$PG_BIN/pg_isready" -q -h 127.0.0.1 -p "$port"; then break; fi
        sleep 0.5
    done
    "$PG_BIN/pg_isready" -h 127.0.0.1 -p "$port" >/dev/null || { log "PostgreSQL does not answer"; cat "$PG_DIR/server.log" >&2; exit 1; }
    export KEEL_TEST_DATABASE_URL="postgres://keel@127.0.0.1:$port/postgres"
    export KEEL_TEST_PG_TLS_CA="$PG_DIR/tls/ca.crt" KEEL_TEST_PG_TLS_OTHER_CA="$PG_DIR/tls/other-ca.crt"
}

ensure_packages
if [ -z "${KEEL_TEST_DATABASE_URL:-}" ]; then start_cluster; fi
log "KEEL_TEST_DATABASE_URL=$KEEL_TEST_DATABASE_URL"
# tritonclient for the client checks, installed into its own venv while Swift builds.
CLIENTS_VENV=${KEEL_CLIENTS_VENV:-/tmp/keel-clients-venv}
CLIENTS_LOG=$(mktemp /tmp/keel-clients-install.XXXXXX)
install_clients() {
    if "$CLIENTS_VENV/bin/python" -c "import tritonclient.grpc, tritonclient.http" 2>/dev/null; then return 0; fi
    python3 -m venv "$CLIENTS_VENV" && "$CLIENTS_VENV/bin/pip" install -q --disable-pip-version-check -r scripts/clients/requirements-triton.txt
}
install_clients </dev/null >"$CLIENTS_LOG" 2>&1 &
CLIENTS_PID=$!
swift build --build-tests
# Two runs: the CPU-bound engine and codec suites first, then the store, registry and server
# suites, whose deadlines and timeouts must not share two cores with multi-second model loads.
swift test --skip-build --filter 'KeelCoreTests|KeelEngineTests'
swift test --skip-build --skip 'KeelCoreTests|KeelEngineTests'
# A real server killed with SIGKILL mid-rollout resumes it (outside swift test: timing-sensitive).
KEEL_BIN=.build/debug/keel bash scripts/check/kill9_rollout.sh
# Batch jobs: a server killed with SIGKILL mid-job resumes it; two PostgreSQL replicas share one.
KEEL_BIN=.build/debug/keel bash scripts/check/kill9_batch.sh
# The real clients: tritonclient over HTTP and gRPC against a debug server, and our .proto's
# numbering against tritonclient's descriptors.
wait "$CLIENTS_PID" || { log "installing tritonclient failed:"; cat "$CLIENTS_LOG" >&2; exit 1; }
protoc -I proto --descriptor_set_out="$CLIENTS_LOG.pb" proto/inference_grpc.proto
"$CLIENTS_VENV/bin/python" scripts/check/grpc_proto.py "$CLIENTS_LOG.pb"
"$CLIENTS_VENV/bin/python" scripts/clients/check_clients.py --keel-bin .build/debug/keel --skip kserve
rm -f "$CLIENTS_LOG" "$CLIENTS_LOG.pb"
# Deployment assets: the container and Kubernetes checks, promtool and a real Prometheus
# scraping a real Keel, and the CI/CD pipeline's steps against a local server.
KEEL_BIN=.build/debug/keel bash scripts/check/deploy.sh

#!/usr/bin/env bash
# The real client libraries against a real Keel: tritonclient over HTTP and gRPC and the KServe
# SDK (v2 and v1), from PyPI, pinned in scripts/clients/requirements.txt.
#
#   bash scripts/check/clients.sh                 # builds keel (debug) if KEEL_BIN is not set
#   KEEL_BIN=.build/debug/keel bash scripts/check/clients.sh
#
# Installs the clients into a venv ($CLIENTS_VENV, default /tmp/keel-clients-full-venv; kserve
# pulls in pandas, grpcio, fastapi… so it is kept apart from the system), starts Keel on free
# loopback ports for HTTP and gRPC with ./models, runs scripts/clients/check_clients.py and
# exits with its status (1 when any check fails).
set -euo pipefail
cd "$(dirname "$0")/../.."
VENV="${CLIENTS_VENV:-/tmp/keel-clients-full-venv}"
if ! "$VENV/bin/python" -c "import tritonclient.grpc, tritonclient.http, kserve" 2>/dev/null; then
    echo "clients.sh: installing the clients into $VENV" >&2
    python3 -m venv "$VENV"
    "$VENV/bin/pip" install -q --disable-pip-version-check -r scripts/clients/requirements.txt </dev/null
fi
if [ -z "${KEEL_BIN:-}" ]; then
    swift build --product keel
    KEEL_BIN=.build/debug/keel
fi
exec "$VENV/bin/python" scripts/clients/check_clients.py --keel-bin "$KEEL_BIN"

#!/usr/bin/env bash
# Renders deploy/k8s (the base and every overlay) with `kubectl kustomize` and checks each render
# with scripts/check/k8s_check.py: Kubernetes 1.32 schemas in strict mode (kubernetes-validate),
# the ServiceMonitor, and the consistency of the objects (see docs/deploy.md#checks).
#   bash scripts/check/k8s.sh              # check; exit 1 with the list of problems
#   bash scripts/check/k8s.sh --selftest   # break the manifests one way at a time; each must fail
# Needs kubectl (1.32 here; its built-in kustomize) and python3; installs kubernetes-validate
# (scripts/check/requirements-k8s.txt) into /tmp/keel-k8s-venv (KEEL_K8S_VENV) when missing.
# Works as root with no standard input; no cluster is contacted.
set -euo pipefail
cd "$(dirname "$0")/../.."
ROOT=$(pwd)
VENV=${KEEL_K8S_VENV:-/tmp/keel-k8s-venv}
REQ=scripts/check/requirements-k8s.txt
K8S_VERSION=${KEEL_K8S_VERSION:-1.32.0}
TARGETS=(base overlays/staging overlays/production)
log() { echo "[k8s $(date +%T)] $*" >&2; }

ensure_venv() {
    if [ -x "$VENV/bin/python" ] && cmp -s "$REQ" "$VENV/.keel-requirements"; then return 0; fi
    log "creating $VENV from $REQ"
    if ! python3 -m venv --clear "$VENV" >/dev/null 2>&1; then
        # Debian's python3 lacks venv/ensurepip until python3-venv is installed.
        export DEBIAN_FRONTEND=noninteractive
        apt-get install -y -q python3-venv </dev/null >/dev/null 2>&1 \
            || { apt-get update -q </dev/null >/dev/null && apt-get install -y -q python3-venv </dev/null >/dev/null; }
        python3 -m venv --clear "$VENV"
    fi
    "$VENV/bin/python" -m pip install -q --disable-pip-version-check -r "$REQ" </dev/null
    cp "$REQ" "$VENV/.keel-requirements"
}

# render K8S_DIR OUT_DIR: one file per target, named after it (base, staging, production).
render() {
    local dir=$1 out=$2 t name
    for t in "${TARGETS[@]}"; do
        name=$(basename "$t")
        if ! kubectl kustomize "$dir/$t" > "$out/$name.yaml" 2> "$out/$name.err"; then
            echo "kustomize: $t does not render: $(tr '\n' ' ' < "$out/$name.err")"
            return 1
        fi
    done
}

# check K8S_DIR: render and check; prints the report, returns the check's status.
check() {
    local dir=$1 out
    out=$(mktemp -d)
    if ! render "$dir" "$out"; then rm -rf "$out"; return 1; fi
    local args=() t
    for t in "${TARGETS[@]}"; do args+=("$(basename "$t")=$out/$(basename "$t").yaml"); done
    local rc=0
    "$VENV/bin/python" scripts/check/k8s_check.py --root "$ROOT" --k8s-version "$K8S_VERSION" "${args[@]}" || rc=$?
    rm -rf "$out"
    return $rc
}

command -v kubectl >/dev/null || { echo "k8s check: kubectl is not installed" >&2; exit 2; }
ensure_venv

if [ "${1:-}" != "--selftest" ]; then
    check deploy/k8s
    exit $?
fi

# --- self-test: each case edits a fresh copy of deploy/k8s and expects a failure naming it ---
TMP=$(mktemp -d)
trap 'rm -rf "$TMP"' EXIT
# edit FILE OLD NEW: replace the first OLD (which must be there) with NEW.
edit() {
    "$VENV/bin/python" - "$1" "$2" "$3" <<'PY'
import sys
path, old, new = sys.argv[1:]
text = open(path).read()
if old not in text:
    sys.exit(f"self-test is stale: {old!r} is not in {path}")
open(path, "w").write(text.replace(old, new, 1))
PY
}
CASES=(
    "a wrong liveness probe path|base/deployment.yaml|path: /v2/health/live|path: /healthz|livenessProbe path is /healthz"
    "a secret key the pod needs removed|base/secret.yaml|  KEEL_ADMIN_KEY: \"REPLACE-ME-admin-key-000000000000\"\n|# removed\n|Secret keel-secrets has no key KEEL_ADMIN_KEY"
    "a typo'd field (replica:)|base/deployment.yaml|  replicas: 1|  replica: 1|'replica' was unexpected"
    "a typo'd nested field (readinesProbe:)|base/deployment.yaml|readinessProbe:|readinesProbe:|'readinesProbe' was unexpected"
    "a grace period shorter than preStop + request timeout|base/deployment.yaml|terminationGracePeriodSeconds: 45|terminationGracePeriodSeconds: 30|terminationGracePeriodSeconds 30"
    "a Service selector that selects no pod|base/service.yaml|    app.kubernetes.io/component: server\n  ports:|    app.kubernetes.io/component: api\n  ports:|selects no pod of Deployment keel"
    "a probe on a port the container lacks|base/deployment.yaml|              port: http\n            periodSeconds: 10|              port: metrics\n            periodSeconds: 10|probe port metrics is not a container port"
    "a writable root filesystem|base/deployment.yaml|readOnlyRootFilesystem: true|readOnlyRootFilesystem: false|readOnlyRootFilesystem"
    "a ServiceMonitor on a port the Service lacks|base/servicemonitor.yaml|    - port: http|    - port: metrics|ServiceMonitor keel: endpoint port metrics"
    "a ServiceMonitor without a selector|base/servicemonitor.yaml|  selector:\n    matchLabels:\n      app.kubernetes.io/name: keel\n      app.kubernetes.io/component: server\n  endpoints:|  endpoints:|ServiceMonitor keel: spec.selector is missing"
    "an unknown keel.yaml key|base/keel.yaml|request_timeout_ms: 30000|request_timeout: 30000|keel.yaml key request_timeout is not"
    "a ConfigMap the pod names but nobody makes|base/deployment.yaml|            name: keel-config|            name: keel-conf|ConfigMap keel-conf"
    "an HPA aimed at another Deployment|base/hpa.yaml|    name: keel|    name: keel-server|HorizontalPodAutoscaler keel targets Deployment keel-server"
    "SQLite with RollingUpdate|base/deployment.yaml|    type: Recreate|    type: RollingUpdate|needs strategy Recreate, found RollingUpdate"
    "a PostgreSQL overlay on a ReadWriteOnce claim|components/postgres/pvc.yaml|    - ReadWriteMany|    - ReadWriteOnce|ReadWriteMany"
    "production replicas outside the HPA bounds|overlays/production/deployment.yaml|  replicas: 4|  replicas: 1|replicas 1 outside the HPA bounds 4..16"
    "production tagged latest|overlays/production/kustomization.yaml|    newTag: 0.1.0|    newTag: latest|no pinned tag"
    "a runAsUser other than the image's user|base/deployment.yaml|            runAsUser: 10001|            runAsUser: 1000|runAsUser 1000"
)
fails=0
log "self-test: unbroken manifests must pass"
cp -r deploy/k8s "$TMP/k8s"
if ! check "$TMP/k8s" > "$TMP/baseline.out"; then
    cat "$TMP/baseline.out"; echo "self-test: the unbroken manifests already fail"; exit 1
fi
echo "self-test: unbroken manifests pass"
for c in "${CASES[@]}"; do
    IFS='|' read -r title file old new expected <<< "$c"
    rm -rf "$TMP/k8s" && cp -r deploy/k8s "$TMP/k8s"
    edit "$TMP/k8s/$file" "$(printf '%b' "$old")" "$(printf '%b' "$new")"
    if check "$TMP/k8s" > "$TMP/case.out" 2>&1; then
        echo "  FAIL $title: the check passed"; fails=$((fails + 1))
    elif hit=$(grep -F -m1 -- "$expected" "$TMP/case.out"); then
        echo "  ok   $title: $(echo "$hit" | sed 's/^ *- //')"
    else
        echo "  FAIL $title: expected '$expected' in:"; sed 's/^/       /' "$TMP/case.out"; fails=$((fails + 1))
    fi
done
echo "self-test: $(( ${#CASES[@]} - fails )) passed, $fails failed"
[ "$fails" -eq 0 ]

#!/usr/bin/env bash
# Every deployment-asset check, each failing when its asset is broken:
#  - container.py: deploy/docker/Dockerfile and deploy/compose.yaml parsed and cross-checked
#    (copied paths, the runtime stage's libraries against `ldd` of a real keel binary, health
#    check, ports, user, KEEL_* names, compose replicas, proxy and Prometheus targets), plus its
#    self-test that breaks each asset in turn;
#  - k8s.sh: deploy/k8s rendered with `kubectl kustomize` (base and overlays) and validated with
#    kubernetes-validate against Kubernetes 1.32's schemas, plus cross-object checks and a self-test;
#  - prometheus.sh: promtool check/test of the rules, every dashboard query and recording rule
#    against Debian's Prometheus scraping a real Keel;
#  - pipeline.sh: the CI/CD pipeline's steps against a local Keel.
# No container engine or cluster runs on these machines: see docs/deploy.md for what is not run.
#   KEEL_BIN=.build/debug/keel bash scripts/check/deploy.sh
set -euo pipefail
cd "$(dirname "$0")/../.."
KEEL_BIN=${KEEL_BIN:-.build/debug/keel}
log() { echo "[deploy $(date +%T)] $*" >&2; }
python3 scripts/check/container.py --binary "$KEEL_BIN"
python3 scripts/check/container.py --selftest --binary "$KEEL_BIN"
bash scripts/check/k8s.sh
bash scripts/check/k8s.sh --selftest
KEEL_BIN=$KEEL_BIN bash scripts/check/prometheus.sh
KEEL_BIN=$KEEL_BIN bash scripts/check/pipeline.sh
log "every deployment check passed"

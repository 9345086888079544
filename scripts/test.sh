#!/usr/bin/env bash
# Runs Keel's whole test suite on a fresh machine (root, no stdin): builds and runs
# `swift test`. Later services the tests need are installed and started here.
set -euo pipefail
cd "$(dirname "$0")/.."
swift build --build-tests
swift test

#!/usr/bin/env bash
# Builds Keel's libFuzzer harnesses and runs each for SECONDS (default 60).
#
#   bash scripts/fuzz/run.sh [SECONDS]
#   FUZZ_TARGETS="json yaml" bash scripts/fuzz/run.sh 600    # some targets only
#   FUZZ_BUILD_ONLY=1 bash scripts/fuzz/run.sh                # build, don't run
#
# The module sources are compiled directly with swiftc -sanitize=fuzzer,address into
# .build-fuzz/ (git-ignored): KeelCore; the config loader (KeelServing/Config and the monitoring
# settings, with the store-free part of KeelMonitoring and Yams's libyaml C sources); CSVTable;
# the batch-file layer (KeelJobs/IO, with the system zlib);
# KeelEngine with SwiftProtobuf and the kernels. Each target runs
# under `nice -n 10` in libFuzzer's fork mode (so it keeps going after a crash) with a seed
# corpus from the fixtures (Tests/Fixtures, models/churn, scripts/fuzz/seeds/<target>). Crash,
# timeout and out-of-memory inputs go to scripts/fuzz/findings/<target>/. At the end it prints
# per target: executions, final coverage (cov/ft from libFuzzer's last status line), crashes.
# The growing corpus is kept in .build-fuzz/corpus/<target> between runs.
set -euo pipefail

SECS=${1:-60}
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
OUT=$ROOT/.build-fuzz
FUZZ=$ROOT/scripts/fuzz
TARGETS=${FUZZ_TARGETS:-"json binary records yaml csv batchcsv ubjson xgboost lightgbm onnx"}
SWIFTC=${SWIFTC:-swiftc}
CLANG=${CLANG:-clang}
SAN=(-sanitize=fuzzer,address -parse-as-library -O -g)
mkdir -p "$OUT/modules" "$OUT/obj" "$OUT/bin" "$OUT/logs" "$OUT/corpus"
cd "$ROOT"

checkout() {  # path of a resolved SwiftPM dependency
    local dir=$ROOT/.build/checkouts/$1
    if [ ! -d "$dir" ]; then swift package resolve >/dev/null; fi
    [ -d "$dir" ] || { echo "dependency $1 not found under .build/checkouts" >&2; exit 1; }
    echo "$dir"
}

# Rebuilds a module when any of its sources is newer than its object.
module() {  # name obj-name extra-flags... -- sources...
    local name=$1; shift
    local flags=()
    while [ "$1" != "--" ]; do flags+=("$1"); shift; done
    shift
    local obj=$OUT/obj/$name.o
    if [ -f "$obj" ] && [ -z "$(find "$@" -newer "$obj" 2>/dev/null | head -1)" ]; then return; fi
    echo "== building module $name (${#@} files)"
    "$SWIFTC" "${SAN[@]}" -wmo -c -module-name "$name" -package-name "$name" -emit-module -emit-module-path "$OUT/modules/$name.swiftmodule" \
        -I "$OUT/modules" "${flags[@]}" "$@" -o "$obj"
}

needs_engine=0; needs_config=0; needs_csv=0; needs_jobs=0
for t in $TARGETS; do
    case $t in
        ubjson|xgboost|lightgbm|onnx) needs_engine=1 ;;
        records|yaml) needs_config=1 ;;
        csv) needs_csv=1 ;;
        batchcsv) needs_jobs=1 ;;
    esac
done

module KeelCore -- $(find Sources/KeelCore -name '*.swift' | sort)

if [ $needs_config = 1 ]; then
    YAMS=$(checkout Yams)
    CY=$YAMS/Sources/CYaml
    for c in "$CY"/src/*.c; do
        o=$OUT/obj/cyaml-$(basename "$c" .c).o
        [ -f "$o" ] && [ "$o" -nt "$c" ] && continue
        "$CLANG" -c -O1 -g -fsanitize=fuzzer-no-link,address -DYAML_DECLARE_STATIC -I "$CY/include" "$c" -o "$o"
    done
    # The config's monitoring section names drift methods and windows: the part of
    # KeelMonitoring that needs neither the store nor logging is built beside it.
    module KeelMonitoring -- $(grep -L -r -E '^import (KeelStore|Logging|CoreMetrics|Metrics)' Sources/KeelMonitoring --include='*.swift' | sort)
    module KeelServing -I "$CY/include" -Xcc -DYAML_DECLARE_STATIC -- Sources/KeelServing/Config/*.swift \
        Sources/KeelServing/Monitoring/MonitoringSettings.swift
fi
if [ $needs_csv = 1 ]; then
    module KeelRegistry -- Sources/KeelRegistry/Evaluation/CSVTable.swift
fi
if [ $needs_jobs = 1 ]; then
    # The batch-file layer only: KeelJobs/IO imports nothing but KeelCore and zlib.
    module KeelJobs -I Sources/CZlib -- Sources/KeelJobs/IO/*.swift
fi
if [ $needs_engine = 1 ]; then
    PROTOBUF=$(checkout swift-protobuf)
    module SwiftProtobuf -enable-upcoming-feature ExistentialAny -- "$PROTOBUF"/Sources/SwiftProtobuf/*.swift
    module KeelKernels -- Sources/KeelKernels/*.swift
    avx=()
    if [ "$(uname -m)" = x86_64 ]; then avx=(-target-cpu haswell -D KEEL_FMA); fi
    module KeelKernelsAVX2 "${avx[@]}" -- Sources/KeelKernelsAVX2/*.swift
    module KeelEngine -- $(find Sources/KeelEngine -name '*.swift' | sort)
fi

harness() {  # target objects... [-- extra swiftc flags...]
    local t=$1; shift
    local objs=() extra=()
    while [ $# -gt 0 ] && [ "$1" != "--" ]; do objs+=("$1"); shift; done
    [ $# -gt 0 ] && { shift; extra=("$@"); }
    set -- "${objs[@]}"
    local bin=$OUT/bin/fuzz-$t
    local src=("$FUZZ/harnesses/$t.swift" "$FUZZ/harnesses/support.swift")
    case $t in ubjson|xgboost|lightgbm|onnx) src+=("$FUZZ/harnesses/engine.swift") ;; esac
    if [ -f "$bin" ] && [ -z "$(find "${src[@]}" "$@" -newer "$bin" | head -1)" ]; then return; fi
    echo "== linking fuzz-$t"
    "$SWIFTC" "${SAN[@]}" -module-name "Fuzz_$t" -I "$OUT/modules" ${CY:+-I "$CY/include" -Xcc -DYAML_DECLARE_STATIC} \
        "${src[@]}" "$@" ${extra[@]+"${extra[@]}"} -o "$bin" 2> >(grep -v "Cannot export local symbol" >&2)  # gold's noise about ASan's local symbols
}

for t in $TARGETS; do
    case $t in
        json|binary) harness "$t" "$OUT/obj/KeelCore.o" ;;
        records|yaml) harness "$t" "$OUT/obj/KeelCore.o" "$OUT/obj/KeelMonitoring.o" "$OUT/obj/KeelServing.o" "$OUT"/obj/cyaml-*.o ;;
        csv) harness "$t" "$OUT/obj/KeelCore.o" "$OUT/obj/KeelRegistry.o" ;;
        batchcsv) harness "$t" "$OUT/obj/KeelCore.o" "$OUT/obj/KeelJobs.o" -- -I Sources/CZlib -lz ;;
        ubjson|xgboost|lightgbm|onnx)
            harness "$t" "$OUT/obj/KeelCore.o" "$OUT/obj/SwiftProtobuf.o" "$OUT/obj/KeelKernels.o" \
                "$OUT/obj/KeelKernelsAVX2.o" "$OUT/obj/KeelEngine.o" ;;
        *) echo "unknown target $t" >&2; exit 1 ;;
    esac
done
[ -n "${FUZZ_BUILD_ONLY:-}" ] && exit 0

seeds() {  # target -> seed files, one per line
    case $1 in
        json) ls Tests/Fixtures/trees/*/reference.json models/churn/*.json 2>/dev/null; find Tests/Fixtures/onnx -name reference.json -size -64k ;;
        binary|csv|batchcsv|yaml) : ;;
        records) ls models/churn/sample_records.json ;;
        ubjson) ls Tests/Fixtures/trees/*/model.ubj ;;
        xgboost) ls Tests/Fixtures/trees/xgb_*/model.json ;;
        lightgbm) ls Tests/Fixtures/trees/lgb_*/model.txt ;;
        onnx) ls Tests/Fixtures/onnx/*/model.onnx ;;
    esac
    case $1 in
        yaml) ls models/churn/config.yaml ;;
        csv|batchcsv) ls models/churn/holdout.csv ;;
    esac
    find "$FUZZ/seeds/$1" -type f 2>/dev/null || true
}

max_len() {
    case $1 in
        xgboost|ubjson|onnx) echo 262144 ;;
        lightgbm) echo 131072 ;;
        csv) echo 65536 ;;
        *) echo 16384 ;;
    esac
}

summary=()
for t in $TARGETS; do
    corpus=$OUT/corpus/$t
    findings=$FUZZ/findings/$t
    seeddir=$OUT/seeds/$t
    rm -rf "$seeddir"; mkdir -p "$corpus" "$findings" "$seeddir"
    seeds "$t" | while read -r f; do [ -f "$f" ] && cp "$f" "$seeddir/$(echo "$f" | tr / _)"; done
    before=$(ls "$findings" | wc -l)
    log=$OUT/logs/$t.log
    echo "== fuzzing $t for ${SECS}s (seeds: $(ls "$seeddir" | wc -l), corpus: $(ls "$corpus" | wc -l))"
    (cd "$OUT" && KEEL_FUZZ_CHURN_CONFIG=$ROOT/models/churn/config.yaml nice -n 10 "$OUT/bin/fuzz-$t" \
        -fork=1 -ignore_crashes=1 -ignore_timeouts=1 -ignore_ooms=1 \
        -max_total_time="$SECS" -rss_limit_mb=2048 -malloc_limit_mb=2048 -timeout=10 -max_len="$(max_len "$t")" \
        -artifact_prefix="$findings/" "$corpus" "$seeddir" >"$log" 2>&1) || true
    after=$(ls "$findings" | wc -l)
    last=$(grep -E '^#[0-9]+' "$log" | tail -1)
    execs=$(echo "$last" | sed -E 's/^#([0-9]+).*/\1/')
    cov=$(echo "$last" | sed -nE 's/.*cov: ([0-9]+).*/\1/p')
    ft=$(echo "$last" | sed -nE 's/.*ft: ([0-9]+).*/\1/p')
    crashes=$(echo "$last" | sed -nE 's/.*oom\/timeout\/crash: ([0-9]+\/[0-9]+\/[0-9]+).*/\1/p')
    summary+=("$(printf '%-9s execs %-10s cov %-6s ft %-7s oom/timeout/crash %-8s new findings %s' \
        "$t" "${execs:-?}" "${cov:-?}" "${ft:-?}" "${crashes:-0/0/0}" "$((after - before))")")
done

echo
echo "== results (${SECS}s per target; logs in .build-fuzz/logs, findings in scripts/fuzz/findings)"
printf '%s\n' "${summary[@]}"

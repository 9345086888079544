#!/usr/bin/env bash
# HTTP serving benchmark, side by side on this machine: Keel vs the seed documents' own stack
# in its fastest setup (FastAPI + uvicorn/uvloop/httptools, one worker, async handler, the same
# XGBoost churn model via xgboost.Booster nthread=1: scripts/bench/fastapi_churn.py).
#
#   bash scripts/bench/http.sh            # from the repo root
#
# Drives, one after the other, with `wrk -t2 -c64 -d12s --latency` (after a 2 s warm-up each):
#   keel-v2   POST /v2/models/churn/infer   one row, v2 JSON          (Keel)
#   keel-v1   POST /v1/models/churn:predict one raw customer record   (Keel)
#   fastapi   POST /predict                 one raw customer record   (FastAPI)
#   echo      POST /echo                    the keel-v2 body, echoed  (bare Hummingbird: keel-echo,
#             built with the same flags -- the ceiling of any Hummingbird JSON service here)
#   keel-grpc ModelInfer over gRPC          one row, raw contents     (Keel; load from
#             `keel bench-grpc`, closed loop on grpc-swift-2, CONNECTIONS connections with one call
#             in flight each, like wrk's)
# and prints requests/s, p50, p99 and non-2xx per target, then Keel/FastAPI ratios against the
# targets (v2: >= 10x with p99 <= 10 ms and 0 non-2xx; v1: >= 5x; gRPC >= the v2 REST figure;
# against the echo server: v2 >= 75 % with p99 < 5 ms, v1 >= 60 %) with PASS/FAIL.
#
# Environment (all optional):
#   KEEL_BIN=path     use this keel binary instead of building one (swift build -c release
#                     --product keel --scratch-path "$SCRATCH")
#   ECHO_BIN=path     use this keel-echo binary instead of building one (same scratch folder)
#   SCRATCH=.build-http  SwiftPM scratch folder for that build
#   MODELS=models     model repository Keel serves (e.g. a copy of models/ whose churn
#                     config.yaml sets monitoring.sample_rate: 0, to price the prediction log)
#   KEEL_PORT=18080 KEEL_GRPC_PORT=18001 FASTAPI_PORT=18090   loopback ports
#   THREADS=2 CONNECTIONS=64 DURATION=12 WARMUP=2   wrk settings (seconds)
#   PYTHON=python3    interpreter for the FastAPI app (uvicorn is run as `$PYTHON -m uvicorn`)
#   NO_INSTALL=1      never install wrk / Python packages (fail if missing)
#   STRICT=1          exit 1 when a target FAILs (default: report only, exit 0)
# The machine has 2 cores shared by wrk and the server under test: check `uptime` first and
# run when quiet. Only 127.0.0.1 is used; every run is bounded by DURATION.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
cd "$ROOT"

KEEL_PORT="${KEEL_PORT:-18080}"
KEEL_GRPC_PORT="${KEEL_GRPC_PORT:-18001}"
ECHO_PORT="${ECHO_PORT:-18070}"
FASTAPI_PORT="${FASTAPI_PORT:-18090}"
THREADS="${THREADS:-2}"
CONNECTIONS="${CONNECTIONS:-64}"
DURATION="${DURATION:-12}"
WARMUP="${WARMUP:-2}"
PYTHON="${PYTHON:-python3}"
SCRATCH="${SCRATCH:-.build-http}"
MODELS="${MODELS:-models}"
HOST=127.0.0.1

log() { printf '[http.sh] %s\n' "$*" >&2; }
die() { log "error: $*"; exit 2; }

# ---------------------------------------------------------------- prerequisites
if ! command -v wrk >/dev/null 2>&1; then
    [[ "${NO_INSTALL:-}" == 1 ]] && die "wrk is not installed (apt-get install -y wrk)"
    log "installing wrk (Debian package)"
    SUDO=""; [[ "$(id -u)" != 0 ]] && SUDO="sudo"
    $SUDO apt-get update -qq >/dev/null
    $SUDO apt-get install -y -qq wrk >/dev/null
fi
if ! "$PYTHON" -c 'import fastapi, uvicorn, uvloop, httptools, xgboost, numpy' >/dev/null 2>&1; then
    [[ "${NO_INSTALL:-}" == 1 ]] && die "Python packages missing: $PYTHON -m pip install -r scripts/bench/http_requirements.txt"
    log "installing Python packages from scripts/bench/http_requirements.txt"
    "$PYTHON" -m pip install -q -r scripts/bench/http_requirements.txt
fi

KEEL_ORIGIN="given as KEEL_BIN, file time $(date -u -r "${KEEL_BIN:-/dev/null}" '+%Y-%m-%d %H:%M UTC' 2>/dev/null || echo '?')"
if [[ -z "${KEEL_BIN:-}" ]]; then
    KEEL_ORIGIN="built now"
    log "building keel (release, scratch $SCRATCH)"
    swift build -c release --product keel --scratch-path "$SCRATCH" >&2
    KEEL_BIN="$SCRATCH/release/keel"
fi
[[ -x "$KEEL_BIN" ]] || die "keel binary '$KEEL_BIN' is not executable"
if [[ -z "${ECHO_BIN:-}" ]]; then
    log "building keel-echo (release, scratch $SCRATCH)"
    swift build -c release --product keel-echo --scratch-path "$SCRATCH" >&2
    ECHO_BIN="$SCRATCH/release/keel-echo"
fi
[[ -x "$ECHO_BIN" ]] || die "keel-echo binary '$ECHO_BIN' is not executable"

for port in "$KEEL_PORT" "$KEEL_GRPC_PORT" "$FASTAPI_PORT" "$ECHO_PORT"; do
    if (exec 3<>"/dev/tcp/$HOST/$port") 2>/dev/null; then die "port $port on $HOST is already in use"; fi
done

# ---------------------------------------------------------------- servers
TMP="$(mktemp -d "${TMPDIR:-/tmp}/keel-http-bench.XXXXXX")"
KEEL_PID=""; FASTAPI_PID=""; ECHO_PID=""
cleanup() {
    local pid
    for pid in "$KEEL_PID" "$FASTAPI_PID" "$ECHO_PID"; do
        [[ -n "$pid" ]] || continue
        kill "$pid" 2>/dev/null || true
    done
    for pid in "$KEEL_PID" "$FASTAPI_PID" "$ECHO_PID"; do
        [[ -n "$pid" ]] || continue
        for _ in $(seq 1 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
        kill -9 "$pid" 2>/dev/null || true
        wait "$pid" 2>/dev/null || true
    done
    rm -rf "$TMP"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

log "starting keel on $HOST:$KEEL_PORT and fastapi on $HOST:$FASTAPI_PORT"
"$KEEL_BIN" serve --host "$HOST" --port "$KEEL_PORT" --grpc-port "$KEEL_GRPC_PORT" --model-repository "$MODELS" \
    --data-dir "$TMP/keel-data" >"$TMP/keel.log" 2>&1 &
KEEL_PID=$!
"$PYTHON" -m uvicorn --app-dir scripts/bench fastapi_churn:app --host "$HOST" --port "$FASTAPI_PORT" \
    --loop uvloop --http httptools --workers 1 --log-level warning >"$TMP/fastapi.log" 2>&1 &
FASTAPI_PID=$!
"$ECHO_BIN" "$ECHO_PORT" >"$TMP/echo.log" 2>&1 &
ECHO_PID=$!

wait_http() { # name url pid log
    local deadline=$((SECONDS + 120))
    until curl -fsS -o /dev/null --max-time 2 "$2" 2>/dev/null; do
        if ! kill -0 "$3" 2>/dev/null; then cat "$4" >&2; die "$1 exited before it was ready"; fi
        ((SECONDS < deadline)) || { cat "$4" >&2; die "$1 not ready after 120 s"; }
        sleep 0.2
    done
}
wait_http keel "http://$HOST:$KEEL_PORT/v2/health/ready" "$KEEL_PID" "$TMP/keel.log"
wait_http fastapi "http://$HOST:$FASTAPI_PORT/health" "$FASTAPI_PID" "$TMP/fastapi.log"
wait_http echo "http://$HOST:$ECHO_PORT/health" "$ECHO_PID" "$TMP/echo.log"
log "both servers are ready"

# ---------------------------------------------------------------- request bodies + wrk scripts
# Row 0 of models/churn/sample_request.json and record 0 of sample_records.json: the same customer.
"$PYTHON" - "$TMP" <<'EOF'
import json, sys
tmp = sys.argv[1]
req = json.load(open("models/churn/sample_request.json"))
rec = json.load(open("models/churn/sample_records.json"))["instances"][0]
inp = req["inputs"][0]
width = inp["shape"][1]
bodies = {
    "keel-v2": {"inputs": [{"name": inp["name"], "shape": [1, width], "datatype": inp["datatype"],
                            "data": inp["data"][:width]}]},
    "keel-v1": {"instances": [rec]},
    "fastapi": rec,
}
bodies["echo"] = bodies["keel-v2"]
for name, body in bodies.items():
    text = json.dumps(body, separators=(",", ":"))
    open(f"{tmp}/{name}.json", "w").write(text)
    lua = ('wrk.method = "POST"\n'
           f'wrk.body = {json.dumps(text)}\n'
           'wrk.headers["Content-Type"] = "application/json"\n')
    open(f"{tmp}/{name}.lua", "w").write(lua)
EOF

declare -A URL=(
    [keel-v2]="http://$HOST:$KEEL_PORT/v2/models/churn/infer"
    [keel-v1]="http://$HOST:$KEEL_PORT/v1/models/churn:predict"
    [fastapi]="http://$HOST:$FASTAPI_PORT/predict"
    [echo]="http://$HOST:$ECHO_PORT/echo"
)
TARGETS=(keel-v2 keel-v1 fastapi echo)

# One request each first: all three must answer 200 with the same probability.
for t in "${TARGETS[@]}"; do
    code=$(curl -sS -o "$TMP/$t.out" -w '%{http_code}' --max-time 5 -H 'Content-Type: application/json' \
        --data-binary "@$TMP/$t.json" "${URL[$t]}") || die "$t: request failed"
    [[ "$code" == 200 ]] || { cat "$TMP/$t.out" >&2; die "$t answered HTTP $code"; }
done
"$PYTHON" - "$TMP" <<'EOF' >&2 || die "the three endpoints disagree"
import json, sys
tmp = sys.argv[1]
v2 = json.load(open(f"{tmp}/keel-v2.out"))
p_v2 = next(o for o in v2["outputs"] if o["name"] == "probabilities")["data"][1]
p_v1 = json.load(open(f"{tmp}/keel-v1.out"))["predictions"][0]["probability"]
fa = json.load(open(f"{tmp}/fastapi.out"))
print(f"[http.sh] P(churn) of customer {fa['customer_id']}: keel-v2 {p_v2:.6f}  keel-v1 {p_v1:.6f}  "
      f"fastapi {fa['probability']:.6f} ({fa['label']}, {fa['risk_band']})")
if max(abs(p_v2 - fa["probability"]), abs(p_v1 - fa["probability"])) > 1e-5:
    sys.exit(1)
EOF

# ---------------------------------------------------------------- load
echo "== date: $(date -u '+%Y-%m-%d %H:%M:%S UTC')  host: $(uname -srm)  cores: $(nproc)"
echo "== keel: $KEEL_BIN ($KEEL_ORIGIN; worktree HEAD $(git rev-parse --short HEAD 2>/dev/null || echo '?')$(git diff --quiet HEAD -- Sources Package.swift 2>/dev/null || echo ', Sources modified'))  fastapi: $("$PYTHON" -c 'import fastapi, uvicorn, xgboost; print(f"fastapi {fastapi.__version__}, uvicorn {uvicorn.__version__}, xgboost {xgboost.__version__}")')"
echo "== load before: $(uptime | sed 's/.*load average/load average/')"
echo "== wrk -t$THREADS -c$CONNECTIONS -d${DURATION}s --latency (warm-up ${WARMUP}s each), loopback"
# CPU accounting per measurement (clock ticks): the whole machine (/proc/stat), the server
# process (all its threads) and wrk (children times); the rest is "other" -- builds, tests,
# anything that was not part of the benchmark. A large "other" share means: rerun when quiet.
busy_ticks() { awk '/^cpu /{print $2+$3+$4+$7+$8+$9; exit}' /proc/stat; }
proc_ticks() { awk '{print $14+$15}' "/proc/$1/stat" 2>/dev/null || echo 0; }
secs_to_ticks() { awk -v hz="$(getconf CLK_TCK)" '{ split($0, a, /[ms]/); s += a[1]*60 + a[2] } END { printf "%d", s*hz }'; }
: >"$TMP/cpu.txt"
for t in "${TARGETS[@]}"; do
    case $t in fastapi) spid=$FASTAPI_PID ;; echo) spid=$ECHO_PID ;; *) spid=$KEEL_PID ;; esac
    log "$t: warm-up ${WARMUP}s"
    timeout $((WARMUP + 30)) wrk -t"$THREADS" -c"$CONNECTIONS" -d"${WARMUP}s" -s "$TMP/$t.lua" "${URL[$t]}" >/dev/null
    log "$t: measuring ${DURATION}s"
    b0=$(busy_ticks); s0=$(proc_ticks "$spid"); w0=$(date +%s.%N)
    # `times` in the same subshell: its second line is the CPU time of the reaped children (wrk).
    wrk_ticks=$({ timeout $((DURATION + 30)) wrk -t"$THREADS" -c"$CONNECTIONS" -d"${DURATION}s" --latency \
        -s "$TMP/$t.lua" "${URL[$t]}" >"$TMP/$t.wrk"; times; } | tail -n 1 | tr ' ' '\n' | secs_to_ticks)
    b1=$(busy_ticks); s1=$(proc_ticks "$spid"); w1=$(date +%s.%N)
    echo "$t $((b1 - b0)) $((s1 - s0)) $wrk_ticks $w0 $w1" >>"$TMP/cpu.txt"
done
# gRPC: the same row through ModelInfer, load from keel's own grpc-swift-2 generator.
log "keel-grpc: warm-up ${WARMUP}s, measuring ${DURATION}s"
b0=$(busy_ticks); s0=$(proc_ticks "$KEEL_PID"); w0=$(date +%s.%N)
gen_ticks=$({ timeout $((WARMUP + DURATION + 60)) "$KEEL_BIN" bench-grpc --target "$HOST:$KEEL_GRPC_PORT" \
    --connections "$CONNECTIONS" --concurrency "$CONNECTIONS" --duration "$DURATION" --warmup "$WARMUP" >"$TMP/keel-grpc.json"; times; } \
    | tail -n 1 | tr ' ' '\n' | secs_to_ticks)
b1=$(busy_ticks); s1=$(proc_ticks "$KEEL_PID"); w1=$(date +%s.%N)
# The generator's warm-up is inside the window: scale its share like the measured part.
echo "keel-grpc $((b1 - b0)) $((s1 - s0)) $gen_ticks $w0 $w1" >>"$TMP/cpu.txt"
echo "== load after:  $(uptime | sed 's/.*load average/load average/')"
if [[ -n "${WRK_RAW:-}" ]]; then for t in "${TARGETS[@]}"; do echo "--- wrk $t"; cat "$TMP/$t.wrk"; done; fi

# ---------------------------------------------------------------- report
set +e
"$PYTHON" - "$TMP" "${TARGETS[@]}" <<'EOF'
import re, sys
tmp, targets = sys.argv[1], sys.argv[2:]
UNIT = {"us": 1e-3, "ms": 1.0, "s": 1e3, "m": 60e3, "h": 3600e3}

def ms(text):
    m = re.fullmatch(r"([\d.]+)(us|ms|s|m|h)", text)
    return float(m.group(1)) * UNIT[m.group(2)]

def parse(path):
    out = open(path).read()
    r = {"rps": float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1)),
         "p50": ms(re.search(r"^\s+50%\s+(\S+)", out, re.M).group(1)),
         "p99": ms(re.search(r"^\s+99%\s+(\S+)", out, re.M).group(1)),
         "requests": int(re.search(r"(\d+) requests in", out).group(1)),
         "non2xx": 0, "errors": 0}
    m = re.search(r"Non-2xx or 3xx responses:\s+(\d+)", out)
    if m: r["non2xx"] = int(m.group(1))
    m = re.search(r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", out)
    if m: r["errors"] = sum(int(x) for x in m.groups())
    return r

res = {t: parse(f"{tmp}/{t}.wrk") for t in targets}
import json
g = json.load(open(f"{tmp}/keel-grpc.json"))
res["keel-grpc"] = {"rps": g["requests_per_second"], "p50": g["p50_ms"], "p99": g["p99_ms"], "requests": g["requests"],
                    "non2xx": g["errors"], "errors": 0}
if g.get("first_error"):
    print(f"keel-grpc first error: {g['first_error']}")
import os
HZ, NCPU = os.sysconf("SC_CLK_TCK"), os.cpu_count() or 1
for line in open(f"{tmp}/cpu.txt"):
    t, busy, server, wrk, w0, w1 = line.split()
    wall = float(w1) - float(w0)
    r = res[t]
    r["server_cores"] = int(server) / HZ / wall
    r["wrk_cores"] = int(wrk) / HZ / wall
    r["other_pct"] = max(0.0, (int(busy) - int(server) - int(wrk)) / HZ / wall / NCPU * 100)
print()
print(f"| {'target':<8} | {'endpoint':<29} | {'req/s':>9} | {'p50 ms':>7} | {'p99 ms':>7} | {'requests':>9} | {'non-2xx':>7} | {'sock err':>8} | {'server CPU':>10} | {'wrk CPU':>7} | {'other CPU':>9} |")
print(f"|{'-'*10}|{'-'*31}|{'-'*11}|{'-'*9}|{'-'*9}|{'-'*11}|{'-'*9}|{'-'*10}|{'-'*12}|{'-'*9}|{'-'*11}|")
EP = {"keel-v2": "POST /v2/models/churn/infer", "keel-v1": "POST /v1/models/churn:predict",
      "fastapi": "POST /predict", "echo": "POST /echo (bare Hummingbird)", "keel-grpc": "gRPC ModelInfer (raw)"}
for t, r in res.items():
    print(f"| {t:<8} | {EP.get(t, t):<29} | {r['rps']:>9.0f} | {r['p50']:>7.2f} | {r['p99']:>7.2f} | "
          f"{r['requests']:>9} | {r['non2xx']:>7} | {r['errors']:>8} | {r.get('server_cores', 0):>5.2f} core | "
          f"{r.get('wrk_cores', 0):>7.2f} | {r.get('other_pct', 0):>8.0f}% |")
print()
print(f"server/wrk CPU: cores busy on average during the {NCPU}-core run; other CPU: share of the machine "
      "used by anything else (should be ~0)")
print()
fa = res["fastapi"]
ok = True
def check(name, r, want, p99_max=None):
    global ok
    ratio = r["rps"] / fa["rps"] if fa["rps"] else float("inf")
    conds = [ratio >= want, r["non2xx"] == 0, r["errors"] == 0]
    detail = f"{ratio:5.1f}x (target >= {want}x"
    if p99_max is not None:
        conds.append(r["p99"] <= p99_max)
        detail += f", p99 {r['p99']:.2f} ms <= {p99_max} ms"
    detail += f", non-2xx {r['non2xx']} == 0)"
    verdict = "PASS" if all(conds) else "FAIL"
    ok &= verdict == "PASS"
    print(f"| {name:<18} | {detail:<64} | {verdict:<7} |")
print(f"| {'ratio':<18} | {'value and target':<64} | verdict |")
print(f"|{'-'*20}|{'-'*66}|---------|")
check("keel-v2 / fastapi", res["keel-v2"], 10, p99_max=10.0)
check("keel-v1 / fastapi", res["keel-v1"], 5)
def against_echo(name, r, want, p99_max=None):
    global ok
    e = res["echo"]
    ratio = r["rps"] / e["rps"] if e["rps"] else 0
    conds = [ratio >= want, r["non2xx"] == 0]
    detail = f"{ratio * 100:5.1f} % of echo (target >= {want * 100:.0f} %"
    if p99_max is not None:
        conds.append(r["p99"] < p99_max)
        detail += f", p99 {r['p99']:.2f} ms < {p99_max} ms"
    detail += ")"
    verdict = "PASS" if all(conds) else "FAIL"
    ok &= verdict == "PASS"
    print(f"| {name:<18} | {detail:<64} | {verdict:<7} |")
against_echo("keel-v2 / echo", res["keel-v2"], 0.75, p99_max=5.0)
against_echo("keel-v1 / echo", res["keel-v1"], 0.60)
g = res["keel-grpc"]
grpc_ratio = g["rps"] / res["keel-v2"]["rps"] if res["keel-v2"]["rps"] else 0
verdict = "PASS" if grpc_ratio >= 1.0 and g["non2xx"] == 0 else "FAIL"
ok &= verdict == "PASS"
detail = f"{grpc_ratio:5.2f}x (target >= 1.0x, errors {g['non2xx']} == 0)"
print(f"| {'keel-grpc / keel-v2':<18} | {detail:<64} | {verdict:<7} |")
print()
print("overall:", "PASS" if ok else "FAIL")
disturbed = [t for t, r in res.items() if r.get("other_pct", 0) > 10]
if disturbed:
    print(f"WARNING: other processes used > 10% of the machine during {', '.join(disturbed)}: "
          "these numbers measure the neighbours too; rerun when the machine is quiet")
sys.exit(0 if ok else 1)
EOF
status=$?
set -e
if [[ $status -ne 0 && $status -ne 1 ]]; then die "could not parse wrk output"; fi
if [[ $status -eq 1 && "${STRICT:-}" == 1 ]]; then exit 1; fi
exit 0

#!/usr/bin/env python3
"""Batch scoring, end to end, side by side on the same machine and rows:

  * Keel: `keel batch run` (read the CSV, map the raw records through the feature schema,
    predict, write the scores CSV) — the same code a server's batch jobs run;
  * the usual Python script: pandas.read_csv → encode (the demo model's own encoding,
    scripts/fixtures/churn_data.py) → xgboost Booster.inplace_predict → to_csv;
  * `keel bench` on the same rows already encoded (model only), the ceiling for Keel.

Both pipelines use the same thread count (--threads, default 1) and write the same columns
(customer_id, probability, label, risk_band). Prints one JSON object with rows/s and the
ratios the batch issue sets: Keel ≥ 1.5× the script, and ≥ 70 % of `keel bench`.

    python3 -m venv /tmp/bv && /tmp/bv/bin/pip install -r scripts/bench/requirements.txt
    swift build -c release --product keel
    /tmp/bv/bin/python scripts/bench/batch.py --rows 1000000 --threads 1
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time

import numpy as np
import pandas as pd
import xgboost as xgb

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
sys.path.insert(0, os.path.join(ROOT, "scripts", "fixtures"))
import churn_data  # noqa: E402

MODEL = os.path.join(ROOT, "models", "churn", "1", "model.json")


def python_pipeline(path: str, out: str, threads: int) -> float:
    """The FastAPI + joblib crowd's batch script, timed from file to file."""
    t0 = time.perf_counter()
    booster = xgb.Booster(model_file=MODEL)
    booster.set_param({"nthread": threads})
    df = pd.read_csv(path)
    X = churn_data.encode(df)
    p = booster.inplace_predict(X)
    p = np.asarray(p, dtype=np.float32)
    if p.ndim == 2:
        p = p[:, -1]
    label = np.where(p > 0.5, "churn", "stay")
    band = np.where(p < 0.3, "low", np.where(p < 0.6, "medium", "high"))
    pd.DataFrame({"customer_id": df["customer_id"], "probability": p, "label": label, "risk_band": band}).to_csv(out, index=False)
    return time.perf_counter() - t0


def keel_pipeline(keel: str, path: str, out: str, threads: int, chunk_rows: int) -> tuple[float, dict]:
    t0 = time.perf_counter()
    r = subprocess.run(
        [keel, "batch", "run", "--model", MODEL, "--input", path, "--output", out, "--threads", str(threads), "--chunk-rows", str(chunk_rows)],
        check=True, capture_output=True, text=True)
    return time.perf_counter() - t0, json.loads(r.stdout.strip().splitlines()[-1])


def keel_bench(keel: str, df: pd.DataFrame, threads: int, batch: int) -> dict:
    X = churn_data.encode(df.head(batch * 16))
    body = {"inputs": [{"name": "input", "shape": list(X.shape), "datatype": "FP32", "data": X.flatten().tolist()}]}
    with tempfile.NamedTemporaryFile("w", suffix=".json", delete=False) as f:
        json.dump(body, f)
    try:
        r = subprocess.run(
            [keel, "bench", "--model", MODEL, "--input", f.name, "--batch", str(batch), "--threads", str(threads), "--iterations", "200"],
            check=True, capture_output=True, text=True)
    finally:
        os.unlink(f.name)
    return json.loads(r.stdout.strip().splitlines()[-1])


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--rows", type=int, default=1_000_000)
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--chunk-rows", type=int, default=50_000)
    ap.add_argument("--keel", default=os.path.join(ROOT, ".build", "release", "keel"))
    ap.add_argument("--dir", default=None, help="folder for the input and outputs (default: a temporary one)")
    ap.add_argument("--repeat", type=int, default=2, help="runs of each pipeline, alternating; the best is reported")
    args = ap.parse_args()

    work = args.dir or tempfile.mkdtemp(prefix="keel-batch-bench-")
    path = os.path.join(work, "customers.csv")
    if not os.path.exists(path):
        churn_data.generate(args.rows, seed=7).drop(columns=["churn"]).to_csv(path, index=False)
    df = pd.read_csv(path, nrows=65_536)
    rows = sum(1 for _ in open(path)) - 1

    py, kl, details = [], [], None
    for _ in range(args.repeat):
        py.append(python_pipeline(path, os.path.join(work, "scores-python.csv"), args.threads))
        t, details = keel_pipeline(args.keel, path, os.path.join(work, "scores-keel.csv"), args.threads, args.chunk_rows)
        kl.append(t)
    bench = keel_bench(args.keel, df, args.threads, 4096)

    # Same predictions, row for row.
    a = pd.read_csv(os.path.join(work, "scores-python.csv"))
    b = pd.read_csv(os.path.join(work, "scores-keel.csv"))
    same = len(a) == len(b) == rows and (a["customer_id"] == b["customer_id"]).all() and np.allclose(a["probability"], b["probability"], atol=1e-6) \
        and (a["label"] == b["label"]).all() and (a["risk_band"] == b["risk_band"]).all()

    keel_rps = rows / min(kl)
    python_rps = rows / min(py)
    bench_rps = float(bench["rows_per_second"]) if "rows_per_second" in bench else float(bench.get("rows_per_s", 0))
    result = {
        "rows": rows, "threads": args.threads, "input_bytes": os.path.getsize(path),
        "keel_batch_rows_per_s": round(keel_rps), "python_rows_per_s": round(python_rps), "keel_bench_rows_per_s": round(bench_rps),
        "keel_vs_python": round(keel_rps / python_rps, 2), "keel_vs_bench": round(keel_rps / bench_rps, 3) if bench_rps else None,
        "keel_seconds": [round(t, 3) for t in kl], "python_seconds": [round(t, 3) for t in py], "same_predictions": bool(same),
        "targets_met": bool(same and keel_rps >= 1.5 * python_rps and bench_rps and keel_rps >= 0.7 * bench_rps),
    }
    print(json.dumps(result))
    return 0 if same else 1


if __name__ == "__main__":
    sys.exit(main())

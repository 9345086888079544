#!/usr/bin/env python3
"""Side-by-side latency/throughput benchmark: Keel vs ONNX Runtime vs the model's own library.

Run from the repository root:

    python3 scripts/bench/compare_runtimes.py            # table on stdout
    python3 scripts/bench/compare_runtimes.py --json     # every figure as JSON on stdout

Everything runs on one thread and on the same models and rows.  The script

1. builds `keel` (`swift build -c release --product keel --scratch-path .build-bench`)
   unless `--keel PATH` is given;
2. trains the benchmark models (seeded) into `.bench/` and exports them to ONNX;
3. writes the held-out rows as an Open Inference Protocol v2 request body;
4. checks `keel predict` against the reference library on those rows;
5. measures single-row latency (p50/p99) and batch throughput for every
   (case x runtime) and prints the ratios against the targets.

Progress goes to stderr.  Exit status: 0 when every correctness check passed
(whatever the performance targets say), 1 when one failed or a measurement
errored.

Adding a case: write a function that returns a `Case` (keel model path, v2
input file, the rows as a float32 array, and a dict of reference `Runner`s)
and append it to `CASE_BUILDERS`.  `ort_runner()` makes an ONNX Runtime runner
for any .onnx file.
"""

from __future__ import annotations

import argparse
import functools
import gc
import importlib.metadata
import json
import math
import os
import platform
import statistics
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "scripts" / "fixtures"))
import churn_data  # noqa: E402

DEFAULT_WORKDIR = ROOT / ".bench"
BUILD_COMMAND = ["swift", "build", "-c", "release", "--product", "keel", "--scratch-path", ".build-bench"]
DEFAULT_KEEL = ROOT / ".build-bench" / "release" / "keel"

# Data: train on N_TRAIN generated customers, benchmark on N_ROWS held-out ones.
N_TRAIN, TRAIN_SEED = 20_000, 2024
N_ROWS, ROWS_SEED = 1_000, 7_777
N_FEATURES = len(churn_data.FEATURES)  # 22

N_TREES = 300
XGB_PARAMS = {
    "objective": "binary:logistic",
    "max_depth": 6,
    "eta": 0.05,
    "min_child_weight": 0.1,  # small, so most trees grow (close to) all 64 leaves
    "tree_method": "hist",
    "seed": 42,
    "nthread": 1,
}
LGB_PARAMS = {
    "objective": "binary",
    "num_leaves": 63,
    "learning_rate": 0.05,
    "min_data_in_leaf": 5,  # small, so every tree really has 63 leaves
    "min_sum_hessian_in_leaf": 1e-3,
    "seed": 42,
    "deterministic": True,
    "num_threads": 1,
    "verbose": -1,
}
ONNX_TARGET_OPSET = 15  # highest main opset onnxmltools 1.16 accepts; it emits ai.onnx.ml 1 tree ensembles

# Targets (ratios keel / others).
TARGET_SINGLE_P50_RATIO = 0.5  # keel single p50 / onnxruntime single p50 <= this
TARGET_BATCH_RATIO = 1.0  # keel batch rows/s / max(other runtimes) >= this

PACKAGES = ["numpy", "pandas", "scikit-learn", "xgboost", "lightgbm", "onnxruntime", "onnxmltools", "onnx", "skl2onnx"]


def log(msg: str) -> None:
    print(msg, file=sys.stderr, flush=True)


# --------------------------------------------------------------------------------------
# Case definitions
# --------------------------------------------------------------------------------------


@dataclass
class Runner:
    """A Python-side runtime for one model.

    `prepare(x)` turns a float32 [n, F] array into the call argument (done before timing);
    `call(arg)` is the timed call; `extract(result)` turns its result into the values that
    are compared with Keel (e.g. the positive-class probability per row).
    """

    call: Callable[[Any], Any]
    extract: Callable[[Any], np.ndarray]
    prepare: Callable[[np.ndarray], Any] = lambda x: x
    info: dict = field(default_factory=dict)


def probabilities_column(column: int, output: str = "probabilities") -> Callable[[dict], np.ndarray]:
    """Extracts column `column` of the named [n, k] output of a v2 response."""

    def extract(response: dict) -> np.ndarray:
        for out in response["outputs"]:
            if out["name"] == output:
                return np.asarray(out["data"], dtype=np.float64).reshape(out["shape"])[:, column]
        raise KeyError(f"no output {output!r} in keel's response")

    return extract


@dataclass
class Case:
    name: str
    keel_model: Path
    input_file: Path  # v2 request body holding `rows`
    rows: np.ndarray  # float32 [n, F], C-contiguous
    runners: dict[str, Runner]  # e.g. {"onnxruntime": ..., "xgboost": ...}
    reference: str  # the runner whose outputs Keel's are checked against
    keel_output: Callable[[dict], np.ndarray] = field(default_factory=lambda: probabilities_column(1))
    tolerance: float = 1e-5
    info: dict = field(default_factory=dict)


def write_v2_request(path: Path, rows: np.ndarray, input_name: str = "input") -> None:
    """Writes rows as a v2 request body; float32 values are written exactly (as doubles)."""
    request = {
        "inputs": [
            {
                "name": input_name,
                "shape": list(rows.shape),
                "datatype": "FP32",
                "data": rows.astype(np.float64).ravel().tolist(),
            }
        ]
    }
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(request, separators=(",", ":")) + "\n")


def ort_session(model: Path | bytes):
    import onnxruntime as ort

    so = ort.SessionOptions()
    so.intra_op_num_threads = 1
    so.inter_op_num_threads = 1
    so.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
    so.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
    src = str(model) if isinstance(model, Path) else model
    return ort.InferenceSession(src, sess_options=so, providers=["CPUExecutionProvider"])


def ort_runner(model: Path, extract_output: str = "probabilities", column: int | None = 1) -> Runner:
    """ONNX Runtime runner: fetches every output (as a server would), compares one of them."""
    sess = ort_session(model)
    input_name = sess.get_inputs()[0].name
    names = [o.name for o in sess.get_outputs()]
    index = names.index(extract_output)

    def extract(result: list) -> np.ndarray:
        out = np.asarray(result[index], dtype=np.float64)
        return out[:, column] if column is not None else out.reshape(len(out), -1)[:, 0]

    return Runner(
        call=lambda feed: sess.run(None, feed),
        extract=extract,
        prepare=lambda x: {input_name: x},
        info={"onnx_file": str(model.relative_to(ROOT) if model.is_relative_to(ROOT) else model)},
    )


def onnx_opsets(model) -> dict[str, int]:
    return {(op.domain or "ai.onnx"): op.version for op in model.opset_import}


def make_batch_dims_dynamic(model) -> list[str]:
    """Sets a fixed leading dimension of graph outputs to a symbolic one.

    onnxmltools' LightGBM converter declares `label` as shape [1]; ONNX Runtime then logs a
    shape-mismatch warning on every run with more than one row.  Only the declared shape changes.
    """
    fixed = []
    for out in model.graph.output:
        dims = out.type.tensor_type.shape.dim
        if len(dims) and dims[0].HasField("dim_value"):
            fixed.append(f"{out.name}[{dims[0].dim_value}]")
            dims[0].dim_param = "N"
    return fixed


@functools.cache
def churn_data_sets(workdir: Path) -> tuple[np.ndarray, np.ndarray, np.ndarray, Path]:
    """(X_train, y_train, rows, input_file) shared by the churn cases."""
    train = churn_data.generate(N_TRAIN, TRAIN_SEED, start_id=1)
    held_out = churn_data.generate(N_ROWS, ROWS_SEED, start_id=N_TRAIN + 1)
    X, y = churn_data.encode(train), train["churn"].to_numpy()
    rows = np.ascontiguousarray(churn_data.encode(held_out), dtype=np.float32)
    input_file = workdir / "inputs" / f"churn_{N_ROWS}.json"
    write_v2_request(input_file, rows)
    return X, y, rows, input_file


def churn_xgboost_case(workdir: Path) -> Case:
    import onnx
    import onnxmltools
    import xgboost as xgb
    from onnxmltools.convert.common.data_types import FloatTensorType

    X, y, rows, input_file = churn_data_sets(workdir)
    model_path = workdir / "models" / "churn_xgb.json"
    onnx_path = workdir / "models" / "churn_xgb.onnx"
    model_path.parent.mkdir(parents=True, exist_ok=True)

    trained = xgb.train(XGB_PARAMS, xgb.DMatrix(X, label=y), num_boost_round=N_TREES)
    trained.save_model(str(model_path))

    booster = xgb.Booster(model_file=str(model_path))
    booster.set_param({"nthread": 1})
    dump = booster.get_dump()
    leaves = [d.count("leaf=") for d in dump]

    onx = onnxmltools.convert_xgboost(
        booster, initial_types=[("input", FloatTensorType([None, N_FEATURES]))], target_opset=ONNX_TARGET_OPSET
    )
    fixed = make_batch_dims_dynamic(onx)
    onnx.checker.check_model(onx)
    onnx.save_model(onx, str(onnx_path))

    runners = {
        "onnxruntime": ort_runner(onnx_path),
        "xgboost": Runner(call=lambda x: booster.inplace_predict(x), extract=lambda r: np.asarray(r, np.float64)),
    }
    return Case(
        name="churn_xgb",
        keel_model=model_path,
        input_file=input_file,
        rows=rows,
        runners=runners,
        reference="xgboost",
        info={
            "model": f"XGBoost binary:logistic, {len(dump)} trees, max_depth {XGB_PARAMS['max_depth']}, "
            f"{statistics.mean(leaves):.1f} leaves/tree (min {min(leaves)}, max {max(leaves)})",
            "trees": len(dump),
            "mean_leaves": statistics.mean(leaves),
            "onnx_opsets": onnx_opsets(onx),
            "onnx_output_shapes_fixed": fixed,
        },
    )


def churn_lightgbm_case(workdir: Path) -> Case:
    import lightgbm as lgb
    import onnx
    import onnxmltools
    from onnxmltools.convert.common.data_types import FloatTensorType

    X, y, rows, input_file = churn_data_sets(workdir)
    model_path = workdir / "models" / "churn_lgbm.txt"
    onnx_path = workdir / "models" / "churn_lgbm.onnx"
    model_path.parent.mkdir(parents=True, exist_ok=True)

    trained = lgb.train(LGB_PARAMS, lgb.Dataset(X, label=y), num_boost_round=N_TREES)
    trained.save_model(str(model_path))

    booster = lgb.Booster(model_file=str(model_path))
    leaves = [t["num_leaves"] for t in booster.dump_model()["tree_info"]]

    onx = onnxmltools.convert_lightgbm(
        booster,
        initial_types=[("input", FloatTensorType([None, N_FEATURES]))],
        target_opset=ONNX_TARGET_OPSET,
        zipmap=False,
    )
    fixed = make_batch_dims_dynamic(onx)
    onnx.checker.check_model(onx)
    onnx.save_model(onx, str(onnx_path))

    runners = {
        "onnxruntime": ort_runner(onnx_path),
        "lightgbm": Runner(
            call=lambda x: booster.predict(x, num_threads=1), extract=lambda r: np.asarray(r, np.float64)
        ),
    }
    return Case(
        name="churn_lgbm",
        keel_model=model_path,
        input_file=input_file,
        rows=rows,
        runners=runners,
        reference="lightgbm",
        info={
            "model": f"LightGBM binary, {len(leaves)} trees, num_leaves {LGB_PARAMS['num_leaves']}, "
            f"{statistics.mean(leaves):.1f} leaves/tree (min {min(leaves)}, max {max(leaves)})",
            "trees": len(leaves),
            "mean_leaves": statistics.mean(leaves),
            "onnx_opsets": onnx_opsets(onx),
            "onnx_output_shapes_fixed": fixed,
        },
    )


# --- ONNX cases: scikit-learn models exported with skl2onnx, run by Keel's native ONNX runtime.

PIPELINE_NUMERIC = ["age", "income", "tenure_months", "monthly_charges", "total_charges"]
PIPELINE_CATEGORICAL = ["gender", "internet_service", "contract_type", "payment_method"]


def onnx_classifier_runner(model: Path, feed: Callable[[np.ndarray], dict], output: str) -> Runner:
    """ONNX Runtime on an skl2onnx classifier; compares column 1 of `output` (ZipMap or tensor)."""
    sess = ort_session(model)
    names = [o.name for o in sess.get_outputs()]
    index = names.index(output)

    def extract(result: list) -> np.ndarray:
        value = result[index]
        if isinstance(value, list):  # ZipMap: one {label: probability} per row
            return np.array([list(row.values())[1] for row in value], dtype=np.float64)
        return np.asarray(value, dtype=np.float64)[:, 1]

    return Runner(call=lambda f: sess.run(None, f), extract=extract, prepare=feed,
                  info={"onnx_file": str(model.relative_to(ROOT) if model.is_relative_to(ROOT) else model)})


def churn_frames(workdir: Path):
    train = churn_data.generate(N_TRAIN, TRAIN_SEED, start_id=1)
    held_out = churn_data.generate(N_ROWS, ROWS_SEED, start_id=N_TRAIN + 1)
    return train, held_out


def onnx_lr_pipeline_case(workdir: Path) -> Case:
    """ColumnTransformer(StandardScaler, OneHotEncoder) + LogisticRegression, 9 named inputs (4 strings)."""
    from sklearn.compose import ColumnTransformer
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import Pipeline
    from sklearn.preprocessing import OneHotEncoder, StandardScaler
    from skl2onnx import to_onnx
    from skl2onnx.common.data_types import FloatTensorType, StringTensorType

    train, held_out = churn_frames(workdir)
    pipe = Pipeline([
        ("pre", ColumnTransformer([("num", StandardScaler(), PIPELINE_NUMERIC),
                                   ("cat", OneHotEncoder(handle_unknown="ignore"), PIPELINE_CATEGORICAL)])),
        ("lr", LogisticRegression(max_iter=1000)),
    ])
    pipe.fit(train[PIPELINE_NUMERIC + PIPELINE_CATEGORICAL], train["churn"])
    types = [(c, FloatTensorType([None, 1])) for c in PIPELINE_NUMERIC] + [
        (c, StringTensorType([None, 1])) for c in PIPELINE_CATEGORICAL]
    onx = to_onnx(pipe, initial_types=types)
    onnx_path = workdir / "models" / "churn_lr_pipeline.onnx"
    onnx_path.parent.mkdir(parents=True, exist_ok=True)
    onnx_path.write_bytes(onx.SerializeToString())

    # rows: numeric columns as floats, categorical columns as codes into `levels` (for slicing).
    levels = {c: sorted(train[c].unique()) for c in PIPELINE_CATEGORICAL}
    columns = [held_out[c].to_numpy(np.float32) for c in PIPELINE_NUMERIC]
    columns += [np.array([levels[c].index(v) for v in held_out[c]], dtype=np.float32) for c in PIPELINE_CATEGORICAL]
    rows = np.ascontiguousarray(np.stack(columns, axis=1))

    def feed(x: np.ndarray) -> dict:
        out = {c: np.ascontiguousarray(x[:, i : i + 1]) for i, c in enumerate(PIPELINE_NUMERIC)}
        for j, c in enumerate(PIPELINE_CATEGORICAL):
            codes = x[:, len(PIPELINE_NUMERIC) + j].astype(int)
            out[c] = np.array([[levels[c][k]] for k in codes], dtype=object)
        return out

    inputs = []
    for name, value in feed(rows).items():
        is_text = value.dtype == object
        inputs.append({"name": name, "shape": list(value.shape), "datatype": "BYTES" if is_text else "FP32",
                       "data": [str(v) for v in value.ravel()] if is_text else value.astype(np.float64).ravel().tolist()})
    input_file = workdir / "inputs" / f"churn_pipeline_{N_ROWS}.json"
    input_file.parent.mkdir(parents=True, exist_ok=True)
    input_file.write_text(json.dumps({"inputs": inputs}, separators=(",", ":")) + "\n")

    def sklearn_call(frame):
        return pipe.predict_proba(frame)[:, 1]

    import pandas as pd

    return Case(
        name="onnx_lr_pipe",
        keel_model=onnx_path,
        input_file=input_file,
        rows=rows,
        runners={
            "onnxruntime": onnx_classifier_runner(onnx_path, feed, "output_probability"),
            "sklearn": Runner(call=sklearn_call, extract=lambda r: np.asarray(r, np.float64),
                              prepare=lambda x: pd.DataFrame({k: v.ravel() for k, v in feed(x).items()})),
        },
        reference="onnxruntime",
        keel_output=probabilities_column(1, "output_probability"),
        info={"model": "skl2onnx Pipeline(ColumnTransformer(StandardScaler, OneHotEncoder), LogisticRegression), "
                       f"{len(PIPELINE_NUMERIC)} FP32 + {len(PIPELINE_CATEGORICAL)} BYTES inputs, ZipMap",
              "onnx_opsets": onnx_opsets(onx)},
    )


def onnx_sklearn_matrix_case(name: str, estimator, description: str) -> Callable[[Path], Case]:
    """A scikit-learn classifier on the 22 encoded churn features, exported with skl2onnx."""

    def build(workdir: Path) -> Case:
        from skl2onnx import to_onnx

        X, y, rows, input_file = churn_data_sets(workdir)
        estimator.fit(X.astype(np.float32), y)
        onx = to_onnx(estimator, rows[:1], target_opset={"": 17, "ai.onnx.ml": 3})
        onnx_path = workdir / "models" / f"{name}.onnx"
        onnx_path.parent.mkdir(parents=True, exist_ok=True)
        onnx_path.write_bytes(onx.SerializeToString())
        input_name = onx.graph.input[0].name
        keel_input = workdir / "inputs" / f"churn_{N_ROWS}_{input_name}.json"
        write_v2_request(keel_input, rows, input_name)
        return Case(
            name=name,
            keel_model=onnx_path,
            input_file=keel_input,
            rows=rows,
            runners={
                "onnxruntime": onnx_classifier_runner(onnx_path, lambda x: {input_name: x}, "output_probability"),
                "sklearn": Runner(call=lambda x: estimator.predict_proba(x)[:, 1], extract=lambda r: np.asarray(r, np.float64)),
            },
            reference="onnxruntime",
            keel_output=probabilities_column(1, "output_probability"),
            info={"model": description, "onnx_opsets": onnx_opsets(onx)},
        )

    return build


def onnx_rf_case(workdir: Path) -> Case:
    from sklearn.ensemble import RandomForestClassifier

    rf = RandomForestClassifier(n_estimators=100, max_depth=8, random_state=0, n_jobs=1)
    return onnx_sklearn_matrix_case("onnx_rf", rf, "skl2onnx RandomForestClassifier, 100 trees, max_depth 8, ZipMap")(workdir)


def onnx_mlp_case(workdir: Path) -> Case:
    from sklearn.neural_network import MLPClassifier
    from sklearn.pipeline import Pipeline
    from sklearn.preprocessing import StandardScaler

    mlp = Pipeline([("scale", StandardScaler()),
                    ("mlp", MLPClassifier(hidden_layer_sizes=(100,), max_iter=200, random_state=0))])
    return onnx_sklearn_matrix_case("onnx_mlp", mlp, "skl2onnx StandardScaler + MLPClassifier(100,), relu, ZipMap")(workdir)


# Each builder takes the work folder and returns a Case.  Append new cases here.
CASE_BUILDERS: dict[str, Callable[[Path], Case]] = {
    "churn_xgb": churn_xgboost_case,
    "churn_lgbm": churn_lightgbm_case,
    "onnx_lr_pipe": onnx_lr_pipeline_case,
    "onnx_rf": onnx_rf_case,
    "onnx_mlp": onnx_mlp_case,
}


# --------------------------------------------------------------------------------------
# Measurement
# --------------------------------------------------------------------------------------


@dataclass
class Settings:
    single_calls: int
    single_rows: int
    single_warmup: int
    batch_rows: int
    batch_seconds: float
    batch_repeats: int


def percentile(sorted_values: list[float], p: float) -> float:
    """Same definition as `keel bench`: sorted[min(n - 1, floor(n * p))]."""
    return sorted_values[min(len(sorted_values) - 1, int(len(sorted_values) * p))]


def time_single_rows(runner: Runner, rows: np.ndarray, s: Settings) -> dict:
    args = [runner.prepare(np.ascontiguousarray(rows[i : i + 1])) for i in range(min(s.single_rows, len(rows)))]
    n = len(args)
    call = runner.call
    clock = time.perf_counter_ns
    for i in range(s.single_warmup):
        call(args[i % n])
    times = [0] * s.single_calls
    gc.collect()
    gc.disable()
    try:
        for i in range(s.single_calls):
            arg = args[i % n]
            t0 = clock()
            call(arg)
            times[i] = clock() - t0
    finally:
        gc.enable()
    us = sorted(t / 1000 for t in times)
    return {
        "calls": s.single_calls,
        "distinct_rows": n,
        "p50_us": round(percentile(us, 0.50), 2),
        "p99_us": round(percentile(us, 0.99), 2),
        "mean_us": round(statistics.fmean(us), 2),
    }


def time_batches(runner: Runner, rows: np.ndarray, s: Settings) -> dict:
    batch = np.ascontiguousarray(np.resize(rows, (s.batch_rows, rows.shape[1])), dtype=np.float32)
    arg = runner.prepare(batch)
    call = runner.call
    for _ in range(3):
        call(arg)
    clock = time.perf_counter_ns
    times: list[int] = []
    budget = int(s.batch_seconds * 1e9)
    start = clock()
    gc.collect()
    gc.disable()
    try:
        while clock() - start < budget or len(times) < 10:
            t0 = clock()
            call(arg)
            times.append(clock() - t0)
    finally:
        gc.enable()
    median_s = statistics.median(times) / 1e9
    return {
        "batch": s.batch_rows,
        "calls": len(times),
        "seconds": round((clock() - start) / 1e9, 2),
        "median_call_us": round(median_s * 1e6, 1),
        "rows_per_s": round(s.batch_rows / median_s),
    }


def keel_bench(keel: Path, case: Case, batch: int, iterations: int) -> dict:
    cmd = [
        str(keel), "bench",
        "--model", str(case.keel_model),
        "--input", str(case.input_file),
        "--batch", str(batch),
        "--iterations", str(iterations),
        "--threads", "1",
    ]  # fmt: skip
    proc = subprocess.run(cmd, check=False, capture_output=True, text=True)
    if proc.returncode != 0:
        raise RuntimeError(f"{' '.join(cmd)} exited {proc.returncode}: {proc.stderr.strip()[-500:]}")
    lines = [ln for ln in proc.stdout.splitlines() if ln.strip().startswith("{")]
    if not lines:
        raise RuntimeError(f"keel bench printed no JSON line: {proc.stdout[-500:]!r}")
    return json.loads(lines[-1])


def keel_single(keel: Path, case: Case, s: Settings) -> dict:
    r = keel_bench(keel, case, 1, s.single_calls)
    return {"calls": r["iterations"], "p50_us": r["p50_us"], "p99_us": r["p99_us"], "raw": r}


def keel_batches(keel: Path, case: Case, s: Settings) -> dict:
    # Calibrate, then size the runs so each lasts about batch_seconds.
    probe = keel_bench(keel, case, s.batch_rows, 10)
    calls_per_second = 1e6 / max(probe["p50_us"], 1e-3)
    iterations = int(min(max(math.ceil(s.batch_seconds * calls_per_second), 10), 1_000_000))
    runs = [keel_bench(keel, case, s.batch_rows, iterations) for _ in range(s.batch_repeats)]
    # Like the Python runtimes: rows/s = rows per call / median call time (keel's p50).
    median_call_us = statistics.median(r["p50_us"] for r in runs)
    return {
        "batch": s.batch_rows,
        "iterations": iterations,
        "repeats": len(runs),
        "median_call_us_runs": [r["p50_us"] for r in runs],
        "keel_rows_per_s_runs": [r["rows_per_s"] for r in runs],  # keel's own figure: all rows / wall time
        "median_call_us": median_call_us,
        "rows_per_s": round(s.batch_rows / (median_call_us / 1e6)),
    }


def keel_check(keel: Path, case: Case, expected: np.ndarray) -> dict:
    cmd = [str(keel), "predict", "--model", str(case.keel_model), "--input", str(case.input_file)]
    proc = subprocess.run(cmd, check=False, capture_output=True, text=True)
    if proc.returncode != 0:
        raise RuntimeError(f"keel predict exited {proc.returncode}: {proc.stderr.strip()[-500:]}")
    got = case.keel_output(json.loads(proc.stdout))
    return compare(got, expected, case.tolerance)


def compare(got: np.ndarray, expected: np.ndarray, tolerance: float) -> dict:
    got = np.asarray(got, dtype=np.float64).ravel()
    expected = np.asarray(expected, dtype=np.float64).ravel()
    if got.shape != expected.shape:
        return {"ok": False, "error": f"shape {got.shape} != {expected.shape}"}
    diff = np.abs(got - expected)
    worst = float(np.nanmax(diff)) if len(diff) else 0.0
    ok = bool(np.all(diff <= tolerance)) and not np.isnan(diff).any()
    return {"ok": ok, "max_abs_diff": worst, "rows": len(diff), "tolerance": tolerance}


def run_case(case: Case, keel: Path, s: Settings) -> dict:
    out: dict[str, Any] = {
        "name": case.name,
        "info": case.info,
        "keel_model": str(case.keel_model),
        "input_file": str(case.input_file),
        "runners": {name: r.info for name, r in case.runners.items()},
        "reference": case.reference,
        "results": {},
        "correctness": {},
    }
    expected = case.runners[case.reference].extract(
        case.runners[case.reference].call(case.runners[case.reference].prepare(case.rows))
    )

    log(f"[{case.name}] correctness")
    try:
        out["correctness"]["keel"] = keel_check(keel, case, expected)
    except Exception as e:  # noqa: BLE001 - reported, not fatal
        out["correctness"]["keel"] = {"ok": False, "error": str(e)}
    for name, runner in case.runners.items():
        if name != case.reference:
            got = runner.extract(runner.call(runner.prepare(case.rows)))
            out["correctness"][name] = compare(got, expected, case.tolerance)

    log(f"[{case.name}] keel: single rows, then batches of {s.batch_rows}")
    try:
        out["results"]["keel"] = {"single": keel_single(keel, case, s), "batch": keel_batches(keel, case, s)}
    except Exception as e:  # noqa: BLE001
        out["results"]["keel"] = {"error": str(e)}
    for name, runner in case.runners.items():
        log(f"[{case.name}] {name}: single rows, then batches of {s.batch_rows}")
        try:
            out["results"][name] = {
                "single": time_single_rows(runner, case.rows, s),
                "batch": time_batches(runner, case.rows, s),
            }
        except Exception as e:  # noqa: BLE001
            out["results"][name] = {"error": str(e)}
    out["ratios"] = ratios(out["results"])
    return out


def ratios(results: dict) -> dict:
    def get(runtime: str, kind: str, key: str) -> float | None:
        return results.get(runtime, {}).get(kind, {}).get(key)

    out: dict[str, Any] = {}
    keel_p50, ort_p50 = get("keel", "single", "p50_us"), get("onnxruntime", "single", "p50_us")
    if keel_p50 and ort_p50:
        value = keel_p50 / ort_p50
        out["single_p50_keel_over_onnxruntime"] = {
            "value": round(value, 3),
            "target": f"<= {TARGET_SINGLE_P50_RATIO}",
            "pass": value <= TARGET_SINGLE_P50_RATIO,
        }
    others = {k: get(k, "batch", "rows_per_s") for k in results if k != "keel"}
    others = {k: v for k, v in others.items() if v}
    keel_rate = get("keel", "batch", "rows_per_s")
    if keel_rate and others:
        best = max(others, key=others.get)
        value = keel_rate / others[best]
        out["batch_keel_over_best_other"] = {
            "value": round(value, 3),
            "best_other": best,
            "target": f">= {TARGET_BATCH_RATIO}",
            "pass": value >= TARGET_BATCH_RATIO,
        }
    return out


# --------------------------------------------------------------------------------------
# Environment
# --------------------------------------------------------------------------------------


def cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


def load_average() -> list[float]:
    try:
        return [round(v, 2) for v in os.getloadavg()]
    except OSError:
        return []


def command_output(cmd: list[str]) -> str | None:
    try:
        proc = subprocess.run(cmd, check=False, capture_output=True, text=True, cwd=ROOT, timeout=60)
    except (OSError, subprocess.TimeoutExpired):
        return None
    return proc.stdout.strip() if proc.returncode == 0 else None


def environment(keel: Path) -> dict:
    versions = {"python": platform.python_version()}
    for pkg in PACKAGES:
        try:
            versions[pkg] = importlib.metadata.version(pkg)
        except importlib.metadata.PackageNotFoundError:
            versions[pkg] = None
    swift = command_output(["swift", "--version"])
    versions["swift"] = swift.splitlines()[0] if swift else None
    head = command_output(["git", "rev-parse", "--short", "HEAD"])
    dirty = command_output(["git", "status", "--porcelain", "--", "Sources", "Package.swift", "Package.resolved"])
    return {
        "cpu": cpu_model(),
        "cpus": os.cpu_count(),
        "platform": platform.platform(),
        "versions": versions,
        "keel_binary": str(keel),
        "keel_binary_mtime": time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(keel.stat().st_mtime)),
        # The work tree now; with --keel the binary may have been built from something else.
        "work_tree_commit": (head + ("+local changes" if dirty else "")) if head else None,
    }


def build_keel() -> Path:
    log(f"building keel: {' '.join(BUILD_COMMAND)}")
    t0 = time.monotonic()
    proc = subprocess.run(BUILD_COMMAND, check=False, cwd=ROOT, stdout=sys.stderr, stderr=sys.stderr)
    if proc.returncode != 0:
        raise SystemExit(f"swift build failed (exit {proc.returncode})")
    log(f"build done in {time.monotonic() - t0:.0f} s")
    return DEFAULT_KEEL


# --------------------------------------------------------------------------------------
# Report
# --------------------------------------------------------------------------------------


def fmt(value: float | None, digits: int = 1) -> str:
    if value is None:
        return "error"
    return f"{value:,.{digits}f}" if digits else f"{value:,.0f}"


def print_report(report: dict) -> None:
    env = report["environment"]
    v = env["versions"]
    print(f"CPU: {env['cpu']} ({env['cpus']} logical CPUs), {env['platform']}")
    print("versions: " + ", ".join(f"{k} {val}" for k, val in v.items() if k != "swift"))
    print(
        f"keel: {env['keel_binary']} (built {env['keel_binary_mtime']}; work tree {env['work_tree_commit']}; "
        f"{v.get('swift')})"
    )
    print(f"load average: start {report['load_average']['start']}, end {report['load_average']['end']}")
    s = report["settings"]
    print(
        f"all runtimes on 1 thread. single: {s['single_calls']} timed one-row calls after warm-up; the Python "
        f"runtimes cycle {s['single_rows']} distinct rows, keel the rows `keel bench --batch 1` takes from the "
        f"same file (see README). batch: {s['batch_rows']} rows per call, repeated for >= {s['batch_seconds']} s "
        f"(keel: {s['batch_repeats']} runs); rows/s = {s['batch_rows']} / median call time"
    )
    print()

    header = f"{'model':<12} {'runtime':<12} {'single p50 µs':>14} {'single p99 µs':>14} {'batch-' + str(s['batch_rows']) + ' rows/s':>18}"
    print(header)
    print("-" * len(header))
    for case in report["cases"]:
        first = True
        for runtime, r in case["results"].items():
            single, batch = r.get("single", {}), r.get("batch", {})
            print(
                f"{case['name'] if first else '':<12} {runtime:<12} {fmt(single.get('p50_us')):>14} "
                f"{fmt(single.get('p99_us')):>14} {fmt(batch.get('rows_per_s'), 0):>18}"
            )
            first = False
    print()

    for case in report["cases"]:
        print(f"{case['name']}: {case['info'].get('model', '')}")
        opsets = case["info"].get("onnx_opsets")
        if opsets:
            print(f"  onnx export opsets: {opsets}")
        for runtime, r in case["results"].items():
            if "error" in r:
                print(f"  {runtime}: ERROR {r['error']}")
        for runtime, c in case["correctness"].items():
            if "error" in c:
                print(f"  correctness {runtime} vs {case['reference']}: ERROR {c['error']}")
            else:
                print(
                    f"  correctness {runtime} vs {case['reference']}: max |diff| {c['max_abs_diff']:.2e} over {c['rows']} rows "
                    f"(tol {c['tolerance']:g}) {'PASS' if c['ok'] else 'FAIL'}"
                )
        rt = case["ratios"]
        if "single_p50_keel_over_onnxruntime" in rt:
            r = rt["single_p50_keel_over_onnxruntime"]
            print(
                f"  keel single p50 / onnxruntime single p50 = {r['value']:.3f}  (target {r['target']})  {'PASS' if r['pass'] else 'FAIL'}"
            )
        if "batch_keel_over_best_other" in rt:
            r = rt["batch_keel_over_best_other"]
            others = ", ".join(k for k in case["results"] if k != "keel")
            print(
                f"  keel batch rows/s / max({others}) batch rows/s = {r['value']:.3f}  "
                f"[max: {r['best_other']}]  (target {r['target']})  {'PASS' if r['pass'] else 'FAIL'}"
            )
    print()


# --------------------------------------------------------------------------------------


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--keel", type=Path, help="use this keel binary instead of building one")
    ap.add_argument("--json", action="store_true", help="print every figure as JSON instead of the table")
    ap.add_argument("--json-out", type=Path, help="also write the JSON report to this file")
    ap.add_argument("--cases", nargs="+", choices=sorted(CASE_BUILDERS), help="run only these cases")
    ap.add_argument(
        "--workdir", type=Path, default=DEFAULT_WORKDIR, help="where models and inputs go (default .bench/)"
    )
    ap.add_argument("--single-calls", type=int, default=20_000, help="timed one-row calls per runtime")
    ap.add_argument(
        "--single-rows",
        type=int,
        default=N_ROWS,
        help="distinct rows the Python runtimes cycle through in the one-row test (default all)",
    )
    ap.add_argument("--batch-rows", type=int, default=1_000, help="rows per batch call")
    ap.add_argument("--batch-seconds", type=float, default=2.5, help="minimum time per batch measurement")
    ap.add_argument("--batch-repeats", type=int, default=3, help="keel bench runs per batch measurement (median)")
    ap.add_argument("--quick", action="store_true", help="smoke test: few calls, short batch runs")
    args = ap.parse_args(argv)

    settings = Settings(
        single_calls=args.single_calls,
        single_rows=args.single_rows,
        single_warmup=max(args.single_calls // 10, 100),
        batch_rows=args.batch_rows,
        batch_seconds=args.batch_seconds,
        batch_repeats=args.batch_repeats,
    )
    if args.quick:
        settings = Settings(
            single_calls=1_000,
            single_rows=args.single_rows,
            single_warmup=100,
            batch_rows=args.batch_rows,
            batch_seconds=0.3,
            batch_repeats=1,
        )

    keel = args.keel.resolve() if args.keel else build_keel()
    if not keel.is_file():
        raise SystemExit(f"no keel binary at {keel}")
    workdir = args.workdir.resolve()
    workdir.mkdir(parents=True, exist_ok=True)

    cases = []
    for name in args.cases or list(CASE_BUILDERS):
        log(f"[{name}] building models and inputs in {workdir}")
        cases.append(CASE_BUILDERS[name](workdir))

    report: dict[str, Any] = {
        "environment": environment(keel),
        "settings": settings.__dict__,
        "targets": {
            "single_p50_keel_over_onnxruntime": f"<= {TARGET_SINGLE_P50_RATIO}",
            "batch_keel_over_best_other": f">= {TARGET_BATCH_RATIO}",
        },
        "load_average": {"start": load_average()},
        "cases": [],
    }
    for case in cases:
        report["cases"].append(run_case(case, keel, settings))
    report["load_average"]["end"] = load_average()

    if args.json_out:
        args.json_out.write_text(json.dumps(report, indent=2) + "\n")
    if args.json:
        json.dump(report, sys.stdout, indent=2)
        print()
    else:
        print_report(report)

    failed = any(not c.get("ok", False) for case in report["cases"] for c in case["correctness"].values()) or any(
        "error" in r for case in report["cases"] for r in case["results"].values()
    )
    return 1 if failed else 0


if __name__ == "__main__":
    raise SystemExit(main())

#!/usr/bin/env python3
"""Drive a running Keel with the real client libraries, the way a user would.

* tritonclient.grpc: the same over inference.GRPCInferenceService, plus streaming, statistics and config.
* tritonclient.http (Triton's Python client): health, server/model metadata, repository
  index, inference with JSON and binary tensors (inputs and requested outputs), errors,
  unload/load through the repository extension.
* KServe Python SDK (kserve.InferenceRESTClient, InferRequest, InferInput): v2 readiness and
  inference (JSON and binary inputs), and its v1 client against Keel's records API; and its
  gRPC client (kserve.InferenceGRPCClient): readiness and inference.

Results are compared with models/churn/reference.json (xgboost's own predictions).
Prints one line per check and a closing 'N passed, N failed'; exits 1 on any failure.

    # against a running server
    python scripts/clients/check_clients.py --url 127.0.0.1:8080
    # or let the script start (and stop) one on a free loopback port
    python scripts/clients/check_clients.py --keel-bin .build-http/release/keel

Install the clients into their own venv (kserve pins pandas 2.x etc.):
    python3 -m venv ~/.venvs/keel-clients
    ~/.venvs/keel-clients/bin/pip install -r scripts/clients/requirements.txt
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import socket
import subprocess
import sys
import tempfile
import time
import traceback
import urllib.request
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[2]
MODEL = "churn"
ATOL, RTOL = 1e-6, 1e-5

RESULTS: list[tuple[str, str, str]] = []  # (status, name, detail)
# Load and unload need a deployer key: $KEEL_ADMIN_KEY, or the first admin key of the Keel this
# script starts (read from its data folder).
DEPLOYER: dict[str, str] = {}


def record(status: str, name: str, detail: str = "") -> None:
    RESULTS.append((status, name, detail))
    print(f"{status:<4} {name}" + (f": {detail}" if detail else ""), flush=True)


def check(name: str):
    """Decorator-ish runner: a check passes unless it raises."""
    def run(fn, *args, **kwargs):
        try:
            detail = fn(*args, **kwargs)
            record("PASS", name, detail or "")
            return True
        except Exception as e:  # noqa: BLE001 - every failure is reported, none stops the run
            msg = f"{type(e).__name__}: {e}"
            record("FAIL", name, msg.replace("\n", " | ")[:600])
            if os.environ.get("CHECK_CLIENTS_TRACE"):
                traceback.print_exc()
            return False
    return run


def note(name: str, detail: str) -> None:
    """Something a user would notice that is not counted as a failure."""
    record("NOTE", name, detail)


def _version(dist: str) -> str:
    try:
        from importlib.metadata import version
        return version(dist)
    except Exception:  # noqa: BLE001
        return "?"


def expect(cond: bool, msg: str) -> None:
    if not cond:
        raise AssertionError(msg)


def close(got: np.ndarray, want: np.ndarray, what: str) -> str:
    got = np.asarray(got, dtype=np.float64)
    want = np.asarray(want, dtype=np.float64)
    expect(got.shape == want.shape, f"{what}: shape {got.shape}, expected {want.shape}")
    err = float(np.max(np.abs(got - want))) if got.size else 0.0
    expect(np.allclose(got, want, atol=ATOL, rtol=RTOL), f"{what}: max |diff| {err:.3g} > tolerance")
    return f"max |diff| vs reference {err:.2g}"


# --------------------------------------------------------------------------- reference data
REF = json.loads((REPO / "models" / "churn" / "reference.json").read_text())
X_ALL = np.asarray(REF["inputs"], dtype=np.float32)
P_ALL = np.asarray(REF["expected"]["probabilities"], dtype=np.float64)
L_ALL = np.asarray(REF["expected"]["label"], dtype=np.int64)
X3, P3, L3 = X_ALL[:3], P_ALL[:3], L_ALL[:3]
RECORDS = json.loads((REPO / "models" / "churn" / "sample_records.json").read_text())["instances"]


# --------------------------------------------------------------------------- tritonclient
def triton_checks(url: str) -> None:
    import tritonclient.http as httpclient
    from tritonclient.utils import InferenceServerException

    print(f"\n== tritonclient.http {_version('tritonclient')} -> {url}", flush=True)
    client = httpclient.InferenceServerClient(url)

    def live():
        expect(client.is_server_live() is True, "is_server_live() is not True")
    check("triton is_server_live")(live)

    def ready():
        expect(client.is_server_ready() is True, "is_server_ready() is not True")
    check("triton is_server_ready")(ready)

    def model_ready():
        expect(client.is_model_ready(MODEL) is True, f"is_model_ready('{MODEL}') is not True")
        expect(client.is_model_ready("no-such-model") is False, "is_model_ready('no-such-model') is not False")
        return "churn True, no-such-model False"
    check("triton is_model_ready")(model_ready)

    def server_metadata():
        md = client.get_server_metadata()
        expect(isinstance(md.get("name"), str) and md["name"], f"no name: {md}")
        expect("version" in md, f"no version: {md}")
        expect("binary_tensor_data" in md.get("extensions", []), f"no binary_tensor_data extension: {md}")
        return json.dumps(md)
    check("triton get_server_metadata")(server_metadata)

    def model_metadata():
        md = client.get_model_metadata(MODEL)
        expect(md.get("name") == MODEL, f"name {md.get('name')!r}")
        ins = {t["name"]: t for t in md["inputs"]}
        outs = {t["name"]: t for t in md["outputs"]}
        expect(ins.get("input", {}).get("datatype") == "FP32", f"inputs {md['inputs']}")
        expect(list(ins["input"]["shape"]) == [-1, 22], f"input shape {ins['input']['shape']}")
        expect(outs.get("probabilities", {}).get("datatype") == "FP32", f"outputs {md['outputs']}")
        expect(list(outs["probabilities"]["shape"]) == [-1, 2], f"probabilities shape {outs['probabilities']['shape']}")
        expect(outs.get("label", {}).get("datatype") == "INT64", f"outputs {md['outputs']}")
        expect(md.get("versions"), f"no versions: {md}")
        return (f"versions {md['versions']}, platform {md.get('platform')!r}, inputs "
                f"{[(t['name'], t['datatype'], t['shape']) for t in md['inputs']]}, outputs "
                f"{[(t['name'], t['datatype'], t['shape']) for t in md['outputs']]}")
    check("triton get_model_metadata")(model_metadata)

    def repo_index():
        idx = client.get_model_repository_index()
        expect(isinstance(idx, list), f"not a list: {idx}")
        entry = next((e for e in idx if e.get("name") == MODEL), None)
        expect(entry is not None, f"{MODEL} not in index {idx}")
        expect(entry.get("state") == "READY", f"state {entry.get('state')!r}")
        return json.dumps(idx)
    check("triton get_model_repository_index")(repo_index)

    def infer(x: np.ndarray, binary_in: bool, binary_out: bool, outputs: bool = True):
        inp = httpclient.InferInput("input", list(x.shape), "FP32")
        inp.set_data_from_numpy(x, binary_data=binary_in)
        outs = None
        if outputs:
            outs = [httpclient.InferRequestedOutput("probabilities", binary_data=binary_out),
                    httpclient.InferRequestedOutput("label", binary_data=binary_out)]
        return client.infer(MODEL, inputs=[inp], outputs=outs, request_id="check-clients")

    def verify(res, n: int) -> str:
        p = res.as_numpy("probabilities")
        lab = res.as_numpy("label")
        expect(p is not None and lab is not None, f"missing outputs in {res.get_response()}")
        expect(p.dtype == np.float32, f"probabilities dtype {p.dtype}")
        expect(lab.dtype == np.int64, f"label dtype {lab.dtype}")
        expect(list(lab.shape) == [n], f"label shape {lab.shape}")
        expect(np.array_equal(lab, L_ALL[:n]), f"labels {lab.tolist()} != {L_ALL[:n].tolist()}")
        resp = res.get_response()
        expect(resp.get("model_name") == MODEL, f"model_name {resp.get('model_name')!r}")
        expect(resp.get("id") == "check-clients", f"id {resp.get('id')!r} not echoed")
        return close(p, P_ALL[:n], "probabilities")

    for binary_in, binary_out in [(False, False), (True, True), (False, True), (True, False)]:
        name = (f"triton infer [3,22] input {'binary' if binary_in else 'JSON'}, "
                f"outputs {'binary' if binary_out else 'JSON'}")
        check(name)(lambda bi=binary_in, bo=binary_out: verify(infer(X3, bi, bo), 3))

    def infer_default_outputs():
        # No outputs named: tritonclient asks for all of them in binary (binary_data_output).
        res = infer(X3, True, True, outputs=False)
        names = [o["name"] for o in res.get_response()["outputs"]]
        expect(sorted(names) == ["label", "probabilities"], f"outputs {names}")
        return verify(res, 3)
    check("triton infer, no requested outputs (all, binary)")(infer_default_outputs)

    check(f"triton infer [{len(X_ALL)},22] binary, whole reference set")(
        lambda: verify(infer(X_ALL, True, True), len(X_ALL)))

    def one_output():
        inp = httpclient.InferInput("input", [3, 22], "FP32")
        inp.set_data_from_numpy(X3, binary_data=True)
        res = client.infer(MODEL, [inp], outputs=[httpclient.InferRequestedOutput("probabilities", binary_data=True)])
        names = [o["name"] for o in res.get_response()["outputs"]]
        expect(names == ["probabilities"], f"outputs {names}")
        return close(res.as_numpy("probabilities"), P3, "probabilities")
    check("triton infer, only 'probabilities' requested")(one_output)

    def versioned():
        md = client.get_model_metadata(MODEL)
        v = md["versions"][-1]
        expect(client.is_model_ready(MODEL, model_version=v) is True, f"version {v} not ready")
        inp = httpclient.InferInput("input", [3, 22], "FP32")
        inp.set_data_from_numpy(X3, binary_data=True)
        res = client.infer(MODEL, [inp], model_version=v)
        return f"version {v}: " + close(res.as_numpy("probabilities"), P3, "probabilities")
    check("triton infer with model_version")(versioned)

    def concurrent():
        # Many small requests in flight at once (Keel's dynamic batcher may merge them):
        # every response must carry its own id and its own rows' results.
        cc = httpclient.InferenceServerClient(url, concurrency=16)
        try:
            pending = []
            for k in range(400):
                n = 1 + k % 3
                rows = [(k + j) % len(X_ALL) for j in range(n)]
                inp = httpclient.InferInput("input", [n, 22], "FP32")
                inp.set_data_from_numpy(X_ALL[rows], binary_data=bool(k % 2))
                pending.append((k, rows, cc.async_infer(MODEL, [inp], request_id=f"c{k}")))
            worst = 0.0
            for k, rows, fut in pending:
                res = fut.get_result()
                expect(res.get_response().get("id") == f"c{k}", f"request c{k}: id {res.get_response().get('id')!r}")
                p = res.as_numpy("probabilities").astype(np.float64)
                expect(p.shape == (len(rows), 2), f"request c{k}: shape {p.shape}")
                worst = max(worst, float(np.max(np.abs(p - P_ALL[rows]))))
                expect(np.allclose(p, P_ALL[rows], atol=ATOL, rtol=RTOL), f"request c{k}: rows {rows} got {p.tolist()}")
            return f"{len(pending)} requests of 1-3 rows, 16 in flight, JSON and binary: max |diff| {worst:.2g}"
        finally:
            cc.close()
    check("triton async_infer x400, concurrency 16")(concurrent)

    def raises(fn, what: str, status: str | None = None) -> str:
        try:
            fn()
        except InferenceServerException as e:
            expect(bool(e.message()), f"{what}: empty error message")
            if status is not None:
                expect(e.status() == status, f"{what}: status {e.status()!r}, expected {status!r} ({e.message()})")
            return f"InferenceServerException status {e.status()}: {e.message()}"
        raise AssertionError(f"{what}: no InferenceServerException")

    def unknown_model():
        inp = httpclient.InferInput("input", [3, 22], "FP32")
        inp.set_data_from_numpy(X3, binary_data=False)
        return raises(lambda: client.infer("no-such-model", [inp]), "infer on unknown model", "404")
    check("triton infer unknown model -> error")(unknown_model)

    check("triton get_model_metadata unknown model -> error")(
        lambda: raises(lambda: client.get_model_metadata("no-such-model"), "metadata of unknown model", "404"))

    def bad_shape():
        x = np.zeros((3, 21), dtype=np.float32)
        inp = httpclient.InferInput("input", [3, 21], "FP32")
        inp.set_data_from_numpy(x, binary_data=True)
        return raises(lambda: client.infer(MODEL, [inp]), "infer with [3,21]", "400")
    check("triton infer wrong shape [3,21] -> 400")(bad_shape)

    def bad_output():
        inp = httpclient.InferInput("input", [3, 22], "FP32")
        inp.set_data_from_numpy(X3, binary_data=False)
        return raises(lambda: client.infer(MODEL, [inp], outputs=[httpclient.InferRequestedOutput("nope")]),
                      "unknown requested output", "400")
    check("triton infer unknown requested output -> 400")(bad_output)

    def unload_load():
        try:
            client.unload_model(MODEL, headers=DEPLOYER)
            deadline = time.monotonic() + 10
            while client.is_model_ready(MODEL) and time.monotonic() < deadline:
                time.sleep(0.1)
            expect(client.is_model_ready(MODEL) is False, "still ready after unload_model")
            idx = {e["name"]: e for e in client.get_model_repository_index()}
            state_after_unload = idx.get(MODEL, {}).get("state")
            expect(MODEL in idx, "unloaded model vanished from the repository index")
            expect(state_after_unload != "READY", f"index still says {state_after_unload!r}")
            inp = httpclient.InferInput("input", [3, 22], "FP32")
            inp.set_data_from_numpy(X3, binary_data=True)
            err = raises(lambda: client.infer(MODEL, [inp]), "infer on unloaded model")
        finally:
            client.load_model(MODEL, headers=DEPLOYER)
        expect(client.is_model_ready(MODEL) is True, "not ready after load_model")
        idx = {e["name"]: e for e in client.get_model_repository_index()}
        expect(idx[MODEL].get("state") == "READY", f"index state after load {idx[MODEL].get('state')!r}")
        res = infer(X3, True, True)
        return (f"index state after unload {state_after_unload!r}; infer while unloaded -> {err}; "
                f"after load_model: READY, " + verify(res, 3))
    check("triton unload_model / load_model")(unload_load)

    # Triton's statistics and model-configuration extensions.
    def statistics():
        s = client.get_inference_statistics(MODEL)["model_stats"][0]
        expect(int(s["inference_count"]) > 0 and int(s["inference_stats"]["success"]["count"]) > 0, f"stats {s}")
        expect(s.get("batch_stats"), f"no batch_stats: {s}")
        return f"inference_count {s['inference_count']}, execution_count {s['execution_count']}"
    check("triton get_inference_statistics")(statistics)

    def config():
        c = client.get_model_config(MODEL)
        expect(c["name"] == MODEL and c["input"][0]["data_type"] == "TYPE_FP32" and c["input"][0]["dims"] == [22], f"config {c}")
        return f"max_batch_size {c['max_batch_size']}, backend {c['backend']}"
    check("triton get_model_config")(config)
    client.close()


# --------------------------------------------------------------------------- kserve
def kserve_checks(url: str) -> None:
    import kserve
    from kserve import InferenceRESTClient, InferInput, InferRequest, RESTConfig
    from kserve.protocol.infer_type import RequestedOutput

    base = f"http://{url}"
    print(f"\n== kserve {_version('kserve')} InferenceRESTClient -> {base}", flush=True)

    async def run() -> None:
        v2 = InferenceRESTClient(RESTConfig(protocol="v2", retries=1, timeout=10))
        try:
            await kserve_v2(v2)
        finally:
            await v2.close()
        v1 = InferenceRESTClient(RESTConfig(protocol="v1", retries=1, timeout=10))
        try:
            await kserve_v1(v1)
        finally:
            await v1.close()

    async def acheck(name: str, coro_fn) -> None:
        try:
            detail = await coro_fn()
            record("PASS", name, detail or "")
        except Exception as e:  # noqa: BLE001
            record("FAIL", name, f"{type(e).__name__}: {e}".replace("\n", " | ")[:600])
            if os.environ.get("CHECK_CLIENTS_TRACE"):
                traceback.print_exc()

    async def kserve_v2(c: InferenceRESTClient) -> None:
        async def live():
            expect(await c.is_server_live(base) is True, "is_server_live is not True")
        await acheck("kserve v2 is_server_live", live)

        async def ready():
            expect(await c.is_server_ready(base) is True, "is_server_ready is not True")
        await acheck("kserve v2 is_server_ready", ready)

        async def model_ready():
            expect(await c.is_model_ready(base, MODEL) is True, "is_model_ready(churn) is not True")
            expect(await c.is_model_ready(base, "no-such-model") is False, "is_model_ready(no-such-model) is not False")
            return "churn True, no-such-model False"
        await acheck("kserve v2 is_model_ready", model_ready)

        def request(binary: bool, outputs_binary: bool | None = None) -> InferRequest:
            inp = InferInput(name="input", shape=[3, 22], datatype="FP32")
            inp.set_data_from_numpy(X3, binary_data=binary)
            outs = None
            if outputs_binary is not None:
                outs = [RequestedOutput("probabilities", {"binary_data": outputs_binary}),
                        RequestedOutput("label", {"binary_data": outputs_binary})]
            return InferRequest(model_name=MODEL, infer_inputs=[inp], request_id="kserve-check",
                                request_outputs=outs)

        def verify(res) -> str:
            expect(res.model_name == MODEL, f"model_name {res.model_name!r}")
            expect(res.id == "kserve-check", f"id {res.id!r} not echoed")
            p = res.get_output_by_name("probabilities")
            lab = res.get_output_by_name("label")
            expect(p is not None and lab is not None, f"outputs {[o.name for o in res.outputs]}")
            expect(np.array_equal(lab.as_numpy(), L3), f"labels {lab.as_numpy().tolist()}")
            return close(p.as_numpy(), P3, "probabilities")

        for binary_in, binary_out in [(False, None), (True, None), (False, True), (True, True)]:
            name = (f"kserve v2 infer [3,22] input {'binary' if binary_in else 'JSON'}"
                    + ("" if binary_out is None else f", outputs binary_data={binary_out}"))
            await acheck(name, lambda bi=binary_in, bo=binary_out: _infer_verify(c, request(bi, bo), verify))

        async def unknown():
            import httpx
            try:
                await c.infer(base, request(False), model_name="no-such-model")
            except httpx.HTTPStatusError as e:
                expect(e.response.status_code == 404, f"status {e.response.status_code}")
                return str(e)
            raise AssertionError("no HTTPStatusError")
        await acheck("kserve v2 infer unknown model -> 404", unknown)

        note("kserve v2 model metadata",
             f"kserve.InferenceRESTClient (kserve {_version('kserve')}) has no model-metadata call; "
             "checked with tritonclient")

    async def _infer_verify(c, req, verify):
        return verify(await c.infer(base, req, model_name=MODEL))

    async def kserve_v1(c: InferenceRESTClient) -> None:
        async def predict():
            res = await c.infer(base, {"instances": RECORDS}, model_name=MODEL)
            preds = res["predictions"]
            expect(len(preds) == len(RECORDS), f"{len(preds)} predictions")
            ids = [p.get("customer_id") for p in preds]
            expect(ids == [r["customer_id"] for r in RECORDS], f"ids {ids}")
            # sample_records.json row 0 is reference row 0; compare all three against tritonclient-free v2 math:
            # the records API must agree with the v2 tensor path for the same customers.
            req = json.loads((REPO / "models" / "churn" / "sample_request.json").read_text())
            x = np.asarray(req["inputs"][0]["data"], dtype=np.float32).reshape(req["inputs"][0]["shape"])
            inp = InferInput(name="input", shape=list(x.shape), datatype="FP32")
            inp.set_data_from_numpy(x, binary_data=True)
            async with InferenceRESTClient(RESTConfig(protocol="v2", retries=1, timeout=10)) as v2:
                r2 = await v2.infer(base, InferRequest(model_name=MODEL, infer_inputs=[inp]), model_name=MODEL)
            p2 = r2.get_output_by_name("probabilities").as_numpy()[:, 1]
            p1 = np.asarray([p["probability"] for p in preds])
            expect(np.allclose(p1, p2, atol=ATOL, rtol=RTOL), f"records {p1} vs v2 {p2}")
            expect(abs(p1[0] - P_ALL[0][1]) < 1e-6, f"record 0 {p1[0]} vs reference {P_ALL[0][1]}")
            return json.dumps(preds[0])
        await acheck("kserve v1 infer (records API /v1/models/churn:predict)", predict)

        async def v1_ready():
            import httpx
            ok = await c.is_model_ready(base, MODEL)
            expect(ok is True, f"is_model_ready(churn) answered {ok!r}")
            try:
                other = await c.is_model_ready(base, "no-such-model")
                expect(other is False, f"is_model_ready(no-such-model) answered {other!r}")
            except httpx.HTTPStatusError as e:  # the SDK raises on anything but 2xx/503
                expect(e.response.status_code == 404, f"no-such-model: status {e.response.status_code}")
            return "churn True, no-such-model 404"
        await acheck("kserve v1 is_model_ready (GET /v1/models/{m})", v1_ready)

    asyncio.run(run())


# --------------------------------------------------------------------------- tritonclient.grpc
def triton_grpc_checks(url: str) -> None:
    import tritonclient.grpc as grpcclient
    from tritonclient.utils import InferenceServerException

    print(f"\n== tritonclient.grpc {_version('tritonclient')} -> {url}", flush=True)
    client = grpcclient.InferenceServerClient(url)

    check("grpc is_server_live")(lambda: expect(client.is_server_live() is True, "is_server_live() is not True"))
    check("grpc is_server_ready")(lambda: expect(client.is_server_ready() is True, "is_server_ready() is not True"))

    def model_ready():
        expect(client.is_model_ready(MODEL) is True, f"is_model_ready('{MODEL}') is not True")
        expect(client.is_model_ready("no-such-model") is False, "is_model_ready('no-such-model') is not False")
    check("grpc is_model_ready")(model_ready)

    def server_metadata():
        md = client.get_server_metadata(as_json=True)
        for ext in ["binary_tensor_data", "model_repository", "statistics", "model_configuration"]:
            expect(ext in md.get("extensions", []), f"no {ext} extension: {md}")
        return json.dumps(md)
    check("grpc get_server_metadata")(server_metadata)

    def model_metadata():
        md = client.get_model_metadata(MODEL, as_json=True)
        expect([i["name"] for i in md["inputs"]] == ["input"], f"inputs {md['inputs']}")
        expect(md["inputs"][0]["shape"] in (["-1", "22"], [-1, 22]), f"input shape {md['inputs'][0]['shape']}")
        return json.dumps(md)[:200]
    check("grpc get_model_metadata")(model_metadata)

    def infer(x, outputs=True):
        inp = grpcclient.InferInput("input", list(x.shape), "FP32")
        inp.set_data_from_numpy(x)
        outs = [grpcclient.InferRequestedOutput("probabilities"), grpcclient.InferRequestedOutput("label")] if outputs else None
        return client.infer(MODEL, inputs=[inp], outputs=outs, request_id="check-clients")

    def verify(res, n: int) -> str:
        p, lab = res.as_numpy("probabilities"), res.as_numpy("label")
        expect(p is not None and lab is not None, "missing outputs")
        expect(p.dtype == np.float32 and lab.dtype == np.int64, f"dtypes {p.dtype} {lab.dtype}")
        expect(np.array_equal(lab, L_ALL[:n]), f"labels {lab.tolist()} != {L_ALL[:n].tolist()}")
        resp = res.get_response(as_json=True)
        expect(resp.get("model_name") == MODEL and resp.get("id") == "check-clients", f"response {resp}")
        return close(p, P_ALL[:n], "probabilities")

    check("grpc infer [3,22] (raw_input_contents)")(lambda: verify(infer(X3), 3))
    check("grpc infer, no requested outputs")(lambda: verify(infer(X3, outputs=False), 3))
    check(f"grpc infer [{len(X_ALL)},22], whole reference set")(lambda: verify(infer(X_ALL), len(X_ALL)))

    def stream():
        import queue
        answers: "queue.Queue" = queue.Queue()
        client.start_stream(callback=lambda result, error: answers.put((result, error)))
        try:
            for i in range(5):
                inp = grpcclient.InferInput("input", [1, 22], "FP32")
                inp.set_data_from_numpy(X_ALL[i:i + 1])
                client.async_stream_infer(MODEL, [inp], request_id=f"s{i}")
            got = [answers.get(timeout=10) for _ in range(5)]
        finally:
            client.stop_stream()
        for i, (result, error) in enumerate(got):
            expect(error is None, f"stream answer {i}: {error}")
            expect(np.array_equal(result.as_numpy("label"), L_ALL[i:i + 1]), f"stream answer {i} label")
        return "5 answers in order"
    check("grpc start_stream / async_stream_infer x5")(stream)

    def bad(fn, want: str):
        try:
            fn()
        except InferenceServerException as e:
            expect(want in str(e.status()), f"status {e.status()!r}, expected {want}")
            return f"{e.status()}: {e.message()[:80]}"
        raise AssertionError("no error")

    def bad_shape():
        inp = grpcclient.InferInput("input", [3, 21], "FP32")
        inp.set_data_from_numpy(X3[:, :21])
        return client.infer(MODEL, [inp])
    check("grpc infer wrong shape -> INVALID_ARGUMENT")(lambda: bad(bad_shape, "INVALID_ARGUMENT"))
    def unknown_model():
        inp = grpcclient.InferInput("input", [1, 22], "FP32")
        inp.set_data_from_numpy(X3[:1])
        return client.infer("no-such-model", [inp])
    check("grpc infer unknown model -> NOT_FOUND")(lambda: bad(unknown_model, "NOT_FOUND"))

    def refused():
        return client.unload_model(MODEL, headers={"authorization": "Bearer keel_not_a_key"})
    check("grpc unload_model with a bad key -> UNAUTHENTICATED")(lambda: bad(refused, "UNAUTHENTICATED"))

    def statistics():
        st = client.get_inference_statistics(MODEL, as_json=True)
        s = st["model_stats"][0]
        expect(int(s["inference_count"]) >= 3 + len(X_ALL), f"inference_count {s['inference_count']}")
        expect(int(s["inference_stats"]["success"]["count"]) >= 4, f"success {s['inference_stats']['success']}")
        return f"inference_count {s['inference_count']}, execution_count {s['execution_count']}"
    check("grpc get_inference_statistics")(statistics)

    def config():
        c = client.get_model_config(MODEL, as_json=True)["config"]
        expect(c["name"] == MODEL and c["input"][0]["data_type"] == "TYPE_FP32", f"config {c}")
        return f"max_batch_size {c.get('max_batch_size')}, backend {c.get('backend')}"
    check("grpc get_model_config")(config)

    def repository():
        idx = client.get_model_repository_index(as_json=True)
        expect(any(m["name"] == MODEL for m in idx.get("models", [])), f"index {idx}")
        client.unload_model(MODEL, headers=DEPLOYER)
        expect(client.is_model_ready(MODEL) is False, "still ready after unload")
        client.load_model(MODEL, headers=DEPLOYER)
        expect(client.is_model_ready(MODEL) is True, "not ready after load")
        verify(infer(X3), 3)
    check("grpc repository index, unload_model / load_model")(repository)
    client.close()


def kserve_grpc_checks(url: str) -> None:
    from kserve import InferenceGRPCClient, InferInput, InferRequest

    print(f"\n== kserve {_version('kserve')} InferenceGRPCClient -> {url}", flush=True)

    async def run() -> None:
        c = InferenceGRPCClient(url, timeout=10, retries=2)  # grpcio refuses a retry policy of fewer than 2 attempts
        try:
            for name, fn in [("kserve grpc is_server_live", lambda: c.is_server_live()),
                             ("kserve grpc is_server_ready", lambda: c.is_server_ready())]:
                try:
                    expect(await fn() is True, "not True")
                    record("PASS", name)
                except Exception as e:  # noqa: BLE001
                    record("FAIL", name, f"{type(e).__name__}: {e}"[:400])
            try:
                expect(await c.is_model_ready(MODEL) is True, "is_model_ready(churn) is not True")
                record("PASS", "kserve grpc is_model_ready")
            except Exception as e:  # noqa: BLE001
                record("FAIL", "kserve grpc is_model_ready", f"{type(e).__name__}: {e}"[:400])
            try:
                inp = InferInput(name="input", shape=[3, 22], datatype="FP32")
                inp.set_data_from_numpy(X3)
                res = await c.infer(InferRequest(model_name=MODEL, infer_inputs=[inp], request_id="kserve-grpc"))
                expect(res.model_name == MODEL, f"model_name {res.model_name!r}")
                lab = res.get_output_by_name("label").as_numpy()
                expect(np.array_equal(lab, L3), f"labels {lab.tolist()}")
                record("PASS", "kserve grpc infer [3,22]", close(res.get_output_by_name("probabilities").as_numpy(), P3, "probabilities"))
            except Exception as e:  # noqa: BLE001
                record("FAIL", "kserve grpc infer [3,22]", f"{type(e).__name__}: {e}"[:400])
        finally:
            await c.close()

    asyncio.run(run())


# --------------------------------------------------------------------------- server handling
def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_ready(url: str, proc: subprocess.Popen | None, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc is not None and proc.poll() is not None:
            raise SystemExit(f"keel exited with {proc.returncode} before it was ready")
        try:
            with urllib.request.urlopen(f"http://{url}/v2/health/ready", timeout=2) as r:
                if r.status == 200:
                    return
        except OSError:
            pass
        time.sleep(0.2)
    raise SystemExit(f"keel at {url} not ready after {timeout:.0f} s")


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--url", default=os.environ.get("KEEL_URL", "127.0.0.1:8080"),
                    help="host:port of a running Keel (default $KEEL_URL or 127.0.0.1:8080)")
    ap.add_argument("--keel-bin", help="start this keel binary on a free loopback port (serving ./models) and stop it at the end")
    ap.add_argument("--grpc-url", default=os.environ.get("KEEL_GRPC_URL", "127.0.0.1:8001"),
                    help="host:port of its gRPC server (default $KEEL_GRPC_URL or 127.0.0.1:8001)")
    ap.add_argument("--skip", choices=["triton", "kserve", "grpc"], action="append", default=[])
    ap.add_argument("--kserve-only", action="store_true", help=argparse.SUPPRESS)
    args = ap.parse_args()

    proc = None
    tmp = None
    url = args.url
    grpc_url = args.grpc_url
    if args.keel_bin:
        tmp = tempfile.TemporaryDirectory(prefix="keel-clients-")
        url = f"127.0.0.1:{free_port()}"
        grpc_url = f"127.0.0.1:{free_port()}"
        log = open(Path(tmp.name) / "keel.log", "wb")
        proc = subprocess.Popen([args.keel_bin, "serve", "--host", "127.0.0.1", "--port", url.split(":")[1],
                                 "--grpc-port", grpc_url.split(":")[1],
                                 "--model-repository", str(REPO / "models"), "--data-dir", str(Path(tmp.name) / "data")],
                                cwd=REPO, stdout=log, stderr=subprocess.STDOUT)
        print(f"started {args.keel_bin} on {url} (pid {proc.pid})")
    try:
        wait_ready(url, proc)
        key = os.environ.get("KEEL_ADMIN_KEY")
        if key is None and tmp is not None:
            key_file = Path(tmp.name) / "data" / "admin-key"
            key = key_file.read_text().strip() if key_file.exists() else None
        if key:
            DEPLOYER["authorization"] = f"Bearer {key}"
        print(f"keel at {url} is ready; reference: models/churn/reference.json "
              f"({len(X_ALL)} rows, xgboost {REF['library_version']})")
        if "triton" not in args.skip and not args.kserve_only:
            try:
                triton_checks(url)
            except ImportError as e:
                record("FAIL", "import tritonclient.http", str(e))
        if "grpc" not in args.skip and not args.kserve_only:
            try:
                triton_grpc_checks(grpc_url)
            except ImportError as e:
                record("FAIL", "import tritonclient.grpc", str(e))
        if "kserve" not in args.skip and args.kserve_only:
            try:
                kserve_checks(url)
                if "grpc" not in args.skip:
                    kserve_grpc_checks(grpc_url)
            except ImportError as e:
                record("FAIL", "import kserve", str(e))
        elif "kserve" not in args.skip:
            # kserve and tritonclient each register the `inference.*` protobuf messages in the
            # process-wide descriptor pool, so the KServe checks run in a process of their own.
            cmd = [sys.executable, __file__, "--url", url, "--grpc-url", grpc_url, "--kserve-only"]
            cmd += [a for s in args.skip for a in ("--skip", s)]
            child = subprocess.run(cmd, capture_output=True, text=True, timeout=600)
            sys.stdout.write(child.stdout)
            sys.stderr.write(child.stderr)
            for line in child.stdout.splitlines():
                for status in ("PASS", "FAIL", "NOTE"):
                    if line.startswith(status + " "):
                        RESULTS.append((status, line[len(status) + 1:], ""))
            if child.returncode != 0 and not any(s == "FAIL" for s, _, _ in RESULTS):
                record("FAIL", "kserve checks", f"exited with {child.returncode}")

    finally:
        if proc is not None:
            proc.terminate()
            try:
                proc.wait(10)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
        if tmp is not None:
            tmp.cleanup()

    passed = sum(1 for s, _, _ in RESULTS if s == "PASS")
    failed = sum(1 for s, _, _ in RESULTS if s == "FAIL")
    notes = sum(1 for s, _, _ in RESULTS if s == "NOTE")
    print(f"\n{notes} notes")
    print(f"{passed} passed, {failed} failed")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())

#!/usr/bin/env python3
"""The seed documents' Python stack, in its fastest setup, serving the churn demo model.

FastAPI + uvicorn (uvloop, httptools), an `async def` handler, the same XGBoost model Keel
serves (models/churn/1/model.json) loaded as an xgboost.Booster with nthread=1.
`POST /predict` takes ONE raw customer record (the fields of models/churn/sample_records.json),
encodes it to the 22 model features exactly like scripts/fixtures/churn_data.py's `encode`
(a hand-written per-record equivalent, checked against `encode` at start-up when pandas is
importable) and returns {customer_id, label, probability, risk_band}.

Run (from the repo root), one worker, as scripts/bench/http.sh does:

    uvicorn --app-dir scripts/bench fastapi_churn:app --host 127.0.0.1 --port 8090 \
        --loop uvloop --http httptools --workers 1 --log-level warning

Environment: KEEL_CHURN_MODEL (default models/churn/1/model.json, relative to the repo root).
"""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path

import numpy as np
import xgboost as xgb
from fastapi import FastAPI
from pydantic import BaseModel

REPO = Path(__file__).resolve().parents[2]
MODEL_PATH = Path(os.environ.get("KEEL_CHURN_MODEL", REPO / "models" / "churn" / "1" / "model.json"))

# Same labels / threshold / risk bands as models/churn/config.yaml.
LABELS = ("stay", "churn")
RISK_BANDS = ((0.3, "low"), (0.6, "medium"))  # below -> name; otherwise "high"

CONTRACTS = ("month-to-month", "one year", "two year")
INTERNET = ("DSL", "Fiber optic", "No")
PAYMENTS = ("electronic check", "mailed check", "bank transfer", "credit card")


class Customer(BaseModel):
    customer_id: str
    age: float
    gender: str
    income: float
    tenure_months: float
    monthly_charges: float
    total_charges: float
    phone_service: str
    internet_service: str
    streaming_tv: str
    streaming_movies: str
    tech_support: str
    device_protection: str
    contract_type: str
    paperless_billing: str
    payment_method: str


class Prediction(BaseModel):
    customer_id: str
    label: str
    probability: float
    risk_band: str


def encode_one(c: Customer) -> np.ndarray:
    """One record -> float32 [1, 22], FEATURES order of churn_data.py (same rules as `encode`)."""
    yes = lambda v: 1.0 if v == "Yes" else 0.0  # noqa: E731
    row = [
        c.age,
        1.0 if c.gender == "Male" else 0.0,
        c.income,
        c.tenure_months,
        c.monthly_charges,
        c.total_charges,
        yes(c.phone_service),
        *(1.0 if c.internet_service == v else 0.0 for v in INTERNET),
        yes(c.streaming_tv),
        yes(c.streaming_movies),
        yes(c.tech_support),
        yes(c.device_protection),
        *(1.0 if c.contract_type == v else 0.0 for v in CONTRACTS),
        yes(c.paperless_billing),
        *(1.0 if c.payment_method == v else 0.0 for v in PAYMENTS),
    ]
    # encode() builds float64 columns and casts to float32 at the end: same here.
    return np.asarray([row], dtype=np.float64).astype(np.float32)


def risk_band(p: float) -> str:
    for below, name in RISK_BANDS:
        if p < below:
            return name
    return "high"


booster = xgb.Booster(params={"nthread": 1}, model_file=str(MODEL_PATH))
booster.set_param({"nthread": 1})


def predict_one(c: Customer) -> Prediction:
    p = float(booster.inplace_predict(encode_one(c))[0])  # P(churn), binary:logistic
    return Prediction(customer_id=c.customer_id, label=LABELS[int(p > 0.5)],
                      probability=p, risk_band=risk_band(p))


def _self_check() -> None:
    """Encoder == churn_data.encode on the sample records (skipped if pandas is missing)."""
    records = json.loads((REPO / "models" / "churn" / "sample_records.json").read_text())["instances"]
    mine = np.concatenate([encode_one(Customer(**r)) for r in records])
    try:
        import pandas as pd
        sys.path.insert(0, str(REPO / "scripts" / "fixtures"))
        from churn_data import encode  # type: ignore
    except ImportError:
        return
    ref = encode(pd.DataFrame(records))
    if not np.array_equal(mine, ref):
        raise SystemExit(f"fastapi_churn: encoder disagrees with churn_data.encode:\n{mine}\n{ref}")


_self_check()

app = FastAPI(title="churn (FastAPI baseline)", docs_url=None, redoc_url=None, openapi_url=None)


@app.post("/predict", response_model=Prediction)
async def predict(customer: Customer) -> Prediction:
    return predict_one(customer)


@app.get("/health")
async def health() -> dict:
    return {"status": "ok"}

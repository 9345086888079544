#!/usr/bin/env python3
"""Sends churn customers from a CSV to a running Keel as records-API traffic, and writes the
labels a "day" later would bring (entity_id,label,time) for `keel feedback send`.

  python3 scripts/demo/churn_traffic.py --server http://127.0.0.1:8080 \
      --data models/churn/holdout.csv --rows 1000 --labels labels.csv [--shift]

--shift makes the customers older, newer, pricier and on month-to-month fibre contracts (drift).
Python standard library only.
"""
import argparse
import csv
import datetime
import json
import urllib.request

NUMERIC = {"age", "income", "tenure_months", "monthly_charges", "total_charges"}


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--server", default="http://127.0.0.1:8080")
    ap.add_argument("--model", default="churn")
    ap.add_argument("--data", default="models/churn/holdout.csv")
    ap.add_argument("--rows", type=int, default=1000)
    ap.add_argument("--batch", type=int, default=100)
    ap.add_argument("--labels", default="labels.csv")
    ap.add_argument("--shift", action="store_true")
    a = ap.parse_args()

    rows = list(csv.DictReader(open(a.data)))[: a.rows]
    records, labels = [], []
    for r in rows:
        label = r.pop("churn", None)
        rec = {k: (float(v) if k in NUMERIC and v != "" else (None if k in NUMERIC else v)) for k, v in r.items()}
        if a.shift:
            rec["age"] = (rec["age"] or 40) + 15
            rec["monthly_charges"] = (rec["monthly_charges"] or 50) * 1.5
            rec["contract_type"] = "month-to-month"
            rec["internet_service"] = "Fiber optic"
            rec["payment_method"] = "electronic check"
            rec["tenure_months"] = round((rec["tenure_months"] or 10) * 0.3)
            rec["total_charges"] = (rec["total_charges"] or 100) * 2.5
            rec["tech_support"] = "Yes"
            rec["paperless_billing"] = "No"
        records.append(rec)
        labels.append((rec["customer_id"], "churn" if label == "1" else "stay"))

    for i in range(0, len(records), a.batch):
        body = json.dumps({"instances": records[i : i + a.batch]}).encode()
        req = urllib.request.Request(f"{a.server}/v1/models/{a.model}:predict", data=body, headers={"Content-Type": "application/json"})
        with urllib.request.urlopen(req) as resp:
            resp.read()
    # When the outcome became known: after the predictions (a real label comes hours or days
    # later; a minute is enough for the demo — a label joins the latest prediction before it).
    later = (datetime.datetime.now(datetime.timezone.utc) + datetime.timedelta(minutes=1)).strftime("%Y-%m-%dT%H:%M:%SZ")
    with open(a.labels, "w", newline="") as f:
        w = csv.writer(f)
        w.writerow(["entity_id", "label", "time"])
        for entity, label in labels:
            w.writerow([entity, label, later])
    print(f"sent {len(records)} predictions; labels in {a.labels}")


if __name__ == "__main__":
    main()

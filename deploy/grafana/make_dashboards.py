#!/usr/bin/env python3
"""Writes Keel's Grafana dashboards (deploy/grafana/dashboards/*.json) from the panel lists
below, so the JSON stays regular and every query is in one readable place. Standard library only.

  python3 deploy/grafana/make_dashboards.py          # rewrite the JSON files
  python3 deploy/grafana/make_dashboards.py --check  # exit 1 if the committed JSON differs

scripts/check/prometheus.sh evaluates every query below against a real Prometheus scraping a
real Keel and fails on any that errors or returns no series.
"""
import json
import pathlib
import sys

OUT = pathlib.Path(__file__).resolve().parent / "dashboards"
DS = {"type": "prometheus", "uid": "${datasource}"}
M = 'model=~"$model"'


def variables():
    return {"list": [
        {"name": "datasource", "label": "Data source", "type": "datasource", "query": "prometheus",
         "current": {}, "hide": 0, "refresh": 1, "options": []},
        {"name": "model", "label": "Model", "type": "query", "datasource": DS,
         "query": {"query": "label_values(keel_inference_requests_total, model)", "refId": "model"},
         "definition": "label_values(keel_inference_requests_total, model)",
         "refresh": 2, "includeAll": True, "multi": True, "allValue": ".+", "current": {}, "hide": 0, "sort": 1, "options": []},
    ]}


class Board:
    def __init__(self, uid, title, description):
        self.uid, self.title, self.description = uid, title, description
        self.panels = []
        self.y = 0
        self.x = 0
        self.row_height = 0

    def row(self, title):
        self.newline()
        self.panels.append({"type": "row", "title": title, "collapsed": False, "panels": [],
                            "gridPos": {"h": 1, "w": 24, "x": 0, "y": self.y}, "id": len(self.panels) + 1})
        self.y += 1

    def newline(self):
        if self.x:
            self.y += self.row_height
            self.x = 0
            self.row_height = 0

    def panel(self, kind, title, targets, unit="short", w=12, h=8, description="", options=None, min_=None, max_=None,
              thresholds=None):
        if self.x + w > 24:
            self.newline()
        steps = [{"color": "blue", "value": None}] + [{"color": c, "value": v} for v, c in (thresholds or [])]
        defaults = {"unit": unit, "thresholds": {"mode": "absolute", "steps": steps}}
        if kind == "timeseries":
            defaults["custom"] = {"drawStyle": "line", "lineWidth": 2, "fillOpacity": 10, "showPoints": "never",
                                  "axisLabel": unit_label(unit), "axisPlacement": "auto"}
        if min_ is not None:
            defaults["min"] = min_
        if max_ is not None:
            defaults["max"] = max_
        p = {
            "id": len(self.panels) + 1, "type": kind, "title": title, "description": description, "datasource": DS,
            "gridPos": {"h": h, "w": w, "x": self.x, "y": self.y},
            "fieldConfig": {"defaults": defaults, "overrides": []},
            "options": options or default_options(kind),
            "targets": [dict(refId=chr(65 + i), datasource=DS, expr=e, legendFormat=l, range=kind != "table",
                             instant=kind == "table") for i, (e, l) in enumerate(targets)],
        }
        if kind == "table":
            p["transformations"] = [{"id": "merge", "options": {}}]
        self.panels.append(p)
        self.x += w
        self.row_height = max(self.row_height, h)

    def json(self, tags):
        return {
            "uid": self.uid, "title": self.title, "description": self.description, "tags": tags,
            "editable": True, "graphTooltip": 1, "schemaVersion": 39, "version": 1, "refresh": "30s",
            "time": {"from": "now-6h", "to": "now"}, "timezone": "utc", "fiscalYearStartMonth": 0,
            "liveNow": False, "weekStart": "", "templating": variables(), "annotations": {"list": []},
            "links": [{"title": "Keel dashboards", "type": "dashboards", "tags": ["keel"], "asDropdown": False}],
            "panels": self.panels,
        }


def unit_label(unit):
    return {"reqps": "requests/s", "s": "seconds", "percentunit": "ratio", "percent": "percent of traffic",
            "short": "", "rowsps": "rows/s"}.get(unit, "")


def default_options(kind):
    if kind == "timeseries":
        return {"legend": {"displayMode": "table", "placement": "bottom", "calcs": ["lastNotNull", "max"]},
                "tooltip": {"mode": "multi", "sort": "desc"}}
    if kind == "stat":
        return {"reduceOptions": {"calcs": ["lastNotNull"], "fields": "", "values": False},
                "colorMode": "value", "graphMode": "area", "textMode": "auto", "orientation": "auto"}
    if kind == "bargauge":
        return {"reduceOptions": {"calcs": ["lastNotNull"], "fields": "", "values": False},
                "orientation": "horizontal", "displayMode": "basic", "showUnfilled": True}
    return {"showHeader": True, "cellHeight": "sm"}


def overview():
    b = Board("keel-overview", "Keel / Overview", "Traffic, errors, latency, batching and rollout arms of the models Keel serves.")
    b.row("Traffic")
    b.panel("stat", "Models ready", [(f"min by (model) (keel_model_ready{{{M}}})", "{{model}}")], w=6, h=5,
            description="1: the model serves; 0: it is known but cannot (keel_model_ready).", min_=0, max_=1,
            thresholds=[(1, "green")])
    b.panel("stat", "Requests/s", [(f"sum(rate(keel_inference_requests_total{{{M}}}[$__rate_interval]))", "requests/s")],
            unit="reqps", w=6, h=5)
    b.panel("stat", "Server error ratio (5 m)", [(f"max(model:keel_inference_errors:ratio_rate5m{{{M}}})", "errors")],
            unit="percentunit", w=6, h=5, thresholds=[(0.02, "orange")])
    b.panel("stat", "p95 latency (5 m)", [(f"max(model:keel_inference_request_duration_seconds:p95_5m{{{M}}})", "p95")],
            unit="s", w=6, h=5, thresholds=[(0.25, "orange")])
    b.panel("timeseries", "Requests/s by model and version",
            [(f"sum by (model, version) (rate(keel_inference_requests_total{{{M}}}[$__rate_interval]))", "{{model}} v{{version}}")],
            unit="reqps", description="Every protocol (v2 REST, records API, gRPC).")
    b.panel("timeseries", "Rows/s by model and version",
            [(f"sum by (model, version) (rate(keel_inference_rows_total{{{M}}}[$__rate_interval]))", "{{model}} v{{version}}")],
            unit="rowsps", description="Rows scored: a request may carry many.")
    b.panel("timeseries", "Traffic share by version and arm",
            [(f"max by (model, version, arm) (keel_rollout_weight{{{M}}})", "{{model}} v{{version}} {{arm}}")],
            unit="percent", min_=0, max_=100,
            description="During a rollout or experiment: the percent of live traffic each version gets (shadow: percent copied).")
    b.panel("timeseries", "Requests/s by HTTP route and status",
            [("sum by (route, status) (rate(keel_http_requests_total[$__rate_interval]))", "{{route}} {{status}}")], unit="reqps")
    b.panel("timeseries", "gRPC calls/s by method and code",
            [("sum by (method, code) (rate(keel_grpc_requests_total[$__rate_interval]))", "{{method}} {{code}}")], unit="reqps")
    b.panel("timeseries", "In-flight requests",
            [(f"sum by (model, version) (keel_inference_in_flight{{{M}}})", "{{model}} v{{version}}")])
    b.row("Errors")
    b.panel("timeseries", "Server error ratio by version (5 m)",
            [(f"model_version:keel_inference_errors:ratio_rate5m{{{M}}}", "{{model}} v{{version}}")],
            unit="percentunit", min_=0, description="internal, timeout and unavailable failures over all requests.",
            thresholds=[(0.02, "orange")])
    b.panel("timeseries", "Failures/s by reason",
            [(f'sum by (model, version, reason) (rate(keel_inference_requests_total{{{M}, status="failure"}}[$__rate_interval]))',
              "{{model}} v{{version}} {{reason}}")], unit="reqps",
            description="Client errors (invalid_input, not_found) included; they do not count in the error ratio.")
    b.row("Latency")
    for q, name in [(0.5, "p50"), (0.95, "p95"), (0.99, "p99")]:
        b.panel("timeseries", f"Request duration {name} by version",
                [(f"histogram_quantile({q}, sum by (model, version, le) (rate(keel_inference_request_duration_seconds_bucket{{{M}}}[$__rate_interval])))",
                  "{{model}} v{{version}}")], unit="s", w=8, thresholds=[(0.25, "orange")] if name == "p95" else None)
    b.panel("timeseries", "Queue time p95 by version",
            [(f"histogram_quantile(0.95, sum by (model, version, le) (rate(keel_inference_queue_duration_seconds_bucket{{{M}}}[$__rate_interval])))",
              "{{model}} v{{version}}")], unit="s", w=8, description="Waiting in the dynamic batcher before execution.")
    b.panel("timeseries", "Compute time p95 by version",
            [(f"histogram_quantile(0.95, sum by (model, version, le) (rate(keel_inference_compute_duration_seconds_bucket{{{M}}}[$__rate_interval])))",
              "{{model}} v{{version}}")], unit="s", w=8, description="The engine's execution of one batch.")
    b.panel("timeseries", "Route duration p95 (5 m)",
            [("route:keel_http_request_duration_seconds:p95_5m", "{{method}} {{route}}")], unit="s", w=8)
    b.row("Batching")
    b.panel("timeseries", "Mean batch size by version (5 m)",
            [(f"model_version:keel_inference_batch_size:mean5m{{{M}}}", "{{model}} v{{version}}")], unit="short", w=8)
    b.panel("timeseries", "Batch size p50 / p99",
            [(f"histogram_quantile(0.5, sum by (le) (rate(keel_inference_batch_size_bucket{{{M}}}[$__rate_interval])))", "p50"),
             (f"histogram_quantile(0.99, sum by (le) (rate(keel_inference_batch_size_bucket{{{M}}}[$__rate_interval])))", "p99")],
            unit="short", w=8)
    b.panel("timeseries", "Executions/s by version",
            [(f"sum by (model, version) (rate(keel_inference_executions_total{{{M}}}[$__rate_interval]))", "{{model}} v{{version}}")],
            unit="short", w=8, description="Engine calls: requests/s over executions/s is the batching factor.")
    return b.json(["keel", "serving"])


def health():
    b = Board("keel-model-health", "Keel / Model health", "Drift, live quality, rollouts and batch jobs of one model.")
    b.row("Drift")
    b.panel("stat", "Dataset drift", [(f"max by (model, version) (keel_dataset_drift{{{M}}})", "{{model}} v{{version}}")],
            w=6, h=5, min_=0, max_=1, thresholds=[(1, "orange")], description="1: the share of drifting columns is over the dataset threshold.")
    b.panel("stat", "Drifting share of columns", [(f"max by (model, version) (keel_drift_share{{{M}}})", "{{model}} v{{version}}")],
            unit="percentunit", w=6, h=5)
    b.panel("timeseries", "Prediction-score drift", [(f'max by (model, version, method) (keel_drift_score{{{M}, scope="prediction"}})',
                                                     "{{model}} v{{version}} {{method}}")], w=12, h=5)
    b.panel("bargauge", "Drift score per column (raw fields)",
            [(f'max by (column, method) (keel_drift_score{{{M}, scope="raw"}})', "{{column}} ({{method}})")], w=12, h=10,
            description="Each column's statistic against the training reference (method chosen per column).")
    b.panel("table", "Columns and verdicts",
            [(f'max by (model, version, column, method) (keel_drift_detected{{{M}, scope="raw"}})', "")], w=12, h=10,
            description="1: drifted.")
    b.row("Live quality")
    b.panel("timeseries", "Live quality (ranking and accuracy)",
            [(f'max by (model, version, metric) (keel_quality{{{M}, metric=~"roc_auc|pr_auc|accuracy|f1|precision|recall"}})',
              "{{model}} v{{version}} {{metric}}")], unit="percentunit", min_=0, max_=1)
    b.panel("timeseries", "Live quality (losses)",
            [(f'max by (model, version, metric) (keel_quality{{{M}, metric=~"log_loss|brier.*|mae|rmse"}})',
              "{{model}} v{{version}} {{metric}}")], unit="short")
    b.panel("timeseries", "Labelled and unmatched feedback",
            [(f"max by (model, version) (keel_labelled_predictions{{{M}}})", "{{model}} v{{version}} labelled"),
             (f"max by (model, version) (keel_feedback_unmatched{{{M}}})", "{{model}} v{{version}} unmatched")], w=8)
    b.panel("stat", "Outside quality limits", [(f"max by (model, version) (keel_quality_below_floor{{{M}}})", "{{model}} v{{version}}")],
            w=8, min_=0, max_=1, thresholds=[(1, "orange")], description="1: a floor or ceiling of monitoring.quality is broken.")
    b.panel("timeseries", "Prediction log: written and dropped rows/s",
            [("sum(rate(keel_prediction_log_written_total[$__rate_interval]))", "written"),
             ("sum(rate(keel_prediction_log_dropped_total[$__rate_interval]))", "dropped")], unit="rowsps", w=8)
    b.row("Rollouts")
    b.panel("timeseries", "Rollout weights", [(f"max by (model, version, arm) (keel_rollout_weight{{{M}}})", "{{model}} v{{version}} {{arm}}")],
            unit="percent", min_=0, max_=100)
    b.panel("bargauge", "Controller decisions (last 24 h)",
            [(f"sum by (model, decision) (increase(keel_rollout_decisions_total{{{M}}}[24h]))", "{{model}} {{decision}}")],
            description="step, paused, promoted, rolled_back, taken by the rollout controller.")
    b.row("Batch jobs")
    b.panel("bargauge", "Jobs by state", [("max by (state) (keel_batch_jobs)", "{{state}}")], w=8)
    b.panel("timeseries", "Batch rows/s", [(f"sum by (model) (rate(keel_batch_rows_total{{{M}}}[$__rate_interval]))", "{{model}}"),
                                           ("max(keel_batch_rows_per_second)", "queue-wide")], unit="rowsps", w=8)
    b.panel("timeseries", "Batch rows pending", [("max(keel_batch_rows_pending)", "pending")], w=8)
    return b.json(["keel", "monitoring"])


def main():
    boards = {"keel-overview.json": overview(), "keel-model-health.json": health()}
    check = "--check" in sys.argv[1:]
    stale = []
    for name, board in boards.items():
        text = json.dumps(board, indent=2, ensure_ascii=False) + "\n"
        path = OUT / name
        if check:
            if not path.exists() or path.read_text() != text:
                stale.append(name)
        else:
            OUT.mkdir(parents=True, exist_ok=True)
            path.write_text(text)
    if stale:
        print("dashboards differ from make_dashboards.py (run it): " + ", ".join(stale), file=sys.stderr)
        sys.exit(1)


if __name__ == "__main__":
    main()

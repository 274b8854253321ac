"""``/metrics`` (:mod:`fsctl.serving.metrics`): a small FastAPI app with a templated route,
driven with starlette's TestClient, then ``/metrics`` parsed as Prometheus would: requests
counted by route template, method and status (unmatched paths as ``other``, a crash as
500), durations in a histogram, predictions, missing and expired feature values, the
prediction log's counters, the content type, and one registry per app.
"""

from __future__ import annotations

import warnings
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.responses import JSONResponse, StreamingResponse
from prometheus_client.parser import text_string_to_metric_families

from fsctl.scoring.log import LogStats
from fsctl.serving.metrics import DURATION_BUCKETS, ServerMetrics, add_metrics

with warnings.catch_warnings():  # starlette's notice about its httpx-based client
    warnings.simplefilter("ignore")
    from fastapi.testclient import TestClient


def build_app() -> tuple[FastAPI, ServerMetrics]:
    app = FastAPI()

    @app.get("/health")
    def health() -> dict[str, str]:
        return {"status": "ok"}

    @app.post("/models/{name}/predict")
    def predict(name: str) -> JSONResponse:
        if name == "missing":
            return JSONResponse({"detail": "no such model"}, status_code=404)
        return JSONResponse({"model": name})

    @app.get("/crash")
    def crash() -> None:
        raise RuntimeError("boom")

    @app.get("/stream")
    def stream() -> StreamingResponse:
        return StreamingResponse(iter([b"a", b"b", b"c"]), media_type="text/plain")

    metrics = ServerMetrics()
    add_metrics(app, metrics)
    return app, metrics


@pytest.fixture
def served() -> Iterator[tuple[TestClient, ServerMetrics]]:
    app, metrics = build_app()
    with TestClient(app, raise_server_exceptions=False) as client:
        yield client, metrics


def scrape(client: TestClient) -> dict[str, list[Any]]:
    """``/metrics`` parsed: sample name -> [(labels, value)]."""
    response = client.get("/metrics")
    assert response.status_code == 200
    samples: dict[str, list[Any]] = {}
    for family in text_string_to_metric_families(response.text):
        for sample in family.samples:
            samples.setdefault(sample.name, []).append((sample.labels, sample.value))
    return samples


def value(samples: dict[str, list[Any]], name: str, **labels: str) -> float:
    matches = [v for found, v in samples.get(name, []) if all(found.get(k) == w for k, w in labels.items())]
    assert len(matches) == 1, (name, labels, samples.get(name))
    return float(matches[0])


def test_requests_are_counted_by_route_template_method_and_status(served: Any) -> None:
    client, _ = served
    for name in ("churn", "eta", "churn"):
        assert client.post(f"/models/{name}/predict").status_code == 200
    assert client.post("/models/missing/predict").status_code == 404
    assert client.get("/health").status_code == 200
    assert client.get("/nowhere/at/all").status_code == 404
    assert client.get("/no/such/path").status_code == 404
    assert client.get("/models/churn/predict").status_code == 405
    assert client.get("/crash").status_code == 500
    assert client.get("/stream").text == "abc"

    samples = scrape(client)
    requests = {
        (labels["endpoint"], labels["method"], labels["status"]): v
        for labels, v in samples["fsctl_requests_total"]
    }
    assert requests == {
        ("/models/{name}/predict", "POST", "200"): 3,
        ("/models/{name}/predict", "POST", "404"): 1,
        ("/models/{name}/predict", "GET", "405"): 1,
        ("/health", "GET", "200"): 1,
        ("other", "GET", "404"): 2,
        ("/crash", "GET", "500"): 1,
        ("/stream", "GET", "200"): 1,
    }
    # no raw path is a label value
    assert not any("churn" in str(labels) for labels, _ in samples["fsctl_requests_total"])

    endpoint = "/models/{name}/predict"
    assert value(samples, "fsctl_request_duration_seconds_count", endpoint=endpoint) == 5
    assert value(samples, "fsctl_request_duration_seconds_count", endpoint="other") == 2
    assert value(samples, "fsctl_request_duration_seconds_bucket", endpoint=endpoint, le="+Inf") == 5
    assert 0 < value(samples, "fsctl_request_duration_seconds_sum", endpoint=endpoint) < 5
    buckets = [float(labels["le"]) for labels, _ in samples["fsctl_request_duration_seconds_bucket"]]
    assert sorted(set(buckets)) == [*DURATION_BUCKETS, float("inf")]

    # the scrape itself is counted by the next one
    again = scrape(client)
    assert value(again, "fsctl_requests_total", endpoint="/metrics", method="GET", status="200") == 1


def test_the_content_type_is_the_prometheus_text_format(served: Any) -> None:
    client, _ = served
    response = client.get("/metrics")
    assert response.headers["content-type"] == "text/plain; version=0.0.4; charset=utf-8"
    assert "# TYPE fsctl_requests_total counter" in response.text
    assert "# TYPE fsctl_request_duration_seconds histogram" in response.text


def test_predictions_and_their_stages(served: Any) -> None:
    client, metrics = served
    metrics.observe_prediction("churn", "prod", 3, rows=10, lookup_seconds=0.002, model_seconds=0.03)
    metrics.observe_prediction("churn", "prod", 3, rows=5, lookup_seconds=0.004, model_seconds=2.0)
    metrics.observe_prediction("churn", None, 4, rows=1, lookup_seconds=0.001, model_seconds=0.0001)

    samples = scrape(client)
    assert value(samples, "fsctl_predictions_total", model="churn", alias="prod", version="3") == 15
    assert value(samples, "fsctl_predictions_total", model="churn", alias="", version="4") == 1
    lookup = {"model": "churn", "version": "3", "stage": "lookup"}
    model = {"model": "churn", "version": "3", "stage": "model"}
    assert value(samples, "fsctl_prediction_duration_seconds_count", **lookup) == 2
    assert value(samples, "fsctl_prediction_duration_seconds_sum", **lookup) == pytest.approx(0.006)
    assert value(samples, "fsctl_prediction_duration_seconds_bucket", **lookup, le="0.0025") == 1
    assert value(samples, "fsctl_prediction_duration_seconds_bucket", **lookup, le="0.005") == 2
    assert value(samples, "fsctl_prediction_duration_seconds_bucket", **model, le="1.0") == 1
    assert value(samples, "fsctl_prediction_duration_seconds_bucket", **model, le="2.5") == 2


def test_missing_and_expired_feature_values_are_counted_per_feature(served: Any) -> None:
    client, metrics = served
    names = ["conv_rate", "trips", "balance"]
    statuses = [
        ["present", "missing", "missing", "expired"],
        ["present", "present", "present", "present"],
        ["expired", "expired", "missing", "present"],
    ]
    metrics.observe_features(statuses, names)
    metrics.observe_features([["missing"], ["present"], ["present"]], names)

    counted = {
        (labels["feature"], labels["status"]): v for labels, v in scrape(client)["fsctl_feature_values_total"]
    }
    assert counted == {
        ("conv_rate", "missing"): 3,
        ("conv_rate", "expired"): 1,
        ("balance", "expired"): 2,
        ("balance", "missing"): 1,
    }


@dataclass
class Stats:
    current: LogStats


def test_the_prediction_log_counters(served: Any) -> None:
    client, metrics = served
    samples = scrape(client)
    assert value(samples, "fsctl_prediction_log_rows_total", outcome="written") == 0
    assert "fsctl_prediction_log_pending_rows" not in samples  # no log watched

    stats = Stats(
        LogStats(written_rows=120, written_files=2, failed_writes=1, dropped_rows=0, pending_rows=7)
    )
    metrics.watch_log(lambda: stats.current)
    samples = scrape(client)
    assert value(samples, "fsctl_prediction_log_rows_total", outcome="written") == 120
    assert value(samples, "fsctl_prediction_log_rows_total", outcome="dropped") == 0
    assert value(samples, "fsctl_prediction_log_failed_writes_total") == 1
    assert value(samples, "fsctl_prediction_log_pending_rows") == 7

    stats.current = LogStats(
        written_rows=130, written_files=3, failed_writes=1, dropped_rows=4, pending_rows=0
    )
    samples = scrape(client)  # read again at each scrape
    assert value(samples, "fsctl_prediction_log_rows_total", outcome="written") == 130
    assert value(samples, "fsctl_prediction_log_rows_total", outcome="dropped") == 4
    assert value(samples, "fsctl_prediction_log_pending_rows") == 0


def test_each_app_has_its_own_registry() -> None:
    first, _ = build_app()
    second, _ = build_app()  # a second app in the same process: no "Duplicated timeseries"
    with TestClient(first) as one, TestClient(second) as two:
        one.get("/health")
        one.get("/health")
        two.get("/health")
        assert value(scrape(one), "fsctl_requests_total", endpoint="/health") == 2
        assert value(scrape(two), "fsctl_requests_total", endpoint="/health") == 1


def test_metrics_is_not_in_the_openapi_document(served: Any) -> None:
    client, _ = served
    paths = client.get("/openapi.json").json()["paths"]
    assert "/metrics" not in paths
    assert "/models/{name}/predict" in paths

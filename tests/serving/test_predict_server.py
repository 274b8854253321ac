"""``POST /models/{name}/predict`` on the real ``fsctl serve`` (a subprocess, spoken to with
httpx): predictions from the online features of the version's bound service, the version
that answered on every row, choosing the version by path, body and header, the missing
feature policy, every error as one 4xx ``detail``, ``/metrics`` and the OpenAPI document.

The example repo's models are ``python://model_code.churn:v1`` / ``:v2``; the expected
values come from calling those functions on the features ``/get-online-features`` returns.
Driver 1001 and customer 2001 are fresh; driver 1002 is expired (see tests/support/server.py).
"""

from __future__ import annotations

import importlib.util
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType
from typing import Any

import httpx
import pandas as pd
import pytest
from prometheus_client.parser import text_string_to_metric_families

from tests.support.server import Server, serving_repo, start_server

pytestmark = pytest.mark.slow

V1 = ["conv_rate", "acc_rate", "avg_daily_trips", "current_balance"]


@pytest.fixture(scope="module")
def repo(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return serving_repo(tmp_path_factory.mktemp("predict") / "example_repo")


@pytest.fixture(scope="module")
def server(repo: Path) -> Iterator[Server]:
    running = start_server(repo)
    yield running
    running.stop()


@pytest.fixture(scope="module")
def client(server: Server) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=server.url, timeout=30) as http:
        yield http


def churn(repo: Path) -> ModuleType:
    spec = importlib.util.spec_from_file_location("churn_reference", repo / "model_code" / "churn.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def online_features(client: httpx.Client, service: str, entities: dict[str, list[Any]]) -> pd.DataFrame:
    body = client.post("/get-online-features", json={"feature_service": service, "entities": entities}).json()
    names = body["metadata"]["feature_names"]
    columns = {name: result["values"] for name, result in zip(names, body["results"], strict=True)}
    return pd.DataFrame({k: v for k, v in columns.items() if k not in entities})


def predict(client: httpx.Client, path: str, body: dict[str, Any], **headers: str) -> httpx.Response:
    return client.post(f"/models/{path}/predict", json=body, headers=headers)


def test_default_alias_predicts_from_the_online_features(client: httpx.Client, repo: Path) -> None:
    entities = {"driver_id": [1001], "customer_id": [2001]}
    response = predict(client, "churn_classifier", {"entities": entities, "request_id": "req-1"})
    assert response.status_code == 200, response.text
    body = response.json()
    expected = churn(repo).v1(online_features(client, "driver_activity_v1", entities)[V1])
    assert body == {
        "model": "churn_classifier",
        "request_id": "req-1",
        "registry_version": 1,
        "predictions": [
            {
                "entity": {"driver_id": 1001, "customer_id": 2001},
                "alias": "Production",  # the first protected alias
                "version": 1,
                "outputs": {"churn_probability": expected[0]},  # named by v1's signature
            }
        ],
    }


def test_alias_in_the_path_version_in_the_body_and_the_test_header(client: httpx.Client, repo: Path) -> None:
    entities = {"driver_id": [1001, 1001], "customer_id": [2001, 2001]}
    v2 = churn(repo).v2(online_features(client, "driver_activity_v2", entities))
    by_path = predict(client, "churn_classifier@Challenger", {"entities": entities}).json()
    by_body = predict(client, "churn_classifier", {"entities": entities, "version": 2}).json()
    by_header = predict(client, "churn_classifier", {"entities": entities}, **{"X-Fsctl-Alias": "Challenger"}).json()
    for body, alias in ((by_path, "Challenger"), (by_body, "Challenger"), (by_header, "Challenger")):
        assert [p["version"] for p in body["predictions"]] == [2, 2]
        assert [p["alias"] for p in body["predictions"]] == [alias, alias]
        assert [p["outputs"] for p in body["predictions"]] == [{"prediction": v} for v in v2]
    by_version_header = predict(client, "churn_classifier", {"entities": entities}, **{"X-Fsctl-Version": "1"})
    assert {p["version"] for p in by_version_header.json()["predictions"]} == {1}
    # the body wins over the header
    both = predict(client, "churn_classifier", {"entities": entities, "alias": "Production"}, **{"X-Fsctl-Alias": "Challenger"})
    assert {p["version"] for p in both.json()["predictions"]} == {1}


def test_an_expired_feature_is_a_424_naming_the_row_and_the_feature(client: httpx.Client) -> None:
    response = predict(client, "churn_classifier", {"entities": {"driver_id": [1001, 1002], "customer_id": [2001, 2001]}})
    assert response.status_code == 424
    detail = response.json()["detail"]
    assert "model churn_classifier v1 (Production) needs every feature" in detail
    assert "conv_rate (expired) for driver_id=1002, customer_id=2001" in detail
    assert "missing_features: null" in detail
    # a feature whose value is too old may still be used when the request says so
    ignored = predict(client, "churn_classifier", {"entities": {"driver_id": [1002], "customer_id": [2001]}, "ignore_ttl": True})
    assert ignored.status_code == 200, ignored.text


@pytest.mark.parametrize(
    ("path", "body", "headers", "status", "words"),
    [
        ("nope", {"entities": {"driver_id": [1]}}, {}, 404, "model 'nope' is not in the registry"),
        ("churn_classifier@Staging", {"entities": {"driver_id": [1001]}}, {}, 400, "has no alias 'Staging'"),
        ("churn_classifier", {"entities": {"driver_id": [1001]}, "version": 9}, {}, 400, "has no version 9"),
        ("churn_classifier", {"entities": {"driver_id": [1001]}, "alias": "Production", "version": 1}, {}, 400, "not both"),
        ("churn_classifier", {"entities": {"customer_id": [2001]}}, {}, 400, "driver_id"),
        ("churn_classifier", {"entities": {"driver_id": [1001, 1002], "customer_id": [2001]}}, {}, 400, "lengths"),
        ("churn_classifier", {"entities": {"driver_id": [None]}}, {}, 422, "entities.driver_id"),
        ("churn_classifier", {"entities": {}}, {}, 422, "entities"),
        ("churn_classifier", {"entity": {"driver_id": [1]}}, {}, 422, "entity"),
        ("churn_classifier", {"entities": {"driver_id": [1001]}}, {"X-Fsctl-Version": "two"}, 400, "X-Fsctl-Version"),
        ("bad name!", {"entities": {"driver_id": [1001]}}, {}, 422, "name"),
    ],
)
def test_bad_requests_are_4xx_with_one_message(
    client: httpx.Client, path: str, body: Any, headers: dict[str, str], status: int, words: str
) -> None:
    response = predict(client, path, body, **headers)
    assert response.status_code == status, response.text
    detail = response.json()["detail"]
    assert isinstance(detail, str) and "\n" not in detail and words in detail


def test_a_body_that_is_not_json_and_too_many_rows(client: httpx.Client) -> None:
    response = client.post("/models/churn_classifier/predict", content=b"{not json")
    assert response.status_code == 400 and "JSON" in response.json()["detail"]
    rows = list(range(10_001))
    response = predict(client, "churn_classifier", {"entities": {"driver_id": rows, "customer_id": rows}})
    assert response.status_code == 413 and "at most 10,000" in response.json()["detail"]


def test_metrics_count_predictions_per_version_and_feature_misses(client: httpx.Client) -> None:
    predict(client, "churn_classifier@Challenger", {"entities": {"driver_id": [1001], "customer_id": [2001]}})
    predict(client, "churn_classifier", {"entities": {"driver_id": [1002], "customer_id": [2001]}})  # 424
    response = client.get("/metrics")
    assert response.status_code == 200 and response.headers["content-type"].startswith("text/plain")
    samples = [s for family in text_string_to_metric_families(response.text) for s in family.samples]

    def value(name: str, **labels: str) -> float:
        return sum(s.value for s in samples if s.name == name and all(s.labels.get(k) == v for k, v in labels.items()))

    assert value("fsctl_predictions_total", model="churn_classifier", version="2", alias="Challenger") >= 1
    assert value("fsctl_requests_total", endpoint="/models/{name}/predict", status="424") >= 1
    assert value("fsctl_request_duration_seconds_count", endpoint="/models/{name}/predict") >= 2
    assert value("fsctl_prediction_duration_seconds_count", model="churn_classifier", version="2", stage="model") >= 1


def test_openapi_describes_the_prediction_endpoint(client: httpx.Client) -> None:
    spec = client.get("/openapi.json").json()
    operation = spec["paths"]["/models/{name}/predict"]["post"]
    schema = operation["requestBody"]["content"]["application/json"]["schema"]
    assert set(schema["properties"]) == {"entities", "alias", "version", "request_id", "ignore_ttl"}
    assert {"200", "400", "404", "413", "422", "424", "503"} <= set(operation["responses"])
    health = client.get("/health").json()
    assert health["prediction_log"] is None and health["models_loaded"] >= 1

"""The HTTP feature server: the real ``fsctl serve`` in a subprocess on a free port, spoken
to with httpx as a Feast client would, plus ``create_app`` under starlette's TestClient for
the failures that need a broken store.

Checks Feast's request and response shapes (join keys first; PRESENT / NOT_FOUND /
OUTSIDE_MAX_AGE), feature services, every 4xx with one ``detail`` message, OpenAPI, the
health check, and a clean exit 0 on SIGTERM and SIGINT.
"""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import time
import warnings
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import httpx
import pytest

from fsctl.errors import RegistryError, StoreError
from fsctl.online.base import OnlineRecord, OnlineView
from fsctl.online.memory import MemoryOnlineStore
from fsctl.services.online import OnlineReader
from fsctl.workspace import open_workspace
from tests.cli.conftest import fsctl_env
from tests.support.s3 import free_port
from tests.support.server import FRESH, STALE, ZERO, Server, fill, iso, serving_repo, start_server, views

pytestmark = pytest.mark.slow

@pytest.fixture(scope="module")
def repo(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The example repo, applied, with two drivers and a customer in its SQLite online store."""
    return serving_repo(tmp_path_factory.mktemp("serve") / "example_repo")


@pytest.fixture(scope="module")
def server(repo: Path) -> Iterator[Server]:
    running = start_server(repo)
    yield running
    running.stop()


@pytest.fixture(scope="module")
def client(server: Server) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=server.url, timeout=10) as http:
        yield http


def post(client: httpx.Client, body: Any) -> httpx.Response:
    return client.post("/get-online-features", json=body)


# -- happy paths ----------------------------------------------------------------------------


def test_health_reports_the_registry_version(client: httpx.Client, repo: Path) -> None:
    response = client.get("/health")
    assert response.status_code == 200
    body = response.json()
    assert body["status"] == "ok"
    assert body["project"] == "driver_ranking"
    assert body["registry_version"] == 1
    assert body["online_store"] == str(repo / "data" / "online.db")


def test_features_in_feasts_shape(client: httpx.Client) -> None:
    response = post(
        client,
        {
            "features": ["driver_hourly_stats:conv_rate", "driver_hourly_stats:avg_daily_trips"],
            "entities": {"driver_id": [1001, 1002, 9999]},
        },
    )
    assert response.status_code == 200, response.text
    assert response.headers["content-type"] == "application/json"
    assert response.json() == {
        "metadata": {"feature_names": ["driver_id", "conv_rate", "avg_daily_trips"]},
        "results": [
            {"values": [1001, 1002, 9999], "statuses": ["PRESENT"] * 3, "event_timestamps": [ZERO] * 3},
            {
                "values": [0.5, None, None],
                "statuses": ["PRESENT", "OUTSIDE_MAX_AGE", "NOT_FOUND"],
                "event_timestamps": [iso(FRESH), iso(STALE), ZERO],
            },
            {
                "values": [12, None, None],
                "statuses": ["PRESENT", "OUTSIDE_MAX_AGE", "NOT_FOUND"],
                "event_timestamps": [iso(FRESH), iso(STALE), ZERO],
            },
        ],
    }


def test_feature_service_full_names_and_ignore_ttl(client: httpx.Client) -> None:
    response = post(
        client,
        {
            "feature_service": "driver_activity_v1",
            "entities": {"driver_id": [1002], "customer_id": ["2001"]},
            "full_feature_names": True,
            "ignore_ttl": True,
        },
    )
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["metadata"]["feature_names"] == [
        "driver_id",
        "customer_id",
        "driver_hourly_stats__conv_rate",
        "driver_hourly_stats__acc_rate",
        "driver_hourly_stats__avg_daily_trips",
        "customer_profile__current_balance",
    ]
    # "2001" comes back as the key's dtype (int64, read from the source by plan), as Feast converts it
    assert [r["values"] for r in body["results"]] == [[1002], [2001], [0.7], [0.8], [5], [10.5]]
    assert [r["statuses"][0] for r in body["results"][2:]] == ["OUTSIDE_MAX_AGE"] * 3 + ["PRESENT"]


def test_a_key_written_as_text_is_the_same_key(client: httpx.Client) -> None:
    as_int = post(client, {"features": ["driver_hourly_stats:conv_rate"], "entities": {"driver_id": [1001]}})
    as_text = post(client, {"features": ["driver_hourly_stats:conv_rate"], "entities": {"driver_id": [" 1001"]}})
    assert as_int.status_code == as_text.status_code == 200, as_text.text
    assert as_int.json() == as_text.json() and as_int.json()["results"][1]["statuses"] == ["PRESENT"]


def test_a_body_posted_without_a_json_content_type(client: httpx.Client) -> None:
    # curl -d, as in Feast's examples, sends application/x-www-form-urlencoded.
    response = client.post(
        "/get-online-features",
        content=b'{"features": ["driver_hourly_stats:conv_rate"], "entities": {"driver_id": [1001]}}',
        headers={"content-type": "application/x-www-form-urlencoded"},
    )
    assert response.status_code == 200, response.text
    assert response.json()["results"][1]["values"] == [0.5]


def test_responses_do_not_wait_for_delayed_acks(client: httpx.Client) -> None:
    # Without TCP_NODELAY on the listening socket's connections, every response took ~44 ms
    # (Nagle's algorithm against the client's delayed ACK); a read takes well under 5 ms.
    body = {"features": ["driver_hourly_stats:conv_rate"], "entities": {"driver_id": [1001]}}
    times = []
    for _ in range(30):
        started = time.perf_counter()
        assert post(client, body).status_code == 200
        times.append(time.perf_counter() - started)
    assert sorted(times)[len(times) // 2] < 0.02


def test_openapi_documents_the_endpoint(client: httpx.Client) -> None:
    spec = client.get("/openapi.json").json()
    post_op = spec["paths"]["/get-online-features"]["post"]
    schema = post_op["requestBody"]["content"]["application/json"]["schema"]
    assert {"features", "feature_service", "entities", "full_feature_names", "ignore_ttl"} <= set(
        schema["properties"]
    )
    assert "/health" in spec["paths"]
    assert client.get("/docs").status_code == 200


# -- bad requests -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("body", "status", "message"),
    [
        (
            {"features": ["driver_hourly_stats:conv"], "entities": {"driver_id": [1]}},
            400,
            "has no feature 'conv'",
        ),
        (
            {"features": ["nope:conv_rate"], "entities": {"driver_id": [1]}},
            400,
            "feature view 'nope' is not in",
        ),
        (
            {"feature_service": "nope", "entities": {"driver_id": [1]}},
            400,
            "feature service 'nope' is not in",
        ),
        (
            {"feature_service": "driver_activity_v1", "entities": {"driver_id": [1, 2], "customer_id": [3]}},
            400,
            "different lengths: driver_id has 2, customer_id has 1",
        ),
        (
            {"feature_service": "driver_activity_v1", "entities": {"driver_id": [1]}},
            400,
            "no value for join key 'customer_id' of feature view 'customer_profile'",
        ),
        (
            {
                "features": ["driver_hourly_stats:conv_rate"],
                "feature_service": "x",
                "entities": {"driver_id": [1]},
            },
            422,
            "name the features one way: give exactly one of features | feature_service | model",
        ),
        (
            {"entities": {"driver_id": [1]}},
            422,
            "name the features one way: give exactly one of features | feature_service | model",
        ),
        ({"features": ["driver_hourly_stats:conv_rate"]}, 422, "entities: required field is missing"),
        (
            {"features": ["driver_hourly_stats:conv_rate"], "entities": {"driver_id": 1}},
            422,
            "entities.driver_id",
        ),
        ([1, 2], 422, "request body"),
        # a key value that cannot be the key's dtype (int64, read from the source) is no "missing"
        (
            {"features": ["driver_hourly_stats:conv_rate"], "entities": {"driver_id": ["abc"]}},
            400,
            "join key 'driver_id' is int64, and 'abc' is not an integer",
        ),
        (
            {"features": ["driver_hourly_stats:conv_rate"], "entities": {"driver_id": [1001, 10.5]}},
            400,
            "entity row 2: join key 'driver_id' is int64, and 10.5 (float) is not an integer",
        ),
        (
            {"features": ["driver_hourly_stats:conv_rate"], "entities": {"driver_id": [True]}},
            400,
            "True (bool) is not an integer",
        ),
    ],
)
def test_bad_requests_get_one_clear_message(
    client: httpx.Client, body: Any, status: int, message: str
) -> None:
    response = post(client, body)
    assert response.status_code == status, response.text
    detail = response.json()["detail"]
    assert isinstance(detail, str) and "\n" not in detail
    assert message in detail


@pytest.mark.parametrize("raw", [b"{not json", b"", b"\xff\xfe"])
def test_malformed_json_is_400(client: httpx.Client, raw: bytes) -> None:
    response = client.post("/get-online-features", content=raw, headers={"content-type": "application/json"})
    assert response.status_code == 400
    assert response.json()["detail"].startswith("the request body is not valid JSON")


# -- processes --------------------------------------------------------------------------------


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGINT])
def test_a_signal_stops_the_server_cleanly(repo: Path, sig: int) -> None:
    running = start_server(repo)
    assert httpx.get(f"{running.url}/health").status_code == 200
    code, stderr = running.stop(sig)
    assert code == 0, stderr
    assert f"at http://127.0.0.1:{running.port}" in stderr
    assert "server stopped" in stderr
    assert "Traceback" not in stderr


def test_a_port_in_use_is_exit_1(repo: Path, server: Server) -> None:
    result = subprocess.run(
        [sys.executable, "-m", "fsctl", "serve", "--repo", str(repo), "--port", str(server.port)],
        capture_output=True,
        text=True,
        env=fsctl_env(),
        timeout=60,
    )
    assert result.returncode == 1
    assert f"cannot listen on 127.0.0.1:{server.port}" in result.stderr
    assert "Traceback" not in result.stderr


def test_an_unreadable_registry_fails_before_listening(repo: Path, tmp_path: Path) -> None:
    broken = tmp_path / "registry.json"
    broken.write_text("{not json", encoding="utf-8")
    result = subprocess.run(
        [sys.executable, "-m", "fsctl", "serve", "--repo", str(repo), "--port", str(free_port())],
        capture_output=True,
        text=True,
        env=fsctl_env(FSCTL_REGISTRY=str(broken)),
        timeout=60,
    )
    assert result.returncode == 1
    assert result.stderr.startswith("error: ") and "Traceback" not in result.stderr


# -- create_app in-process ------------------------------------------------------------------


class BrokenStore(MemoryOnlineStore):
    """A store whose reads fail: with a StoreError, or (``bug=True``) with anything else."""

    def __init__(self, bug: bool = False) -> None:
        super().__init__()
        self.bug = bug

    def read(self, view: OnlineView, keys: Sequence[tuple[Any, ...]]) -> list[OnlineRecord | None]:
        if self.bug:
            raise RuntimeError("boom")
        raise StoreError("online store memory://: connection refused", hint="is it running?")

    def views(self, project: str) -> set[str]:
        raise StoreError("online store memory://: connection refused")


def test_create_app_in_process(repo: Path) -> None:
    with warnings.catch_warnings():  # starlette's notice about its httpx-based client
        warnings.simplefilter("ignore")
        from fastapi.testclient import TestClient

    from fsctl.serving import create_app

    memory = MemoryOnlineStore()
    ws = open_workspace(repo, online=memory)
    for view in views(ws).values():
        memory.create(view)
    fill(memory, ws)
    project, registry = ws.project, ws.registry_reader()
    body = {"features": ["customer_profile:current_balance"], "entities": {"customer_id": [2001, 2002]}}

    with TestClient(create_app(project.name, reader=OnlineReader(project, registry, memory))) as http:
        response = http.post("/get-online-features", json=body)
        assert response.status_code == 200
        assert response.json()["results"][1] == {
            "values": [10.5, None],
            "statuses": ["PRESENT", "NOT_FOUND"],
            "event_timestamps": [iso(FRESH), ZERO],
        }
        assert http.get("/health").json()["registry_version"] == 1

    with TestClient(create_app(project.name, reader=OnlineReader(project, registry, BrokenStore()))) as http:
        response = http.post("/get-online-features", json=body)
        assert response.status_code == 503
        assert response.json() == {
            "detail": "online store memory://: connection refused (hint: is it running?)"
        }
        assert http.get("/health").status_code == 503

    app = create_app(project.name, reader=OnlineReader(project, registry, BrokenStore(bug=True)))
    with TestClient(app, raise_server_exceptions=False) as http:
        response = http.post("/get-online-features", json=body)
        assert response.status_code == 500
        assert response.json()["detail"].startswith("internal error: RuntimeError: boom")


def test_serve_help_names_the_flags() -> None:
    result = subprocess.run(
        [sys.executable, "-m", "fsctl", "serve", "--help"],
        capture_output=True,
        text=True,
        env={**fsctl_env(), "COLUMNS": "200"},
        timeout=60,
    )
    assert result.returncode == 0
    assert "--host" in result.stdout and "--port" in result.stdout


class FlakyRegistry:
    """A registry that reads once, then fails (a registry that became unreadable)."""

    def __init__(self, real: Any) -> None:
        self.real, self.reads, self.location = real, 0, real.location

    def read(self) -> Any:
        self.reads += 1
        if self.reads > 1:
            raise RegistryError(f"cannot read the registry {self.location}: access denied")
        return self.real.read()

    def read_version(self, version: int) -> Any:
        return self.real.read_version(version)


def test_health_is_503_degraded_while_the_registry_cannot_be_read(repo: Path) -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        from fastapi.testclient import TestClient

    from fsctl.serving import create_app

    memory = MemoryOnlineStore()
    ws = open_workspace(repo, online=memory)
    for view in views(ws).values():
        memory.create(view)
    reader = OnlineReader(ws.project, FlakyRegistry(ws.registry_reader()), memory, cache_seconds=0)
    with TestClient(create_app(ws.project.name, reader=reader)) as http:
        assert http.get("/health").status_code == 200  # the first read works
        health = http.get("/health")  # every later one fails
        assert health.status_code == 503
        assert health.json()["status"] == "degraded" and "access denied" in health.json()["registry_error"]
        body = {"features": ["customer_profile:current_balance"], "entities": {"customer_id": [2001]}}
        assert http.post("/get-online-features", json=body).status_code == 200  # still serves the last version


def test_the_server_logs_one_line_per_request_unless_told_not_to(repo: Path) -> None:
    running = start_server(repo)
    httpx.post(f"{running.url}/get-online-features", json={"features": ["nope:x"], "entities": {"a": [1]}})
    code, stderr = running.stop()
    assert code == 0
    assert '"POST /get-online-features HTTP/1.1" 400' in stderr
    quiet = start_server(repo, "--no-access-log")
    httpx.get(f"{quiet.url}/health")
    code, stderr = quiet.stop()
    assert code == 0 and "GET /health" not in stderr


# -- malformed bodies: always a 4xx with one line (issue 11, item 10) -------------------------

FEATURES = '"features": ["driver_hourly_stats:conv_rate"]'


@pytest.mark.parametrize(
    "raw",
    [
        '{"features": ["driver_hourly_stats:\\ud800"], "entities": {"driver_id": [1]}}',
        '{"feature_service": "\\ud800", "entities": {"driver_id": [1]}}',
        '{' + FEATURES + ', "entities": {"driver_id": ["\\ud800"]}}',
        '{' + FEATURES + ', "entities": {"driver_id": ["a\\udc00b"]}}',
        '{' + FEATURES + ', "entities": {"\\ud800": [1]}}',
        '{' + FEATURES + ', "entities": {"driver_id": ["\\ud800\\u0041"]}}',
    ],
    ids=["feature", "service", "entity-value", "low-surrogate", "entity-key", "unpaired-then-letter"],
)
def test_a_lone_surrogate_anywhere_is_a_400(client: httpx.Client, raw: str) -> None:
    response = client.post("/get-online-features", content=raw.encode("ascii"))
    assert response.status_code == 400, response.text
    detail = response.json()["detail"]
    assert detail.startswith("the request body is not valid JSON") and "valid Unicode" in detail


@pytest.mark.parametrize("depth", [202, 5000, 100_000])
def test_deeply_nested_json_is_a_400(client: httpx.Client, depth: int) -> None:
    for raw in (
        "[" * depth + "]" * depth,
        '{' + FEATURES + ', "entities": {"driver_id": ' + "[" * depth + "]" * depth + "}}",
    ):
        response = client.post("/get-online-features", content=raw.encode())
        assert response.status_code == 400, response.text
        assert response.json()["detail"] == "the request body nests arrays or objects more than 201 levels deep"
    assert client.get("/health").status_code == 200  # and the server is fine


@pytest.mark.parametrize("literal", ["NaN", "Infinity", "-Infinity"])
def test_non_json_numbers_are_a_400(client: httpx.Client, literal: str) -> None:
    raw = '{' + FEATURES + ', "entities": {"driver_id": [' + literal + "]}}"
    response = client.post("/get-online-features", content=raw.encode())
    assert response.status_code == 400
    assert response.json()["detail"].startswith("the request body is not valid JSON")


def test_control_characters_in_names_stay_on_one_line(client: httpx.Client) -> None:
    response = post(client, {"feature_service": "a\nb\x1b[31m", "entities": {"driver_id": [1]}})
    assert response.status_code == 422
    detail = response.json()["detail"]
    assert "\n" not in detail and "\x1b" not in detail
    assert "feature_service: 'a\\nb\\x1b[31m' is not a name" in detail
    # A key value with control characters (not an int64 key) is named in one escaped line.
    response = post(client, {"features": ["driver_hourly_stats:conv_rate"], "entities": {"driver_id": ["x\ny\u0000"]}})
    assert response.status_code == 400
    detail = response.json()["detail"]
    assert "\n" not in detail and "\x00" not in detail
    assert "join key 'driver_id' is int64, and 'x\\ny\\x00' is not an integer" in detail


def test_a_body_over_32_mib_is_a_413(client: httpx.Client) -> None:
    response = client.post("/get-online-features", content=b" " * (32 * 1024 * 1024 + 1))
    assert response.status_code == 413
    assert response.json() == {"detail": "the request body is larger than 32 MiB"}


# -- a strict and true schema (issue 11, item 11) ---------------------------------------------

GOOD = {"features": ["driver_hourly_stats:conv_rate"], "entities": {"driver_id": [1001]}}


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"ignore_ttl": 0}, "ignore_ttl: must be true or false, not a number (0)"),
        ({"ignore_ttl": "yes"}, "ignore_ttl: must be true or false, not a string ('yes')"),
        ({"full_feature_names": 1}, "full_feature_names: must be true or false, not a number (1)"),
        ({"ignore_ttl": None}, "ignore_ttl: must be true or false, not null"),
        ({"features": []}, "features: List should have at least 1 item"),
        ({"features": None, "feature_service": "driver_activity_v1"}, "features: must be an array, not null"),
        ({"features": [""]}, "features.0: '' is not a feature reference view:feature"),
        ({"features": ["conv_rate"]}, "features.0: 'conv_rate' is not a feature reference view:feature"),
        ({"features": [1]}, "features.0: must be a string, not a number (1)"),
        ({"entities": {"": [1]}}, "entities: '' is not a column name"),
        ({"entities": {"driver_id": [None]}}, "entities.driver_id.0: must be a string, integer, number or boolean, not null"),
        ({"entities": {"driver_id": [[1]]}}, "entities.driver_id.0: must be a string, integer, number or boolean, not an array"),
        ({"entities": {"driver_id": [{"a": 1}]}}, "entities.driver_id.0: must be a string, integer, number or boolean, not an object"),
        ({"entitys": {}}, "entitys: unknown field"),
    ],
)
def test_the_schema_is_strict(client: httpx.Client, change: dict[str, Any], message: str) -> None:
    response = post(client, {**GOOD, **change})
    assert response.status_code == 422, response.text
    assert message in response.json()["detail"]


def test_an_empty_service_name_says_what_is_wrong(client: httpx.Client) -> None:
    response = post(client, {"feature_service": "", "entities": {"driver_id": [1]}})
    assert response.status_code == 422
    assert response.json()["detail"] == (
        "invalid request: feature_service: '' is not a name: a letter, then letters, digits or underscores"
    )


def test_what_feasts_remote_client_sends_is_accepted(client: httpx.Client) -> None:
    # feast.infra.online_stores.remote.RemoteOnlineStore.get_online_features, byte for byte.
    body = {
        "entities": {"driver_id": [1001]},
        "full_feature_names": False,
        "include_feature_view_version_metadata": False,
        "feature_service": "driver_activity_v1",
    }
    body["entities"]["customer_id"] = [2001]
    response = post(client, body)
    assert response.status_code == 200, response.text


def test_openapi_describes_the_api(client: httpx.Client) -> None:
    import jsonschema

    spec = client.get("/openapi.json").json()
    operation = spec["paths"]["/get-online-features"]["post"]
    schema = operation["requestBody"]["content"]["application/json"]["schema"]
    assert schema["additionalProperties"] is False
    assert schema["oneOf"] == [{"required": ["features"]}, {"required": ["feature_service"]}, {"required": ["model"]}]
    assert schema["properties"]["ignore_ttl"] == {"type": "boolean", "description": schema["properties"]["ignore_ttl"]["description"]}
    entities = schema["properties"]["entities"]
    assert entities["additionalProperties"]["maxItems"] == 10_000
    assert {"type": "object"} not in entities["additionalProperties"]["items"]["anyOf"]
    assert set(operation["responses"]) == {"200", "400", "413", "422", "503"}
    assert "/push" not in spec["paths"] and "/write-to-online-store" not in spec["paths"]
    # The schema agrees with the server: what it accepts has the right shape, what it refuses is a 422.
    validator = jsonschema.Draft202012Validator(schema)
    for body in (GOOD, {"feature_service": "driver_activity_v1", "entities": {"driver_id": [1], "customer_id": [2]}}):
        validator.validate(body)
        assert post(client, body).status_code == 200
    for body in ({**GOOD, "feature_service": "driver_activity_v1"}, {**GOOD, "ignore_ttl": 0}, {**GOOD, "features": []}):
        assert not validator.is_valid(body)
        assert post(client, body).status_code == 422


# -- the row cap (issue 11, item 12) -----------------------------------------------------------


@pytest.mark.parametrize("rows", [10_001, 2_000_000])
def test_too_many_entity_rows_is_a_quick_413(client: httpx.Client, rows: int) -> None:
    body = json.dumps({"features": ["driver_hourly_stats:conv_rate"], "entities": {"driver_id": list(range(rows))}})
    started = time.perf_counter()
    response = client.post("/get-online-features", content=body.encode())
    elapsed = time.perf_counter() - started
    assert response.status_code == 413
    assert response.json()["detail"] == (
        f"entities has {rows:,} entity rows; this server takes at most 10,000 per request: split the "
        "request, or start fsctl serve with a higher --max-entity-rows (FSCTL_SERVE_MAX_ENTITY_ROWS)"
    )
    assert elapsed < 30  # refused on the decoded JSON, before any validation or read (generous: a loaded CI machine)
    assert post(client, {**GOOD, "entities": {"driver_id": list(range(10_000))}}).status_code == 200


# -- Feast's ordering, the settings in /health, writes off by default (items 13, 14) ---------


def test_join_keys_come_in_the_order_of_the_requests_entities(client: httpx.Client) -> None:
    body = {"feature_service": "driver_activity_v1", "entities": {"customer_id": [2001], "driver_id": [1001]}}
    response = post(client, body)
    assert response.status_code == 200
    names = response.json()["metadata"]["feature_names"]
    assert names[:2] == ["customer_id", "driver_id"]
    assert [r["values"] for r in response.json()["results"][:2]] == [[2001], [1001]]


def test_health_shows_the_settings(client: httpx.Client) -> None:
    body = client.get("/health").json()
    assert (body["ignore_ttl"], body["max_entity_rows"], body["push"]) == (False, 10_000, False)


@pytest.mark.parametrize("path", ["/push", "/write-to-online-store"])
def test_writes_are_off_unless_enabled(client: httpx.Client, path: str) -> None:
    response = client.post(path, json={"push_source_name": "driver_stats_source", "df": {}})
    assert response.status_code == 404
    assert "start fsctl serve with --enable-push" in response.json()["detail"]

"""The HTTP feature server: the real ``fsctl serve`` in a subprocess on a free port, spoken
to with httpx as a Feast client would, plus ``create_app`` under starlette's TestClient for
the failures that need a broken store.

Checks Feast's request and response shapes (join keys first; PRESENT / NOT_FOUND /
OUTSIDE_MAX_AGE), feature services, every 4xx with one ``detail`` message, OpenAPI, the
health check, and a clean exit 0 on SIGTERM and SIGINT.
"""

from __future__ import annotations

import signal
import subprocess
import sys
import time
import warnings
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import httpx
import pytest

from fsctl.errors import RegistryError, StoreError
from fsctl.online.base import OnlineRecord, OnlineView
from fsctl.online.memory import MemoryOnlineStore
from fsctl.services.online import OnlineReader
from fsctl.workspace import Workspace, open_workspace
from tests.cli.conftest import fsctl_env
from tests.support.example import copy_example_repo
from tests.support.online_ports import apply_repo, target_view, write_records
from tests.support.s3 import free_port

pytestmark = pytest.mark.slow

UTC = timezone.utc
NOW = datetime.now(UTC).replace(microsecond=0)
FRESH = NOW - timedelta(hours=1)
STALE = NOW - timedelta(days=3)  # driver_hourly_stats has a 2d TTL
EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
ZERO = "1970-01-01T00:00:00Z"


def iso(value: datetime) -> str:
    return value.isoformat().replace("+00:00", "Z")


def us(value: datetime) -> int:
    return (value - EPOCH) // timedelta(microseconds=1)


def views(ws: Workspace) -> dict[str, OnlineView]:
    return {name: target_view(ws, name) for name in ("driver_hourly_stats", "customer_profile")}


def fill(store: Any, ws: Workspace) -> None:
    v = views(ws)
    write_records(
        store,
        v["driver_hourly_stats"],
        [
            OnlineRecord(
                (1001,), us(FRESH), None, {"conv_rate": 0.5, "acc_rate": 0.9, "avg_daily_trips": 12}
            ),
            OnlineRecord((1002,), us(STALE), None, {"conv_rate": 0.7, "acc_rate": 0.8, "avg_daily_trips": 5}),
        ],
    )
    write_records(
        store, v["customer_profile"], [OnlineRecord((2001,), us(FRESH), None, {"current_balance": 10.5})]
    )


@pytest.fixture(scope="module")
def repo(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The example repo, applied, with two drivers and a customer in its SQLite online store."""
    root = copy_example_repo(tmp_path_factory.mktemp("serve") / "example_repo")
    apply_repo(root)
    with open_workspace(root) as ws:
        fill(ws.online_store(), ws)
    return root


@dataclass
class Server:
    process: subprocess.Popen[str]
    url: str
    port: int

    def stop(self, sig: int = signal.SIGTERM) -> tuple[int, str]:
        if self.process.poll() is None:
            self.process.send_signal(sig)
        try:
            _, stderr = self.process.communicate(timeout=20)
        except subprocess.TimeoutExpired:
            self.process.kill()
            _, stderr = self.process.communicate()
        return self.process.returncode, stderr


def start_server(repo: Path, *args: str, **env: str) -> Server:
    port = free_port()
    process = subprocess.Popen(
        [sys.executable, "-m", "fsctl", "serve", "--repo", str(repo), "--port", str(port), *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=fsctl_env(**env),
    )
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if process.poll() is not None:
            _, stderr = process.communicate()
            raise AssertionError(f"fsctl serve exited {process.returncode}: {stderr}")
        try:
            if httpx.get(f"{url}/health", timeout=1).status_code == 200:
                return Server(process, url, port)
        except httpx.TransportError:
            pass
        time.sleep(0.1)
    process.kill()
    raise AssertionError("fsctl serve did not become healthy within 60s")


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
            400,
            "name the features one way: give exactly one of features | feature_service | model",
        ),
        (
            {"entities": {"driver_id": [1]}},
            400,
            "name the features one way: give exactly one of features | feature_service | model",
        ),
        ({"features": ["driver_hourly_stats:conv_rate"]}, 422, "entities: required field is missing"),
        (
            {"features": ["driver_hourly_stats:conv_rate"], "entities": {"driver_id": 1}},
            422,
            "entities.driver_id",
        ),
        ([1, 2], 422, "request body"),
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

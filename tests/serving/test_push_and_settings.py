"""``fsctl serve`` with its options: writes on (``--enable-push``, the token from
``FSCTL_PUSH_TOKEN``), the TTL ignored (``FSCTL_SERVE_IGNORE_TTL``, as a Feast server does)
and a small row cap (``--max-entity-rows``). One real server process, spoken to with httpx
the way Feast's clients speak (their exact request bodies), and the state document on disk.
"""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Iterator
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.cli.conftest import fsctl_env
from tests.support.s3 import free_port
from tests.support.server import NOW, STALE, Server, iso, serving_repo, start_server

pytestmark = pytest.mark.slow

TOKEN = "test-token-0123456789abcdef"
AUTH = {"Authorization": f"Bearer {TOKEN}"}


@pytest.fixture(scope="module")
def repo(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return serving_repo(tmp_path_factory.mktemp("push") / "example_repo")


@pytest.fixture(scope="module")
def server(repo: Path) -> Iterator[Server]:
    running = start_server(
        repo, "--enable-push", "--max-entity-rows", "50", FSCTL_PUSH_TOKEN=TOKEN, FSCTL_SERVE_IGNORE_TTL="1"
    )
    yield running
    code, stderr = running.stop()
    assert code == 0, stderr
    assert TOKEN not in stderr  # never logged


@pytest.fixture(scope="module")
def client(server: Server) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=server.url, timeout=10) as http:
        yield http


def read(client: httpx.Client, driver: int, **extra: Any) -> dict[str, Any]:
    body = {"features": ["driver_hourly_stats:conv_rate", "driver_hourly_stats:avg_daily_trips"], "entities": {"driver_id": [driver]}}
    response = client.post("/get-online-features", json={**body, **extra})
    assert response.status_code == 200, response.text
    results = response.json()["results"]
    return {"conv_rate": results[1]["values"][0], "trips": results[2]["values"][0], "status": results[1]["statuses"][0],
            "time": results[1]["event_timestamps"][0]}


def feast_write_body(driver: int, event: datetime, conv_rate: float, trips: int) -> dict[str, Any]:
    """What feast.infra.online_stores.remote.RemoteOnlineStore.online_write_batch posts."""
    return {
        "feature_view_name": "driver_hourly_stats",
        "df": {
            "driver_id": [driver],
            "conv_rate": [conv_rate],
            "acc_rate": [0.5],
            "avg_daily_trips": [trips],
            "event_timestamp": [event.replace(tzinfo=None).isoformat()],  # naive UTC
            "created": [None],
        },
        "allow_registry_cache": False,
    }


def state_pushes(repo: Path) -> list[dict[str, Any]]:
    document = json.loads((repo / "data" / "registry.state.json").read_text(encoding="utf-8"))
    return list(document.get("pushes", []))


# -- settings ---------------------------------------------------------------------------------


def test_the_push_token_is_not_in_the_settings_repr() -> None:
    from fsctl.serving import ServerSettings

    settings = ServerSettings(push_token=TOKEN)
    assert TOKEN not in repr(settings) and settings.push


def test_the_settings_show_in_health_and_the_start_up_line(client: httpx.Client, repo: Path) -> None:
    health = client.get("/health").json()
    assert (health["ignore_ttl"], health["max_entity_rows"], health["push"]) == (True, 50, True)
    running = start_server(repo, "--max-entity-rows", "7", FSCTL_SERVE_IGNORE_TTL="1")
    code, stderr = running.stop()
    assert code == 0
    assert "TTL ignored (expired values returned, marked OUTSIDE_MAX_AGE); at most 7 entity rows per request; push disabled" in stderr


def test_the_server_can_ignore_the_ttl_and_a_request_can_apply_it(client: httpx.Client) -> None:
    # As a Feast server: the three-day-old value comes back (still marked), unless asked not to.
    assert read(client, 1002) == {"conv_rate": 0.7, "trips": 5, "status": "OUTSIDE_MAX_AGE", "time": iso(STALE)}
    assert read(client, 1002, ignore_ttl=False)["conv_rate"] is None


def test_the_row_cap_is_the_servers(client: httpx.Client) -> None:
    body = {"features": ["driver_hourly_stats:conv_rate"], "entities": {"driver_id": list(range(51))}}
    response = client.post("/get-online-features", json=body)
    assert response.status_code == 413
    assert "at most 50 per request" in response.json()["detail"]
    spec = client.get("/openapi.json").json()
    schema = spec["paths"]["/get-online-features"]["post"]["requestBody"]["content"]["application/json"]["schema"]
    assert schema["properties"]["entities"]["additionalProperties"]["maxItems"] == 50
    df = {"driver_id": list(range(51))}
    response = client.post("/write-to-online-store", json={"feature_view_name": "driver_hourly_stats", "df": df}, headers=AUTH)
    assert response.status_code == 413 and "df has 51 rows" in response.json()["detail"]


# -- the token ---------------------------------------------------------------------------------


@pytest.mark.parametrize("path", ["/push", "/write-to-online-store"])
def test_writes_need_the_servers_bearer_token(client: httpx.Client, path: str) -> None:
    before = read(client, 1001)  # whatever other tests wrote
    body = feast_write_body(1001, NOW, 0.1, 1)
    response = client.post(path, json=body)
    assert response.status_code == 401
    assert response.headers["www-authenticate"] == "Bearer"
    assert "Authorization: Bearer <token>" in response.json()["detail"]
    assert client.post(path, json=body, headers={"Authorization": f"Basic {TOKEN}"}).status_code == 401
    for wrong in ("nope", TOKEN[:-1], TOKEN + "x", "é" * 20):
        response = client.post(path, json=body, headers={"Authorization": f"Bearer {wrong}".encode()})
        assert response.status_code == 403, wrong
        assert response.json() == {"detail": "the bearer token is not the one this server was started with"}
    assert read(client, 1001) == before  # nothing was written


# -- writes ------------------------------------------------------------------------------------


def test_feasts_write_to_online_store_writes_and_is_recorded(client: httpx.Client, repo: Path) -> None:
    event = NOW - timedelta(minutes=1)
    response = client.post("/write-to-online-store", json=feast_write_body(1001, event, 0.25, 30), headers=AUTH)
    assert response.status_code == 200, response.text
    assert response.json() == {
        "views": [{"view": "driver_hourly_stats", "rows": 1, "keys": 1, "keys_written": 1, "keys_kept_newer": 0,
                   "newest_event": iso(event)}]
    }
    assert read(client, 1001) == {"conv_rate": 0.25, "trips": 30, "status": "PRESENT", "time": iso(event)}
    last = state_pushes(repo)[-1]
    assert (last["view"], last["via"], last["rows"], last["keys_written"]) == ("driver_hourly_stats", "write-to-online-store", 1, 1)
    assert last["client"].startswith("127.0.0.1:") and last["newest_event"] == iso(event)


def test_push_writes_every_online_view_on_the_source_never_over_newer_values(client: httpx.Client) -> None:
    event = NOW - timedelta(seconds=30)
    df = {
        "driver_id": [1003, 1003, 1004],
        "conv_rate": [0.1, 0.3, 0.9],
        "acc_rate": [0.2, 0.2, 0.2],
        "avg_daily_trips": [1, 3, 9],
        "event_timestamp": [iso(event - timedelta(minutes=5)), iso(event), iso(event)],
    }
    body = {"push_source_name": "driver_stats_source", "df": df, "to": "online"}
    response = client.post("/push", json=body, headers=AUTH)
    assert response.status_code == 200, response.text
    assert response.json()["views"][0]["keys"] == 2
    assert read(client, 1003)["conv_rate"] == 0.3  # the latest row of the key
    older = {**df, "conv_rate": [0.0, 0.0, 0.0], "event_timestamp": [iso(event - timedelta(hours=1))] * 3}
    response = client.post("/push", json={**body, "df": older}, headers=AUTH)
    assert response.status_code == 200
    assert response.json()["views"][0]["keys_kept_newer"] == 2
    assert read(client, 1004)["conv_rate"] == 0.9


@pytest.mark.parametrize("to", ["offline", "online_and_offline"])
def test_offline_pushes_are_refused_and_write_nothing(client: httpx.Client, to: str) -> None:
    df = {"driver_id": [1005], "conv_rate": [0.5], "acc_rate": [0.5], "avg_daily_trips": [5], "event_timestamp": [iso(NOW)]}
    response = client.post("/push", json={"push_source_name": "driver_stats_source", "df": df, "to": to}, headers=AUTH)
    assert response.status_code == 400
    assert response.json()["detail"].startswith(f"to: '{to}' is not supported: fsctl writes pushed rows to the online store only")
    assert read(client, 1005)["status"] == "NOT_FOUND"


@pytest.mark.parametrize(
    ("path", "body", "status", "message"),
    [
        ("/push", {"push_source_name": "driver_stats", "df": {}}, 400, "source 'driver_stats' is not in the registry"),
        ("/push", {"push_source_name": "driver_stats_source", "df": {"driver_id": [1]}}, 400,
         "push source 'driver_stats_source': df has no column 'conv_rate' (float64 feature of feature view 'driver_hourly_stats')"),
        ("/write-to-online-store",
         {"feature_view_name": "driver_hourly_stats", "df": {"driver_id": [1], "conv_rate": ["high"], "acc_rate": [1],
                                                           "avg_daily_trips": [1], "event_timestamp": [iso(NOW)]}},
         400, "df column 'conv_rate' (feature view 'driver_hourly_stats'), row 1: must be a number, not a string ('high')"),
        ("/write-to-online-store", {"feature_view_name": "driver_hourly_stats", "df": {"driver_id": 1}}, 422,
         "df.driver_id: must be an array, not a number (1)"),
        ("/write-to-online-store", {"feature_view_name": "", "df": {}}, 422, "feature_view_name: '' is not a name"),
        ("/push", {"push_source_name": "driver_stats_source", "df": {}, "to": "disk"}, 422, "to: must be one of"),
        ("/push", {"push_source_name": "driver_stats_source", "df": {}, "allow_registry_cache": "no"}, 422,
         "allow_registry_cache: must be true or false, not a string ('no')"),
        ("/push", {"push_source_name": "driver_stats_source"}, 422, "df: required field is missing"),
        ("/push", {"push_source_name": "driver_stats_source", "df": {}, "mode": 1}, 422, "mode: unknown field"),
    ],
)
def test_bad_writes_get_one_clear_message(client: httpx.Client, path: str, body: Any, status: int, message: str) -> None:
    response = client.post(path, json=body, headers=AUTH)
    assert response.status_code == status, response.text
    detail = response.json()["detail"]
    assert message in detail and "\n" not in detail


def test_openapi_documents_the_write_endpoints_and_their_token(client: httpx.Client) -> None:
    spec = client.get("/openapi.json").json()
    assert spec["components"]["securitySchemes"]["pushToken"]["scheme"] == "bearer"
    for path, name_field in (("/push", "push_source_name"), ("/write-to-online-store", "feature_view_name")):
        operation = spec["paths"][path]["post"]
        assert operation["security"] == [{"pushToken": []}]
        assert set(operation["responses"]) == {"200", "400", "401", "403", "413", "422", "503"}
        schema = operation["requestBody"]["content"]["application/json"]["schema"]
        assert schema["additionalProperties"] is False and name_field in schema["required"]
    assert spec["paths"]["/push"]["post"]["requestBody"]["content"]["application/json"]["schema"]["properties"]["to"]["enum"] == [
        "online", "offline", "online_and_offline"
    ]


# -- start-up -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("token", "message"),
    [
        (None, "error: --enable-push needs a bearer token in the environment variable FSCTL_PUSH_TOKEN"),
        ("short", "error: FSCTL_PUSH_TOKEN is 5 characters long; use a random token of at least 16"),
    ],
)
def test_enable_push_without_a_good_token_is_exit_1(repo: Path, token: str | None, message: str) -> None:
    env = fsctl_env(**({"FSCTL_PUSH_TOKEN": token} if token else {}))
    result = subprocess.run(
        [sys.executable, "-m", "fsctl", "serve", "--repo", str(repo), "--port", str(free_port()), "--enable-push"],
        capture_output=True, text=True, env=env, timeout=60,
    )
    assert result.returncode == 1
    assert result.stderr.startswith(message) and "Traceback" not in result.stderr


def test_a_bad_row_cap_is_exit_1(repo: Path) -> None:
    result = subprocess.run(
        [sys.executable, "-m", "fsctl", "serve", "--repo", str(repo), "--port", str(free_port())],
        capture_output=True, text=True, env=fsctl_env(FSCTL_SERVE_MAX_ENTITY_ROWS="0"), timeout=60,
    )
    assert result.returncode == 1
    assert "--max-entity-rows" in result.stderr and "Traceback" not in result.stderr


# -- in-process: where the work happens, and a state store that fails --------------------------


def in_process_app(repo: Path, state: Any) -> Any:
    import warnings

    with warnings.catch_warnings():  # starlette's notice about its httpx-based client
        warnings.simplefilter("ignore")
        from fastapi.testclient import TestClient

    from fsctl.online.memory import MemoryOnlineStore
    from fsctl.services.online import OnlineReader
    from fsctl.services.push import OnlineWriter
    from fsctl.serving import ServerSettings, create_app
    from fsctl.workspace import open_workspace
    from tests.support.server import views

    memory = MemoryOnlineStore()
    ws = open_workspace(repo, online=memory)
    for view in views(ws).values():
        memory.create(view)
    reader = OnlineReader(ws.project, ws.registry_reader(), memory)
    app = create_app(ws.project.name, reader, ServerSettings(push_token=TOKEN), OnlineWriter(reader, state))
    return TestClient(app)


def test_push_bodies_are_decoded_and_validated_off_the_event_loop(repo: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import asyncio

    from fsctl.serving import push as push_routes
    from fsctl.state.memory import MemoryStateStore

    on_loop: list[bool] = []
    check = push_routes.check_rows  # called on the decoded body, before validation

    def watched(*args: Any) -> None:
        try:
            asyncio.get_running_loop()
            on_loop.append(True)
        except RuntimeError:
            on_loop.append(False)
        check(*args)

    monkeypatch.setattr(push_routes, "check_rows", watched)
    with in_process_app(repo, MemoryStateStore()) as http:
        assert http.post("/write-to-online-store", json=feast_write_body(1001, NOW, 0.1, 1), headers=AUTH).status_code == 200
        bad = http.post("/write-to-online-store", json={"feature_view_name": "", "df": {}}, headers=AUTH)
        assert bad.status_code == 422 and "feature_view_name: '' is not a name" in bad.json()["detail"]
        assert http.post("/push", content=b"{", headers=AUTH).status_code == 400  # decoded off the loop too
    assert on_loop == [False, False]


def test_a_write_stored_but_not_recorded_is_a_200_with_a_warning(repo: Path) -> None:
    from fsctl.errors import StoreError
    from fsctl.state.memory import MemoryStateStore

    class FailingState(MemoryStateStore):
        def write(self, new: Any, expected: Any) -> Any:
            raise StoreError("the state document cannot be written: access denied")

    with in_process_app(repo, FailingState()) as http:
        response = http.post("/write-to-online-store", json=feast_write_body(1001, NOW, 0.125, 3), headers=AUTH)
        assert response.status_code == 200, response.text
        assert response.json()["views"][0]["keys_written"] == 1
        assert "could not be recorded in the state document (StoreError: " in response.json()["warning"]
        body = {"features": ["driver_hourly_stats:conv_rate"], "entities": {"driver_id": [1001]}}
        assert http.post("/get-online-features", json=body).json()["results"][1]["values"] == [0.125]

"""The Postgres and MySQL online stores through the real CLI and server processes: reads
(``fsctl online``, ``fsctl serve``) need only the reader login, writes use the writer, and a
server that went away fails materialize with a message naming it while the watermark stays.

Each run gets the README's ``fsctl_writer`` and ``fsctl_reader`` users (see
``tests/support``). The reading processes are given a wrong writer password: if anything on
their path logged in as the writer, it would fail.
"""

from __future__ import annotations

import json
import sys
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx
import pytest

from fsctl.workspace import open_workspace
from tests.cli.test_materialize_cli import DEFS, ROWS, fsctl_in, ok, one_error, state, write_source
from tests.support import mariadb_server, postgres_server
from tests.support.example import copy_example_repo
from tests.support.online_ports import apply_repo
from tests.support.s3 import free_port
from tests.support.server import FRESH, fill, iso, start_command, start_server

pytestmark = pytest.mark.slow

SUPPORT = {"postgres": postgres_server, "mysql": mariadb_server}


def online_yaml(kind: str, server: Any, prefix: str) -> str:
    """fsctl.yaml's online_store: the writer's password from the environment, the reader's
    from a mounted file."""
    support = SUPPORT[kind]
    schema = f"  schema: {postgres_server.SCHEMA}\n" if kind == "postgres" else ""
    return (
        "online_store:\n"
        f"  type: {kind}\n  host: {server.host}\n  port: {server.port}\n  database: {server.database}\n"
        f"{schema}  table_prefix: {prefix}\n"
        f"  writer: {{user: {support.WRITER[0]}, password: '${{DB_WRITER_PASSWORD}}'}}\n"
        f"  reader: {{user: {support.READER[0]}, password_file: secrets/reader_password}}\n"
    )


@pytest.fixture(params=["postgres", "mysql"])
def kind(request: pytest.FixtureRequest) -> str:
    return str(request.param)


def test_online_and_serve_read_with_the_reader_alone_and_materialize_writes_as_the_writer(
    kind: str, request: pytest.FixtureRequest, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    server = request.getfixturevalue(f"{'postgres' if kind == 'postgres' else 'mariadb'}_server")
    support = SUPPORT[kind]
    repo = copy_example_repo(tmp_path / "example_repo")
    config = (repo / "fsctl.yaml").read_text()
    head = config[: config.index("online_store:")]
    (repo / "fsctl.yaml").write_text(head + online_yaml(kind, server, f"t{uuid.uuid4().hex[:8]}_"))
    (repo / "secrets").mkdir()
    (repo / "secrets/reader_password").write_text(support.READER[1] + "\n")
    monkeypatch.setenv("DB_WRITER_PASSWORD", support.WRITER[1])
    apply_repo(repo)  # the writer creates the tables
    with open_workspace(repo) as ws:
        fill(ws.online_store(), ws)
    reading = {"DB_WRITER_PASSWORD": "wrong"}

    result = fsctl_in(
        repo, "online", "--features", "driver_hourly_stats:conv_rate", "--entity", "driver_id=1001",
        "--format", "json", **reading,
    )  # fmt: skip
    ok(result)
    row = json.loads(result.stdout)["rows"][0]
    assert row["features"]["conv_rate"] == {"value": 0.5, "status": "present", "event_timestamp": iso(FRESH)}

    running = start_server(repo, **reading)
    try:
        response = httpx.post(
            f"{running.url}/get-online-features",
            json={"features": ["driver_hourly_stats:conv_rate"], "entities": {"driver_id": [1001, 9999]}},
            timeout=10,
        )
        assert response.status_code == 200, response.text
        assert response.json()["results"][1]["values"] == [0.5, None]
        health = httpx.get(f"{running.url}/health", timeout=10).json()
        assert health["online_store"] == f"{kind}://fsctl_reader@127.0.0.1:{server.port}/fsctl"
    finally:
        code, stderr = running.stop()
    assert code == 0, stderr

    # Batch scoring from the online store reads with the reader too.
    keys = repo / "keys.csv"
    keys.write_text("driver_id,customer_id\n1001,2001\n")
    result = fsctl_in(
        repo, "score", "--model", "churn_classifier@Production", "--entities", str(keys), "--online",
        "--output", str(repo / "scores.csv"), **reading,
    )  # fmt: skip
    ok(result)
    scored = (repo / "scores.csv").read_text().splitlines()
    assert len(scored) == 2 and scored[1].startswith("1001,2001,0.") and "churn_probability" in scored[0]

    # So does the UI: a view's page shows its freshness, read from the store's tables.
    port = free_port()
    ui = start_command([sys.executable, "-m", "fsctl", "ui", "--repo", str(repo), "--port", str(port)],
                       port, "/", **reading)  # fmt: skip
    try:
        page = httpx.get(f"{ui.url}/views/driver_hourly_stats", timeout=30)
        assert page.status_code == 200 and "driver_hourly_stats" in page.text
        fresh = httpx.get(f"{ui.url}/api/", timeout=30).json()["freshness"]
        assert fresh["error"] is None and "driver_hourly_stats" in fresh["views"], fresh
    finally:
        code, stderr = ui.stop()
    assert code == 0, stderr
    assert "fsctl_writer" not in stderr, stderr

    # Writes log in as the writer: with its password wrong, materialize fails and says so.
    result = fsctl_in(repo, "materialize-incremental", iso(FRESH), "--views", "driver_hourly_stats", **reading)
    assert result.returncode == 1
    denied = "password authentication failed" if kind == "postgres" else "Access denied for user 'fsctl_writer'"
    assert f"online store {kind}://fsctl_writer@127.0.0.1:{server.port}/fsctl: cannot" in result.stderr
    assert denied in result.stderr, result.stderr
    assert "wrong" not in result.stderr


def test_a_server_that_went_away_fails_materialize_naming_it_and_keeps_the_watermark(
    kind: str, write_repo: Callable[..., Path]
) -> None:
    support = SUPPORT[kind]
    server = support.start_with_users()  # its own server, to stop under the store's feet
    try:
        section = support.online_section(server).replace("type:", "table_prefix: fs_, type:", 1)
        repo = write_repo({"fsctl.yaml": f"project: sqlcli\nregistry: data/registry.json\nonline_store: {section}\n", "defs.yaml": DEFS})
        write_source(repo / "data/stats.parquet", ROWS)
        ok(fsctl_in(repo, "apply", "--yes"))
        ok(fsctl_in(repo, "materialize-incremental", "2025-06-01T00:00:00Z"))
    finally:
        server.stop()
    with open_workspace(repo) as ws:
        store = ws.online_store_identity

    def watermark() -> str:
        return str(state(repo)["stores"][store]["stats"]["watermark"])

    assert watermark() == "2025-06-01T00:00:00Z"
    result = fsctl_in(repo, "materialize-incremental", "2025-06-02T00:00:00Z")
    line = one_error(result)
    assert line == "error: materialization failed for 1 view (their watermarks did not move):"
    where = f"fsctl_writer@127.0.0.1:{server.port}/fsctl"
    assert f"online store {kind}://{where}: cannot" in result.stderr and "Connection refused" in result.stderr
    assert support.WRITER[1] not in result.stderr + result.stdout
    assert watermark() == "2025-06-01T00:00:00Z"
    failed = state(repo)["runs"][-1]
    assert failed["status"] == "failed" and where in failed["error"] and failed["store"] == store

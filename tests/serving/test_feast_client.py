"""Feast's own client against ``fsctl serve`` (issue 11, item 13: a drop-in for Feast
clients). Feast 0.67, the release the issue was reported against, runs in its own
virtualenv (``.venv-feast``, built by ``make test``; ``FSCTL_FEAST_PYTHON`` points at
another) so that its dependencies never change the server under test. Its ``remote``
online store reads features, a feature service, and writes with ``write_to_online_store``
and ``push``, all through fsctl's server; the answers must be fsctl's own.
"""

from __future__ import annotations

import json
import os
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from fsctl import FeatureStore
from tests.support.server import Server, serving_repo, start_server

pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parents[2]
TOKEN = "feast-client-token-0123456789"


def feast_python() -> Path:
    python = Path(os.environ.get("FSCTL_FEAST_PYTHON", ROOT / ".venv-feast" / "bin" / "python"))
    if not python.is_file():
        pytest.fail(f"no Feast client at {python}: `make test` builds it (make .venv-feast/bin/.installed)", pytrace=False)
    return python


@pytest.fixture(scope="module")
def repo(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return serving_repo(tmp_path_factory.mktemp("feast") / "example_repo")


@pytest.fixture(scope="module")
def server(repo: Path) -> Iterator[Server]:
    running = start_server(repo, "--enable-push", FSCTL_PUSH_TOKEN=TOKEN)
    yield running
    code, stderr = running.stop()
    assert code == 0, stderr


@pytest.fixture(scope="module")
def feast_answers(server: Server, repo: Path, tmp_path_factory: pytest.TempPathFactory) -> dict:
    script = Path(__file__).with_name("feast_client.py")
    feast_repo = tmp_path_factory.mktemp("feast_repo")
    result = subprocess.run(
        [str(feast_python()), str(script), str(feast_repo), server.url, TOKEN, str(repo / "data")],
        capture_output=True,
        text=True,
        timeout=300,
        env={**os.environ, "FEAST_USAGE": "False"},
    )
    assert result.returncode == 0, result.stderr[-3000:]
    return json.loads(result.stdout.strip().splitlines()[-1])


def test_feasts_client_reads_what_fsctl_reads(feast_answers: dict, repo: Path) -> None:
    with FeatureStore(repo) as store:
        ours = store.get_online_features(
            ["driver_hourly_stats:conv_rate", "driver_hourly_stats:avg_daily_trips"],
            entity_rows=[{"driver_id": 1001}, {"driver_id": 1005}, {"driver_id": 9}],
        ).to_dict()
        service = store.get_online_features(
            service="driver_activity_v1", entity_rows=[{"driver_id": 1001, "customer_id": 2001}]
        ).to_dict()
    assert feast_answers["read"] == ours
    assert ours["conv_rate"][0] == 0.5 and ours["conv_rate"][2] is None  # fresh, and a key with no value
    assert feast_answers["service"] == service


def test_feasts_writes_land_in_the_online_store(feast_answers: dict, repo: Path) -> None:
    assert feast_answers["after_writes"] == {
        "driver_id": [77, 78],
        "conv_rate": [0.11, 0.22],
        "avg_daily_trips": [3, 3],
    }
    state = json.loads((repo / "data" / "registry.state.json").read_text())
    assert [p["view"] for p in state["pushes"]] == ["driver_hourly_stats", "driver_hourly_stats"]


def test_a_wrong_key_reaches_feasts_caller_as_an_error(feast_answers: dict) -> None:
    assert "join key 'driver_id' is int64, and 'abc' is not an integer" in feast_answers["wrong_key"]

"""A model rollout under a running ``fsctl serve``: an alias moved by ``fsctl apply`` is
followed without a restart, a traffic split sends each entity key to one alias in the
declared proportions and keeps sending it there, the test header overrides the split, and
after a clean shutdown the prediction log holds every prediction answered.

One flow in one test: each step changes the registry the server reads (and xdist may give
the tests of a module to different workers).
"""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

import duckdb
import httpx
import pytest

from tests.cli.conftest import run_fsctl
from tests.support.server import serving_repo, start_server

pytestmark = pytest.mark.slow

KEYS = 2000


def apply(repo: Path, models: str) -> None:
    (repo / "models.yaml").write_text(models)
    # the values were written straight into the store, so the freshness gate sees no
    # materialization: a promotion is let through on purpose, as a rollout script would
    done = run_fsctl("apply", "--yes", "--repo", str(repo), "--allow-breaking", "Model/churn_classifier",
                     "--reason", "rollout test")  # fmt: skip
    assert done.returncode == 0, done.stderr + done.stdout


def versions(client: httpx.Client, entities: dict[str, list[Any]], **headers: str) -> list[int]:
    response = client.post("/models/churn_classifier/predict", json={"entities": entities}, headers=headers)
    assert response.status_code == 200, response.text
    return [p["version"] for p in response.json()["predictions"]]


def wait_for(check: Any, seconds: float = 20) -> None:
    deadline = time.monotonic() + seconds
    while not check():
        assert time.monotonic() < deadline, "the server did not follow the registry in time"
        time.sleep(0.1)


def test_alias_moves_traffic_split_and_the_log_after_shutdown(tmp_path: Path) -> None:
    repo = serving_repo(tmp_path / "example_repo")
    config = repo / "fsctl.yaml"
    config.write_text(config.read_text() + "scoring:\n  prediction_log: data/predictions\n  log_flush_rows: 500\n")
    original = (repo / "models.yaml").read_text()
    server = start_server(repo, FSCTL_REGISTRY_CACHE_SECONDS="0.2")
    answered = 0
    try:
        with httpx.Client(base_url=server.url, timeout=30) as client:
            one = {"driver_id": [1001], "customer_id": [2001]}
            assert versions(client, one) == [1]
            answered += 1

            # 1. Production moves to version 2: the running server follows the apply.
            apply(repo, original.replace("aliases: {Production: 1, Challenger: 2}", "aliases: {Production: 2, Challenger: 2}"))

            def moved() -> bool:
                nonlocal answered
                answered += 1
                return versions(client, one) == [2]

            wait_for(moved)

            # 2. An 80/20 split between two aliases (unknown keys get null features).
            split = original.replace(
                "aliases: {Production: 1, Challenger: 2}",
                "aliases: {Production: 1, Challenger: 2}\ntraffic: {Production: 80, Challenger: 20}\n"
                "missing_features: \"null\"",
            )
            apply(repo, split)
            many = {"driver_id": list(range(KEYS)), "customer_id": [2001] * KEYS}

            def split_on() -> bool:
                nonlocal answered
                answered += KEYS
                return len(set(versions(client, many))) == 2

            wait_for(split_on)
            first = versions(client, many)
            answered += KEYS
            share = first.count(2) / KEYS
            assert 0.17 <= share <= 0.23, share  # 20% of keys to Challenger (version 2)
            # sticky: the same keys go to the same versions, request after request, in any order
            again = versions(client, {"driver_id": list(reversed(range(KEYS))), "customer_id": [2001] * KEYS})
            answered += KEYS
            assert list(reversed(again)) == first
            # the test header overrides the split
            assert set(versions(client, many, **{"X-Fsctl-Alias": "Production"})) == {1}
            answered += KEYS
            predictions = client.post(
                "/models/churn_classifier/predict", json={"entities": {"driver_id": [7], "customer_id": [2001]}}
            ).json()["predictions"]
            answered += 1
            assert predictions[0]["alias"] in ("Production", "Challenger")
    finally:
        code, stderr = server.stop()
        (repo / "models.yaml").write_text(original)
    assert code == 0, stderr
    assert "prediction log flushed to" in stderr

    # Every prediction answered is in the log after a clean shutdown (SIGTERM).
    files = sorted((repo / "data" / "predictions").glob("date=*/*.parquet"))
    assert files, "no prediction log files"
    pattern = str(repo / "data" / "predictions" / "*" / "*.parquet")
    con = duckdb.connect()
    count = con.execute(f"SELECT count(*) FROM read_parquet('{pattern}', hive_partitioning = true)").fetchone()
    assert count is not None and count[0] == answered
    # the README's A/B query: one row per version, with the split's proportions
    rows = con.execute(
        f"""SELECT model_version, count(*) AS predictions, avg(prediction) AS mean
            FROM read_parquet('{pattern}', hive_partitioning = true)
            WHERE alias IS NOT NULL GROUP BY model_version ORDER BY model_version"""
    ).fetchall()
    assert [r[0] for r in rows] == [1, 2]
    entity, features, outputs = con.execute(
        f"SELECT entity, features, outputs FROM read_parquet('{pattern}') WHERE request_id IS NOT NULL "
        "AND json_extract(entity, '$.driver_id') = 1001 LIMIT 1"
    ).fetchone() or (None, None, None)
    assert json.loads(entity) == {"customer_id": 2001, "driver_id": 1001}
    assert json.loads(features)["conv_rate"] == 0.5
    assert set(json.loads(outputs)) <= {"churn_probability", "prediction"}

"""``fsctl online`` end to end: the real CLI in a subprocess against the example repo's SQLite
online store, filled through the OnlineStore API after an apply.

Covers one entity row from ``--entity`` options, many from CSV / parquet / JSON-lines files,
the exact JSON shape of DESIGN.md, ``--ignore-ttl``, ``--full-feature-names``, ``--model``,
and errors that exit 1 with one message and no traceback.
"""

from __future__ import annotations

import json
import subprocess
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import pytest

from fsctl.online.base import OnlineRecord
from fsctl.workspace import open_workspace
from tests.cli.conftest import run_fsctl
from tests.support.example import copy_example_repo
from tests.support.online_ports import apply_repo, target_view, write_records

pytestmark = pytest.mark.slow

UTC = timezone.utc
NOW = datetime.now(UTC).replace(microsecond=0)
FRESH = NOW - timedelta(hours=1)
STALE = NOW - timedelta(days=3)  # driver_hourly_stats has a 2d TTL
EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def iso(value: datetime) -> str:
    return value.isoformat().replace("+00:00", "Z")


def us(value: datetime) -> int:
    return (value - EPOCH) // timedelta(microseconds=1)


@pytest.fixture(scope="module")
def repo(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The example repo, applied, with three drivers and one customer in its online store."""
    root = copy_example_repo(tmp_path_factory.mktemp("online") / "example_repo")
    apply_repo(root)
    with open_workspace(root) as ws:
        store = ws.online_store()
        write_records(
            store,
            target_view(ws, "driver_hourly_stats"),
            [
                OnlineRecord(
                    (1001,), us(FRESH), None, {"conv_rate": 0.5, "acc_rate": 0.9, "avg_daily_trips": 12}
                ),
                OnlineRecord(
                    (1002,), us(STALE), None, {"conv_rate": 0.7, "acc_rate": 0.8, "avg_daily_trips": 5}
                ),
            ],
        )
        write_records(
            store,
            target_view(ws, "customer_profile"),
            [OnlineRecord((2001,), us(FRESH), None, {"current_balance": 10.5, "avg_passenger_count": 1.5})],
        )
    return root


def online(repo: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return run_fsctl("online", "--repo", str(repo), *args)


def ok_json(repo: Path, *args: str) -> dict[str, Any]:
    result = online(repo, *args, "--format", "json")
    assert result.returncode == 0, result.stderr
    return dict(json.loads(result.stdout))


def test_one_entity_as_text(repo: Path) -> None:
    result = online(
        repo, "--features", "driver_hourly_stats:conv_rate,driver_hourly_stats:avg_daily_trips", "--entity",
        "driver_id=1001",
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert lines[0] == "driver_id=1001"
    assert lines[2].split() == ["FEATURE", "VALUE", "STATUS", "EVENT", "TIME"]
    assert lines[4].split() == ["conv_rate", "0.5", "present", iso(FRESH)]
    assert lines[5].split() == ["avg_daily_trips", "12", "present", iso(FRESH)]


def test_json_is_exactly_the_design_shape(repo: Path) -> None:
    out = ok_json(
        repo, "--service", "driver_activity_v1", "--entity", "driver_id=1001", "--entity", "customer_id=2001"
    )
    fresh = iso(FRESH)
    assert out == {
        "rows": [
            {
                "entity": {"driver_id": 1001, "customer_id": 2001},
                "features": {
                    "conv_rate": {"value": 0.5, "status": "present", "event_timestamp": fresh},
                    "acc_rate": {"value": 0.9, "status": "present", "event_timestamp": fresh},
                    "avg_daily_trips": {"value": 12, "status": "present", "event_timestamp": fresh},
                    "current_balance": {"value": 10.5, "status": "present", "event_timestamp": fresh},
                }
            }
        ]
    }  # fmt: skip


def write_entities(path: Path, columns: dict[str, list[Any]]) -> Path:
    import pyarrow as pa
    import pyarrow.csv as pcsv
    import pyarrow.parquet as pq

    table = pa.table(columns)
    if path.suffix == ".parquet":
        pq.write_table(table, path)
    elif path.suffix == ".csv":
        pcsv.write_csv(table, path)
    else:
        rows = table.to_pylist()
        path.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    return path


@pytest.mark.parametrize("suffix", [".csv", ".parquet", ".jsonl"])
def test_entities_file_rows_in_input_order(repo: Path, tmp_path: Path, suffix: str) -> None:
    keys = [1002, 1001, 9999, 1001]
    file = write_entities(tmp_path / f"entities{suffix}", {"driver_id": keys, "label": [1, 0, 1, 0]})
    out = ok_json(repo, "--features", "driver_hourly_stats:conv_rate", "--entities", str(file))
    assert [r["entity"] for r in out["rows"]] == [{"driver_id": k} for k in keys]
    assert [r["features"]["conv_rate"] for r in out["rows"]] == [
        {"value": None, "status": "expired", "event_timestamp": iso(STALE)},
        {"value": 0.5, "status": "present", "event_timestamp": iso(FRESH)},
        {"value": None, "status": "missing", "event_timestamp": None},
        {"value": 0.5, "status": "present", "event_timestamp": iso(FRESH)},
    ]


def test_many_rows_as_a_text_table(repo: Path, tmp_path: Path) -> None:
    file = write_entities(tmp_path / "e.csv", {"driver_id": [1001, 1002, 9999]})
    result = online(
        repo,
        "--features",
        "driver_hourly_stats:conv_rate,driver_hourly_stats:acc_rate",
        "--entities",
        str(file),
    )
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert lines[0].split() == ["driver_id", "conv_rate", "acc_rate"]
    assert lines[2].split() == ["1001", "0.5", "0.9"]
    assert lines[3].split() == ["1002", "(expired)", "(expired)"]
    assert lines[4].split() == ["9999", "(missing)", "(missing)"]
    assert lines[-2] == "3 entity rows, 2 features: 2 present, 2 expired, 2 missing"
    assert lines[-1].startswith("2 values are older than the TTL of driver_hourly_stats (2d), so they came back null")


NOW_COMMAND = 'fsctl materialize-incremental "$(date -u +%Y-%m-%dT%H:%M:%SZ)"'


def test_expired_values_get_one_note_with_the_fix(repo: Path, tmp_path: Path) -> None:
    one = online(repo, "--features", "driver_hourly_stats:conv_rate,driver_hourly_stats:acc_rate", "--entity", "driver_id=1002")
    assert one.returncode == 0, one.stderr
    table, note = one.stdout.rstrip("\n").rsplit("\n\n", 1)
    assert table.splitlines()[-1].split() == ["acc_rate", "null", "expired", iso(STALE)]
    assert note == (
        "2 values are older than the TTL of driver_hourly_stats (2d), so they came back null (expired): "
        f"add --ignore-ttl to see them anyway, or materialize a recent window for newer values: {NOW_COMMAND}"
    )
    # one line per output, however many rows: 1002 twice, 3 features each (customer 2001 is fresh)
    file = write_entities(tmp_path / "e.csv", {"driver_id": [1002, 1002, 1001], "customer_id": [2001, 2001, 2001]})
    many = online(repo, "--service", "driver_activity_v1", "--entities", str(file))
    assert many.returncode == 0, many.stderr
    notes = [line for line in many.stdout.splitlines() if "older than the TTL" in line]
    assert notes == [many.stdout.splitlines()[-1]]
    assert notes[0].startswith("6 values are older than the TTL of driver_hourly_stats (2d), so they came back null")
    ignored = online(repo, "--features", "driver_hourly_stats:conv_rate", "--entity", "driver_id=1002", "--ignore-ttl")
    assert ignored.returncode == 0, ignored.stderr
    assert ignored.stdout.splitlines()[-1] == (
        "1 value is older than the TTL of driver_hourly_stats (2d): shown because of --ignore-ttl; "
        f"materialize a recent window for newer values: {NOW_COMMAND}"
    )


def test_no_note_without_expired_values_nor_in_json(repo: Path) -> None:
    fresh = online(repo, "--features", "driver_hourly_stats:conv_rate", "--entity", "driver_id=1001")
    assert fresh.returncode == 0, fresh.stderr
    assert "TTL" not in fresh.stdout and fresh.stdout.rstrip("\n").splitlines()[-1].split()[0] == "conv_rate"
    as_json = online(repo, "--features", "driver_hourly_stats:conv_rate", "--entity", "driver_id=1002", "--format", "json")
    assert as_json.returncode == 0, as_json.stderr
    assert json.loads(as_json.stdout)["rows"][0]["features"]["conv_rate"]["status"] == "expired"
    assert "TTL" not in as_json.stdout + as_json.stderr


def test_ignore_ttl_full_feature_names_and_model(repo: Path) -> None:
    out = ok_json(
        repo, "--features", "driver_hourly_stats:conv_rate", "--entity", "driver_id=1002", "--ignore-ttl",
        "--full-feature-names",
    )  # fmt: skip
    assert out["rows"][0]["features"] == {
        "driver_hourly_stats__conv_rate": {"value": 0.7, "status": "expired", "event_timestamp": iso(STALE)}
    }
    out = ok_json(
        repo,
        "--model",
        "churn_classifier@Challenger",
        "--entity",
        "driver_id=1001",
        "--entity",
        "customer_id=7",
    )
    assert list(out["rows"][0]["features"]) == [
        "conv_rate", "acc_rate", "avg_daily_trips", "current_balance", "avg_passenger_count",
    ]  # fmt: skip
    assert out["rows"][0]["features"]["current_balance"]["status"] == "missing"


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--features", "driver_hourly_stats:conv", "--entity", "driver_id=1"], "has no feature 'conv'"),
        (["--service", "driver_activity_v1", "--entity", "driver_id=1"], "no value for join key 'customer_id'"),
        (["--features", "driver_hourly_stats:conv_rate", "--entity", "driver_id"], "is not KEY=VALUE"),
        (["--features", "driver_hourly_stats:conv_rate", "--entity", "driver=1"], "not a join key"),
        (["--features", "driver_hourly_stats:conv_rate", "--service", "driver_activity_v1", "--entity", "driver_id=1"],
         "give exactly one of --features | --service | --model"),
        (["--features", "driver_hourly_stats:conv_rate"], "give exactly one of --entity | --entities"),
        (["--features", "driver_hourly_stats:conv_rate", "--entities", "nowhere.csv"], "does not exist"),
        (["--features", "driver_hourly_stats:conv_rate", "--entities", "e.txt"], "unknown extension"),
        (["--service", "driver_activity", "--entity", "driver_id=1"], "is not in the registry"),
    ],
)  # fmt: skip
def test_errors_exit_1_with_one_message(repo: Path, args: list[str], message: str) -> None:
    result = online(repo, *args)
    assert result.returncode == 1, result.stdout + result.stderr
    assert message in result.stderr
    assert result.stderr.startswith("error: ")
    assert "Traceback" not in result.stdout + result.stderr
    assert result.stdout == ""


def test_an_entities_file_without_the_join_key(repo: Path, tmp_path: Path) -> None:
    file = write_entities(tmp_path / "e.parquet", {"driver": [1001]})
    result = online(repo, "--features", "driver_hourly_stats:conv_rate", "--entities", str(file))
    assert result.returncode == 1
    assert f"entity file {file} has no column 'driver_id' (columns: driver)" in result.stderr
    bad = tmp_path / "bad.jsonl"
    bad.write_text("[1, 2]\nnot json\n", encoding="utf-8")
    result = online(repo, "--features", "driver_hourly_stats:conv_rate", "--entities", str(bad))
    assert result.returncode == 1
    assert "cannot read entity file" in result.stderr and "Traceback" not in result.stderr

"""``fsctl stats`` end to end (the CLI as a separate process): statistics of a view as text
and JSON checked against pyarrow on the same files, drift against a baseline window and a
training set with the exit codes of ``--fail-on-drift``, thresholds from flags and from
fsctl.yaml, prediction drift over a prediction log written by PredictionLog, and the errors."""

from __future__ import annotations

import json
import math
from collections.abc import Callable
from datetime import datetime, timedelta, timezone
from pathlib import Path
from subprocess import CompletedProcess
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq
import pytest

from fsctl.scoring.log import PredictionLog, PredictionRecord
from tests.cli.conftest import run_fsctl
from tests.support.example import copy_example_repo

pytestmark = pytest.mark.slow

UTC = timezone.utc
DAY1, DAY2, DAY3 = (datetime(2026, 3, d, tzinfo=UTC) for d in (1, 2, 3))

DEFS = """kind: Entity
name: rider
join_keys: [rider_id]
---
kind: FileSource
name: rides
path: data/rides.parquet
timestamp_field: event_timestamp
---
kind: FeatureView
name: ride_stats
entities: [rider]
source: rides
schema:
  - {name: city, dtype: string}
  - {name: premium, dtype: bool}
  - {name: fare, dtype: float64}
  - {name: steady, dtype: int64}
"""


def ok(*args: str) -> str:
    done = run_fsctl(*args)
    assert done.returncode == 0, done.stderr
    return done.stdout


def fails(*args: str) -> CompletedProcess[str]:
    done = run_fsctl(*args)
    assert done.returncode == 1, (done.stdout, done.stderr)
    assert "Traceback" not in done.stderr
    return done


def _rides() -> pa.Table:
    """Day 1: cities a x50, b x30, c x20; day 2: a x30, b x30, c x40 (the hand-computed PSI
    of tests/unit/test_psi.py, 0.240795). Fares move up by 10 on day 2; ``steady`` does not
    move; ``premium`` is true for every 4th ride both days."""
    cities = {DAY1: ["a"] * 50 + ["b"] * 30 + ["c"] * 20, DAY2: ["a"] * 30 + ["b"] * 30 + ["c"] * 40}
    rows: list[dict[str, Any]] = []
    for day, shift in ((DAY1, 0.0), (DAY2, 10.0)):
        for i, city in enumerate(cities[day]):
            rows.append(
                {
                    "rider_id": i,
                    "event_timestamp": day + timedelta(minutes=10 * i),
                    "city": city,
                    "premium": i % 4 == 0,
                    "fare": shift + (i * 37 % 100) / 10,
                    "steady": i % 10,
                }
            )
    return pa.Table.from_pylist(rows).cast(
        pa.schema(
            [
                ("rider_id", pa.int64()),
                ("event_timestamp", pa.timestamp("us", tz="UTC")),
                ("city", pa.string()),
                ("premium", pa.bool_()),
                ("fare", pa.float64()),
                ("steady", pa.int64()),
            ]
        )
    )


@pytest.fixture(scope="module")
def rides(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("stats") / "rides"
    (root / "data").mkdir(parents=True)
    (root / "fsctl.yaml").write_text("project: rides\nregistry: data/registry.json\n")
    (root / "defs.yaml").write_text(DEFS)
    pq.write_table(_rides(), root / "data" / "rides.parquet")
    ok("apply", "--yes", "--repo", str(root))
    return root


@pytest.fixture(scope="module")
def example(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = copy_example_repo(tmp_path_factory.mktemp("stats") / "example_repo")
    ok("apply", "--yes", "--repo", str(root))
    return root


# -- statistics ------------------------------------------------------------------------------


def test_statistics_of_a_view_match_pyarrow_on_its_source(example: Path) -> None:
    report = json.loads(ok("stats", "driver_hourly_stats", "--repo", str(example), "--format", "json"))
    table = pq.read_table(example / "data" / "driver_stats.parquet")
    assert report["format"] == 1
    assert report["subject"] == {
        "kind": "view",
        "name": "driver_hourly_stats",
        "version": None,
        "alias": None,
        "location": str(example / "data" / "driver_stats.parquet"),
    }
    assert report["window"] == {"start": None, "end": None} and report["rows"] == table.num_rows
    assert report["baseline"] is None and report["drifted"] == {"high": [], "moderate": []}
    by_name = {f["name"]: f for f in report["features"]}
    assert list(by_name) == ["conv_rate", "acc_rate", "avg_daily_trips"]
    for name, feature in by_name.items():
        column = table[name]
        values = np.asarray(column.drop_null().to_numpy(), float)
        assert feature["count"] == table.num_rows and feature["nulls"] == column.null_count
        assert feature["null_fraction"] == pytest.approx(column.null_count / table.num_rows)
        assert feature["min"] == pc.min(column).as_py() and feature["max"] == pc.max(column).as_py()
        assert feature["mean"] == pytest.approx(float(values.mean()), rel=1e-12)
        assert feature["std"] == pytest.approx(float(values.std(ddof=1)), rel=1e-9)
        assert list(feature["quantiles"]) == ["p01", "p05", "p25", "p50", "p75", "p95", "p99"]
        for label, value in feature["quantiles"].items():
            q = int(label[1:]) / 100
            assert np.mean(values < value) - 0.05 <= q <= np.mean(values <= value) + 0.05
        counts = np.histogram(values, bins=10, range=(values.min(), values.max()))[0].tolist()
        assert [b["count"] for b in feature["histogram"]] == counts
        assert feature["drift"] is None


def test_text_output_is_a_table_quantiles_and_bar_charts(rides: Path) -> None:
    text = ok("stats", "ride_stats", "--repo", str(rides), "--features", "city,premium,steady", "--end", "2026-03-02")
    lines = text.splitlines()
    assert lines[:8] == [
        "view ride_stats: 100 rows with event time in [earliest, 2026-03-02T00:00:00Z)",
        f"  read from {rides / 'data' / 'rides.parquet'}",
        "",
        "feature  dtype   rows  nulls  null %  distinct  min  max  mean      std",
        "-------  ------  ----  -----  ------  --------  ---  ---  ----  -------",
        "city     string   100      0   0.00%         3    a    c     -        -",
        "premium  bool     100      0   0.00%         2    -    -     -        -",
        "steady   int64    100      0   0.00%        10    0    9   4.5  2.88675",
    ]
    assert "city (string, 100 values)" in lines
    at = lines.index("city (string, 100 values)")
    assert lines[at + 1 : at + 4] == [
        "  a  ##############################  50",
        "  b  ##################              30",
        "  c  ############                    20",
    ]
    at = lines.index("premium (bool, 100 values)")
    assert lines[at + 1 : at + 3] == [
        "  false  ##############################  75",
        "  true   ##########                      25",
    ]
    at = lines.index("steady (int64, 100 values)")
    assert lines[at + 1] == "  [0, 0.9)    ##############################  10"
    assert lines[at + 10] == "  [8.1, 9]    ##############################  10"
    assert "drift" not in text


# -- drift -----------------------------------------------------------------------------------


def test_drift_against_a_baseline_window_and_fail_on_drift(rides: Path) -> None:
    args = ("stats", "ride_stats", "--repo", str(rides), "--start", "2026-03-02", "--baseline", "2026-03-01", "2026-03-02")
    report = json.loads(ok(*args, "--format", "json"))
    drift = {f["name"]: f["drift"] for f in report["features"]}
    # the hand-computed example (tests/unit/test_psi.py): 0.240795, moderate
    assert drift["city"]["psi"] == pytest.approx(0.240795, abs=1e-6)
    assert drift["city"]["level"] == "moderate" and drift["city"]["method"] == "categories"
    assert [b["label"] for b in drift["city"]["bins"]] == ["a", "b", "c", "(other)", "null"]
    assert drift["premium"]["psi"] == pytest.approx(0.0) and drift["premium"]["level"] == "ok"
    assert drift["steady"]["level"] == "ok" and drift["steady"]["psi"] < 0.01
    assert drift["fare"]["level"] == "high" and drift["fare"]["method"] == "quantile bins"
    assert report["drifted"] == {"high": ["fare"], "moderate": ["city"]}
    assert report["baseline"]["kind"] == "window" and report["baseline"]["rows"] == 100
    assert report["baseline"]["start"] == "2026-03-01T00:00:00Z"
    assert report["thresholds"] == {"warn": 0.1, "fail": 0.25}

    text = ok(*args)
    assert "drift against the baseline [2026-03-01T00:00:00Z, 2026-03-02T00:00:00Z) (100 rows)" in text
    assert "high drift: fare; moderate drift: city" in text

    done = fails(*args, "--fail-on-drift")
    assert "high drift: fare" in done.stdout
    assert done.stderr.strip() == "error: drift at or over 0.25 (PSI) in 1 feature of view ride_stats: fare"
    ok(*args, "--fail-on-drift", "--features", "city,steady")  # moderate is not a failure
    done = fails(*args, "--fail-on-drift", "--features", "city", "--psi-fail", "0.2", "--psi-warn", "0.05")
    assert done.stderr.strip().endswith("ride_stats: city")


def test_thresholds_from_fsctl_yaml(rides: Path, tmp_path: Path) -> None:
    import shutil

    repo = tmp_path / "rides"
    shutil.copytree(rides, repo)
    with (repo / "fsctl.yaml").open("a") as f:
        f.write("stats:\n  psi_warn: 0.3\n  psi_fail: 100\n  bins: 4\n")
    args = ("stats", "ride_stats", "--repo", str(repo), "--start", "2026-03-02", "--baseline", "2026-03-01", "2026-03-02")
    report = json.loads(ok(*args, "--fail-on-drift", "--format", "json"))
    assert report["thresholds"] == {"warn": 0.3, "fail": 100.0}
    assert report["drifted"] == {"high": [], "moderate": ["fare"]}
    assert len(report["features"][2]["histogram"]) == 4
    fails(*args, "--fail-on-drift", "--psi-fail", "0.25")  # a flag wins over the file
    (repo / "fsctl.yaml").write_text("project: rides\nstats: {psi_warn: 0.5, psi_fail: 0.2}\n")
    done = fails("stats", "ride_stats", "--repo", str(repo))
    assert "fsctl.yaml: field 'stats.psi_warn': must be more than 0 and at most psi_fail (0.2), got 0.5" in done.stderr


def test_drift_against_a_training_set(example: Path, tmp_path: Path) -> None:
    short, full = tmp_path / "training.parquet", tmp_path / "training_full.parquet"
    entities = str(example / "data" / "entities.csv")
    ok("historical", "--repo", str(example), "--model", "churn_classifier@Production", "--entities", entities,
       "--output", str(short))  # fmt: skip
    ok("historical", "--repo", str(example), "--service", "driver_activity_v2", "--entities", entities,
       "--output", str(full), "--full-feature-names")  # fmt: skip
    report = json.loads(ok("stats", "customer_profile", "--repo", str(example), "--baseline-file", str(short), "--format", "json"))
    baseline = report["baseline"]
    assert baseline["kind"] == "file" and baseline["made_for"] == "churn_classifier v1"
    assert baseline["rows"] == pq.read_metadata(short).num_rows
    training = pq.read_table(short)["current_balance"]
    compared = {f["name"]: f for f in baseline["features"]}
    assert list(compared) == ["current_balance"]  # the only feature of the view in this training set
    assert compared["current_balance"]["nulls"] == training.null_count
    assert compared["current_balance"]["mean"] == pytest.approx(pc.mean(training).as_py(), rel=1e-12)
    drift = {f["name"]: f["drift"] for f in report["features"]}
    assert drift["current_balance"]["psi"] is not None and math.isfinite(drift["current_balance"]["psi"])
    assert drift["lifetime_trip_count"] == {
        "psi": None, "level": "n/a", "method": None, "bins": [], "note": "not in the baseline",
    }  # fmt: skip
    assert report["notes"] == ["not in the baseline file, so not compared: avg_passenger_count, lifetime_trip_count"]

    # full feature names (view__feature) are found too
    report = json.loads(ok("stats", "customer_profile", "--repo", str(example), "--baseline-file", str(full), "--format", "json"))
    assert [f["name"] for f in report["baseline"]["features"]] == ["current_balance", "avg_passenger_count"]
    assert report["baseline"]["made_for"] is None
    text = ok("stats", "customer_profile", "--repo", str(example), "--baseline-file", str(full))
    assert f"drift against the baseline file {full}" in text


# -- prediction drift ------------------------------------------------------------------------


def _log_predictions(repo: Path, shift: float) -> list[PredictionRecord]:
    """300 predictions on 2026-01-06/07, alternating versions 1 and 2; version 1's features
    shifted by ``shift`` against the training data."""
    rng = np.random.default_rng(3)
    records = []
    for i in range(300):
        version = 1 + i % 2
        features: dict[str, Any] = {
            "conv_rate": float(rng.uniform(0, 1)) + (shift if version == 1 else 0.0),
            "acc_rate": float(rng.uniform(0.5, 1)),
            "avg_daily_trips": int(rng.integers(0, 1000)),
            "current_balance": None if i % 20 == 1 else float(rng.uniform(0, 500)),
        }
        if version == 2:
            features["avg_passenger_count"] = float(rng.uniform(1, 4))
        records.append(
            PredictionRecord(
                request_id=f"r{i}",
                predicted_at=datetime(2026, 1, 6, tzinfo=UTC) + timedelta(minutes=9 * i),
                model="churn_classifier",
                alias="Production" if version == 1 else "Challenger",
                model_version=version,
                registry_version=1,
                entity={"driver_id": 1001 + i % 5, "customer_id": 2001},
                features=features,
                outputs={"churn_probability": float(rng.uniform(0, 1))},
            )
        )
    with PredictionLog("data/predictions", repo, flush_rows=64) as log:
        log.append(records)
    with (repo / "fsctl.yaml").open("a") as f:
        f.write("scoring:\n  prediction_log: data/predictions\n")
    return records


@pytest.fixture
def logged(tmp_path: Path) -> Callable[[float], tuple[Path, list[PredictionRecord], Path]]:
    def make(shift: float) -> tuple[Path, list[PredictionRecord], Path]:
        repo = copy_example_repo(tmp_path / "example_repo")
        ok("apply", "--yes", "--repo", str(repo))
        records = _log_predictions(repo, shift)
        training = tmp_path / "training.parquet"
        ok("historical", "--repo", str(repo), "--model", "churn_classifier@Production",
           "--entities", str(repo / "data" / "entities.csv"), "--output", str(training))  # fmt: skip
        return repo, records, training

    return make


def test_prediction_drift_per_model_version_against_its_training_set(logged: Any) -> None:
    repo, records, training = logged(0.0)
    report = json.loads(ok("stats", "--model", "churn_classifier@Production", "--repo", str(repo),
                           "--baseline-file", str(training), "--format", "json"))  # fmt: skip
    mine = [r for r in records if r.model_version == 1]
    assert report["subject"]["kind"] == "model" and report["subject"]["version"] == 1
    assert report["subject"]["alias"] == "Production" and report["subject"]["location"] == str(repo / "data" / "predictions")
    assert report["rows"] == len(mine)
    by_name = {f["name"]: f for f in report["features"]}
    assert list(by_name) == ["conv_rate", "acc_rate", "avg_daily_trips", "current_balance", "prediction"]
    for name in ("conv_rate", "acc_rate", "avg_daily_trips", "current_balance"):
        served = [r.features[name] for r in mine if r.features[name] is not None]
        assert by_name[name]["nulls"] == len(mine) - len(served)
        assert by_name[name]["mean"] == pytest.approx(float(np.mean(served)), rel=1e-12)
        assert by_name[name]["min"] == min(served) and by_name[name]["max"] == max(served)
    predictions = [r.outputs["churn_probability"] for r in mine]
    assert by_name["prediction"]["mean"] == pytest.approx(float(np.mean(predictions)), rel=1e-12)
    assert by_name["prediction"]["drift"]["note"] == "not in the baseline"  # a training set has no predictions
    assert by_name["conv_rate"]["drift"]["psi"] is not None
    assert report["baseline"]["made_for"] == "churn_classifier v1" and report["notes"] == [
        "not in the baseline file, so not compared: prediction"
    ]

    # the other version, narrowed to one view, in a time range
    report = json.loads(ok("stats", "customer_profile", "--model", "churn_classifier/2", "--repo", str(repo),
                           "--end", "2026-01-07", "--format", "json"))  # fmt: skip
    day1 = [r for r in records if r.model_version == 2 and r.predicted_at < datetime(2026, 1, 7, tzinfo=UTC)]
    assert report["rows"] == len(day1) and report["subject"]["alias"] is None
    assert [f["name"] for f in report["features"]] == ["current_balance", "avg_passenger_count"]

    text = ok("stats", "--model", "churn_classifier@Production", "--repo", str(repo), "--baseline-file", str(training))
    assert text.startswith("model churn_classifier v1 (Production): 150 rows with prediction time in [earliest, latest)")


def test_prediction_drift_fails_on_drift(logged: Any) -> None:
    repo, _, training = logged(5.0)  # conv_rate served far outside what the model was trained on
    args = ("stats", "--model", "churn_classifier@Production", "--repo", str(repo), "--baseline-file", str(training))
    done = fails(*args, "--fail-on-drift")
    assert "model churn_classifier v1 (Production)" in done.stderr and "conv_rate" in done.stderr
    # the other version, against a window of its own log: no shift
    ok("stats", "--model", "churn_classifier/2", "--repo", str(repo), "--start", "2026-01-06T12:00:00",
       "--baseline", "2026-01-06", "2026-01-06T12:00:00", "--psi-fail", "5", "--fail-on-drift")  # fmt: skip
    # a training set of another version is noted
    report = json.loads(ok("stats", "--model", "churn_classifier/2", "--repo", str(repo), "--baseline-file",
                           str(training), "--format", "json"))  # fmt: skip
    assert "the baseline file is the training set of churn_classifier v1, not of churn_classifier v2" in report["notes"]


# -- errors ----------------------------------------------------------------------------------


def test_errors_are_one_clear_message(example: Path, rides: Path, tmp_path: Path) -> None:
    repo = str(example)
    cases = [
        (("stats", "driver_hourly_stat", "--repo", repo), "feature view 'driver_hourly_stat' is not in"),
        (("stats", "driver_hourly_stats", "--features", "conv", "--repo", repo), "view 'driver_hourly_stats' has no feature 'conv'"),
        (("stats", "driver_hourly_stats", "--start", "2030-01-01", "--repo", repo),
         "view 'driver_hourly_stats' has no rows in [2030-01-01T00:00:00Z, latest)"),
        (("stats", "driver_hourly_stats", "--start", "2026-01-02", "--end", "2026-01-01", "--repo", repo),
         "the start (2026-01-02T00:00:00Z) must be before the end"),
        (("stats", "driver_hourly_stats", "--baseline", "2030-01-01", "2030-01-02", "--repo", repo),
         "the baseline: view 'driver_hourly_stats' in [2030-01-01T00:00:00Z, 2030-01-02T00:00:00Z) has no rows"),
        (("stats", "driver_hourly_stats", "--start", "yesterday", "--repo", repo), "--start 'yesterday' is not an ISO-8601 time"),
        (("stats", "driver_hourly_stats", "--fail-on-drift", "--repo", repo), "--fail-on-drift needs a baseline"),
        (("stats", "--repo", repo), "name a VIEW, or a model version with --model"),
        (("stats", "driver_hourly_stats", "--baseline-file", str(tmp_path / "nope.parquet"), "--repo", repo),
         f"baseline file {tmp_path / 'nope.parquet'} does not exist"),
        (("stats", "driver_hourly_stats", "--baseline-file", str(example / "data" / "entities.csv"), "--repo", repo),
         "a training set must be parquet"),
        (("stats", "driver_hourly_stats", "--baseline-file", str(example / "data" / "customer_profile.parquet"), "--repo", repo),
         "has none of the features (conv_rate, acc_rate, avg_daily_trips); its columns: customer_id, event_timestamp"),
        (("stats", "--model", "churn_classifier@Production", "--repo", repo),
         "there is no prediction log to read: scoring.prediction_log is not set in fsctl.yaml"),
        (("stats", "--model", "churn_classifier@Nope", "--repo", repo), "model 'churn_classifier' has no alias 'Nope'"),
        (("stats", "ride_stats", "--psi-warn", "0.3", "--psi-fail", "0.2", "--repo", str(rides)),
         "PSI thresholds must satisfy 0 < warn <= fail, got warn 0.3 and fail 0.2"),
        (("stats", "ride_stats", "--bins", "0", "--repo", str(rides)), "--bins must be between 1 and 1000, got 0"),
    ]
    for args, message in cases:
        done = fails(*args)
        assert message in done.stderr, (args, done.stderr)
        assert done.stdout == "", args


def test_a_registry_with_nothing_applied_is_an_error_that_says_to_apply(example_repo: Path) -> None:
    done = fails("stats", "driver_hourly_stats", "--repo", str(example_repo))
    assert "has nothing applied yet" in done.stderr and "fsctl apply" in done.stderr

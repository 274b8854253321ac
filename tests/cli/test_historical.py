"""``fsctl historical`` end to end: the real CLI in a subprocess against the applied example repo.

The training sets it writes (parquet and CSV) are compared with the library's
``FeatureStore.get_historical_features`` on the same inputs. Errors exit 1 with one
``error:`` line (and maybe a hint), no traceback, and no output file; a join that fails
leaves an existing output file as it was.
"""

from __future__ import annotations

import json
import subprocess
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.csv as pacsv
import pyarrow.parquet as pq
import pytest

from fsctl import FeatureStore
from tests.cli.conftest import run_fsctl
from tests.support.example import copy_example_repo

pytestmark = pytest.mark.slow

V1 = ["conv_rate", "acc_rate", "avg_daily_trips", "current_balance"]
V2 = [*V1, "avg_passenger_count"]
ENTITY_COLUMNS = ["driver_id", "customer_id", "event_timestamp", "churned"]


@pytest.fixture(scope="module")
def repo(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A private copy of the example repo, applied once for the module (tests only read it)."""
    root = copy_example_repo(tmp_path_factory.mktemp("historical") / "example_repo")
    applied = run_fsctl("apply", "--yes", "--repo", str(root))
    assert applied.returncode == 0, applied.stderr
    return root


def historical(repo: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return run_fsctl("historical", "--repo", str(repo), *args)


def entities(repo: Path) -> Path:
    return repo / "data" / "entities.csv"


def library(repo: Path, **kwargs: Any) -> pa.Table:
    with FeatureStore(repo).get_historical_features(entities(repo), **kwargs) as result:
        return result.to_arrow()


def assert_one_error(result: subprocess.CompletedProcess[str], *fragments: str) -> None:
    assert result.returncode == 1, (result.stdout, result.stderr)
    assert "Traceback" not in result.stdout + result.stderr
    errors = [line for line in result.stderr.splitlines() if line.startswith("error:")]
    assert len(errors) == 1, result.stderr
    others = [
        line for line in result.stderr.splitlines() if not line.startswith(("error:", "  hint:", "fsctl: "))
    ]
    assert others == [], result.stderr
    for fragment in fragments:
        assert fragment in errors[0], (fragment, errors[0])


def test_service_to_parquet_equals_the_library_with_progress_on_stderr(repo, tmp_path):
    output = tmp_path / "out" / "train.parquet"
    result = historical(
        repo, "--entities", str(entities(repo)), "--service", "driver_activity_v1", "--output", str(output)
    )
    assert result.returncode == 0, result.stderr
    written = pq.read_table(output)
    assert written.column_names == ENTITY_COLUMNS + V1
    assert written.to_pylist() == library(repo, service="driver_activity_v1").to_pylist()
    assert written.num_rows == 22
    assert result.stdout.startswith(f"Wrote 22 rows to {output} in ")
    assert "driver_hourly_stats" in result.stdout and "customer_profile" in result.stdout
    progress = result.stderr.splitlines()
    assert progress and all(line.startswith("fsctl: ") for line in progress), result.stderr
    assert any("reading entity rows" in line for line in progress)
    assert any("joining 22 entity rows" in line for line in progress)
    assert any(f"writing {output}" in line for line in progress)
    assert sorted(p.name for p in output.parent.iterdir()) == ["train.parquet"]


def test_features_to_csv_with_full_feature_names(repo, tmp_path):
    output = tmp_path / "train.csv"
    refs = "customer_profile:current_balance,driver_hourly_stats:conv_rate"
    result = historical(
        repo,
        "--entities",
        str(entities(repo)),
        "--features",
        refs,
        "--output",
        str(output),
        "--full-feature-names",
    )
    assert result.returncode == 0, result.stderr
    expected = library(repo, features=refs.split(","), full_feature_names=True)
    assert expected.column_names == [
        *ENTITY_COLUMNS,
        "customer_profile__current_balance",
        "driver_hourly_stats__conv_rate",
    ]
    written = pacsv.read_csv(output, convert_options=pacsv.ConvertOptions(column_types=expected.schema))
    assert written.column_names == expected.column_names
    assert written.to_pylist() == expected.to_pylist()


@pytest.mark.parametrize(
    ("model", "columns"),
    [
        ("churn_classifier@Production", V1),
        ("churn_classifier@Challenger", V2),
        ("churn_classifier/1", V1),
        ("churn_classifier/2", V2),
    ],
)
def test_model_picks_its_bound_service(repo, tmp_path, model, columns):
    output = tmp_path / "train.parquet"
    result = historical(repo, "--entities", str(entities(repo)), "--model", model, "--output", str(output))
    assert result.returncode == 0, result.stderr
    written = pq.read_table(output)
    assert written.column_names == ENTITY_COLUMNS + columns
    assert written.to_pylist() == library(repo, model=model).to_pylist()


def test_json_summary(repo, tmp_path):
    output = tmp_path / "train.parquet"
    result = historical(
        repo, "--entities", str(entities(repo)), "--service", "driver_activity_v2", "--output", str(output),
        "--format", "json",
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    summary = json.loads(result.stdout)
    with FeatureStore(repo).get_historical_features(entities(repo), service="driver_activity_v2") as expected:
        stats = expected.stats()
    assert summary["output"] == str(output)
    assert summary["rows"] == 22
    assert summary["matched"] == {view: round(f, 6) for view, f in stats.matched.items()}
    assert set(summary["matched"]) == {"driver_hourly_stats", "customer_profile"}
    assert all(0 < f <= 1 for f in summary["matched"].values())
    assert isinstance(summary["seconds"], float)


def test_leakage_guard_flag(repo, tmp_path):
    output = tmp_path / "train.parquet"
    result = historical(
        repo, "--entities", str(entities(repo)), "--service", "driver_activity_v1", "--output", str(output),
        "--leakage-guard",
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    guarded = library(repo, service="driver_activity_v1", leakage_guard=True)
    assert pq.read_table(output).to_pylist() == guarded.to_pylist()
    # The example's rows are created up to an hour after their event time: the guard changes some.
    assert guarded.to_pylist() != library(repo, service="driver_activity_v1").to_pylist()


def _no_time(repo: Path, tmp: Path) -> str:
    path = tmp / "rows.csv"
    path.write_text("driver_id,customer_id,ts\n1001,2001,2026-01-01T00:00:00Z\n")
    return str(path)


def _xlsx(repo: Path, tmp: Path) -> str:
    path = tmp / "rows.xlsx"
    path.write_text("driver_id,event_timestamp\n")
    return str(path)


ERRORS: dict[str, tuple[Any, list[str], list[str]]] = {
    "unknown feature": (None, ["--features", "driver_hourly_stats:conv"], ["has no feature 'conv'"]),
    "unknown view": (
        None,
        ["--features", "driver_stats:conv_rate"],
        ["'driver_stats' is not in the registry"],
    ),
    "unknown service": (
        None,
        ["--service", "driver_activity_v9"],
        ["'driver_activity_v9' is not in the registry"],
    ),
    "unknown model alias": (None, ["--model", "churn_classifier@Staging"], ["no alias 'Staging'"]),
    "a version in non-ASCII digits": (None, ["--model", "churn_classifier/\u00b2"], ["the version must be a number"]),
    "bad entity extension": (_xlsx, ["--service", "driver_activity_v1"], ["unknown extension '.xlsx'"]),
    "missing entity file": ("missing", ["--service", "driver_activity_v1"], ["nope.csv", "does not exist"]),
    "no event_timestamp": (_no_time, ["--service", "driver_activity_v1"], ["no 'event_timestamp' column"]),
    "no features named": (None, [], ["give exactly one of --features | --service | --model"]),
    "two ways at once": (
        None,
        ["--features", "driver_hourly_stats:conv_rate", "--service", "driver_activity_v1"],
        ["give exactly one of", "(got --features, --service)"],
    ),
    "unknown output extension": (
        None,
        ["--service", "driver_activity_v1", "--output", "OUT.json"],
        ["unknown extension '.json'"],
    ),
}


@pytest.mark.parametrize("case", list(ERRORS))
def test_errors_exit_1_with_one_line_and_no_output(repo, tmp_path, case):
    entity_file, args, fragments = ERRORS[case]
    if entity_file is None:
        entity_path = str(entities(repo))
    elif entity_file == "missing":
        entity_path = str(tmp_path / "nope.csv")
    else:
        entity_path = entity_file(repo, tmp_path)
    out_dir = tmp_path / "out"
    if "--output" in args:
        args = [a.replace("OUT", str(out_dir / "train")) for a in args]
    else:
        args = [*args, "--output", str(out_dir / "train.parquet")]
    result = historical(repo, "--entities", entity_path, *args)
    assert_one_error(result, *fragments)
    assert not out_dir.exists()


def _corrupt(path: Path, column_name: str) -> None:
    """Rewrite the parquet file uncompressed and scribble over a column's first data page: the
    footer (and so the schema) stays readable; reading that column fails."""
    table = pq.read_table(path)
    pq.write_table(table, path, compression="none")
    column = pq.read_metadata(path).row_group(0).column(table.column_names.index(column_name))
    data = bytearray(path.read_bytes())
    data[column.data_page_offset : column.data_page_offset + 64] = b"\xff" * 64
    path.write_bytes(bytes(data))


# conv_rate fails in the join itself; event_timestamp already in the pass that picks the packing.
@pytest.mark.parametrize("column", ["conv_rate", "event_timestamp"])
def test_unreadable_source_data_leaves_the_output_file_as_it_was(example_repo, tmp_path, column):
    assert run_fsctl("apply", "--yes", "--repo", str(example_repo)).returncode == 0
    _corrupt(example_repo / "data" / "driver_stats.parquet", column)
    output = tmp_path / "out" / "train.parquet"
    output.parent.mkdir()
    output.write_bytes(b"the previous training set")
    result = historical(
        example_repo,
        "--entities",
        str(entities(example_repo)),
        "--service",
        "driver_activity_v1",
        "--output",
        str(output),
    )
    assert_one_error(result, "'driver_stats_source' at ", "driver_stats.parquet")
    assert output.read_bytes() == b"the previous training set"
    assert sorted(p.name for p in output.parent.iterdir()) == ["train.parquet"]


def test_a_join_key_type_mismatch_writes_nothing(repo, tmp_path):
    rows = tmp_path / "rows.csv"
    rows.write_text("driver_id,customer_id,event_timestamp\nd-1001,2001,2026-01-02T00:00:00Z\n")
    output = tmp_path / "train.csv"
    result = historical(
        repo, "--entities", str(rows), "--service", "driver_activity_v1", "--output", str(output)
    )
    assert_one_error(result, "join key 'driver_id'", "VARCHAR", "BIGINT")
    assert list(tmp_path.iterdir()) == [rows]


def test_an_unwritable_output_is_exit_1_and_leaves_no_temp_file(repo, tmp_path):
    taken = tmp_path / "train.parquet"
    taken.mkdir()  # the output path is a folder: the final rename fails after the data is written
    (tmp_path / "file").write_text("not a folder")
    for output, fragment in ((taken, "Is a directory"), (tmp_path / "file" / "train.csv", "File exists")):
        result = historical(
            repo,
            "--entities",
            str(entities(repo)),
            "--service",
            "driver_activity_v1",
            "--output",
            str(output),
        )
        assert_one_error(result, f"cannot write output file {output}", fragment)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["file", "train.parquet"]
    assert list(taken.iterdir()) == []

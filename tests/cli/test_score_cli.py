"""``fsctl score`` end to end (the CLI as a separate process) and ``FeatureStore.score_batch``:
the same predictions from both, checked against the model function applied by hand to the
training set ``fsctl historical`` builds for the same version; point in time, latest
offline, and online features; what the output records; gates; bad input."""

from __future__ import annotations

import importlib.util
import json
from datetime import datetime, timezone
from pathlib import Path
from types import ModuleType

import pyarrow as pa
import pyarrow.csv as pcsv
import pyarrow.parquet as pq
import pytest

from fsctl import FeatureStore
from fsctl.services.sample_data import write_sample_data
from tests.cli.conftest import run_fsctl
from tests.support.example import copy_example_repo

pytestmark = pytest.mark.slow


def churn_module(repo: Path) -> ModuleType:
    """The example repo's model code, imported from its file (as an independent reference)."""
    spec = importlib.util.spec_from_file_location("churn_reference", repo / "model_code" / "churn.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="module")
def repo(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = copy_example_repo(tmp_path_factory.mktemp("score") / "example_repo")
    done = run_fsctl("apply", "--yes", "--repo", str(root))
    assert done.returncode == 0, done.stderr
    return root


def ok(*args: str) -> str:
    done = run_fsctl(*args)
    assert done.returncode == 0, done.stderr
    return done.stdout


def test_point_in_time_scores_match_the_model_on_the_training_set(repo: Path, tmp_path: Path) -> None:
    entities = repo / "data" / "entities.csv"
    out, training = tmp_path / "scores.parquet", tmp_path / "training.parquet"
    text = ok("score", "--repo", str(repo), "--model", "churn_classifier@Production",
              "--entities", str(entities), "--output", str(out))  # fmt: skip
    assert "with model churn_classifier v1 (Production)" in text
    assert "point-in-time features" in text and "Recorded in the file's parquet metadata" in text
    ok("historical", "--repo", str(repo), "--model", "churn_classifier@Production",
       "--entities", str(entities), "--output", str(training))  # fmt: skip

    scores = pq.read_table(out)
    given = pcsv.read_csv(entities)
    # every entity row, in input order, with all its columns, then the prediction
    assert scores.column_names == [*given.column_names, "churn_probability"]
    assert scores.column("driver_id").to_pylist() == given.column("driver_id").to_pylist()
    assert scores.column("churned").to_pylist() == given.column("churned").to_pylist()
    features = pq.read_table(training).to_pandas()[["conv_rate", "acc_rate", "avg_daily_trips", "current_balance"]]
    expected = churn_module(repo).v1(features)
    assert scores.column("churn_probability").to_pylist() == expected
    assert len(set(expected)) > 3  # the rows did get different features

    meta = json.loads(scores.schema.metadata[b"fsctl"])
    assert meta["model"] == "churn_classifier" and meta["version"] == 1 and meta["alias"] == "Production"
    assert meta["registry_version"] == 1 and meta["features"] == "point_in_time"
    assert meta["uri"] == "python://model_code.churn:v1" and meta["outputs"] == ["churn_probability"]


def test_the_python_api_gives_the_same_predictions_as_the_cli(repo: Path, tmp_path: Path) -> None:
    entities = repo / "data" / "entities.csv"
    out = tmp_path / "scores.csv"
    summary = json.loads(ok("score", "--repo", str(repo), "--model", "churn_classifier/2", "--entities",
                            str(entities), "--output", str(out), "--format", "json"))  # fmt: skip
    assert summary["rows"] == 22 and summary["metadata_written"] is False
    assert summary["model"]["version"] == 2 and summary["model"]["alias"] is None
    from_cli = pcsv.read_csv(out)
    # CSV has no metadata: the version, alias and registry version are columns
    assert from_cli.column_names[-4:] == ["prediction", "model_version", "model_alias", "registry_version"]
    assert set(from_cli.column("model_version").to_pylist()) == {2}
    assert set(from_cli.column("registry_version").to_pylist()) == {1}

    with FeatureStore(repo) as store:
        result = store.score_batch(model="churn_classifier/2", entities=pcsv.read_csv(entities).to_pandas())
        by_uri = store.score_batch(model_uri="models:/churn_classifier/2", df=str(entities))
    frame = result.to_pandas()
    assert frame["prediction"].round(6).tolist() == from_cli.column("prediction").to_pylist()
    assert by_uri.to_arrow().column("prediction").to_pylist() == frame["prediction"].tolist()
    assert result.metadata()["version"] == 2 and len(result) == 22


def test_without_event_timestamp_the_latest_values_offline_equal_the_online_ones(tmp_path: Path) -> None:
    """Rows without event_timestamp get the latest values as of now: offline, the
    point-in-time join at the current time; with --online, the online store after a
    materialize up to now. On data written up to now, both give the same predictions."""
    root = copy_example_repo(tmp_path / "example_repo")
    now = datetime.now(timezone.utc).replace(minute=0, second=0, microsecond=0)
    write_sample_data(root / "data", now)  # fresh data: within the views' TTLs
    ok("apply", "--yes", "--repo", str(root))
    end = datetime.now(timezone.utc).isoformat().replace("+00:00", "Z")
    ok("materialize-incremental", end, "--repo", str(root))
    keys = tmp_path / "keys.csv"
    keys.write_text("driver_id,customer_id\n1001,2001\n1002,2002\n1003,2003\n1005,2001\n")
    offline, online = tmp_path / "offline.parquet", tmp_path / "online.parquet"
    text = ok("score", "--repo", str(root), "--model", "churn_classifier@Challenger",
              "--entities", str(keys), "--output", str(offline))  # fmt: skip
    assert "the latest offline features (as of now)" in text
    ok("score", "--repo", str(root), "--model", "churn_classifier@Challenger", "--entities", str(keys),
       "--output", str(online), "--online")  # fmt: skip
    a, b = pq.read_table(offline), pq.read_table(online)
    assert a.column_names == ["driver_id", "customer_id", "prediction"] == b.column_names
    assert a.column("prediction").to_pylist() == b.column("prediction").to_pylist()
    assert json.loads(b.schema.metadata[b"fsctl"])["features"] == "online"
    # driver 1005 stopped reporting 2.5 days ago: past the 2d TTL, the model saw nulls
    reference = churn_module(root).v2(
        pa.table({"acc_rate": [None], "avg_daily_trips": [None], "avg_passenger_count": [None]})
    )
    assert a.column("prediction").to_pylist()[3] != reference[0]  # the customer's value is still there


def test_a_version_failing_its_gates_now_is_refused_unless_allowed(tmp_path: Path) -> None:
    root = copy_example_repo(tmp_path / "example_repo")
    ok("apply", "--yes", "--repo", str(root))
    config = root / "fsctl.yaml"  # a gate added after Production was set: v1 lacks tags.approved_by
    config.write_text(config.read_text() + "models:\n  required_metadata: [owner, description, tags.approved_by]\n")
    out = tmp_path / "scores.parquet"
    args = ("score", "--repo", str(root), "--model", "churn_classifier@Production",
            "--entities", str(root / "data" / "entities.csv"), "--output", str(out))  # fmt: skip
    done = run_fsctl(*args)
    assert done.returncode == 1
    assert "model churn_classifier v1 (Production) fails its promotion gates now: metadata" in done.stderr
    assert "--allow-failing-gates" in done.stderr and "Traceback" not in done.stderr
    assert not out.exists()
    ok(*args, "--allow-failing-gates")
    assert pq.read_table(out).num_rows == 22
    # a version no protected alias points at has no promotion gates to fail
    ok("score", "--repo", str(root), "--model", "churn_classifier@Challenger",
       "--entities", str(root / "data" / "entities.csv"), "--output", str(out))  # fmt: skip


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("--model", "nope@Production"), "model 'nope' is not in the registry"),
        (("--model", "churn_classifier@Staging"), "model 'churn_classifier' has no alias 'Staging'"),
        (("--model", "churn_classifier/9"), "model 'churn_classifier' has no version 9"),
        (("--model", "churn_classifier"), "names no version"),
    ],
)
def test_bad_model_references(repo: Path, tmp_path: Path, args: tuple[str, ...], message: str) -> None:
    out = tmp_path / "scores.parquet"
    done = run_fsctl("score", "--repo", str(repo), *args, "--entities", str(repo / "data" / "entities.csv"),
                     "--output", str(out))  # fmt: skip
    assert done.returncode == 1 and message in done.stderr, done.stderr
    assert "Traceback" not in done.stderr and not out.exists()


def test_output_may_not_replace_the_entity_file_and_needs_a_known_extension(repo: Path, tmp_path: Path) -> None:
    entities = tmp_path / "entities.csv"
    entities.write_bytes((repo / "data" / "entities.csv").read_bytes())
    done = run_fsctl("score", "--repo", str(repo), "--model", "churn_classifier/1",
                     "--entities", str(entities), "--output", str(entities))  # fmt: skip
    assert done.returncode == 1 and "is the entity file" in done.stderr
    assert entities.read_bytes() == (repo / "data" / "entities.csv").read_bytes()
    done = run_fsctl("score", "--repo", str(repo), "--model", "churn_classifier/1",
                     "--entities", str(entities), "--output", str(tmp_path / "x.xlsx"))  # fmt: skip
    assert done.returncode == 1 and "unknown extension '.xlsx'" in done.stderr


def test_a_model_that_fails_is_one_message_and_writes_nothing(tmp_path: Path) -> None:
    root = copy_example_repo(tmp_path / "example_repo")
    (root / "model_code" / "broken.py").write_text("def predict(features):\n    raise ValueError('no such column: x')\n")
    models = root / "models.yaml"
    models.write_text(models.read_text().replace("python://model_code.churn:v2", "python://model_code.broken:predict"))
    ok("apply", "--yes", "--repo", str(root))
    out = tmp_path / "scores.parquet"
    done = run_fsctl("score", "--repo", str(root), "--model", "churn_classifier@Challenger",
                     "--entities", str(root / "data" / "entities.csv"), "--output", str(out))  # fmt: skip
    assert done.returncode == 1, done.stderr
    assert "model churn_classifier v2 (Challenger) (python://model_code.broken:predict) failed to predict: " \
           "ValueError: no such column: x" in done.stderr  # fmt: skip
    assert "Traceback" not in done.stderr and not out.exists()

"""MLflow end to end, the seeds' story: build a training set for a model version with
``fsctl historical``, train a scikit-learn model on it, log and register it in a real MLflow
tracking store and registry (local, SQLite), point the version's ``uri`` at
``models:/churn/1``, apply, and ``fsctl score`` (a separate process, finding MLflow through
``MLFLOW_TRACKING_URI`` as in production) gives exactly the model's own predictions on the
same features."""

from __future__ import annotations

import json
import warnings
from pathlib import Path

import pyarrow.parquet as pq
import pytest

from tests.cli.conftest import run_fsctl
from tests.support.example import copy_example_repo

pytestmark = [pytest.mark.slow, pytest.mark.filterwarnings("ignore::UserWarning", "ignore::FutureWarning")]

QUIET = {
    "MLFLOW_DISABLE_TELEMETRY": "true",
    "DO_NOT_TRACK": "true",
    "MLFLOW_ENABLE_ARTIFACTS_PROGRESS_BAR": "false",
    "MLFLOW_HTTP_REQUEST_MAX_RETRIES": "0",
}
FEATURES = ["conv_rate", "acc_rate", "avg_daily_trips", "current_balance"]  # driver_activity_v1, in order


def ok(*args: str, **env: str) -> str:
    done = run_fsctl(*args, **env)
    assert done.returncode == 0, done.stderr
    return done.stdout


def test_score_through_an_mlflow_registry(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    repo = copy_example_repo(tmp_path / "example_repo")
    ok("apply", "--yes", "--repo", str(repo))
    training = tmp_path / "training.parquet"
    entities = repo / "data" / "entities.csv"
    ok("historical", "--repo", str(repo), "--model", "churn_classifier@Production",
       "--entities", str(entities), "--output", str(training))  # fmt: skip
    frame = pq.read_table(training).to_pandas()
    X = frame[FEATURES]  # noqa: N806
    y = frame["churned"]

    tracking = f"sqlite:///{tmp_path / 'mlflow.db'}"
    for name, value in {**QUIET, "MLFLOW_TRACKING_URI": tracking}.items():
        monkeypatch.setenv(name, value)
    import mlflow
    import mlflow.sklearn
    from mlflow.models import infer_signature
    from sklearn.impute import SimpleImputer
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline

    mlflow.set_tracking_uri(tracking)
    model = make_pipeline(SimpleImputer(), LogisticRegression()).fit(X, y)  # rows past a TTL have nulls
    experiment = mlflow.create_experiment("churn", artifact_location=(tmp_path / "artifacts").as_uri())
    with warnings.catch_warnings(), mlflow.start_run(experiment_id=experiment):
        warnings.simplefilter("ignore")
        # MLflow 3 saves sklearn models with skops, which loads only types it is told to trust
        mlflow.sklearn.log_model(model, name="model", registered_model_name="churn",
                                 signature=infer_signature(X, model.predict(X)),
                                 skops_trusted_types=["numpy.dtype"])  # fmt: skip

    models = repo / "models.yaml"
    models.write_text(models.read_text().replace("python://model_code.churn:v1", "models:/churn/1"))
    ok("apply", "--yes", "--repo", str(repo), "--allow-breaking", "Model/churn_classifier",
       "--reason", "the model moves to the MLflow registry")  # fmt: skip
    out = tmp_path / "scores.parquet"
    env = {**QUIET, "MLFLOW_TRACKING_URI": tracking}
    ok("score", "--repo", str(repo), "--model", "churn_classifier@Production", "--entities", str(entities),
       "--output", str(out), **env)  # fmt: skip

    scores = pq.read_table(out)
    # the model got the same features, in the service's order, as its training set holds
    assert scores.column("churn_probability").to_pylist() == model.predict(X).tolist()
    assert scores.column("driver_id").to_pylist() == frame["driver_id"].tolist()
    meta = json.loads(scores.schema.metadata[b"fsctl"])
    assert meta["uri"] == "models:/churn/1" and meta["version"] == 1 and meta["alias"] == "Production"

    # without the tracking store, one clear message naming the URI
    done = run_fsctl("score", "--repo", str(repo), "--model", "churn_classifier@Production",
                     "--entities", str(entities), "--output", str(tmp_path / "x.parquet"),
                     **QUIET, MLFLOW_TRACKING_URI=f"sqlite:///{tmp_path / 'empty.db'}")  # fmt: skip
    assert done.returncode == 1 and "models:/churn/1" in done.stderr and "Traceback" not in done.stderr

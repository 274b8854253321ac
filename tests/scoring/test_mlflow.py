"""MLflow model URIs against a real MLflow tracking store and model registry: local, SQLite,
in a temp folder, built once for the module. Two scikit-learn models are logged as versions
1 and 2 of the registered model ``churn``, ``@champion`` points at version 1, and
``fsctl.workspace.load_model`` must give the same predictions as the sklearn models
themselves through ``models:/churn/N``, ``models:/churn@champion`` and ``runs:/RUN/model``.
Unknown versions, aliases, models and runs, and an unreachable server, are one-line
ModelErrors naming the URI and the tracking URI.

The loader finds MLflow through ``MLFLOW_TRACKING_URI`` only (as in production): the fixture
sets it and leaves no tracking URI set in-process. Telemetry is off and nothing reaches the
network (the "unreachable server" is a closed port on 127.0.0.1).
"""

from __future__ import annotations

import time
import warnings
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest

from fsctl.errors import ModelError
from fsctl.scoring import prediction_columns
from fsctl.workspace import load_model
from tests.support.s3 import free_port

pytestmark = pytest.mark.filterwarnings(
    "ignore::UserWarning", "ignore::FutureWarning", "ignore::DeprecationWarning"
)

QUIET_MLFLOW = {
    "MLFLOW_DISABLE_TELEMETRY": "true",
    "DO_NOT_TRACK": "true",
    "MLFLOW_ENABLE_ARTIFACTS_PROGRESS_BAR": "false",
    "MLFLOW_HTTP_REQUEST_MAX_RETRIES": "0",
    "MLFLOW_HTTP_REQUEST_TIMEOUT": "5",
}


@dataclass(frozen=True)
class Registry:
    """What the fixture built: the tracking URI, the feature rows, the sklearn models of
    versions 1 and 2 and their runs."""

    tracking_uri: str
    frame: pd.DataFrame
    models: dict[int, Any]
    runs: dict[int, str]


@pytest.fixture(scope="module")
def registry(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Registry]:
    folder = tmp_path_factory.mktemp("mlflow")
    tracking_uri = f"sqlite:///{folder / 'mlflow.db'}"
    with pytest.MonkeyPatch.context() as patch:
        for name in (
            "MLFLOW_REGISTRY_URI",
            "MLFLOW_EXPERIMENT_ID",
            "MLFLOW_EXPERIMENT_NAME",
            "MLFLOW_RUN_ID",
        ):
            patch.delenv(name, raising=False)
        for name, value in QUIET_MLFLOW.items():
            patch.setenv(name, value)
        import mlflow
        import mlflow.sklearn
        from mlflow import MlflowClient
        from mlflow.models import infer_signature
        from sklearn.linear_model import LogisticRegression

        patch.setenv("MLFLOW_TRACKING_URI", tracking_uri)  # saves the caller's value for the end
        mlflow.set_tracking_uri(tracking_uri)
        try:
            rng = np.random.default_rng(11)
            frame = pd.DataFrame({"tenure": rng.normal(size=60), "spend": rng.normal(size=60)})
            targets = {
                1: (frame["tenure"] + frame["spend"] > 0).astype(int),
                2: (frame["tenure"] - frame["spend"] > 0).astype(int),  # a different model
            }
            experiment = mlflow.create_experiment(
                "fsctl-scoring", artifact_location=(folder / "artifacts").as_uri()
            )
            models: dict[int, Any] = {}
            runs: dict[int, str] = {}
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                for version, target in targets.items():
                    model = LogisticRegression().fit(frame, target)
                    with mlflow.start_run(experiment_id=experiment) as run:
                        mlflow.sklearn.log_model(
                            model,
                            name="model",
                            registered_model_name="churn",
                            signature=infer_signature(frame, model.predict(frame)),
                            pip_requirements=["scikit-learn"],  # no requirement inference: fast
                        )
                    models[version], runs[version] = model, run.info.run_id
            MlflowClient().set_registered_model_alias("churn", "champion", 1)
        finally:
            mlflow.set_tracking_uri(None)  # type: ignore[arg-type]  # the loader must go by the env
        patch.setenv("MLFLOW_TRACKING_URI", tracking_uri)
        yield Registry(tracking_uri, frame, models, runs)


def uri_of(template: str, registry: Registry) -> str:
    return template.format(run1=registry.runs[1], run2=registry.runs[2])


@pytest.mark.parametrize(
    ("template", "version"),
    [
        ("models:/churn/1", 1),
        ("models:/churn/2", 2),
        ("models:/churn@champion", 1),
        ("runs:/{run1}/model", 1),
        ("runs:/{run2}/model", 2),
    ],
)
def test_a_registered_model_predicts_as_the_sklearn_model_does(
    registry: Registry, tmp_path: Path, template: str, version: int
) -> None:
    uri = uri_of(template, registry)
    model = load_model(uri, tmp_path)
    assert model.uri == uri
    frame = registry.frame
    got = prediction_columns(model.predict(frame), len(frame), "churn", uri)
    assert got == {"churn": registry.models[version].predict(frame).tolist()}


def test_the_two_versions_are_different_models(registry: Registry) -> None:
    frame = registry.frame
    assert (registry.models[1].predict(frame) != registry.models[2].predict(frame)).any()


@pytest.mark.parametrize(
    ("uri", "said", "hint"),
    [
        ("models:/churn/9", "Model Version (name=churn, version=9) not found", "'churn' has versions 1, 2"),
        ("models:/churn@nope", "alias nope not found", "aliases @champion (version 1)"),
        ("models:/chrun/1", "name=chrun not found", "did you mean 'churn'?"),
        ("runs:/0123456789abcdef0123456789abcdef/model", "not found", "check the run id"),
        ("runs:/{run1}/no-such-path", "no-such-path", "check the run id and the model's artifact path"),
    ],
)
def test_what_is_not_in_the_registry_is_a_one_line_model_error(
    registry: Registry, tmp_path: Path, uri: str, said: str, hint: str
) -> None:
    uri = uri_of(uri, registry)
    with pytest.raises(ModelError) as caught:
        load_model(uri, tmp_path)
    error = caught.value
    assert "\n" not in error.message
    assert error.message.startswith(f"model URI {uri}: no such ")
    assert f"in the MLflow tracking store {registry.tracking_uri}" in error.message
    assert said in error.message
    assert error.hint is not None and hint in error.hint


def test_an_unreachable_tracking_server_fails_fast_without_showing_its_password(
    registry: Registry, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    server = f"http://ops:s3cret@127.0.0.1:{free_port()}"  # nothing listens there
    monkeypatch.setenv("MLFLOW_TRACKING_URI", server)
    for uri in ("models:/churn/1", f"runs:/{registry.runs[1]}/model"):
        started = time.perf_counter()
        with pytest.raises(ModelError) as caught:
            load_model(uri, tmp_path)
        assert time.perf_counter() - started < 10
        text = str(caught.value)
        assert f"model URI {uri}: cannot reach the MLflow tracking store http://ops:***@127.0.0.1" in text
        assert "connection refused" in text
        assert "MLFLOW_TRACKING_URI" in text
        assert "s3cret" not in text


def test_a_separate_registry_uri_is_named_in_errors(
    registry: Registry, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    other = f"http://127.0.0.1:{free_port()}"  # nothing listens there
    monkeypatch.setenv("MLFLOW_REGISTRY_URI", other)
    with pytest.raises(ModelError) as caught:
        load_model("models:/churn/1", tmp_path)
    assert caught.value.message == (
        f"model URI models:/churn/1: cannot reach the MLflow registry {other} "
        f"(tracking {registry.tracking_uri}): connection refused"
    )
    run = f"runs:/{registry.runs[1]}/model"  # a run's artifacts come from the tracking store
    assert (
        load_model(run, tmp_path).predict(registry.frame).tolist()
        == registry.models[1].predict(registry.frame).tolist()
    )


@pytest.mark.parametrize("uri", ["models:/", "models:/churn@", "runs:/abc", "runs:/"])
def test_a_malformed_mlflow_uri_shows_the_forms(tmp_path: Path, uri: str) -> None:
    with pytest.raises(ModelError, match="not an MLflow model URI") as caught:
        load_model(uri, tmp_path)
    assert "models:/NAME/VERSION, models:/NAME@ALIAS or runs:/RUN_ID/PATH" in str(caught.value)

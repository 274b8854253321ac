"""Fast unit tests of what scoring and the prediction endpoint share: the model's output read
as columns, the traffic split's buckets, MLflow-style references to bindings, the model
cache, and how a missing-feature policy change is classified in a plan."""

from __future__ import annotations

import threading
import time
from collections import Counter
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pytest

from fsctl.diff.compare import classify
from fsctl.diff.plan import NON_BREAKING
from fsctl.errors import ModelError
from fsctl.scoring import feature_frame, frame_of, predict_failed, prediction_columns
from fsctl.services.model_target import binding_ref, bucket_of, route


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ([0.1, 0.2], {"churn": [0.1, 0.2]}),
        (np.array([1, 0]), {"churn": [1, 0]}),
        (np.array([[0.9, 0.1], [0.3, 0.7]]), {"churn_0": [0.9, 0.3], "churn_1": [0.1, 0.7]}),
        (np.array([[0.5], [0.6]]), {"churn": [0.5, 0.6]}),
        (pd.Series([True, False]), {"churn": [True, False]}),
        (pd.DataFrame({"p": [1.0, 2.0], "label": ["a", "b"]}), {"p": [1.0, 2.0], "label": ["a", "b"]}),
        (pd.DataFrame({"whatever": [1.0, 2.0]}), {"churn": [1.0, 2.0]}),
        ({"score": np.array([3, 4])}, {"score": [3, 4]}),
        (pa.table({"x": [5, 6]}), {"churn": [5, 6]}),
    ],
)
def test_every_usual_answer_becomes_named_columns_of_python_values(raw: Any, expected: dict[str, list[Any]]) -> None:
    columns = prediction_columns(raw, 2, "churn")
    assert columns == expected
    assert all(type(v) in (int, float, bool, str) for values in columns.values() for v in values)


def test_batch_scoring_keeps_numpy_columns_as_arrays() -> None:
    columns = prediction_columns(np.array([[0.9, 0.1], [0.3, 0.7]]), 2, arrays=True)
    assert all(isinstance(c, np.ndarray) for c in columns.values())
    assert {k: v.tolist() for k, v in columns.items()} == {"prediction_0": [0.9, 0.3], "prediction_1": [0.1, 0.7]}
    assert isinstance(prediction_columns(pd.Series([1, 2]), 2, arrays=True)["prediction"], np.ndarray)
    assert prediction_columns([1, 2], 2, arrays=True) == {"prediction": [1, 2]}
    with pytest.raises(ModelError, match="returned 3 values"):
        prediction_columns(np.zeros(3), 2, arrays=True)


def test_the_default_output_name_and_wrong_answers() -> None:
    assert prediction_columns([1, 2], 2) == {"prediction": [1, 2]}
    with pytest.raises(ModelError, match=r"returned 1 values in 'prediction' for 2 rows"):
        prediction_columns([1], 2, uri="python://m:f")
    with pytest.raises(ModelError, match="predict returned int, not a column of predictions"):
        prediction_columns(7, 1)
    with pytest.raises(ModelError, match="predict returned str"):
        prediction_columns("abc", 3)


def test_the_model_input_is_the_features_in_the_services_order() -> None:
    table = pa.table({"driver_id": [1, 2], "b": [0.1, 0.2], "a": [3, 4]})
    frame = feature_frame(table, ["a", "b"])
    assert isinstance(frame, pd.DataFrame) and list(frame.columns) == ["a", "b"]
    built = frame_of(["b", "a"], [[0.1], [3]])
    assert list(built.columns) == ["b", "a"] and built.iloc[0].tolist() == [0.1, 3]


def test_a_models_own_exception_is_one_line() -> None:
    error = predict_failed("churn v1", "python://m:f", ValueError("Input X contains NaN.\nLong advice " * 50))
    assert error.message == "model churn v1 (python://m:f) failed to predict: ValueError: Input X contains NaN."
    assert "NaN in pandas" in str(error.hint)


def test_traffic_buckets_are_stable_sticky_and_proportional() -> None:
    assert bucket_of("churn", (1001, 2001)) == bucket_of("churn", (1001, 2001))
    assert bucket_of("churn", ("1001",)) == bucket_of("churn", (1001,))  # a key sent as text or number
    keys = [(k,) for k in range(10_000)]
    aliases = route("churn", {"Champion": 80, "Challenger": 20}, keys)
    share = Counter(aliases)["Challenger"] / len(keys)
    assert 0.18 <= share <= 0.22
    # the declared order of the YAML does not change who goes where
    assert route("churn", {"Challenger": 20, "Champion": 80}, keys) == aliases
    # another model splits the same keys independently
    other = route("eta", {"Champion": 80, "Challenger": 20}, keys)
    assert other != aliases
    # an alias with 0% gets nothing; 100% gets everything
    assert set(route("churn", {"Champion": 100, "Challenger": 0}, keys[:500])) == {"Champion"}


@pytest.mark.parametrize(
    ("ref", "binding"),
    [
        ("models:/churn/3", "churn/3"),
        ("models:/churn@Champion", "churn@Champion"),
        ("models:/churn/Production", "churn@Production"),
        ("churn@Production", "churn@Production"),
        ("churn/2", "churn/2"),
    ],
)
def test_mlflow_style_references_name_the_binding(ref: str, binding: str) -> None:
    assert binding_ref(ref) == binding


def test_the_model_cache_loads_each_version_once_under_concurrency() -> None:
    from fsctl.services.model_target import Target
    from fsctl.services.predict import ModelCache

    loads: list[str] = []

    class Loaded:
        def __init__(self, uri: str) -> None:
            self.uri = uri

        def predict(self, features: Any) -> Any:
            return [0] * len(features)

    def load(uri: str) -> Loaded:
        loads.append(uri)
        time.sleep(0.05)  # a slow load: every thread arrives while it runs
        return Loaded(uri)

    cache = ModelCache(load)
    target = Target("churn", 1, "Production", "python://m:v1", "svc", None, None, "error", 1)  # type: ignore[arg-type]
    got: list[Any] = []
    threads = [threading.Thread(target=lambda: got.append(cache.get(target))) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert loads == ["python://m:v1"] and len({id(g) for g in got}) == 1 and len(cache) == 1


def test_a_version_pruned_while_it_loads_is_not_cached() -> None:
    from fsctl.services.model_target import Target
    from fsctl.services.predict import ModelCache

    started, release = threading.Event(), threading.Event()

    def load(uri: str) -> object:
        started.set()
        release.wait(5)
        return object()

    class Catalog:  # the registry after the version was removed: no models
        version = 7

        def names(self, kind: str) -> list[str]:
            return []

    cache = ModelCache(load)  # type: ignore[arg-type]
    target = Target("churn", 1, "Production", "python://m:v1", "svc", None, None, "error", 1)  # type: ignore[arg-type]
    loader = threading.Thread(target=cache.get, args=(target,))
    loader.start()
    assert started.wait(5)
    cache.prune(Catalog())  # type: ignore[arg-type]
    release.set()
    loader.join()
    assert len(cache) == 0


def test_a_missing_features_policy_change_is_a_non_breaking_plan_item() -> None:
    assert classify("Model", "missing_features", None, "null") == (NON_BREAKING, "missing features: null (was error)")
    assert classify("Model", "traffic.Challenger", 10, 20)[0] == NON_BREAKING

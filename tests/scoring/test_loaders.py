"""The model loaders chosen by URI scheme, through the public entry
``fsctl.workspace.load_model(uri, root, artifact_locations)``: ``python://`` code in the repo,
``file://`` and ``s3://`` pickle and joblib files (a real scikit-learn model; S3 on the moto
server), and what each refuses with a ModelError that names the URI and teaches the fix.

Pickles load only from ``scoring.artifact_locations``: the refusals (outside them, ``..``
and symlink escapes, a look-alike S3 prefix, none configured) are checked with a file whose
unpickling would leave a mark, so "refused" also means "never unpickled".
"""

from __future__ import annotations

import io
import pickle
import sys
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import joblib
import numpy as np
import pandas as pd
import pytest
from sklearn.linear_model import LinearRegression, LogisticRegression

from fsctl.errors import ModelError, UsageError
from fsctl.scoring import prediction_columns
from fsctl.workspace import load_model
from tests.conftest import write_files
from tests.support.s3 import S3Server

# -- fixtures ------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def frame() -> pd.DataFrame:
    """Feature rows with named float columns, as fsctl hands them to a model."""
    rng = np.random.default_rng(7)
    return pd.DataFrame({"tenure": rng.normal(size=40), "spend": rng.normal(size=40)})


@pytest.fixture(scope="module")
def classifier(frame: pd.DataFrame) -> LogisticRegression:
    labels = (frame["tenure"] - frame["spend"] > 0).astype(int)
    return LogisticRegression().fit(frame, labels)


@pytest.fixture
def root(tmp_path: Path) -> Path:
    """A repo folder with an allowed ``models/`` folder and a folder beside it."""
    repo = tmp_path / "repo"
    (repo / "models").mkdir(parents=True)
    (repo / "secrets").mkdir()
    return repo


@pytest.fixture
def isolated_imports(monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    """A fresh package name for model code; sys.path and the modules imported are restored."""
    monkeypatch.setattr(sys, "path", list(sys.path))
    before = set(sys.modules)
    yield f"model_code_{uuid.uuid4().hex[:8]}"
    for name in set(sys.modules) - before:
        del sys.modules[name]


def pickled(obj: Any) -> bytes:
    return pickle.dumps(obj)


def joblib_bytes(obj: Any) -> bytes:
    buffer = io.BytesIO()
    joblib.dump(obj, buffer)
    return buffer.getvalue()


class Mark:
    """Unpickling this creates the file ``path``: proof that a refused file was never loaded."""

    def __init__(self, path: Path) -> None:
        self.path = path

    def __reduce__(self) -> tuple[Any, tuple[str, str]]:
        return (open, (str(self.path), "w"))


def refused(uri: str, root: Path, locations: tuple[str, ...], *expected: str) -> str:
    with pytest.raises(ModelError) as caught:
        load_model(uri, root, locations)
    text = str(caught.value)
    assert uri in text
    assert "runs any code" in text  # the why
    assert "scoring.artifact_locations" in text  # the fix
    for part in expected:
        assert part in text
    return text


# -- python:// -----------------------------------------------------------------------------


def test_a_function_in_the_repo_is_imported_with_the_root_on_sys_path(
    root: Path, isolated_imports: str, frame: pd.DataFrame
) -> None:
    package = isolated_imports
    write_files(
        root,
        {
            f"{package}/__init__.py": "",
            f"{package}/helpers.py": "def double(column):\n    return column * 2\n",
            f"{package}/rules.py": (
                "def score(features):\n"
                f"    from {package}.helpers import double  # imported when predicting\n"
                "    return double(features['tenure']) + features['spend']\n"
            ),
        },
    )
    model = load_model(f"python://{package}.rules:score", root)
    assert model.uri == f"python://{package}.rules:score"
    expected = (frame["tenure"] * 2 + frame["spend"]).tolist()
    assert prediction_columns(model.predict(frame), len(frame)) == {"prediction": expected}
    assert str(root.resolve()) in sys.path


def test_an_object_with_predict_is_used_through_a_dotted_attribute_path(
    root: Path, isolated_imports: str, frame: pd.DataFrame
) -> None:
    module = isolated_imports
    write_files(
        root,
        {
            f"{module}.py": (
                "class Threshold:\n"
                "    def __init__(self, at):\n"
                "        self.at = at\n"
                "    def predict(self, features):\n"
                "        return (features['tenure'] > self.at).astype(int)\n"
                "    def __call__(self, features):\n"
                "        raise AssertionError('predict wins over __call__')\n"
                "class Registry:\n"
                "    champion = Threshold(0.0)\n"
                "registry = Registry()\n"
            )
        },
    )
    model = load_model(f"python://{module}:registry.champion", root)
    assert list(model.predict(frame)) == (frame["tenure"] > 0).astype(int).tolist()


def test_an_importable_module_is_used_as_it_is(root: Path, frame: pd.DataFrame) -> None:
    path_before = list(sys.path)
    model = load_model("python://operator:neg", root)
    assert model.predict(frame).equals(-frame)
    assert sys.path == path_before  # the root was not needed, so not added


def test_a_module_that_is_nowhere_names_the_import_error_and_the_root(
    root: Path, isolated_imports: str
) -> None:
    uri = f"python://{isolated_imports}.churn:score"
    with pytest.raises(ModelError) as caught:
        load_model(uri, root)
    text = str(caught.value)
    assert uri in text
    assert f"No module named '{isolated_imports}'" in text
    assert f"hint: put {isolated_imports}/churn.py under the repo root ({root.resolve()})" in text


def test_an_installed_package_hiding_the_repos_is_named(root: Path, isolated_imports: str) -> None:
    write_files(root, {"json/churn.py": "def score(f):\n    return f\n"})
    with pytest.raises(
        ModelError, match=r"hint: 'json' is already imported from .*json.*hides the repo's copy"
    ):
        load_model("python://json.churn:score", root)
    package = isolated_imports
    write_files(root, {f"{package}/__init__.py": ""})  # the repo's own package, without the module
    with pytest.raises(ModelError, match=f"hint: put {package}/churn.py under the repo root"):
        load_model(f"python://{package}.churn:score", root)


def test_a_missing_attribute_lists_what_the_module_has(root: Path, isolated_imports: str) -> None:
    module = isolated_imports
    write_files(
        root,
        {
            f"{module}.py": "import os\nTHRESHOLD = 3\ndef score(f):\n    return f\ndef rank(f):\n    return f\n"
        },
    )
    with pytest.raises(ModelError) as caught:
        load_model(f"python://{module}:scor", root)
    text = str(caught.value)
    assert f"model URI python://{module}:scor: {module} has no attribute 'scor'" in text
    assert f"did you mean 'score'? ({module} has rank, score)" in text  # callables, not the os module
    with pytest.raises(
        ModelError, match=r"has no attribute 'nothing_like_it'\n  hint: .* has rank, score; fix"
    ):
        load_model(f"python://{module}:nothing_like_it", root)


@pytest.mark.parametrize(
    ("attribute", "expected"),
    [
        ("THRESHOLD", "is an int, which is neither callable nor has a predict method"),
        ("Model", "is a class, not a model"),
    ],
)
def test_an_object_that_cannot_predict_is_refused(
    root: Path, isolated_imports: str, attribute: str, expected: str
) -> None:
    module = isolated_imports
    write_files(
        root, {f"{module}.py": "THRESHOLD = 3\nclass Model:\n    def predict(self, f):\n        return f\n"}
    )
    with pytest.raises(ModelError, match=expected) as caught:
        load_model(f"python://{module}:{attribute}", root)
    assert caught.value.hint


@pytest.mark.parametrize(
    ("code", "expected"),
    [
        ("raise RuntimeError('no config')", "importing module '{m}' failed: RuntimeError: no config"),
        ("import no_such_dependency_zz", "imports 'no_such_dependency_zz', which is not installed"),
    ],
)
def test_a_module_that_fails_to_import_says_why(
    root: Path, isolated_imports: str, code: str, expected: str
) -> None:
    module = isolated_imports
    write_files(root, {f"{module}.py": code + "\n"})
    with pytest.raises(ModelError) as caught:
        load_model(f"python://{module}:score", root)
    assert expected.format(m=module) in str(caught.value)


@pytest.mark.parametrize("uri", ["python://models.churn", "python://models churn:score", "python://:score"])
def test_a_malformed_python_uri_shows_the_form(root: Path, uri: str) -> None:
    with pytest.raises(ModelError, match="python://module:function"):
        load_model(uri, root)


# -- file:// pickle and joblib ---------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "dump"),
    [("churn.pkl", pickled), ("churn.joblib", joblib_bytes)],
)
@pytest.mark.parametrize("absolute", [False, True], ids=["relative", "absolute"])
def test_a_scikit_learn_model_in_an_allowed_folder_predicts(
    root: Path, frame: pd.DataFrame, classifier: LogisticRegression, name: str, dump: Any, absolute: bool
) -> None:
    (root / "models" / name).write_bytes(dump(classifier))
    uri = f"file://{root / 'models' / name}" if absolute else f"file://models/{name}"
    model = load_model(uri, root, ("models/",))
    assert model.uri == uri
    assert model.predict(frame).tolist() == classifier.predict(frame).tolist()


def test_the_fragment_chooses_predict_proba(
    root: Path, frame: pd.DataFrame, classifier: LogisticRegression
) -> None:
    (root / "models" / "churn.pkl").write_bytes(pickled(classifier))
    model = load_model("file://models/churn.pkl#predict_proba", root, ("models",))
    np.testing.assert_allclose(model.predict(frame), classifier.predict_proba(frame))
    columns = prediction_columns(model.predict(frame), len(frame), "churn")
    assert list(columns) == ["churn_0", "churn_1"]


def test_the_plain_pickle_module_loads_when_joblib_is_not_installed(
    root: Path, frame: pd.DataFrame, classifier: LogisticRegression, monkeypatch: pytest.MonkeyPatch
) -> None:
    (root / "models" / "churn.pkl").write_bytes(pickled(classifier))
    monkeypatch.setitem(sys.modules, "joblib", None)
    model = load_model("file://models/churn.pkl", root, ("models",))
    assert model.predict(frame).tolist() == classifier.predict(frame).tolist()


def test_a_symlink_inside_an_allowed_folder_to_a_file_there_is_allowed(
    root: Path, frame: pd.DataFrame, classifier: LogisticRegression
) -> None:
    (root / "models" / "churn-v2.pkl").write_bytes(pickled(classifier))
    (root / "models" / "current.pkl").symlink_to("churn-v2.pkl")
    model = load_model("file://models/current.pkl", root, ("models",))
    assert model.predict(frame).tolist() == classifier.predict(frame).tolist()


@pytest.mark.parametrize(
    ("fragment", "expected"),
    [
        ("#transform", "unknown method '#transform'"),
        ("#", "unknown method '#'"),
    ],
)
def test_only_predict_and_predict_proba_may_be_chosen(root: Path, fragment: str, expected: str) -> None:
    with pytest.raises(ModelError, match=expected) as caught:
        load_model(f"file://models/churn.pkl{fragment}", root, ("models",))
    assert "#predict, #predict_proba" in str(caught.value)


def test_a_model_without_the_chosen_method_is_refused(root: Path, frame: pd.DataFrame) -> None:
    regression = LinearRegression().fit(frame, frame["tenure"])
    (root / "models" / "size.pkl").write_bytes(pickled(regression))
    with pytest.raises(ModelError) as caught:
        load_model("file://models/size.pkl#predict_proba", root, ("models",))
    text = str(caught.value)
    assert (
        "file://models/size.pkl#predict_proba: the file holds a LinearRegression, which has no predict_proba"
        in text
    )
    assert "hint: it has predict: choose it with #predict" in text


@pytest.mark.parametrize(
    ("content", "expected"),
    [
        (pickled({"weights": [1, 2]}), "the file holds a dict, which has no predict method"),
        (pickled(LogisticRegression), "the file holds the class LogisticRegression, which has no predict"),
        (b"\x00\x01 not a pickle at all", "not a loadable pickle or joblib file"),
        (b"", "not a loadable pickle or joblib file"),
    ],
    ids=["dict", "class", "garbage", "empty"],
)
def test_a_file_that_is_not_a_model_is_refused(root: Path, content: bytes, expected: str) -> None:
    (root / "models" / "thing.pkl").write_bytes(content)
    with pytest.raises(ModelError, match=expected) as caught:
        load_model("file://models/thing.pkl", root, ("models",))
    assert "file://models/thing.pkl" in str(caught.value)


def test_a_pickle_needing_a_module_that_is_not_installed_names_it(root: Path) -> None:
    # A pickle naming a class in a module this process cannot import (GLOBAL, then STOP).
    body = b"cno_such_pickled_module_zz\nModel\n."
    (root / "models" / "custom.pkl").write_bytes(body)
    with pytest.raises(ModelError, match="needs module 'no_such_pickled_module_zz', which is not installed"):
        load_model("file://models/custom.pkl", root, ("models",))


@pytest.mark.parametrize(
    ("path", "what"), [("models/nothing.pkl", "does not exist"), ("models", "is a folder")]
)
def test_a_missing_file_in_an_allowed_folder_names_the_path(root: Path, path: str, what: str) -> None:
    with pytest.raises(ModelError) as caught:
        load_model(f"file://{path}", root, ("models",))
    assert f"model URI file://{path}: {root.resolve() / path} {what}" in str(caught.value)


def test_a_file_outside_the_locations_is_refused_and_never_unpickled(root: Path, tmp_path: Path) -> None:
    mark = tmp_path / "unpickled"
    elsewhere = tmp_path / "elsewhere" / "churn.pkl"
    elsewhere.parent.mkdir()
    elsewhere.write_bytes(pickled(Mark(mark)))
    refused(
        f"file://{elsewhere}",
        root,
        ("models",),
        f"refusing to load {elsewhere}: it is outside scoring.artifact_locations (models)",
    )
    (root / "secrets" / "churn.pkl").write_bytes(pickled(Mark(mark)))
    refused(
        "file://secrets/churn.pkl", root, ("models", "s3://bucket/models/"), "(models, s3://bucket/models/)"
    )
    assert not mark.exists()


def test_a_dotdot_escape_is_refused(root: Path, tmp_path: Path) -> None:
    mark = tmp_path / "unpickled"
    (root / "secrets" / "churn.pkl").write_bytes(pickled(Mark(mark)))
    text = refused("file://models/../secrets/churn.pkl", root, ("models",))
    assert f"which resolves to {root.resolve() / 'secrets/churn.pkl'} through '..'" in text
    assert not mark.exists()


def test_a_symlink_escape_is_refused(root: Path, tmp_path: Path) -> None:
    mark = tmp_path / "unpickled"
    (root / "secrets" / "churn.pkl").write_bytes(pickled(Mark(mark)))
    (root / "models" / "churn.pkl").symlink_to(root / "secrets" / "churn.pkl")
    (root / "models" / "linked").symlink_to(root / "secrets", target_is_directory=True)
    text = refused("file://models/churn.pkl", root, ("models",))
    assert "through a symlink" in text
    refused("file://models/linked/churn.pkl", root, ("models",), "through a symlink")
    assert not mark.exists()


def test_a_folder_whose_name_starts_like_an_allowed_one_is_refused(root: Path, tmp_path: Path) -> None:
    mark = tmp_path / "unpickled"
    write_files(root, {"models-evil/churn.pkl": pickled(Mark(mark))})
    refused("file://models-evil/churn.pkl", root, ("models",))
    assert not mark.exists()


def test_with_no_locations_configured_no_pickle_loads(root: Path, tmp_path: Path, classifier: Any) -> None:
    (root / "models" / "churn.pkl").write_bytes(pickled(classifier))
    text = refused("file://models/churn.pkl", root, (), "scoring.artifact_locations in fsctl.yaml is empty")
    assert "artifact_locations: [models/]" in text  # the example fix


# -- s3:// ---------------------------------------------------------------------------------


@pytest.fixture
def s3(
    s3_server: S3Server, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> Iterator[tuple[S3Server, str]]:
    """(server, a new bucket); the AWS_* environment points fsctl's S3 client at the server."""
    for name in ("AWS_ENDPOINT_URL_S3", "AWS_PROFILE", "AWS_SESSION_TOKEN", "AWS_REGION"):
        monkeypatch.delenv(name, raising=False)
    for name, value in s3_server.env.items():
        monkeypatch.setenv(name, value)
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "no-aws-config"))
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(tmp_path / "no-aws-credentials"))
    yield s3_server, s3_server.new_bucket()


@pytest.mark.parametrize("location", ["s3://{b}/models/", "s3://{b}/models", "s3://{b}"])
def test_a_model_on_s3_under_an_allowed_prefix_predicts(
    s3: tuple[S3Server, str], root: Path, frame: pd.DataFrame, classifier: LogisticRegression, location: str
) -> None:
    server, bucket = s3
    server.client().put_object(Bucket=bucket, Key="models/churn.joblib", Body=joblib_bytes(classifier))
    allowed = (location.format(b=bucket),)
    model = load_model(f"s3://{bucket}/models/churn.joblib", root, allowed)
    assert model.predict(frame).tolist() == classifier.predict(frame).tolist()
    proba = load_model(f"s3://{bucket}/models/churn.joblib#predict_proba", root, allowed)
    np.testing.assert_allclose(proba.predict(frame), classifier.predict_proba(frame))


def test_an_s3_prefix_allows_whole_segments_only(
    s3: tuple[S3Server, str], root: Path, tmp_path: Path
) -> None:
    server, bucket = s3
    mark = tmp_path / "unpickled"
    client = server.client()
    for key in ("models-evil/churn.pkl", "models/../secrets/churn.pkl", "other/churn.pkl"):
        client.put_object(Bucket=bucket, Key=key, Body=pickled(Mark(mark)))
    allowed = (f"s3://{bucket}/models", "models", f"s3://{bucket}-other/")
    refused(
        f"s3://{bucket}/models-evil/churn.pkl",
        root,
        allowed,
        f"refusing to load s3://{bucket}/models-evil/churn.pkl",
    )
    refused(f"s3://{bucket}/other/churn.pkl", root, allowed)
    refused(f"s3://{bucket}-other/churn.pkl", root, (f"s3://{bucket}/", f"s3://{bucket}-oth"))
    with pytest.raises(ModelError, match=r"the key has a '\.' or '\.\.' segment"):
        load_model(f"s3://{bucket}/models/../secrets/churn.pkl", root, allowed)
    assert not mark.exists()


def test_a_missing_s3_object_or_bucket_names_the_uri(s3: tuple[S3Server, str], root: Path) -> None:
    _, bucket = s3
    uri = f"s3://{bucket}/models/nothing.pkl"
    with pytest.raises(ModelError, match=f"model URI {uri}: there is no object {uri}"):
        load_model(uri, root, (f"s3://{bucket}/models/",))
    missing = f"s3://{bucket}-gone/models/churn.pkl"
    with pytest.raises(ModelError, match=f"{missing}: bucket '{bucket}-gone' does not exist"):
        load_model(missing, root, (f"s3://{bucket}-gone/models/",))


def test_an_s3_object_that_is_not_a_pickle_names_the_uri(s3: tuple[S3Server, str], root: Path) -> None:
    server, bucket = s3
    server.client().put_object(Bucket=bucket, Key="models/churn.pkl", Body=b"<html>not a model</html>")
    uri = f"s3://{bucket}/models/churn.pkl"
    with pytest.raises(ModelError, match=f"model URI {uri}: not a loadable pickle or joblib file"):
        load_model(uri, root, (f"s3://{bucket}/models/",))


# -- the scheme table ----------------------------------------------------------------------


@pytest.mark.parametrize("uri", ["gs://bucket/churn.pkl", "models/churn.pkl", "mlflow://churn/1"])
def test_an_unknown_scheme_is_a_model_error_listing_the_known_ones(root: Path, uri: str) -> None:
    with pytest.raises(ModelError) as caught:
        load_model(uri, root, ("models",))
    text = str(caught.value)
    assert uri in text
    assert "python:, file:, s3:, models:, runs:" in text


def test_mlflow_uris_without_the_extra_name_it(root: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from fsctl.scoring import mlflow_loader
    from fsctl.scoring.base import LoadContext

    monkeypatch.setitem(sys.modules, "mlflow", None)
    for uri in ("models:/churn/1", "runs:/abc123/model"):
        with pytest.raises(UsageError, match=r"pip install 'fsctl\[mlflow\]'"):
            load_model(uri, root)
        # The module itself fails as clearly when called without the workspace's check.
        with pytest.raises(UsageError, match=r"needs the mlflow package.*\n.*pip install 'fsctl\[mlflow\]'"):
            mlflow_loader.load(uri, LoadContext(root))

"""``file://`` and ``s3://`` model URIs: a pickle or joblib file holding an object with
``predict`` (a fitted scikit-learn estimator or pipeline, say).

* ``file:///abs/path/churn.pkl`` is an absolute path; ``file://models/churn.pkl`` (no third
  slash) is relative to the repo root.
* ``s3://bucket/models/churn.joblib`` is read into memory with the S3 client fsctl's storage
  uses (the standard AWS chain, ``AWS_ENDPOINT_URL`` included).
* A fragment picks the method: ``file://models/churn.pkl#predict_proba`` (default ``predict``;
  ``predict`` and ``predict_proba`` only).

Loading a pickle runs whatever code it holds, so a model version's URI alone (one line in a
pull request) must not be able to point fsctl at any file: a file is loaded only if it lies
inside one of ``scoring.artifact_locations`` in fsctl.yaml. Local locations are folders
relative to the repo root, compared after resolving ``..`` and symlinks; S3 locations are
``s3://bucket/prefix/``, matched on whole key segments (``s3://b/models`` allows
``s3://b/models/x.pkl``, not ``s3://b/models-old/x.pkl``). With none listed, nothing loads.

``joblib.load`` reads the file when joblib is installed (it reads plain pickles too), else
``pickle.load``. Used through the composition root (:mod:`fsctl.workspace`,
``MODEL_LOADERS``) by batch scoring and the prediction endpoint.
"""

from __future__ import annotations

import inspect
import io
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

from fsctl.errors import ModelError
from fsctl.scoring.base import LoadContext

METHODS = ("predict", "predict_proba")


@dataclass(frozen=True)
class PickledModel:
    """An unpickled object as a :class:`~fsctl.scoring.base.LoadedModel`; ``method`` is the
    one the URI's fragment chose."""

    uri: str
    model: Any
    method: str = "predict"

    def predict(self, features: Any) -> Any:
        function: Callable[[Any], Any] = getattr(self.model, self.method)
        return function(features)


@dataclass(frozen=True)
class ArtifactURI:
    """A parsed ``file://`` or ``s3://`` model URI: a local ``path`` (absolute, not resolved)
    or an S3 ``bucket`` and ``key``, and the ``method`` to call."""

    uri: str
    method: str
    path: Path | None = None
    bucket: str = ""
    key: str = ""


def load(uri: str, context: LoadContext) -> PickledModel:
    """The model at ``uri`` (see the module docstring)."""
    artifact = parse(uri, context.root)
    if artifact.path is not None:
        path = _allowed_path(artifact.uri, artifact.path, context)
        if not path.is_file():
            what = "is a folder, not a file" if path.is_dir() else "does not exist"
            raise ModelError(
                f"model URI {uri}: {path} {what}",
                hint="fix the path in the URI (file://relative/to/repo.pkl or file:///absolute/path.pkl)",
            )
        try:
            with path.open("rb") as handle:
                model = _unpickle(uri, handle)
        except OSError as exc:
            raise ModelError(f"model URI {uri}: cannot read {path}: {exc.strerror or exc}") from exc
    else:
        _check_s3_allowed(artifact, context)
        model = _unpickle(uri, io.BytesIO(_read_s3(artifact)))
    return _bind(artifact, model)


def parse(uri: str, root: Path) -> ArtifactURI:
    """``uri`` split into where the file is and the method its fragment chose."""
    address, hash_, fragment = uri.partition("#")
    method = fragment if hash_ else "predict"
    if method not in METHODS:
        raise ModelError(
            f"model URI {uri}: unknown method '#{fragment}'",
            hint=f"the fragment chooses the method to call: {', '.join('#' + m for m in METHODS)}",
        )
    if address.startswith("s3://"):
        bucket, _, key = address.removeprefix("s3://").partition("/")
        if not bucket or not key or key.endswith("/"):
            raise ModelError(
                f"model URI {uri}: an S3 model file is s3://bucket/key/of/model.pkl",
                hint="name the bucket and the object key of the pickle or joblib file",
            )
        return ArtifactURI(uri, method, bucket=bucket, key=key)
    if address.startswith("file://"):
        rest = address.removeprefix("file://")
        if not rest or rest == "/":
            raise ModelError(
                f"model URI {uri}: no file named",
                hint="file://models/churn.pkl (relative to the repo) or file:///absolute/path/churn.pkl",
            )
        path = Path(rest)
        return ArtifactURI(uri, method, path=path if path.is_absolute() else root.resolve() / path)
    raise ModelError(
        f"model URI {uri}: not a file:// or s3:// URI",
        hint="file://models/churn.pkl (relative to the repo), file:///abs/churn.pkl or s3://bucket/key.pkl",
    )


def _allowed_path(uri: str, requested: Path, context: LoadContext) -> Path:
    """``requested`` resolved (``..`` and symlinks followed) if it lies in an allowed folder,
    else ModelError."""
    path = requested.resolve()
    folders = [_local_folder(location, context.root) for location in context.artifact_locations]
    if any(folder is not None and path.is_relative_to(folder) for folder in folders):
        return path
    shown = str(requested)
    if path != requested:
        escape = "'..'" if ".." in requested.parts else "a symlink"
        shown = f"{shown} (which resolves to {path} through {escape})"
    raise _refused(uri, shown, context)


def _check_s3_allowed(artifact: ArtifactURI, context: LoadContext) -> None:
    """ModelError unless ``s3://bucket/key`` lies under an allowed ``s3://`` prefix."""
    segments = artifact.key.split("/")
    if any(s in (".", "..") for s in segments):
        raise ModelError(
            f"model URI {artifact.uri}: the key has a '.' or '..' segment, which fsctl refuses "
            "(some clients and proxies fold it away, so the object read may not be the one named)",
            hint="use the object's plain key",
        )
    for location in context.artifact_locations:
        if not location.startswith("s3://"):
            continue
        bucket, _, prefix = location.removeprefix("s3://").partition("/")
        allowed = [s for s in prefix.split("/") if s]
        if bucket == artifact.bucket and segments[: len(allowed)] == allowed and len(segments) > len(allowed):
            return
    raise _refused(artifact.uri, f"s3://{artifact.bucket}/{artifact.key}", context)


def _refused(uri: str, shown: str, context: LoadContext) -> ModelError:
    why = (
        "fsctl loads pickle and joblib files only from the locations fsctl.yaml lists, so that a "
        "model URI alone (one line in a pull request) cannot point it at any file"
    )
    if not context.artifact_locations:
        return ModelError(
            f"model URI {uri}: refusing to load {shown}: loading a pickle runs any code it holds, and "
            "scoring.artifact_locations in fsctl.yaml is empty, so no pickle or joblib file may be loaded",
            hint=f"{why}: list the folders your model files live in, e.g. "
            "scoring: {artifact_locations: [models/]} (or s3://bucket/models/)",
        )
    listed = ", ".join(context.artifact_locations)
    return ModelError(
        f"model URI {uri}: refusing to load {shown}: it is outside scoring.artifact_locations ({listed}), "
        "and loading a pickle runs any code it holds",
        hint=f"{why}: move the file into one of them, or add its folder to scoring.artifact_locations",
    )


def _local_folder(location: str, root: Path) -> Path | None:
    """A local artifact location as a resolved folder (None for an ``s3://`` location)."""
    if location.startswith("file://"):
        location = location.removeprefix("file://")
    elif "://" in location:
        return None
    folder = Path(location)
    return (folder if folder.is_absolute() else root / folder).resolve()


def _read_s3(artifact: ArtifactURI) -> bytes:
    """The object's bytes, through fsctl's S3 client; ModelError if it cannot be read."""
    from fsctl.storage.s3 import S3Object

    found = S3Object(artifact.bucket, artifact.key, "model file", ModelError).get()
    if found is None:
        raise ModelError(
            f"model URI {artifact.uri}: there is no object s3://{artifact.bucket}/{artifact.key}",
            hint=f"check the key (aws s3 ls s3://{artifact.bucket}/{artifact.key.rpartition('/')[0]}/)",
        )
    return found[0]


def _unpickle(uri: str, handle: IO[bytes]) -> Any:
    """The object in ``handle``, through joblib when it is installed, else pickle."""
    try:
        import joblib
    except ImportError:
        import pickle

        reader: Callable[[IO[bytes]], Any] = pickle.load
    else:
        reader = joblib.load
    try:
        return reader(handle)
    except ModuleNotFoundError as exc:
        raise ModelError(
            f"model URI {uri}: the pickled object needs module '{exc.name}', which is not installed",
            hint=f"install the package providing '{exc.name}' where fsctl runs (the version that saved the "
            "model), or put the folder holding it on PYTHONPATH",
        ) from exc
    except Exception as exc:  # unpickling runs the file's code: any failure means "not loadable"
        raise ModelError(
            f"model URI {uri}: not a loadable pickle or joblib file: {type(exc).__name__}: {exc}",
            hint="save the model with joblib.dump(model, path) or pickle.dump(model, file)",
        ) from exc


def _bind(artifact: ArtifactURI, model: Any) -> PickledModel:
    """``model`` with the method the URI chose, checked to exist."""
    if inspect.isclass(model):
        what, has = f"the class {model.__name__}", []
    else:
        kind = type(model).__name__
        what = f"{'an' if kind[:1].lower() in 'aeiou' else 'a'} {kind}"
        has = [m for m in METHODS if callable(getattr(model, m, None))]
    if artifact.method not in has:
        raise ModelError(
            f"model URI {artifact.uri}: the file holds {what}, which has no {artifact.method} method",
            hint=f"it has {', '.join(has)}: choose it with #{has[0]}"
            if has
            else "pickle a fitted object with predict (a scikit-learn estimator, say)",
        )
    return PickledModel(artifact.uri, model, artifact.method)

"""MLflow model URIs, loaded with ``mlflow.pyfunc.load_model``: ``models:/NAME/VERSION`` and
``models:/NAME@ALIAS`` from the model registry, ``runs:/RUN_ID/PATH`` from a run's artifacts.

Where MLflow looks is MLflow's own configuration, not fsctl.yaml: ``MLFLOW_TRACKING_URI``
(runs and, by default, the registry) and ``MLFLOW_REGISTRY_URI`` (a separate registry), plus
whatever the artifact store needs (AWS credentials for S3 artifacts, ``MLFLOW_TRACKING_TOKEN``
or ``MLFLOW_TRACKING_USERNAME``/``PASSWORD`` for a server that asks). With
``MLFLOW_TRACKING_URI`` unset, MLflow uses its default (a local ``mlflow.db`` or ``mlruns``
in the working directory), which is rarely what a scoring job means: errors then say so.
``MLFLOW_HTTP_REQUEST_MAX_RETRIES`` and ``MLFLOW_HTTP_REQUEST_TIMEOUT`` bound how long an
unreachable server is retried.

Needs the ``mlflow`` extra (``pip install 'fsctl[mlflow]'``); mlflow is imported only when a
model is loaded. Used through the composition root (:mod:`fsctl.workspace`,
``MODEL_LOADERS``) by batch scoring and the prediction endpoint.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from typing import Any

from fsctl.errors import ModelError, UsageError, masked_text, masked_url
from fsctl.scoring.base import LoadContext

SCHEMES = ("models:/", "runs:/")
_FORM = "models:/NAME/VERSION, models:/NAME@ALIAS or runs:/RUN_ID/PATH"
_MISSING = {"RESOURCE_DOES_NOT_EXIST", "NOT_FOUND"}


@dataclass(frozen=True)
class MlflowModel:
    """An MLflow pyfunc model as a :class:`~fsctl.scoring.base.LoadedModel`."""

    uri: str
    model: Any

    def predict(self, features: Any) -> Any:
        return self.model.predict(features)


def load(uri: str, context: LoadContext) -> MlflowModel:
    """The model at ``uri`` (see the module docstring); ``context`` is not used: MLflow finds
    its models through its own environment variables."""
    check_form(uri)
    try:
        import mlflow.pyfunc
    except ImportError as exc:
        missing = (exc.name or "").split(".")[0] == "mlflow"
        raise UsageError(
            f"model URI {uri} needs the mlflow package, which is not installed"
            if missing
            else f"model URI {uri}: mlflow is installed but does not import: {exc}",
            hint="install fsctl with the mlflow extra: pip install 'fsctl[mlflow]'",
        ) from None
    try:
        model = mlflow.pyfunc.load_model(uri)
    except Exception as exc:  # MLflow, its stores and its artifact clients: all mean "cannot load"
        raise translate(uri, exc) from exc
    return MlflowModel(uri, model)


def check_form(uri: str) -> None:
    """ModelError unless ``uri`` looks like a registry model or a run artifact."""
    scheme = next((s for s in SCHEMES if uri.startswith(s)), None)
    rest = uri.removeprefix(scheme).strip("/") if scheme else ""
    if scheme == "models:/":
        name, at, alias = rest.partition("@")
        ok = bool(name) and (bool(alias) if at else True)
    else:
        run, _, path = rest.partition("/")
        ok = bool(run) and bool(path)
    if not ok:
        raise ModelError(f"model URI {uri}: not an MLflow model URI", hint=f"use {_FORM}")


def translate(uri: str, exc: Exception) -> ModelError:
    """One ModelError for any failure of ``mlflow.pyfunc.load_model(uri)``, naming the URI and
    where MLflow looked."""
    where = where_mlflow_looks(uri)
    code = str(getattr(exc, "error_code", "") or "")
    full = masked_text(str(getattr(exc, "message", None) or exc))
    text = first_line(full) or type(exc).__name__
    reason = _unreachable(exc, full)
    if reason:
        return ModelError(
            f"model URI {uri}: cannot reach {where}: {reason}",
            hint="check MLFLOW_TRACKING_URI / MLFLOW_REGISTRY_URI, the network and any proxy "
            "(MLFLOW_HTTP_REQUEST_MAX_RETRIES and MLFLOW_HTTP_REQUEST_TIMEOUT bound the wait)",
        )
    if code == "ENDPOINT_NOT_FOUND":
        return ModelError(
            f"model URI {uri}: {where} does not answer like an MLflow server: {text}",
            hint="check MLFLOW_TRACKING_URI / MLFLOW_REGISTRY_URI (the server's base URL, no /api path)",
        )
    if code in _MISSING or "not found" in text.lower() or "does not exist" in text.lower():
        if uri.startswith("runs:/"):
            what = "run or artifact path"
            hint = "check the run id and the model's artifact path (mlflow artifacts list --run-id RUN_ID)"
        else:
            what = "registered model, version or alias"
            hint = _registry_hint(uri)
        return ModelError(f"model URI {uri}: no such {what} in {where}: {text}", hint=_unset_hint() or hint)
    return ModelError(
        f"model URI {uri}: MLflow cannot load it from {where}: {type(exc).__name__}: {text}",
        hint=_unset_hint() or "check the model's artifacts, and that its flavor's libraries are installed",
    )


def _registry_hint(uri: str) -> str:
    """What the registry holds under the URI's model name: its versions and aliases, or the
    closest registered name (best effort: a generic hint if the registry cannot say)."""
    from mlflow import MlflowClient
    from mlflow.exceptions import MlflowException

    from fsctl.errors import did_you_mean

    name = uri.removeprefix("models:/").split("/")[0].split("@")[0]
    generic = "check the name, version or alias (the MLflow UI, or MlflowClient().search_model_versions())"
    try:
        client = MlflowClient()
        try:
            model = client.get_registered_model(name)
        except MlflowException:
            names = [m.name for m in client.search_registered_models(max_results=100)]
            return did_you_mean(name, names, "registered models")
        quoted = name.replace("'", "\\'")
        versions = sorted(int(v.version) for v in client.search_model_versions(f"name='{quoted}'"))
    except (MlflowException, OSError, ValueError):
        return generic
    aliases = ", ".join(f"@{alias} (version {version})" for alias, version in sorted(model.aliases.items()))
    listed = ", ".join(str(v) for v in versions[-10:]) or "none"
    return f"'{name}' has versions {listed}" + (f" and aliases {aliases}" if aliases else ", no aliases")


def where_mlflow_looks(uri: str) -> str:
    """The tracking (and, for ``models:/``, registry) URI MLflow uses, passwords masked."""
    import mlflow

    tracking = mlflow.get_tracking_uri()
    registry = mlflow.get_registry_uri() if uri.startswith("models:/") else tracking
    note = "" if os.environ.get("MLFLOW_TRACKING_URI") else " (MLFLOW_TRACKING_URI unset)"
    if registry and registry != tracking:
        return f"the MLflow registry {masked_url(registry)} (tracking {masked_url(tracking)}){note}"
    return f"the MLflow tracking store {masked_url(tracking)}{note}"


def first_line(text: str, limit: int = 300) -> str:
    """The first non-empty line of ``text``, cut to ``limit`` characters."""
    line = next((s.strip() for s in text.splitlines() if s.strip()), "")
    return line if len(line) <= limit else line[: limit - 3] + "..."


def _unreachable(exc: Exception, text: str) -> str | None:
    """Why the server could not be reached (short), or None if it was."""
    causes = {
        "Connection refused": "connection refused",
        "Name or service not known": "unknown host",
        "Temporary failure in name resolution": "unknown host",
        "nodename nor servname": "unknown host",
        "timed out": "timed out",
        "SSLError": "TLS failed",
        "Max retries exceeded": "no answer",
    }
    for marker, reason in causes.items():
        if marker in text:
            return reason
    if isinstance(exc, (ConnectionError, TimeoutError)):
        return f"{type(exc).__name__}: {first_line(text)}"
    return None


def _unset_hint() -> str | None:
    if os.environ.get("MLFLOW_TRACKING_URI"):
        return None
    return "MLFLOW_TRACKING_URI is not set, so MLflow looked in its local default: set it to your tracking server"

"""``python://module:function`` model URIs: a model that is plain Python code, an object with
``predict`` or a function of the feature frame, named by its module and attribute path
(``python://models.churn:predict``, ``python://models.churn:registry.champion``).

The module is imported as it is first (an installed package); if it is not importable, the
repo root is put on ``sys.path`` (at the end, so it never hides an installed package) and
the import is tried again, since teams keep model code in the repo. The root stays on
``sys.path``, so the model's own imports keep working when it predicts.

Used through the composition root (:mod:`fsctl.workspace`, ``MODEL_LOADERS``) by batch
scoring and the prediction endpoint; nothing else imports this module.
"""

from __future__ import annotations

import importlib
import inspect
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType
from typing import Any

from fsctl.errors import ModelError
from fsctl.scoring.base import LoadContext

SCHEME = "python://"
_FORM = "a python model URI is python://module:function or python://module:object.attribute"


@dataclass(frozen=True)
class PythonModel:
    """A Python object as a :class:`~fsctl.scoring.base.LoadedModel`: ``function`` is the
    object's ``predict`` or the object itself."""

    uri: str
    function: Callable[[Any], Any]

    def predict(self, features: Any) -> Any:
        return self.function(features)


def load(uri: str, context: LoadContext) -> PythonModel:
    """The model at ``uri`` (see the module docstring)."""
    module_name, attributes = parse(uri)
    module = _import(uri, module_name, context.root)
    target: Any = module
    for depth, name in enumerate(attributes):
        if not hasattr(target, name):
            owner = module_name + "".join("." + a for a in attributes[:depth])
            raise ModelError(
                f"model URI {uri}: {owner} has no attribute '{name}'",
                hint=_names_hint(target, name, owner),
            )
        target = getattr(target, name)
    where = f"{module_name}:{'.'.join(attributes)}"
    if inspect.isclass(target):
        raise ModelError(
            f"model URI {uri}: {where} is a class, not a model",
            hint=f"point the URI at an instance (model = {target.__name__}(...) in the module) or a function",
        )
    predict = getattr(target, "predict", None)
    if callable(predict):
        return PythonModel(uri, predict)
    if callable(target):
        return PythonModel(uri, target)
    raise ModelError(
        f"model URI {uri}: {where} is {_a(type(target).__name__)}, which is neither callable "
        "nor has a predict method",
        hint="point the URI at a function of the feature frame, or at an object with predict(features)",
    )


def parse(uri: str) -> tuple[str, tuple[str, ...]]:
    """(module, attribute path) of ``python://module:attr.attr``; ModelError if malformed."""
    if not uri.startswith(SCHEME):
        raise ModelError(f"model URI {uri}: not a python:// URI", hint=_FORM)
    module_name, colon, path = uri.removeprefix(SCHEME).partition(":")
    attributes = tuple(path.split("."))
    parts = (*module_name.split("."), *attributes)
    if not colon or not all(p.isidentifier() for p in parts):
        raise ModelError(
            f"model URI {uri}: cannot read a module and an attribute from it",
            hint=f"{_FORM} (e.g. python://models.churn:predict)",
        )
    return module_name, attributes


def _import(uri: str, module_name: str, root: Path) -> ModuleType:
    """``module_name`` imported as it is, else with the repo root on ``sys.path``."""
    try:
        return _import_module(uri, module_name)
    except ModuleNotFoundError as exc:
        if not _is_the_module(exc, module_name):
            raise _dependency_missing(uri, module_name, exc) from exc
    folder = str(root.resolve())
    if folder not in sys.path:
        sys.path.append(folder)
    importlib.invalidate_caches()
    try:
        return _import_module(uri, module_name)
    except ModuleNotFoundError as exc:
        if not _is_the_module(exc, module_name):
            raise _dependency_missing(uri, module_name, exc) from exc
        top = module_name.split(".")[0]
        elsewhere = getattr(sys.modules.get(top), "__file__", None)
        hint = (
            f"'{top}' is already imported from {elsewhere}, which hides the repo's copy: "
            "rename the repo's package"
            if elsewhere and not Path(elsewhere).resolve().is_relative_to(folder)
            else f"put {module_name.replace('.', '/')}.py under the repo root ({folder}), "
            "or install the package that holds it"
        )
        raise ModelError(f"model URI {uri}: cannot import module '{module_name}': {exc}", hint=hint) from exc


def _import_module(uri: str, module_name: str) -> ModuleType:
    """Import ``module_name``; a missing module raises ModuleNotFoundError (for the caller to
    tell apart), any other failure of the module's own code a ModelError."""
    try:
        return importlib.import_module(module_name)
    except ModuleNotFoundError:
        raise
    except Exception as exc:  # the module's own code ran: any failure is the model's
        raise ModelError(
            f"model URI {uri}: importing module '{module_name}' failed: {type(exc).__name__}: {exc}",
            hint="fix the module so that it imports (python -c 'import " + module_name + "')",
        ) from exc


def _is_the_module(exc: ModuleNotFoundError, module_name: str) -> bool:
    """Whether ``exc`` says ``module_name`` (or a package above it) is missing, rather than
    something the module imports."""
    missing = exc.name or ""
    return missing == module_name or module_name.startswith(missing + ".")


def _dependency_missing(uri: str, module_name: str, exc: ModuleNotFoundError) -> ModelError:
    return ModelError(
        f"model URI {uri}: module '{module_name}' imports '{exc.name}', which is not installed: {exc}",
        hint=f"install the package that provides '{exc.name}' where fsctl runs",
    )


def _names_hint(target: Any, name: str, owner: str) -> str:
    """A few names ``target`` has, the closest first: callables and objects with predict."""
    import difflib

    names = sorted(n for n in dir(target) if not n.startswith("_"))
    usable = [n for n in names if _usable(getattr(target, n, None))] or names
    close = difflib.get_close_matches(name, names, n=1)
    more = ", ..." if len(usable) > 8 else ""
    listing = f"{owner} has {', '.join(usable[:8])}{more}" if usable else f"{owner} is empty"
    if close:
        return f"did you mean '{close[0]}'? ({listing})"
    return f"{listing}; fix the part after ':' in the URI"


def _usable(value: Any) -> bool:
    """Whether ``value`` could be a model: callable or with predict, not a module."""
    return not isinstance(value, ModuleType) and (callable(value) or hasattr(value, "predict"))


def _a(noun: str) -> str:
    """``noun`` with its indefinite article."""
    return f"{'an' if noun[:1].lower() in 'aeiou' else 'a'} {noun}"

"""Python definition files: every fsctl object at module level is registered.

A file is executed under a private module name (so ``json.py`` cannot shadow
the standard library), with the repo root on ``sys.path`` only while loading
so that definition files may import each other. Nothing is changed for good:
``sys.path`` and ``sys.modules`` are restored afterwards and the working
directory is never changed. An exception raised by a user's file becomes a
problem naming that file and the line that raised it.
"""

from __future__ import annotations

import hashlib
import importlib.util
import re
import sys
import traceback
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from fsctl.definitions import FsctlObject, Origin
from fsctl.errors import DefinitionError, DefinitionErrors, Problem

_DECLARED_RE = re.compile(
    r"\b(Entity|FileSource|SqlSource|FeatureView|FeatureService|Model)\(\s*name\s*=\s*[\"']([A-Za-z0-9_-]+)[\"']"
)


def declared_in_python(text: str) -> set[tuple[str, str]]:
    """(kind, name) pairs a Python file seems to declare, read by pattern: used when it fails to run."""
    return {(m.group(1), m.group(2)) for m in _DECLARED_RE.finditer(text)}


@contextmanager
def repo_import_context(root: Path) -> Iterator[None]:
    """Put ``root`` on ``sys.path`` while loading; drop the modules it added afterwards."""
    saved_path = list(sys.path)
    saved_modules = set(sys.modules)
    sys.path.insert(0, str(root))
    try:
        yield
    finally:
        sys.path[:] = saved_path
        for name in set(sys.modules) - saved_modules:
            file = getattr(sys.modules.get(name), "__file__", None)
            if name.startswith("_fsctl_repo_") or (file and _is_repo_module(Path(file), root)):
                del sys.modules[name]


def _is_repo_module(file: Path, root: Path) -> bool:
    """A definition module of the repo (not a library in a .venv or site-packages inside it)."""
    from fsctl.loader.discover import is_skipped_dir

    try:
        rel = file.resolve().relative_to(root)
    except ValueError:
        return False
    return not any(is_skipped_dir(part) for part in rel.parts[:-1])


def _relative(file: str, root: Path) -> str:
    if not Path(file).is_absolute():
        return file
    try:
        return Path(file).resolve().relative_to(root).as_posix()
    except ValueError:
        return file


def _user_line(tb: traceback.StackSummary, path: Path) -> int | None:
    target = str(path)
    lines = [frame.lineno for frame in tb if frame.filename == target]
    return lines[-1] if lines else None


def _collect(value: object, found: list[FsctlObject]) -> None:
    if isinstance(value, FsctlObject):
        found.append(value)
        for child in value.children:
            _collect(child, found)


def load_python_file(path: Path, rel: str, root: Path) -> tuple[list[FsctlObject], list[Problem]]:
    digest = hashlib.sha1(rel.encode()).hexdigest()[:10]
    module_name = f"_fsctl_repo_{digest}"
    spec = importlib.util.spec_from_file_location(module_name, path)
    if spec is None or spec.loader is None:
        return [], [Problem("cannot import this file", file=rel)]
    module = importlib.util.module_from_spec(spec)
    sys.modules[module_name] = module
    try:
        spec.loader.exec_module(module)
    except DefinitionErrors as exc:
        return [], [_relocate(p, root) for p in exc.problems]
    except DefinitionError as exc:
        return [], [_relocate(exc.problem, root)]
    except SyntaxError as exc:
        where = _relative(exc.filename or str(path), root)
        return [], [Problem(f"Python syntax error: {exc.msg}", file=where, line=exc.lineno)]
    except (Exception, SystemExit) as exc:  # noqa: BLE001 - any error in user code is that file's error
        tb = traceback.extract_tb(exc.__traceback__)
        message = f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__
        return [], [
            Problem(
                f"the file raised {message}",
                file=rel,
                line=_user_line(tb, path),
                fix="fix the error in this file (run with --debug for the full traceback)",
                detail="".join(traceback.format_exception(exc)),
            )
        ]
    found: list[FsctlObject] = []
    for value in list(vars(module).values()):
        _collect(value, found)
    for obj in found:
        origin = obj.origin
        if origin is not None:
            obj.with_origin(Origin(file=_relative(origin.file, root), line=origin.line))
        else:
            obj.with_origin(Origin(file=rel))
    return found, []


def _relocate(problem: Problem, root: Path) -> Problem:
    if problem.file is None:
        return problem
    from dataclasses import replace

    return replace(problem, file=_relative(problem.file, root))

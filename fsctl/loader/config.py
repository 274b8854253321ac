"""Find the repo root and read ``fsctl.yaml`` (with ``${ENV}`` expansion)."""

from __future__ import annotations

import os
import re
from pathlib import Path
from typing import Any

from fsctl.definitions.config import CONFIG_FILE
from fsctl.errors import ConfigError

_ENV_RE = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)(?::-([^}]*))?\}")


def find_repo(start: Path | None = None) -> Path:
    """The nearest folder at or above ``start`` holding fsctl.yaml."""
    here = (start or Path.cwd()).resolve()
    if here.is_file():
        here = here.parent
    for folder in (here, *here.parents):
        if (folder / CONFIG_FILE).is_file():
            return folder
    raise ConfigError(
        f"no {CONFIG_FILE} found in {here} or any folder above it",
        hint="run fsctl inside a feature repo, pass --repo PATH, or create one with `fsctl init NAME`",
    )


def resolve_repo(repo: Path | str | None) -> Path:
    if repo is None:
        return find_repo()
    path = Path(repo).resolve()
    if not (path / CONFIG_FILE).is_file():
        raise ConfigError(
            f"{path} is not a feature repo: it has no {CONFIG_FILE}",
            hint="pass --repo the folder that holds fsctl.yaml",
        )
    return path


def expand_env(value: Any, file: str, where: str = "") -> Any:
    """Expand ``${VAR}`` and ``${VAR:-default}`` in every string of a YAML value."""
    if isinstance(value, dict):
        return {k: expand_env(v, file, f"{where}.{k}" if where else str(k)) for k, v in value.items()}
    if isinstance(value, list):
        return [expand_env(v, file, f"{where}[{i}]") for i, v in enumerate(value)]
    if not isinstance(value, str):
        return value

    def replace(match: re.Match[str]) -> str:
        name, default = match.group(1), match.group(2)
        if default is not None:  # as in the shell: the default stands in for unset or empty
            return os.environ.get(name) or default
        if name in os.environ:
            return os.environ[name]
        raise ConfigError(
            f"{file}: field '{where}': environment variable {name} is not set",
            hint=f"export {name}=..., or write ${{{name}:-default}} to give a default",
        )

    return _ENV_RE.sub(replace, value)


def load_config(repo: Path) -> Any:
    """Read and validate ``repo/fsctl.yaml``; returns a :class:`~fsctl.definitions.config.RepoConfig`
    (its store sections are validated by :mod:`fsctl.workspace`, against their type)."""
    import yaml

    from fsctl.definitions.config import repo_config

    path = repo / CONFIG_FILE
    try:
        raw = yaml.safe_load(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise ConfigError(f"cannot read {path}: {exc.strerror}") from None
    except yaml.YAMLError as exc:
        line = getattr(getattr(exc, "problem_mark", None), "line", None)
        at = f":{line + 1}" if line is not None else ""
        raise ConfigError(f"{CONFIG_FILE}{at}: not valid YAML: {getattr(exc, 'problem', exc)}") from None
    if not isinstance(raw, dict):
        raise ConfigError(f"{CONFIG_FILE}: must be a mapping with at least 'project'")
    raw = expand_env(raw, CONFIG_FILE)
    return repo_config(raw)

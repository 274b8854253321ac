"""The project configuration, ``fsctl.yaml``: project name, registry and the store sections.

``offline_store`` and ``online_store`` are :class:`PortSection`\\ s here: a ``type`` and
the fields that type takes. Each implementation declares its own fields as a frozen
:class:`PortConfig` dataclass in its own module (``SQLiteOnlineStoreConfig`` in
:mod:`fsctl.online.sqlite`, ...), and the composition root (:mod:`fsctl.workspace`)
validates a section against the config of its type, so adding a store or an engine needs
no change here.

These are frozen dataclasses checked by :func:`parse_config` (strict types, no unknown
fields, every problem at once) rather than pydantic models: every command reads
fsctl.yaml, and the data path (a materialize from cron, an online read, the feature server)
must not pay the ~0.1 s of importing pydantic for it.
"""

from __future__ import annotations

import dataclasses
import types
import typing
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, TypeVar, Union

from fsctl.errors import ConfigError

CONFIG_FILE = "fsctl.yaml"
T = TypeVar("T")


@dataclass(frozen=True)
class PortConfig:
    """Base of every store or engine config. Subclasses are frozen dataclasses whose fields
    are ``str``, ``int``, ``float``, ``bool``, ``X | None`` or ``dict[str, str]``, each with a
    default; ``type`` is the table key."""

    type: str


@dataclass(frozen=True)
class PortSection:
    """A store section of fsctl.yaml before its type's config validates it."""

    type: str
    values: Mapping[str, Any] = field(default_factory=dict)

    def fields(self) -> dict[str, Any]:
        """Every field as written, ``type`` included."""
        return {"type": self.type, **self.values}

    def __getattr__(self, name: str) -> Any:
        """A field as written (``section.path``); AttributeError if it is not there."""
        values = self.__dict__.get("values", {})
        if name in values:
            return values[name]
        raise AttributeError(f"the {self.__dict__.get('type')} section has no field {name!r}")


DEFAULT_PROTECTED_ALIASES = ("Production", "Champion")
DEFAULT_REQUIRED_METADATA = ("owner", "description")


@dataclass(frozen=True)
class ModelsConfig:
    """``models:`` in fsctl.yaml: which aliases are protected (a plan may not delete what they
    reach, nor remove them, without ``--allow-breaking``) and what a protected version must
    carry (names of :data:`fsctl.definitions.model_rules.REQUIRABLE_METADATA`, or ``tags.KEY``;
    a promotion gate enforces it, :func:`~fsctl.definitions.model_rules.missing_metadata`
    says what a version lacks)."""

    protected_aliases: tuple[str, ...] = DEFAULT_PROTECTED_ALIASES
    required_metadata: tuple[str, ...] = DEFAULT_REQUIRED_METADATA


@dataclass(frozen=True)
class ScoringConfig:
    """``scoring:`` in fsctl.yaml.

    ``artifact_locations``: the only places pickle and joblib model files (``file://``,
    ``s3://`` URIs) may be loaded from: local folders (relative to the repo) or
    ``s3://bucket/prefix/``. Loading a pickle runs whatever code it holds, so a version's URI
    alone (one line in a pull request) must not be able to point fsctl at any file; with
    none listed, no pickle loads.

    ``prediction_log``: where ``fsctl serve`` appends every prediction (a local folder,
    relative to the repo, or ``s3://bucket/prefix``), as parquet files partitioned by date;
    unset, predictions are not logged. ``log_flush_rows`` and ``log_flush_seconds``: a batch
    is written when it has that many rows or is that old.
    """

    artifact_locations: tuple[str, ...] = ()
    prediction_log: str | None = None
    log_flush_rows: int = 1000
    log_flush_seconds: float = 5.0


@dataclass(frozen=True)
class StatsConfig:
    """``stats:`` in fsctl.yaml: the defaults of ``fsctl stats``. A feature's population
    stability index at or over ``psi_warn`` is a moderate shift, at or over ``psi_fail`` a
    high one (``--fail-on-drift`` exits 1 on those); ``bins``: histogram bins. The command's
    ``--psi-warn``, ``--psi-fail`` and ``--bins`` win over these."""

    psi_warn: float = 0.1
    psi_fail: float = 0.25
    bins: int = 10


@dataclass(frozen=True)
class RepoConfig:
    """The validated contents of ``fsctl.yaml``."""

    project: str
    registry: str = "data/registry.json"
    offline_store: PortSection = field(default_factory=lambda: PortSection("duckdb"))
    online_store: PortSection = field(default_factory=lambda: PortSection("sqlite"))
    models: ModelsConfig = field(default_factory=ModelsConfig)
    scoring: ScoringConfig = field(default_factory=ScoringConfig)
    stats: StatsConfig = field(default_factory=StatsConfig)


# -- checking ------------------------------------------------------------------------------

_TYPE_NAMES = {
    str: "a string",
    int: "an integer",
    float: "a number",
    bool: "true or false",
    dict: "a mapping",
}


def _check(value: Any, kind: Any) -> str | None:
    """Why ``value`` is not of type ``kind`` (None when it is)."""
    origin = typing.get_origin(kind)
    if origin in (Union, types.UnionType):
        options = typing.get_args(kind)
        if value is None and type(None) in options:
            return None
        reasons = [_check(value, option) for option in options if option is not type(None)]
        return None if any(r is None for r in reasons) else reasons[0]
    if origin is dict:
        if not isinstance(value, dict):
            return f"must be a mapping, got {type(value).__name__}"
        _, item = typing.get_args(kind)
        bad = next((k for k, v in value.items() if not isinstance(k, str) or _check(v, item)), None)
        return None if bad is None else f"'{bad}': must be {_TYPE_NAMES.get(item, item)}"
    if kind is float:
        ok = isinstance(value, (int, float)) and not isinstance(value, bool)
    elif kind is int:
        ok = isinstance(value, int) and not isinstance(value, bool)
    else:
        ok = type(value) is kind
    if ok:
        return None
    return f"must be {_TYPE_NAMES.get(kind, getattr(kind, '__name__', kind))}, got {type(value).__name__} {value!r}"


def parse_config(cls: type[T], data: Any, section: str = "") -> T:
    """``data`` (a YAML mapping) as the dataclass ``cls``: no unknown fields, the declared
    types and no others; raises one ConfigError listing every problem as
    ``fsctl.yaml: field 'SECTION.FIELD': problem``."""

    def where(name: str) -> str:
        return f"{CONFIG_FILE}: field '{'.'.join(p for p in (section, name) if p)}'"

    if not isinstance(data, Mapping):
        head = f"{CONFIG_FILE}: field '{section}'" if section else CONFIG_FILE
        raise ConfigError(f"{head}: must be a mapping, got {type(data).__name__}")
    hints = typing.get_type_hints(cls)
    fields = {f.name: f for f in dataclasses.fields(cls)}  # type: ignore[arg-type]
    problems = [f"{where(str(name))}: unknown field" for name in data if name not in fields]
    values: dict[str, Any] = {}
    for name, spec in fields.items():
        if name not in data:
            if spec.default is dataclasses.MISSING and spec.default_factory is dataclasses.MISSING:
                problems.append(f"{where(name)}: required field is missing")
            continue
        reason = _check(data[name], hints[name])
        if reason is not None:
            problems.append(f"{where(name)}: {reason}")
        values[name] = data[name]
    if problems:
        raise ConfigError("\n".join(problems))
    return cls(**values)


def repo_config(data: Any) -> RepoConfig:
    """The config of a parsed fsctl.yaml; one ConfigError naming every bad field."""
    if not isinstance(data, Mapping):
        raise ConfigError(f"{CONFIG_FILE}: must be a mapping with at least 'project'")
    problems: list[str] = []
    known = {"project", "registry", "offline_store", "online_store", "models", "scoring", "stats"}
    problems += [f"{CONFIG_FILE}: field '{name}': unknown field" for name in data if name not in known]
    project = data.get("project")
    if "project" not in data:
        problems.append(f"{CONFIG_FILE}: field 'project': required field is missing")
    elif not isinstance(project, str):
        problems.append(f"{CONFIG_FILE}: field 'project': must be a string, got {type(project).__name__}")
    elif (
        not project
        or not project.isascii()
        or not all(c.islower() or c.isdigit() or c == "_" for c in project)
    ):
        problems.append(
            f"{CONFIG_FILE}: field 'project': invalid project name {project!r}: use lowercase letters, digits and '_'"
        )
    registry = data.get("registry", "data/registry.json")
    if not isinstance(registry, str) or not registry.strip():
        problems.append(f"{CONFIG_FILE}: field 'registry': must be a path or an s3://bucket/key URI")
    sections: dict[str, PortSection] = {}
    for name, default in (("offline_store", "duckdb"), ("online_store", "sqlite")):
        raw = data.get(name, {"type": default})
        if isinstance(raw, Mapping) and "type" not in raw:
            problems.append(f"{CONFIG_FILE}: field '{name}.type': required field is missing")
        elif not isinstance(raw, Mapping):
            problems.append(
                f"{CONFIG_FILE}: field '{name}': must be a mapping with a type, got {type(raw).__name__}"
            )
        elif not isinstance(raw.get("type", default), str):
            problems.append(f"{CONFIG_FILE}: field '{name}.type': must be a string")
        else:
            sections[name] = PortSection(
                str(raw.get("type", default)), {k: v for k, v in raw.items() if k != "type"}
            )
    models = ModelsConfig()
    raw_models = data.get("models", {})
    if not isinstance(raw_models, Mapping):
        problems.append(f"{CONFIG_FILE}: field 'models': must be a mapping, got {type(raw_models).__name__}")
    else:
        problems += [
            f"{CONFIG_FILE}: field 'models.{k}': unknown field"
            for k in raw_models
            if k not in ("protected_aliases", "required_metadata")
        ]
        lists = {}
        for key in ("protected_aliases", "required_metadata"):
            value = raw_models.get(key, list(getattr(models, key)))
            if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
                problems.append(f"{CONFIG_FILE}: field 'models.{key}': must be a list of names")
                continue
            if key == "required_metadata":
                from fsctl.definitions.model_rules import check_required_name

                bad = [why for why in map(check_required_name, value) if why]
                if bad:
                    problems += [f"{CONFIG_FILE}: field 'models.required_metadata': {why}" for why in bad]
                    continue
            lists[key] = tuple(value)
        if len(lists) == 2:
            models = ModelsConfig(**lists)
    scoring = ScoringConfig()
    try:
        scoring = _scoring_config(data.get("scoring", {}))
    except ConfigError as exc:
        problems.append(exc.message)
    stats = StatsConfig()
    try:
        stats = _stats_config(data.get("stats", {}))
    except ConfigError as exc:
        problems.append(exc.message)
    if problems:
        raise ConfigError("\n".join(problems))
    return RepoConfig(
        project=str(project),
        registry=str(registry),
        offline_store=sections["offline_store"],
        online_store=sections["online_store"],
        models=models,
        scoring=scoring,
        stats=stats,
    )


def _scoring_config(raw: Any) -> ScoringConfig:
    """``scoring:`` checked: a list of locations, a log path, positive batch limits."""
    where = f"{CONFIG_FILE}: field 'scoring"
    if not isinstance(raw, Mapping):
        raise ConfigError(f"{where}': must be a mapping, got {type(raw).__name__}")
    values = dict(raw)
    locations = values.get("artifact_locations", [])
    if not isinstance(locations, list) or not all(isinstance(v, str) and v.strip() for v in locations):
        raise ConfigError(
            f"{where}.artifact_locations': must be a list of folders or s3://bucket/prefix/ URIs"
        )
    values.pop("artifact_locations", None)  # checked here; parse_config checks the rest
    config = parse_config(ScoringConfig, values, "scoring")
    problems = []
    if config.log_flush_rows < 1:
        problems.append(f"{where}.log_flush_rows': must be at least 1, got {config.log_flush_rows}")
    if not config.log_flush_seconds > 0:
        problems.append(f"{where}.log_flush_seconds': must be more than 0, got {config.log_flush_seconds}")
    if config.prediction_log is not None and not config.prediction_log.strip():
        problems.append(f"{where}.prediction_log': must be a folder or an s3://bucket/prefix URI")
    if problems:
        raise ConfigError("\n".join(problems))
    return ScoringConfig(
        artifact_locations=tuple(locations),
        prediction_log=config.prediction_log,
        log_flush_rows=config.log_flush_rows,
        log_flush_seconds=float(config.log_flush_seconds),
    )


def _stats_config(raw: Any) -> StatsConfig:
    """``stats:`` checked: 0 < psi_warn <= psi_fail, 1 <= bins <= 1000."""
    config = parse_config(StatsConfig, raw, "stats")
    where = f"{CONFIG_FILE}: field 'stats"
    problems = []
    if not 0 < config.psi_warn <= config.psi_fail:
        problems.append(
            f"{where}.psi_warn': must be more than 0 and at most psi_fail ({config.psi_fail}), got {config.psi_warn}"
        )
    if not 1 <= config.bins <= 1000:
        problems.append(f"{where}.bins': must be between 1 and 1000, got {config.bins}")
    if problems:
        raise ConfigError("\n".join(problems))
    return StatsConfig(psi_warn=float(config.psi_warn), psi_fail=float(config.psi_fail), bins=config.bins)

"""The composition root: from a repo and flags to typed ports. The only module that names an
implementation.

A :class:`Workspace` holds the project configuration (``fsctl.yaml``) and builds, on first
use, each port the services talk to, typed by its interface:

==================  ==========================  =========================================
port                interface                   chosen by
==================  ==========================  =========================================
registry reader     ``RegistryReader``          the registry URI's scheme
registry writer     ``Registry``                the registry URI's scheme
state store         ``StateStore``              the scheme of the registry URI (beside it)
online store        ``OnlineStore``             ``online_store.type``
online reader       ``OnlineStore``             the same, with the store's reader login
offline engine      ``OfflineEngine``           ``offline_store.type``
model loader        ``load(uri) -> LoadedModel``  the model URI's scheme (``MODEL_LOADERS``)
==================  ==========================  =========================================

Each port has one table of ``type -> Adapter(module, config model, factory)``. Adding a
store or an engine is one module (its ``*Config`` model and its factory) plus one row here;
modules are imported only when their type is used, so their client libraries (boto3,
redis, pyspark) are needed only by repos that use them. Tests build a workspace with
in-memory implementations injected (``Workspace(..., online=MemoryOnlineStore())``).

The workspace owns the ports it built or was given: ``close()`` (or ``with``) closes them.
"""

from __future__ import annotations

import importlib
import os
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, cast

from fsctl.errors import ConfigError, UsageError

if TYPE_CHECKING:
    from fsctl.definitions.config import PortConfig, PortSection, RepoConfig
    from fsctl.offline import OfflineEngine
    from fsctl.online import OnlineStore
    from fsctl.online.base import OnlineStoreConfig
    from fsctl.online.sinks import StoreOpener
    from fsctl.registry import Registry, RegistryReader
    from fsctl.scoring import LoadedModel
    from fsctl.services.project import Project
    from fsctl.state import StateStore
    from fsctl.storage import Location


@dataclass(frozen=True)
class Adapter:
    """One implementation of a port: ``module``, the name of its config model there (for a
    section of fsctl.yaml; None for ports chosen by a URI), the name of its factory, and the
    package and extra it needs."""

    module: str
    config: str | None
    factory: str
    requires: tuple[str, str] | None = None  # (importable package, pip extra)
    reader: str | None = None  # online stores with a read-only login: the factory of the reader

    def attribute(self, name: str) -> Any:
        return getattr(importlib.import_module(self.module), name)

    def check_installed(self, what: str) -> None:
        if self.requires is None:
            return
        package, extra = self.requires
        try:
            importlib.import_module(package)
        except ImportError:
            raise UsageError(
                f"{what} needs the {package} package, which is not installed",
                hint=f"install fsctl with the {extra} extra: pip install 'fsctl[{extra}]'",
            ) from None


OFFLINE_ENGINES: dict[str, Adapter] = {
    "duckdb": Adapter("fsctl.offline.duckdb", "DuckDBEngineConfig", "create_engine"),
    "spark": Adapter("fsctl.offline.spark", "SparkEngineConfig", "create_engine", ("pyspark", "spark")),
}
ONLINE_STORES: dict[str, Adapter] = {
    "sqlite": Adapter("fsctl.online.sqlite", "SQLiteOnlineStoreConfig", "create_store"),
    "dynamodb": Adapter(
        "fsctl.online.dynamodb", "DynamoDBOnlineStoreConfig", "create_store", ("boto3", "aws")
    ),
    "redis": Adapter(
        "fsctl.online.redis_store", "RedisOnlineStoreConfig", "create_store", ("redis", "redis")
    ),
    "postgres": Adapter(
        "fsctl.online.postgres", "PostgresOnlineStoreConfig", "create_store", ("psycopg", "postgres"), "create_reader"
    ),
    "mysql": Adapter(
        "fsctl.online.mysql", "MySQLOnlineStoreConfig", "create_store", ("pymysql", "mysql"), "create_reader"
    ),
}
# Online stores that are a file on this machine: an offline engine's tasks may write them
# (materialize on the executors) only when those run on this machine too.
LOCAL_ONLINE_STORES = frozenset({"sqlite"})
REGISTRIES: dict[str, Adapter] = {
    "local": Adapter("fsctl.registry.local", None, "create"),
    "s3": Adapter("fsctl.registry.s3", None, "create", ("boto3", "aws")),
}
STATE_STORES: dict[str, Adapter] = {
    "local": Adapter("fsctl.state.local", None, "create"),
    "s3": Adapter("fsctl.state.s3", None, "create", ("boto3", "aws")),
}

# A model version's URI scheme -> its loader (``load(uri, LoadContext) -> LoadedModel``).
MODEL_LOADERS: dict[str, Adapter] = {
    "python": Adapter("fsctl.scoring.python_loader", None, "load"),
    "file": Adapter("fsctl.scoring.pickle_loader", None, "load"),
    "s3": Adapter("fsctl.scoring.pickle_loader", None, "load", ("boto3", "aws")),
    "models": Adapter("fsctl.scoring.mlflow_loader", None, "load", ("mlflow", "mlflow")),
    "runs": Adapter("fsctl.scoring.mlflow_loader", None, "load", ("mlflow", "mlflow")),
}


def load_model(uri: str, root: Path, artifact_locations: tuple[str, ...] = ()) -> LoadedModel:
    """The model at ``uri``, loaded by the loader of its scheme (see ``MODEL_LOADERS``)."""
    from fsctl.errors import ModelError
    from fsctl.scoring import LoadContext

    scheme = uri.partition(":")[0] if ":" in uri else ""
    adapter = MODEL_LOADERS.get(scheme)
    if adapter is None:
        raise ModelError(
            f"model URI {uri!r}: fsctl cannot load a model from {'this scheme' if scheme else 'a URI without a scheme'}",
            hint=f"use one of {', '.join(s + ':' for s in MODEL_LOADERS)} (e.g. python://module:function, "
            "file://models/churn.pkl, models:/churn/3)",
        )
    adapter.check_installed(f"model URI {uri}")
    loaded: LoadedModel = adapter.attribute(adapter.factory)(uri, LoadContext(root, artifact_locations))
    return loaded


def section_config(table: dict[str, Adapter], section: PortSection, name: str, what: str) -> PortConfig:
    """Validate the fsctl.yaml section ``name`` against the config model of its type."""
    from fsctl.definitions.config import CONFIG_FILE, parse_config

    adapter = table.get(section.type)
    if adapter is None or adapter.config is None:
        raise ConfigError(
            f"{CONFIG_FILE}: field '{name}.type': unknown {what} type {section.type!r}: "
            f"use {', '.join(table)}"
        )
    config: PortConfig = parse_config(adapter.attribute(adapter.config), section.fields(), name)
    return config


def registry_uri(config: RepoConfig, override: str | None) -> str:
    """``--registry`` wins, then ``FSCTL_REGISTRY``, then fsctl.yaml."""
    return override or os.environ.get("FSCTL_REGISTRY") or str(config.registry)


class Workspace:
    """A project's configuration and its ports (see the module docstring). Ports given to
    the constructor are used as they are; the others are built from the configuration."""

    def __init__(
        self,
        root: Path,
        config: RepoConfig,
        *,
        registry_uri: str | None = None,
        registry_base: Path | None = None,
        registry: Registry | None = None,
        state: StateStore | None = None,
        online: OnlineStore | None = None,
        offline: OfflineEngine | None = None,
    ) -> None:
        self.root = root
        self.config = config
        self.registry_uri = registry_uri or str(config.registry)
        self.online_config = section_config(
            ONLINE_STORES, config.online_store, "online_store", "online store"
        )
        self.offline_config = section_config(
            OFFLINE_ENGINES, config.offline_store, "offline_store", "offline store"
        )
        self._registry_base = registry_base or root
        self._location: Location | None = None
        self._registry = registry
        self._state = state
        self._online = online
        self._online_given = online is not None  # an injected store serves reads too
        self._online_reader: OnlineStore | None = None
        self._offline = offline

    @property
    def name(self) -> str:
        return str(self.config.project)

    @property
    def project(self) -> Project:
        from fsctl.services.project import Project

        return Project(
            name=self.name,
            root=self.root,
            registry_uri=self.registry_uri,
            online_store=self.online_store_identity,
            protected_aliases=self.config.models.protected_aliases,
            required_metadata=self.config.models.required_metadata,
        )

    @property
    def online_store_identity(self) -> str:
        """The identity of ``online_store`` (computed from the config: no store is opened)."""
        config = cast("OnlineStoreConfig", self.online_config)
        return config.identity(self.root)

    @property
    def registry_location(self) -> Location:
        """Where the registry is (parsed on first use, so commands that never touch the
        registry, like ``validate``, accept any ``--registry``)."""
        if self._location is None:
            from fsctl.storage import parse_location

            self._location = parse_location(self.registry_uri, self._registry_base, "registry")
        return self._location

    # -- ports -------------------------------------------------------------------------

    def registry(self) -> Registry:
        """The registry, to read and to write by compare-and-swap (apply, teardown)."""
        if self._registry is None:
            location = self.registry_location
            adapter = REGISTRIES[location.scheme]
            adapter.check_installed(f"registry {location.uri}")
            self._registry = adapter.attribute(adapter.factory)(location)
        return self._registry

    def registry_reader(self) -> RegistryReader:
        """The registry, read-only (plan, browse, retrieval, serving)."""
        return self.registry()

    def state(self) -> StateStore:
        """The materialization state document beside the registry."""
        if self._state is None:
            from fsctl.state import state_uri_for
            from fsctl.storage import parse_location

            uri = state_uri_for(self.registry_location.uri)
            location = parse_location(uri, self.root, "materialization state")
            adapter = STATE_STORES[location.scheme]
            adapter.check_installed(f"materialization state {location.uri}")
            self._state = adapter.attribute(adapter.factory)(location)
        return self._state

    def online_store(self) -> OnlineStore:
        """The online store of ``online_store`` in fsctl.yaml, to write (apply's tables,
        materialize, push, teardown): with the writer login where a store has two."""
        if self._online is None:
            adapter = ONLINE_STORES[self.online_config.type]
            adapter.check_installed(f"online_store type '{self.online_config.type}'")
            self._online = adapter.attribute(adapter.factory)(self.online_config, self.root)
        return self._online

    def online_reader(self) -> OnlineStore:
        """The online store to read only (online, serve without push, the UI, status, score
        --online): with the reader login of a store that has one (postgres, mysql), else the
        same store as :meth:`online_store`. Nothing read through it needs a write right."""
        adapter = ONLINE_STORES[self.online_config.type]
        if self._online_given or adapter.reader is None:
            return self.online_store()
        if self._online_reader is None:
            adapter.check_installed(f"online_store type '{self.online_config.type}'")
            self._online_reader = adapter.attribute(adapter.reader)(self.online_config, self.root)
        return self._online_reader

    def online_store_opener(self) -> StoreOpener | None:
        """The online store of fsctl.yaml as a picklable opener, for an offline engine that
        writes materialized rows from its own tasks (Spark executors); None when the store
        was injected (it may not be openable in another process)."""
        if self._online_given:
            return None
        from fsctl.online.sinks import StoreOpener

        adapter = ONLINE_STORES[self.online_config.type]
        adapter.check_installed(f"online_store type '{self.online_config.type}'")
        local = self.online_config.type in LOCAL_ONLINE_STORES
        return StoreOpener(adapter.module, adapter.factory, self.online_config, self.root, local)

    def offline_engine(self) -> OfflineEngine:
        """The offline engine of ``offline_store`` in fsctl.yaml."""
        if self._offline is None:
            adapter = OFFLINE_ENGINES[self.offline_config.type]
            adapter.check_installed(f"offline_store type '{self.offline_config.type}'")
            self._offline = adapter.attribute(adapter.factory)(self.offline_config)
        return self._offline

    def load_model(self, uri: str) -> LoadedModel:
        """The model artifact at ``uri`` (see ``MODEL_LOADERS``); pickle and joblib files only
        from ``scoring.artifact_locations``."""
        return load_model(uri, self.root, self.config.scoring.artifact_locations)

    def close(self) -> None:
        """Close the online stores and the offline engine (if they were opened)."""
        online, reader, offline = self._online, self._online_reader, self._offline
        self._online = self._online_reader = self._offline = None
        try:
            if online is not None:
                online.close()
        finally:
            try:
                if reader is not None:
                    reader.close()
            finally:
                if offline is not None:
                    offline.close()

    def __enter__(self) -> Workspace:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def open_workspace(repo: Path | str | None = None, registry: Any = None, **ports: Any) -> Workspace:
    """The workspace of the repo at ``repo`` (default: the nearest folder upwards holding
    fsctl.yaml) against ``registry``: a URI (default: ``FSCTL_REGISTRY``, then fsctl.yaml's),
    or a registry object to use as it is. ``ports`` are injected as they are (``online=``,
    ``state=``, ``offline=``)."""
    from fsctl.loader.config import load_config, resolve_repo

    root = resolve_repo(repo)
    config = load_config(root)
    if registry is not None and not isinstance(registry, str):
        ports["registry"] = registry
        registry = None
    uri = registry_uri(config, registry)
    # fsctl.yaml's path is relative to the repo; a path given on the command line or in
    # FSCTL_REGISTRY is relative to the working directory, like any other command-line path.
    base = root if uri == str(config.registry) else Path.cwd()
    return Workspace(root, config, registry_uri=uri, registry_base=base, **ports)

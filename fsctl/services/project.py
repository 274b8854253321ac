"""The composition root: from a repo path and flags to config and registry objects.

Services receive a :class:`Project`; only this module decides which registry
implementation a URI means.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from fsctl.registry import Registry


@dataclass
class Project:
    root: Path
    config: Any  # RepoConfig
    registry_uri: str
    registry: Registry
    registry_base: Path  # what a relative registry path is relative to

    @property
    def name(self) -> str:
        return str(self.config.project)

    def state(self) -> Any:
        """The materialization state store beside the registry."""
        from fsctl.state import open_state

        return open_state(self.registry_uri, self.registry_base)

    def online_store(self) -> Any:
        """The online store of fsctl.yaml."""
        from fsctl.online import open_online_store

        return open_online_store(self.config.online_store, self.root)


def registry_uri(config: Any, override: str | None) -> str:
    """``--registry`` wins, then ``FSCTL_REGISTRY``, then fsctl.yaml."""
    return override or os.environ.get("FSCTL_REGISTRY") or str(config.registry)


def open_project(repo: Path | str | None = None, registry: str | None = None) -> Project:
    from fsctl.loader import load_config, resolve_repo
    from fsctl.registry import open_registry

    root = resolve_repo(repo)
    config = load_config(root)
    uri = registry_uri(config, registry)
    # fsctl.yaml's path is relative to the repo; a path given on the command line or in
    # FSCTL_REGISTRY is relative to the working directory, like any other command-line path.
    base = root if uri == str(config.registry) else Path.cwd()
    return Project(
        root=root, config=config, registry_uri=uri, registry=open_registry(uri, base), registry_base=base
    )

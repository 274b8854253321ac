"""What a use case knows of the project it works on: its name, its repo, the registry URI
it was pointed at (as given, for plans and messages) and the identity of the online store
fsctl.yaml names (see :class:`fsctl.online.base.OnlineStoreConfig`). Ports come separately,
typed by their interfaces (see :mod:`fsctl.workspace`)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from fsctl.definitions.config import DEFAULT_PROTECTED_ALIASES, DEFAULT_REQUIRED_METADATA


@dataclass(frozen=True)
class Project:
    name: str
    root: Path
    registry_uri: str
    online_store: str  # the configured online store's identity: where apply and materialize write
    protected_aliases: tuple[str, ...] = DEFAULT_PROTECTED_ALIASES
    # what a version behind a protected alias must carry (fsctl.definitions.model_rules)
    required_metadata: tuple[str, ...] = DEFAULT_REQUIRED_METADATA

"""What a use case knows of the project it works on: its name, its repo and the registry URI
it was pointed at (as given, for plans and messages). Ports come separately, typed by
their interfaces (see :mod:`fsctl.workspace`)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class Project:
    name: str
    root: Path
    registry_uri: str
    protected_aliases: tuple[str, ...] = ("Production", "Champion")

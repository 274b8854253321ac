"""Options every command shares (DESIGN.md section 2): --repo, --registry, --format, --debug."""

from __future__ import annotations

from enum import Enum
from pathlib import Path
from typing import Annotated, Optional

import typer

RepoOpt = Annotated[
    Optional[Path],  # noqa: UP045 - typer needs Optional here on Python 3.10
    typer.Option(
        "--repo",
        help="The feature repo (default: the nearest folder upwards holding fsctl.yaml).",
        show_default=False,
    ),
]
RegistryOpt = Annotated[
    Optional[str],  # noqa: UP045
    typer.Option(
        "--registry",
        envvar="FSCTL_REGISTRY",
        help="Registry URI to use instead of fsctl.yaml's (local path or s3://bucket/key).",
        show_default=False,
    ),
]
DebugOpt = Annotated[bool, typer.Option("--debug", help="Show full tracebacks for errors.")]


class DataFormat(str, Enum):
    text = "text"
    json = "json"


class PlanFormat(str, Enum):
    text = "text"
    json = "json"
    markdown = "markdown"


FormatOpt = Annotated[DataFormat, typer.Option("--format", help="Output format.")]

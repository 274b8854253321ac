"""Commands that move feature data: historical retrieval (and, with issue 5, materialization
and online reads)."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Annotated, Optional

import typer

from fsctl.cli.options import DataFormat, DebugOpt, FormatOpt, RegistryOpt, RepoOpt
from fsctl.cli.output import Progress, out

FeaturesOpt = Annotated[
    Optional[str],  # noqa: UP045
    typer.Option("--features", help="Comma-separated feature references, view:feature.", show_default=False),
]
ServiceOpt = Annotated[
    Optional[str],  # noqa: UP045
    typer.Option("--service", help="A feature service: all of its features.", show_default=False),
]
FullNamesOpt = Annotated[
    bool, typer.Option("--full-feature-names", help="Name output columns view__feature.")
]


def split_refs(features: str | None) -> list[str] | None:
    if features is None:
        return None
    return [ref.strip() for ref in features.split(",") if ref.strip()]


def one_of(**choices: object) -> None:
    from fsctl.errors import UsageError

    given = [f"--{name}" for name, value in choices.items() if value]
    if len(given) != 1:
        names = " | ".join(f"--{name}" for name in choices)
        raise UsageError(f"give exactly one of {names}" + (f" (got {', '.join(given)})" if given else ""))


def historical(
    entities: Annotated[
        Path,
        typer.Option("--entities", help="Entity rows: parquet or CSV with join keys and event_timestamp."),
    ],
    output: Annotated[
        Path, typer.Option("--output", help="Where to write the training set: .parquet or .csv.")
    ],
    features: FeaturesOpt = None,
    service: ServiceOpt = None,
    model: Annotated[
        Optional[str],  # noqa: UP045
        typer.Option(
            "--model", help="The feature service bound to NAME@ALIAS or NAME/VERSION.", show_default=False
        ),
    ] = None,
    full_feature_names: FullNamesOpt = False,
    leakage_guard: Annotated[
        bool,
        typer.Option(
            "--leakage-guard", help="Also require each row's created time <= the entity row's time."
        ),
    ] = False,
    repo: RepoOpt = None,
    registry: RegistryOpt = None,
    fmt: FormatOpt = DataFormat.text,
    debug: DebugOpt = False,
) -> int:
    """Build a point-in-time correct training set from entity rows."""
    from fsctl.errors import UsageError
    from fsctl.render.retrieval import historical_json, historical_text
    from fsctl.services.project import open_project
    from fsctl.services.retrieve import get_historical_features

    one_of(features=features, service=service, model=model)
    if output.suffix.lower() not in (".parquet", ".csv"):
        raise UsageError(
            f"output file {output}: unknown extension '{output.suffix}'", hint="use .parquet or .csv"
        )
    started = time.perf_counter()
    project = open_project(repo, registry)
    with Progress() as progress:
        result = get_historical_features(
            project,
            entities,
            features=split_refs(features),
            service=service,
            model=model,
            full_feature_names=full_feature_names,
            leakage_guard=leakage_guard,
            progress=progress,
        )
        with result:
            progress(f"writing {output}")
            result.write(output)
            stats = result.stats()
    seconds = time.perf_counter() - started
    render = historical_json if fmt is DataFormat.json else historical_text
    out(render(str(output), stats.rows, stats.matched, seconds))
    return 0


def register(app: typer.Typer) -> None:
    app.command()(historical)

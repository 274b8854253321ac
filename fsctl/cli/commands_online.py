"""Commands that serve online features: ``online`` (read the latest values of some entities)
and ``serve`` (the HTTP feature server)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any, Optional

import typer

from fsctl.cli.commands_data import FeaturesOpt, FullNamesOpt, ModelOpt, ServiceOpt, one_of, split_refs
from fsctl.cli.options import DataFormat, DebugOpt, FormatOpt, RegistryOpt, RepoOpt
from fsctl.cli.output import err, out


def parse_entity_options(values: list[str], join_keys: tuple[str, ...]) -> dict[str, list[Any]]:
    """``--entity KEY=VALUE`` options -> one entity row as columns. A value that is a plain
    integer is shown as one (keys match either way: the store encodes 1001 and "1001" alike)."""
    from fsctl.errors import UsageError

    row: dict[str, list[Any]] = {}
    for text in values:
        key, sep, value = text.partition("=")
        key = key.strip()
        if not sep or not key:
            raise UsageError(f"--entity '{text}' is not KEY=VALUE", hint=f"e.g. --entity {join_keys[0]}=1001")
        if key in row:
            raise UsageError(f"--entity gives join key '{key}' twice", hint="give one --entity per join key")
        if key not in join_keys:
            raise UsageError(
                f"--entity names '{key}', which is not a join key of the requested features",
                hint=f"they are keyed by {', '.join(join_keys)}",
            )
        canonical_int = value.lstrip("-").isdigit() and str(int(value)) == value
        row[key] = [int(value) if canonical_int else value]
    return row


def online(
    features: FeaturesOpt = None,
    service: ServiceOpt = None,
    model: ModelOpt = None,
    entity: Annotated[
        Optional[list[str]],  # noqa: UP045
        typer.Option(
            "--entity",
            metavar="KEY=VALUE",
            help="A join key of the entity row, KEY=VALUE; repeat for each join key.",
            show_default=False,
        ),
    ] = None,
    entities: Annotated[
        Optional[Path],  # noqa: UP045
        typer.Option(
            "--entities",
            metavar="FILE",
            help="Entity rows: parquet, CSV or JSON lines (.jsonl) with the join key columns.",
            show_default=False,
        ),
    ] = None,
    ignore_ttl: Annotated[
        bool, typer.Option("--ignore-ttl", help="Return values older than the view's TTL too.")
    ] = False,
    full_feature_names: FullNamesOpt = False,
    repo: RepoOpt = None,
    registry: RegistryOpt = None,
    fmt: FormatOpt = DataFormat.text,
    debug: DebugOpt = False,
) -> int:
    """Read the latest feature values of entities from the online store."""
    from fsctl.render.online import online_json, online_text
    from fsctl.services.entity_input import read_entity_file
    from fsctl.services.online import OnlineReader
    from fsctl.services.project import open_project

    one_of(features=features, service=service, model=model)
    one_of(entity=entity, entities=entities)
    project = open_project(repo, registry)
    reader = OnlineReader(project, cache_seconds=3600.0)  # one read: no refresh needed
    try:
        refs = split_refs(features)
        plan = reader.plan(refs, service, model, full_feature_names)
        if entity:
            rows = parse_entity_options(entity, plan.join_keys)
        else:
            assert entities is not None
            rows = read_entity_file(entities, plan.join_keys)
        response = reader.get(
            refs,
            service=service,
            model=model,
            entity_rows=rows,
            ignore_ttl=ignore_ttl,
            full_feature_names=full_feature_names,
        )
    finally:
        reader.close()
    out(online_json(response) if fmt is DataFormat.json else online_text(response))
    return 0


def serve(
    host: Annotated[str, typer.Option("--host", help="The address to listen on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option("--port", help="The port to listen on.", min=0, max=65535)] = 6566,
    repo: RepoOpt = None,
    registry: RegistryOpt = None,
    debug: DebugOpt = False,
) -> int:
    """Run the HTTP feature server (POST /get-online-features; docs at /docs)."""
    from fsctl.services.project import open_project
    from fsctl.serving import run_server

    project = open_project(repo, registry)
    return run_server(project, host, port, announce=err)


def register(app: typer.Typer) -> None:
    app.command()(online)
    app.command()(serve)

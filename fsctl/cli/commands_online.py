"""Commands that serve online features: ``online`` (read the latest values of some entities)
and ``serve`` (the HTTP feature server)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any, Optional

import typer

from fsctl.cli.commands_data import FeaturesOpt, FullNamesOpt, ModelOpt, ServiceOpt, feature_request
from fsctl.cli.options import DataFormat, DebugOpt, FormatOpt, RegistryOpt, RepoOpt
from fsctl.cli.output import err, show


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
    from fsctl.offline.entity_input import entity_input
    from fsctl.services.features import require_one
    from fsctl.services.online import OnlineReader
    from fsctl.workspace import open_workspace

    request = feature_request(features, service, model, full_feature_names)
    require_one([("--entity", entity), ("--entities", entities)])
    with open_workspace(repo, registry) as ws:
        # One read: no registry refresh needed.
        reader = OnlineReader(ws.project, ws.registry_reader(), ws.online_store(), cache_seconds=3600.0)
        plan = reader.plan(request)
        if entity:
            rows: Any = parse_entity_options(entity, plan.join_keys)
        else:
            assert entities is not None
            source = entity_input(entities)
            rows = source.columns(
                plan.join_keys, needed_by=f"the requested features are keyed by {', '.join(plan.join_keys)}"
            )
        response = reader.get(request, rows, ignore_ttl=ignore_ttl)
    show(response, fmt)
    return 0


def serve(
    host: Annotated[str, typer.Option("--host", help="The address to listen on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option("--port", help="The port to listen on.", min=0, max=65535)] = 6566,
    repo: RepoOpt = None,
    registry: RegistryOpt = None,
    debug: DebugOpt = False,
) -> int:
    """Run the HTTP feature server (POST /get-online-features; docs at /docs)."""
    from fsctl.serving import run_server
    from fsctl.workspace import open_workspace

    with open_workspace(repo, registry) as ws:
        return run_server(ws, host, port, announce=err)


def register(app: typer.Typer) -> None:
    app.command()(online)
    app.command()(serve)

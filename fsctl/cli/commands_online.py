"""Commands that serve online features: ``online`` (read the latest values of some entities)
and ``serve`` (the HTTP feature server)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import click

from fsctl.cli.commands_data import feature_options, feature_request
from fsctl.cli.options import debug_option, format_option, path_option, repo_options
from fsctl.cli.output import err, show
from fsctl.serving.settings import DEFAULT_MAX_ENTITY_ROWS


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


@click.command(short_help="Read the latest values from the online store.")
@feature_options
@click.option(
    "--entity",
    multiple=True,
    metavar="KEY=VALUE",
    help="A join key of the entity row, KEY=VALUE; repeat for each join key.",
)
@path_option("--entities", "Entity rows: parquet, CSV or JSON lines (.jsonl) with the join key columns.")
@click.option("--ignore-ttl", is_flag=True, help="Return values older than the view's TTL too.")
@repo_options
@format_option()
@debug_option
def online(
    features: str | None,
    service: str | None,
    model: str | None,
    full_feature_names: bool,
    entity: tuple[str, ...],
    entities: Path | None,
    ignore_ttl: bool,
    repo: Path | None,
    registry: str | None,
    fmt: str,
    debug: bool,
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
        reader = OnlineReader(ws.project, ws.registry_reader(), ws.online_reader(), cache_seconds=3600.0)
        plan = reader.plan(request)
        if entity:
            rows: Any = parse_entity_options(list(entity), plan.join_keys)
        else:
            assert entities is not None
            source = entity_input(entities)
            rows = source.columns(
                plan.join_keys, needed_by=f"the requested features are keyed by {', '.join(plan.join_keys)}"
            )
        response = reader.get(request, rows, ignore_ttl=ignore_ttl)
    show(response, fmt)
    return 0


@click.command(short_help="Run the HTTP feature server.")
@click.option("--host", default="127.0.0.1", show_default=True, metavar="<str>", help="The address to listen on.")
@click.option(
    "--port", default=6566, show_default=True, type=click.IntRange(0, 65535), metavar="<int>", help="The port to listen on."
)
@click.option(
    "--ignore-ttl",
    is_flag=True,
    envvar="FSCTL_SERVE_IGNORE_TTL",
    show_envvar=True,
    help="Return values older than the view's TTL (as a Feast server does), still marked "
    "OUTSIDE_MAX_AGE; a request's ignore_ttl overrides it.",
)
@click.option(
    "--max-entity-rows",
    default=DEFAULT_MAX_ENTITY_ROWS,
    show_default=True,
    type=click.IntRange(min=1),
    envvar="FSCTL_SERVE_MAX_ENTITY_ROWS",
    show_envvar=True,
    metavar="<int>",
    help="Entity rows (or pushed rows) one request may hold; more is a 413.",
)
@click.option(
    "--enable-push",
    is_flag=True,
    help="Take POST /push and /write-to-online-store, with the bearer token in FSCTL_PUSH_TOKEN.",
)
@click.option("--access-log/--no-access-log", default=True, show_default=True, help="Log one line per request on stderr.")
@repo_options
@debug_option
def serve(
    host: str,
    port: int,
    ignore_ttl: bool,
    max_entity_rows: int,
    enable_push: bool,
    access_log: bool,
    repo: Path | None,
    registry: str | None,
    debug: bool,
) -> int:
    """Run the HTTP feature server (POST /get-online-features; docs at /docs).

    Writes (Feast's /push and /write-to-online-store) are off unless --enable-push; they then
    require 'Authorization: Bearer <token>' with the token from the FSCTL_PUSH_TOKEN
    environment variable."""
    from fsctl.serving import ServerSettings, run_server
    from fsctl.serving.settings import push_token_from_env
    from fsctl.workspace import open_workspace

    settings = ServerSettings(
        ignore_ttl=ignore_ttl,
        max_entity_rows=max_entity_rows,
        push_token=push_token_from_env() if enable_push else None,
    )
    with open_workspace(repo, registry) as ws:
        return run_server(ws, host, port, settings=settings, access_log=access_log, announce=err)

"""Commands that move feature data: historical retrieval and materialization."""

from __future__ import annotations

import json
import time
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from fsctl.cli.options import debug_option, format_option, path_option, repo_options, text_option
from fsctl.cli.output import Progress, err, show

if TYPE_CHECKING:
    from fsctl.services.features import FeatureRequest


def feature_options(f: Any) -> Any:
    """--features, --service, --model and --full-feature-names."""
    f = click.option("--full-feature-names", is_flag=True, help="Name output columns view__feature.")(f)
    f = text_option("--model", "The feature service bound to NAME@ALIAS or NAME/VERSION.")(f)
    f = text_option("--service", "A feature service: all of its features.")(f)
    return text_option("--features", "Comma-separated feature references, view:feature.")(f)


CLI_LABELS = ("--features", "--service", "--model")


def feature_request(
    features: str | None, service: str | None, model: str | None, full_feature_names: bool
) -> FeatureRequest:
    """The checked request of --features / --service / --model."""
    from fsctl.services.features import FeatureRequest

    return FeatureRequest.of(features, service, model, full_feature_names, labels=CLI_LABELS)


@click.command(short_help="Build a point-in-time training set.")
@path_option(
    "--entities", "Entity rows: parquet, CSV or JSON lines with join keys and event_timestamp.", required=True
)
@path_option("--output", "Where to write the training set: .parquet or .csv.", required=True)
@feature_options
@click.option("--leakage-guard", is_flag=True, help="Also require each row's created time <= the entity row's time.")
@repo_options
@format_option()
@debug_option
def historical(
    entities: Path,
    output: Path,
    features: str | None,
    service: str | None,
    model: str | None,
    full_feature_names: bool,
    leakage_guard: bool,
    repo: Path | None,
    registry: str | None,
    fmt: str,
    debug: bool,
) -> int:
    """Build a point-in-time correct training set from entity rows."""
    from fsctl.errors import UsageError
    from fsctl.results.retrieval import HistoricalSummary
    from fsctl.services.retrieve import METADATA_KEY, get_historical_features
    from fsctl.workspace import open_workspace

    request = feature_request(features, service, model, full_feature_names)
    if output.suffix.lower() not in (".parquet", ".csv"):
        raise UsageError(
            f"output file {output}: unknown extension '{output.suffix}'", hint="use .parquet or .csv"
        )
    started = time.perf_counter()
    with open_workspace(repo, registry) as ws, Progress() as progress:
        result = get_historical_features(
            ws.project,
            ws.registry_reader(),
            ws.offline_engine(),
            entities,
            request,
            leakage_guard=leakage_guard,
            progress=progress,
            output=output,
        )
        with result:
            progress(f"writing {output}")
            result.write(output)
            stats = result.stats()
            made_for = json.loads(result.metadata[METADATA_KEY]) if METADATA_KEY in result.metadata else None
    summary = HistoricalSummary(
        str(output),
        stats.rows,
        stats.matched,
        time.perf_counter() - started,
        made_for=made_for,
        metadata_written=made_for is not None and output.suffix.lower() == ".parquet",
    )
    show(summary, fmt)
    return 0


def split_names(text: str | None) -> list[str] | None:
    if text is None:
        return None
    return [name.strip() for name in text.split(",") if name.strip()]


def views_option(f: Any) -> Any:
    return text_option("--views", "Comma-separated views (default: every online view).")(f)


def parse_time(text: str, what: str) -> datetime:
    """ISO 8601; without an offset, UTC."""
    from fsctl.errors import UsageError
    from fsctl.json_values import parse_iso_time

    try:
        return parse_iso_time(text)
    except ValueError:
        raise UsageError(
            f"{what} '{text}' is not an ISO-8601 time", hint="e.g. 2026-01-31T12:00:00Z"
        ) from None


class _MaterializeProgress:
    """A progress bar per view on a terminal; plain log lines on stderr otherwise."""

    def __init__(self) -> None:
        import sys

        self.bars: Any = None
        self.tasks: dict[str, Any] = {}
        if sys.stderr.isatty():
            from rich.console import Console
            from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

            self.bars = Progress(
                TextColumn("{task.description}"),
                BarColumn(),
                MofNCompleteColumn(),
                TimeElapsedColumn(),
                console=Console(stderr=True),
            )

    def __enter__(self) -> _MaterializeProgress:
        if self.bars is not None:
            self.bars.__enter__()
        return self

    def __exit__(self, *exc: object) -> None:
        if self.bars is not None:
            self.bars.__exit__(*exc)

    def start_view(self, view: str, keys: int, rows: int) -> None:
        if self.bars is not None:
            self.tasks[view] = self.bars.add_task(f"{view} ({rows:,} rows)", total=keys)
        else:
            err(f"fsctl: {view}: {rows:,} rows in the window, {keys:,} keys to write")

    def advance(self, view: str, keys: int) -> None:
        if self.bars is not None:
            self.bars.advance(self.tasks[view], keys)

    def message(self, text: str) -> None:
        if self.bars is None:
            err(f"fsctl: {text}")


def _run_materialize(
    end: str,
    start: str | None,
    incremental: bool,
    views: str | None,
    lookback: str | None,
    repo: Path | None,
    registry: str | None,
    fmt: str,
) -> int:
    from datetime import timedelta

    from fsctl.definitions.values import parse_duration
    from fsctl.services.materialize import materialize, raise_if_failed
    from fsctl.workspace import open_workspace

    end_time = parse_time(end, "END")
    start_time = parse_time(start, "START") if start is not None else None
    back = None
    if lookback:
        from fsctl.errors import UsageError

        try:
            back = timedelta(seconds=parse_duration(lookback))
        except ValueError as exc:
            raise UsageError(f"--lookback: {exc}") from None
    with open_workspace(repo, registry) as ws, _MaterializeProgress() as progress:
        result = materialize(
            ws.project,
            ws.registry_reader(),
            ws.state(),
            ws.online_store(),
            ws.offline_engine(),
            end_time,
            start=start_time,
            incremental=incremental,
            views=split_names(views),
            lookback=back,
            progress=progress,  # type: ignore[arg-type]
            store_opener=ws.online_store_opener(),
        )
    show(result, fmt)
    raise_if_failed(result)
    return 0


@click.command("materialize", short_help="Load START <= t < END into the online store.")
@click.argument("start")
@click.argument("end")
@views_option
@repo_options
@format_option()
@debug_option
def materialize_cmd(
    start: str, end: str, views: str | None, repo: Path | None, registry: str | None, fmt: str, debug: bool
) -> int:
    """Load the latest value per entity key with START <= event time < END into the online store.

    START (inclusive) and END (exclusive) are ISO 8601; UTC without an offset."""
    return _run_materialize(end, start, False, views, None, repo, registry, fmt)


@click.command("materialize-incremental", short_help="Load each view from its watermark to END.")
@click.argument("end")
@views_option
@text_option("--lookback", "Also re-read this far before each watermark (e.g. 1h) to pick up late rows.", "<duration>")
@repo_options
@format_option()
@debug_option
def materialize_incremental(
    end: str, views: str | None, lookback: str | None, repo: Path | None, registry: str | None, fmt: str, debug: bool
) -> int:
    """Load each online view from its watermark up to END (no watermark: END minus the TTL).

    END (exclusive) is ISO 8601; UTC without an offset."""
    return _run_materialize(end, None, True, views, lookback, repo, registry, fmt)

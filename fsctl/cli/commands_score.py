"""``fsctl score``: batch predictions of a model version for entity rows."""

from __future__ import annotations

import time
from pathlib import Path

import click

from fsctl.cli.options import debug_option, format_option, path_option, repo_options, text_option
from fsctl.cli.output import Progress, show


@click.command(short_help="Batch predictions of a model version.")
@text_option("--model", "NAME@ALIAS or NAME/VERSION: the model binding to score with.", required=True)
@path_option(
    "--entities",
    "Entity rows: parquet, CSV or JSON lines with the join keys (and event_timestamp for "
    "point-in-time features).",
    required=True,
)
@path_option("--output", "Where to write the rows and their predictions: .parquet or .csv.", required=True)
@click.option("--online", is_flag=True, help="Read the features from the online store (default: offline).")
@click.option(
    "--allow-failing-gates",
    is_flag=True,
    help="Score with a version behind a protected alias even if its promotion gates fail now.",
)
@repo_options
@format_option()
@debug_option
def score(
    model: str,
    entities: Path,
    output: Path,
    online: bool,
    allow_failing_gates: bool,
    repo: Path | None,
    registry: str | None,
    fmt: str,
    debug: bool,
) -> int:
    """Score entity rows with the model version MODEL names: its bound feature service's
    features (point in time when the rows have event_timestamp, else the latest; from the
    online store with --online), then its predictions. The output keeps every entity row in
    input order with all its columns and adds the prediction column(s)."""
    from fsctl.errors import UsageError
    from fsctl.results.score import ScoreSummary
    from fsctl.services.score import score_batch
    from fsctl.workspace import open_workspace

    if output.suffix.lower() not in (".parquet", ".csv"):
        raise UsageError(
            f"output file {output}: unknown extension '{output.suffix}'", hint="use .parquet or .csv"
        )
    started = time.perf_counter()
    with open_workspace(repo, registry) as ws, Progress() as progress:
        reader = None
        if online:
            from fsctl.services.online import OnlineReader

            reader = OnlineReader(ws.project, ws.registry_reader(), ws.online_reader())
        result = score_batch(
            ws.project,
            ws.registry_reader(),
            ws.offline_engine(),
            ws.load_model,
            entities,
            model,
            online=reader,
            allow_failing_gates=allow_failing_gates,
            progress=progress,
            output=output,
        )
        progress(f"writing {output}")
        result.write(output)
    summary = ScoreSummary(
        str(output),
        len(result),
        result.metadata(),
        time.perf_counter() - started,
        result.lookup_seconds,
        result.model_seconds,
        metadata_written=output.suffix.lower() == ".parquet",
    )
    show(summary, fmt)
    return 0

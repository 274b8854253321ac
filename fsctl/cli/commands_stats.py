"""``fsctl stats``: feature statistics of a view (or of a model version's predictions from the
prediction log), and drift (PSI) against a baseline."""

from __future__ import annotations

from pathlib import Path

import click

from fsctl.cli.options import debug_option, format_option, path_option, repo_options, text_option
from fsctl.cli.output import err, show


@click.command(short_help="Feature statistics; drift (PSI) against a baseline.")
@click.argument("view", required=False)
@text_option("--start", "Only rows with event time (with --model: prediction time) >= START (ISO 8601; UTC without an offset).", "<time>")
@text_option("--end", "Only rows with event time (with --model: prediction time) < END.", "<time>")
@click.option(
    "--baseline",
    nargs=2,
    default=None,
    metavar="<start> <end>",
    help="Compare with the same rows in [START, END).",
)
@path_option("--baseline-file", "Compare with a parquet training set (fsctl historical): its feature columns.")
@text_option(
    "--model",
    "NAME@ALIAS or NAME/VERSION: the features served to this model version and its predictions, "
    "from the prediction log (scoring.prediction_log); VIEW then narrows to that view's features.",
)
@text_option("--features", "Comma-separated features of VIEW (default: all).")
@click.option("--bins", type=int, default=None, metavar="<int>", help="Histogram bins (default 10, or stats.bins).")
@click.option(
    "--psi-warn", type=float, default=None, metavar="<float>", help="PSI at or over this is moderate drift (default 0.1)."
)
@click.option(
    "--psi-fail", type=float, default=None, metavar="<float>", help="PSI at or over this is high drift (default 0.25)."
)
@click.option("--fail-on-drift", is_flag=True, help="Exit 1 when a feature's PSI is at or over --psi-fail.")
@repo_options
@format_option()
@debug_option
def stats(
    view: str | None,
    start: str | None,
    end: str | None,
    baseline: tuple[str, str] | None,
    baseline_file: Path | None,
    model: str | None,
    features: str | None,
    bins: int | None,
    psi_warn: float | None,
    psi_fail: float | None,
    fail_on_drift: bool,
    repo: Path | None,
    registry: str | None,
    fmt: str,
    debug: bool,
) -> int:
    """Statistics per feature of VIEW over its source rows with START <= event time < END
    (default: every row), computed by the offline engine: count, nulls, min, max, mean,
    standard deviation, distinct values (estimated), quantiles and a histogram.

    With --baseline START END or --baseline-file, also the population stability index (PSI)
    of each feature against the baseline, flagged moderate or high over the thresholds.
    With --model, the same over a model version's traffic in the prediction log (features
    as served, and the predictions), e.g. against its training set."""
    from fsctl.cli.commands_data import parse_time, split_names
    from fsctl.errors import UsageError
    from fsctl.results.stats import HIGH, Thresholds
    from fsctl.services.stats import FileBaseline, StatsOptions, WindowBaseline
    from fsctl.workspace import open_workspace

    if view is None and model is None:
        raise UsageError("name a VIEW, or a model version with --model", hint="e.g. fsctl stats driver_hourly_stats")
    if baseline is not None and baseline_file is not None:
        raise UsageError("give --baseline or --baseline-file, not both")
    if fail_on_drift and baseline is None and baseline_file is None:
        raise UsageError(
            "--fail-on-drift needs a baseline to measure drift against",
            hint="add --baseline START END or --baseline-file training.parquet",
        )
    if model is not None and features is not None:
        raise UsageError("--features goes with a VIEW alone; with --model, name a VIEW to narrow to its features")
    start_time = parse_time(start, "--start") if start is not None else None
    end_time = parse_time(end, "--end") if end is not None else None
    base: WindowBaseline | FileBaseline | None = None
    if baseline is not None:
        base = WindowBaseline(parse_time(baseline[0], "--baseline START"), parse_time(baseline[1], "--baseline END"))
    elif baseline_file is not None:
        base = FileBaseline(baseline_file)
    with open_workspace(repo, registry) as ws:
        config = ws.config.stats
        options = StatsOptions(
            bins=bins if bins is not None else config.bins,
            thresholds=Thresholds(
                warn=psi_warn if psi_warn is not None else config.psi_warn,
                fail=psi_fail if psi_fail is not None else config.psi_fail,
            ),
        )
        if model is not None:
            from fsctl.services.drift import model_stats

            report = model_stats(
                ws.project,
                ws.registry_reader(),
                ws.offline_engine(),
                model,
                ws.config.scoring.prediction_log,
                start=start_time,
                end=end_time,
                view=view,
                baseline=base,
                options=options,
            )
        else:
            from fsctl.services.stats import view_stats

            assert view is not None
            report = view_stats(
                ws.project,
                ws.registry_reader(),
                ws.offline_engine(),
                view,
                start=start_time,
                end=end_time,
                features=split_names(features),
                baseline=base,
                options=options,
            )
    show(report, fmt)
    high = report.at_level(HIGH)
    if fail_on_drift and high:
        err(
            f"error: drift at or over {options.thresholds.fail} (PSI) in {len(high)} "
            f"feature{'s' if len(high) != 1 else ''} of {report.subject}: {', '.join(high)}"
        )
        return 1
    return 0

"""``fsctl status`` as text (one screen for the person on call: a table of views, then what
is wrong with each and what to run), JSON, and the Prometheus text exposition format (for
node-exporter's textfile collector)."""

from __future__ import annotations

from datetime import datetime

from fsctl.definitions.values import format_duration
from fsctl.json_values import iso_timestamp
from fsctl.render.json_format import dumps
from fsctl.results.status import StatusReport, ViewStatus

# problem code -> what the STATUS column says
_LABELS = {
    "stale": "STALE",
    "no-data": "NO DATA",
    "last-run-failed": "FAILED",
    "never-materialized": "NEVER RAN",
    "definition-changed": "CHANGED",
    "no-table": "NO TABLE",
}


def status_json(report: StatusReport) -> str:
    return dumps(report.to_dict())


def _when(value: datetime | None) -> str:
    return iso_timestamp(value.replace(microsecond=0)) if value is not None else "-"


def _ago(report: StatusReport, value: datetime | None) -> str:
    if value is None:
        return "-"
    return format_duration(max(int((report.checked_at - value).total_seconds()), 0), units=2)


def _state(view: ViewStatus) -> str:
    if view.problems:
        return ", ".join(dict.fromkeys(_LABELS.get(f.code, f.code.upper()) for f in view.problems))
    return "ok, warning" if view.warnings else "ok"


def _row(report: StatusReport, view: ViewStatus) -> list[str]:
    run = view.last_run
    age = format_duration(max(int(view.age_seconds), 0), units=2) if view.age_seconds is not None else "-"
    return [
        view.name,
        _state(view),
        format_duration(view.freshness) if view.freshness is not None else "-",
        age + ("*" if view.age_basis == "watermark" else ""),
        _ago(report, view.source_newest_event),
        f"{run.status} {_ago(report, run.finished_at)} ago" if run is not None else "never",
        f"{run.rows_read:,}" if run is not None else "-",
        f"{run.keys_written:,}" if run is not None else "-",
        f"{run.seconds:.1f}s" if run is not None else "-",
        str(view.consecutive_failures),
    ]


_HEADER = ["VIEW", "STATUS", "FRESHNESS", "DATA AGE", "SOURCE AGE", "LAST RUN", "ROWS READ", "KEYS WRITTEN", "TOOK", "FAILURES"]
_RIGHT = {6, 7, 8, 9}  # numbers are right-aligned


def _table(rows: list[list[str]]) -> list[str]:
    widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
    lines = []
    for row in rows:
        cells = [c.rjust(w) if i in _RIGHT else c.ljust(w) for i, (c, w) in enumerate(zip(row, widths, strict=True))]
        lines.append("  ".join(cells).rstrip())
    return lines


def _details(report: StatusReport, view: ViewStatus) -> list[str]:
    run = view.last_run
    facts = [
        f"newest online event {_when(view.newest_event)}",
        f"source newest event {_when(view.source_newest_event)}",
        f"watermark {_when(view.watermark)}",
    ]
    lines = [f"{view.name}: " + ", ".join(facts)]
    if run is not None:
        window = f"[{_when(run.start) if run.start else 'earliest'}, {_when(run.end)})"
        lines.append(
            f"  last run {run.run_id} {run.status} at {_when(run.finished_at)} by {run.actor}: window {window}, "
            f"{run.rows_read:,} rows read, {run.keys_written:,} keys written in {run.seconds:.1f}s"
        )
        if view.last_success is not None and run.status != "succeeded":
            lines.append(f"  last success at {_when(view.last_success)}")
    for finding in view.findings:
        lines.append(f"  {finding.severity}: {finding.message}")
        if finding.fix:
            lines.append(f"    fix: {finding.fix}")
    return lines


def status_text(report: StatusReport) -> str:
    count = len(report.views)
    head = (
        f"{report.project}: {count} online view{'s' if count != 1 else ''} in {report.online_store}, "
        f"at {_when(report.checked_at)}"
    )
    if not report.views:
        return head + "\nNo online views."
    lines = [head, "", *_table([_HEADER] + [_row(report, v) for v in report.views])]
    if any(v.age_basis == "watermark" for v in report.views):
        lines.append("* judged by the watermark: the runs so far recorded no newest event")
    for view in report.views:
        if view.findings:
            lines += ["", *_details(report, view)]
    bad = [v.name for v in report.views if v.problems]
    warned = [v.name for v in report.views if v.warnings and not v.problems]
    lines.append("")
    if bad:
        lines.append(f"{len(bad)} of {count} views need attention: {', '.join(bad)} (exit 1).")
    else:
        lines.append(f"All {count} views are fine" + (f"; warnings for {', '.join(warned)}." if warned else "."))
    return "\n".join(lines)


# --- Prometheus text exposition format ----------------------------------------------------

# (name, help) of each per-view gauge, in output order
_METRICS = [
    ("fsctl_view_fresh", "1 when the view's online data meets its freshness (without one: it has been materialized), else 0."),
    ("fsctl_view_freshness_seconds", "Age of the newest event in the online store (from the state document)."),
    ("fsctl_view_freshness_limit_seconds", "The view's declared freshness: how old its newest online event may get."),
    ("fsctl_view_newest_event_timestamp_seconds", "Newest event time in the online store, Unix seconds."),
    ("fsctl_view_source_newest_event_timestamp_seconds", "Newest event time in the view's source, Unix seconds."),
    ("fsctl_view_watermark_timestamp_seconds", "The view's watermark (END of its last loaded window), Unix seconds."),
    ("fsctl_view_last_run_timestamp_seconds", "When the last materialization run finished, Unix seconds."),
    ("fsctl_view_last_run_success", "1 when the last materialization run succeeded, else 0."),
    ("fsctl_view_last_run_duration_seconds", "How long the last materialization run took."),
    ("fsctl_view_last_run_rows", "Source rows the last materialization run read."),
    ("fsctl_view_last_run_keys_written", "Entity keys the last materialization run wrote."),
    ("fsctl_view_last_success_timestamp_seconds", "When the last successful materialization run finished, Unix seconds."),
    ("fsctl_view_consecutive_failures", "Failed materialization runs since the last successful one."),
    ("fsctl_view_problems", "Problems found (stale, never materialized, last run failed): fsctl status exits 1."),
    ("fsctl_view_warnings", "Warnings found (e.g. a run that wrote 0 rows while its window has rows)."),
]


def _number(value: float | int) -> str:
    if isinstance(value, bool):
        return "1" if value else "0"
    if isinstance(value, int):
        return str(value)
    return repr(float(value))


def _label(value: str) -> str:
    return value.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")


def _seconds(value: datetime | None) -> float | None:
    return value.timestamp() if value is not None else None


def _values(view: ViewStatus) -> dict[str, float | int | None]:
    run = view.last_run
    return {
        "fsctl_view_fresh": int(view.fresh),
        "fsctl_view_freshness_seconds": view.age_seconds,
        "fsctl_view_freshness_limit_seconds": view.freshness,
        "fsctl_view_newest_event_timestamp_seconds": _seconds(view.newest_event),
        "fsctl_view_source_newest_event_timestamp_seconds": _seconds(view.source_newest_event),
        "fsctl_view_watermark_timestamp_seconds": _seconds(view.watermark),
        "fsctl_view_last_run_timestamp_seconds": _seconds(run.finished_at) if run else None,
        "fsctl_view_last_run_success": int(run.status == "succeeded") if run else None,
        "fsctl_view_last_run_duration_seconds": run.seconds if run else None,
        "fsctl_view_last_run_rows": run.rows_read if run else None,
        "fsctl_view_last_run_keys_written": run.keys_written if run else None,
        "fsctl_view_last_success_timestamp_seconds": _seconds(view.last_success),
        "fsctl_view_consecutive_failures": view.consecutive_failures,
        "fsctl_view_problems": len(view.problems),
        "fsctl_view_warnings": len(view.warnings),
    }


def status_prometheus(report: StatusReport) -> str:
    """Gauges labelled ``{project, view}``; a value that is unknown (a view never run has no
    last run) is left out rather than written as 0. ``fsctl_status_timestamp_seconds`` says
    when the file was made, so an alert can catch a cron job that stopped."""
    project = _label(report.project)
    lines = [
        "# HELP fsctl_status_timestamp_seconds When fsctl status computed these metrics, Unix seconds.",
        "# TYPE fsctl_status_timestamp_seconds gauge",
        f'fsctl_status_timestamp_seconds{{project="{project}"}} {_number(report.checked_at.timestamp())}',
    ]
    values = [(_label(v.name), _values(v)) for v in report.views]
    for name, help_text in _METRICS:
        lines += [f"# HELP {name} {help_text}", f"# TYPE {name} gauge"]
        for view, by_name in values:
            value = by_name[name]
            if value is not None:
                lines.append(f'{name}{{project="{project}",view="{view}"}} {_number(value)}')
    return "\n".join(lines) + "\n"

"""``fsctl stats`` as text (plain and stable; ``#`` bars), rich (the same with colours and
block bars, for a terminal) and JSON (format 1, documented in README "Feature statistics
and drift"; keys may be added, these stay)."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from fsctl.render.json_format import dumps
from fsctl.results.stats import (
    HIGH,
    MODERATE,
    NOT_COMPARED,
    OK,
    FeatureDrift,
    FeatureSummary,
    StatsReport,
    iso,
)

JSON_FORMAT = 1
BAR_WIDTH = 30
_LEVEL_STYLES = {HIGH: "bold red", MODERATE: "yellow", OK: "green", NOT_COMPARED: "dim"}

Style = Callable[[str, str], str]  # (text, rich style) -> text as the format shows it


# -- JSON -----------------------------------------------------------------------------------


def quantile_label(q: float) -> str:
    """0.01 -> ``p01``, 0.5 -> ``p50``, 0.999 -> ``p99.9``."""
    pct = round(q * 100, 6)
    return f"p{pct:02.0f}" if float(pct).is_integer() else f"p{pct:g}"


def _feature_dict(f: FeatureSummary) -> dict[str, Any]:
    out: dict[str, Any] = {
        "name": f.name,
        "dtype": f.dtype,
        "kind": f.kind,
        "count": f.count,
        "nulls": f.nulls,
        "null_fraction": f.null_fraction,
        "distinct": f.distinct,
        "min": f.min,
        "max": f.max,
        "mean": f.mean,
        "std": f.std,
        "quantiles": {quantile_label(q): v for q, v in f.quantiles},
        "histogram": [{"lower": b.lower, "upper": b.upper, "count": b.count} for b in f.histogram],
        "top": [{"value": v, "count": c} for v, c in f.top],
    }
    return out


def _drift_dict(d: FeatureDrift) -> dict[str, Any]:
    return {
        "psi": d.psi,
        "level": d.level,
        "method": d.method or None,
        "bins": [{"label": b.label, "baseline": b.baseline, "current": b.current} for b in d.bins],
        "note": d.note or None,
    }


def stats_json(report: StatsReport) -> str:
    features = []
    for f in report.features:
        item = _feature_dict(f)
        drift = report.drift.get(f.name)
        item["drift"] = _drift_dict(drift) if drift is not None else None
        features.append(item)
    baseline = report.baseline
    return dumps(
        {
            "format": JSON_FORMAT,
            "subject": {
                "kind": report.kind,
                "name": report.name,
                "version": report.version,
                "alias": report.alias,
                "location": report.location,
            },
            "window": {"start": iso(report.start), "end": iso(report.end)},
            "rows": report.rows,
            "features": features,
            "baseline": None
            if baseline is None
            else {
                "kind": baseline.kind,
                "start": iso(baseline.start),
                "end": iso(baseline.end),
                "path": baseline.path,
                "made_for": baseline.made_for,
                "rows": baseline.rows,
                "features": [_feature_dict(f) for f in baseline.features],
            },
            "thresholds": {"warn": report.thresholds.warn, "fail": report.thresholds.fail},
            "drifted": {"high": report.at_level(HIGH), "moderate": report.at_level(MODERATE)},
            "notes": report.notes,
        }
    )


# -- text -----------------------------------------------------------------------------------


def _num(value: Any) -> str:
    if value is None:
        return "-"
    if isinstance(value, bool):
        return str(value).lower()
    if isinstance(value, int):
        return f"{value:,}"
    if isinstance(value, float):
        return f"{value:.6g}"
    return str(value)


def _pct(value: float | None) -> str:
    return "-" if value is None else f"{value * 100:.2f}%"


def _table(
    headers: Sequence[str], rows: Sequence[Sequence[str]], right: Sequence[bool], style: Style, styles: Any = None
) -> list[str]:
    """Aligned columns (``right``: numbers), a rule under the headers; ``styles[r][c]`` a
    rich style for a cell (the width is the plain text's)."""
    widths = [max([len(h)] + [len(r[i]) for r in rows]) for i, h in enumerate(headers)]

    def line(cells: Sequence[str], cell_styles: Sequence[str] | None) -> str:
        out = []
        for i, (cell, width) in enumerate(zip(cells, widths, strict=True)):
            shown, pad = style(cell, cell_styles[i] if cell_styles else ""), " " * (width - len(cell))
            out.append(pad + shown if right[i] else shown + pad)  # padding outside the markup
        return "  ".join(out).rstrip()

    lines = [line(headers, ["bold"] * len(headers)), line(["-" * w for w in widths], None)]
    return lines + [line(r, styles[k] if styles else None) for k, r in enumerate(rows)]


def _summary_rows(report: StatsReport) -> list[list[str]]:
    rows = []
    for f in report.features:
        rows.append(
            [
                f.name,
                f.dtype,
                _num(f.count),
                _num(f.nulls),
                _pct(f.null_fraction),
                _num(f.distinct),
                _num(f.min),
                _num(f.max),
                _num(f.mean),
                _num(f.std),
            ]
        )
    return rows


def _bar(count: int, largest: int, style: Style, char: str) -> str:
    width = round(BAR_WIDTH * count / largest) if largest else 0
    if count and not width:
        width = 1
    return style(char * width + " " * (BAR_WIDTH - width), "cyan")


def _chart(f: FeatureSummary, style: Style, char: str) -> list[str]:
    """The histogram (numeric) or top values (categorical) of one feature, with nulls."""
    if f.kind == "numeric" and f.histogram:
        last = len(f.histogram) - 1
        labels = [
            f"[{_num(b.lower)}, {_num(b.upper)}{']' if i == last else ')'}" for i, b in enumerate(f.histogram)
        ]
        counts = [b.count for b in f.histogram]
    elif f.kind == "categorical" and f.top:
        labels = [v for v, _ in f.top]
        counts = [c for _, c in f.top]
        other = f.values - sum(counts)
        if other:
            labels.append("(other)")
            counts.append(other)
    else:
        return []
    if f.nulls:
        labels.append("null")
        counts.append(f.nulls)
    width = max(len(label) for label in labels)
    largest = max(counts)
    head = f"{f.name} ({f.dtype}, {f.values:,} values" + (f", {f.nulls:,} null" if f.nulls else "") + ")"
    lines = [style(head, "bold")]
    for label, count in zip(labels, counts, strict=True):
        pad = " " * (width - len(label))
        lines.append(f"  {style(label, '')}{pad}  {_bar(count, largest, style, char)}  {count:,}")
    return lines


def _drift_lines(report: StatsReport, style: Style) -> list[str]:
    baseline = report.baseline
    if baseline is None:
        return []
    t = report.thresholds
    head = (
        f"drift against {'the baseline file ' if baseline.kind == 'file' else 'the baseline '}"
        f"{baseline.description} ({baseline.rows:,} rows): PSI, moderate >= {_num(t.warn)}, high >= {_num(t.fail)}"
    )
    compared = {f.name: f for f in baseline.features}
    rows, styles = [], []
    for f in report.features:
        d = report.drift.get(f.name)
        if d is None:
            continue
        b = compared.get(f.name)
        level = d.level.upper() if d.level == HIGH else d.level
        mean = f"{_num(b.mean)} -> {_num(f.mean)}" if b is not None and f.kind == "numeric" else ""
        nulls = f"{_pct(b.null_fraction)} -> {_pct(f.null_fraction)}" if b is not None else ""
        rows.append([f.name, "-" if d.psi is None else f"{d.psi:.4f}", level, d.method or "-", nulls, mean, d.note])
        styles.append(["", "", _LEVEL_STYLES.get(d.level, ""), "", "", "", "dim"])
    lines = [style(head, "bold"), ""]
    lines += _table(
        ["feature", "psi", "level", "bins", "null % (baseline -> now)", "mean (baseline -> now)", "note"],
        rows,
        [False, True, False, False, False, False, False],
        style,
        styles,
    )
    high, moderate = report.at_level(HIGH), report.at_level(MODERATE)
    verdict = []
    if high:
        verdict.append(style(f"high drift: {', '.join(high)}", "bold red"))
    if moderate:
        verdict.append(style(f"moderate drift: {', '.join(moderate)}", "yellow"))
    lines += ["", "; ".join(verdict) if verdict else style("no feature over the thresholds", "green")]
    return lines


def _render(report: StatsReport, style: Style, escape: Callable[[str], str], char: str) -> str:
    when = f"[{iso(report.start) or 'earliest'}, {iso(report.end) or 'latest'})"
    time_name = "prediction time" if report.kind == "model" else "event time"
    lines = [
        style(f"{report.subject}: {report.rows:,} rows with {time_name} in {when}", "bold"),
        escape(f"  read from {report.location}"),
        "",
    ]
    lines += _table(
        ["feature", "dtype", "rows", "nulls", "null %", "distinct", "min", "max", "mean", "std"],
        _summary_rows(report),
        [False, False, True, True, True, True, True, True, True, True],
        style,
    )
    numeric = [f for f in report.features if f.quantiles]
    if numeric:
        qs = [q for q, _ in numeric[0].quantiles]
        rows = [[f.name] + [_num(v) for _, v in f.quantiles] for f in numeric]
        headers = ["quantiles", *(quantile_label(q) for q in qs)]
        lines += ["", *_table(headers, rows, [False] + [True] * len(qs), style)]
    drift = _drift_lines(report, style)
    if drift:
        lines += ["", *drift]
    for f in report.features:
        chart = _chart(f, style, char)
        if chart:
            lines += ["", *chart]
    for note in report.notes:
        lines += ["", escape(f"note: {note}")]
    return "\n".join(lines)


def stats_text(report: StatsReport) -> str:
    return _render(report, lambda text, _style: text, lambda text: text, "#")


def stats_rich(report: StatsReport) -> str:
    """The same lines with rich markup: colours, and block bars."""
    from rich.markup import escape

    def style(text: str, name: str) -> str:
        return f"[{name}]{escape(text)}[/]" if name and text.strip() else escape(text)

    return _render(report, style, escape, "█") + "\n"

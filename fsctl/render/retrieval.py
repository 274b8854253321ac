"""Summaries of historical retrieval, as text and JSON."""

from __future__ import annotations

from fsctl.render.json_format import dumps
from fsctl.results.retrieval import HistoricalSummary


def historical_text(result: HistoricalSummary) -> str:
    rows = result.rows
    lines = [f"Wrote {rows:,} row{'s' if rows != 1 else ''} to {result.output} in {result.seconds:.2f}s."]
    width = max((len(v) for v in result.matched), default=0)
    for view, fraction in result.matched.items():
        lines.append(f"  {view:<{width}}  {fraction:7.1%} of rows matched a value within the TTL")
    return "\n".join(lines)


def historical_json(result: HistoricalSummary) -> str:
    return dumps(result.to_dict())

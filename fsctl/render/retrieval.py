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
    made_for = result.made_for
    if made_for is not None:
        alias = f" ({made_for['alias']})" if made_for.get("alias") else ""
        what = (
            f"model {made_for['model']} v{made_for['version']}{alias}, registry version "
            f"{made_for['registry_version']}, fingerprint {str(made_for.get('fingerprint'))[:12]}"
        )
        if result.metadata_written:
            lines.append(f"Recorded in the file's parquet metadata (key fsctl): {what}.")
        else:
            lines.append(f"Not recorded in the file (CSV has no metadata; write .parquet to keep it): {what}.")
    return "\n".join(lines)


def historical_json(result: HistoricalSummary) -> str:
    return dumps(result.to_dict())

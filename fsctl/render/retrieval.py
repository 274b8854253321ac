"""Summaries of historical retrieval, as text and JSON."""

from __future__ import annotations

from typing import Any

from fsctl.render.json_format import dumps


def historical_dict(output: str, rows: int, matched: dict[str, float], seconds: float) -> dict[str, Any]:
    return {
        "output": output,
        "rows": rows,
        "matched": {view: round(fraction, 6) for view, fraction in matched.items()},
        "seconds": round(seconds, 3),
    }


def historical_text(output: str, rows: int, matched: dict[str, float], seconds: float) -> str:
    lines = [f"Wrote {rows:,} row{'s' if rows != 1 else ''} to {output} in {seconds:.2f}s."]
    width = max((len(v) for v in matched), default=0)
    for view, fraction in matched.items():
        lines.append(f"  {view:<{width}}  {fraction:7.1%} of rows matched a value within the TTL")
    return "\n".join(lines)


def historical_json(output: str, rows: int, matched: dict[str, float], seconds: float) -> str:
    return dumps(historical_dict(output, rows, matched, seconds))

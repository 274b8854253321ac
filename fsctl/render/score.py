"""The summary of ``fsctl score``, as text and JSON."""

from __future__ import annotations

from fsctl.render.json_format import dumps
from fsctl.results.score import ScoreSummary

FEATURES = {
    "point_in_time": "point-in-time features (the entity rows' event_timestamp)",
    "latest_offline": "the latest offline features (as of now)",
    "online": "the online store's features",
}


def score_text(result: ScoreSummary) -> str:
    m = result.made_by
    alias = f" ({m['alias']})" if m.get("alias") else ""
    rows = result.rows
    lines = [
        f"Scored {rows:,} row{'s' if rows != 1 else ''} with model {m['model']} v{m['version']}{alias} "
        f"into {result.output} in {result.seconds:.2f}s "
        f"(features {result.lookup_seconds:.2f}s, model {result.model_seconds:.2f}s).",
        f"  features:   {FEATURES.get(m['features'], m['features'])} of service {m['feature_service']}",
        f"  outputs:    {', '.join(m['outputs'])}",
        f"  registry:   version {m['registry_version']}; artifact {m['uri']}",
    ]
    if result.metadata_written:
        lines.append("Recorded in the file's parquet metadata (key fsctl).")
    else:
        lines.append(
            "Recorded in the columns model_version, model_alias and registry_version (CSV has no metadata)."
        )
    return "\n".join(lines)


def score_json(result: ScoreSummary) -> str:
    return dumps(result.to_dict())

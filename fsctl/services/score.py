"""Use case: batch scoring, ``fsctl score`` and ``FeatureStore.score_batch``.

For a model version (``NAME@ALIAS`` or ``NAME/VERSION``), the entity rows get the features
of the version's bound feature service, the model predicts, and the result is the entity
rows in input order with all their columns, then the prediction column(s)
(:mod:`fsctl.scoring.base` says how they are named). The features come:

* point in time, when the entity rows have an ``event_timestamp`` column: each row gets the
  values it would have had then (the same join as ``fsctl historical``, so a backfill scores
  exactly what a training set of those rows holds);
* otherwise the latest values, as of now: offline, the point-in-time join at the current
  time (so each view's TTL applies as it does online); or, with ``online``, read from the
  online store as the prediction endpoint reads them.

A version behind a protected alias whose promotion gates fail now (the gates ``fsctl
describe models`` shows) is refused unless ``allow_failing_gates``: a model that would not
be let into production should not score as if it had been.

The result records what made it (:meth:`ScoreResult.metadata`): in a parquet file's
key-value metadata (key ``fsctl``), and as columns ``model_version``, ``model_alias`` and
``registry_version`` in a CSV file, which has no metadata.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import TYPE_CHECKING, Any

from fsctl.errors import PlanBlockedError, UsageError
from fsctl.offline import OfflineEngine
from fsctl.offline.base import Progress
from fsctl.offline.entity_input import EntityInput, entity_input
from fsctl.registry import RegistryReader
from fsctl.scoring import LoadedModel, feature_frame, predict_failed, prediction_columns
from fsctl.services.catalog import Catalog
from fsctl.services.model_target import Target, target_of_ref
from fsctl.services.project import Project

if TYPE_CHECKING:
    from fsctl.services.online import OnlineReader

METADATA_KEY = "fsctl"
TIME_COLUMN = "event_timestamp"
CSV_COLUMNS = ("model_version", "model_alias", "registry_version")


@dataclass
class ScoreResult:
    """The entity rows and their predictions (``table``, a pyarrow Table), and what made them."""

    table: Any
    target: Target
    outputs: tuple[str, ...]  # the prediction columns, in order
    features: str  # "point_in_time", "latest_offline" or "online"
    lookup_seconds: float = 0.0
    model_seconds: float = 0.0
    scored_at: datetime = field(default_factory=lambda: datetime.now(timezone.utc))

    def __len__(self) -> int:
        return int(self.table.num_rows)

    def metadata(self) -> dict[str, Any]:
        """What the output records about what made it (format 1; keys may be added)."""
        t = self.target
        return {
            "format": 1,
            "model": t.model,
            "version": t.version,
            "alias": t.alias,
            "uri": t.uri,
            "feature_service": t.service,
            "registry_version": t.registry_version,
            "features": self.features,
            "outputs": list(self.outputs),
            "scored_at": self.scored_at.isoformat(timespec="seconds").replace("+00:00", "Z"),
        }

    def to_arrow(self) -> Any:
        return self.table

    def to_pandas(self) -> Any:
        return self.table.to_pandas()

    def write(self, path: str | Path) -> Path:
        """Parquet (metadata in the footer) or CSV (metadata as columns), by extension;
        written to a temporary file and renamed, so a failed write leaves no half a file."""
        import pyarrow as pa

        path = Path(path)
        suffix = path.suffix.lower()
        tmp = path.with_name(f".{path.name}.tmp")
        table = self.table
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            if suffix == ".parquet":
                import pyarrow.parquet as pq

                meta = dict(table.schema.metadata or {})
                meta[METADATA_KEY.encode()] = json.dumps(self.metadata(), sort_keys=True).encode()
                pq.write_table(table.replace_schema_metadata(meta), tmp)
            elif suffix == ".csv":
                import pyarrow.csv as pcsv

                t, n = self.target, len(self)
                for name in CSV_COLUMNS:
                    _refuse_clash(table, name, "a column fsctl adds to CSV output (write .parquet instead)")
                for name, value in zip(CSV_COLUMNS, (t.version, t.alias, t.registry_version), strict=True):
                    table = table.append_column(
                        name, pa.array([value] * n, pa.int64() if name != "model_alias" else pa.string())
                    )
                pcsv.write_csv(table, tmp)
            else:
                raise UsageError(
                    f"output file {path}: unknown extension '{path.suffix}'", hint="use .parquet or .csv"
                )
            tmp.replace(path)
        except (OSError, pa.ArrowException) as exc:
            raise UsageError(
                f"cannot write output file {path}: {str(exc).splitlines()[0] if str(exc) else type(exc).__name__}",
                hint="write to a file path in a folder you can write to",
            ) from None
        finally:
            if tmp.exists():
                tmp.unlink()
        return path


def check_gates(project: Project, catalog: Catalog, target: Target) -> None:
    """Refuse a version behind a protected alias whose promotion gates fail now."""
    from fsctl.diff.plan import FAIL
    from fsctl.services.browse import gates_now

    gates = [
        g
        for g in gates_now(project, target.model, catalog.objects, None)
        if g.version == target.version and g.status == FAIL
    ]
    if gates:
        failed = "; ".join(f"{g.name} for {g.alias}: {g.detail}" for g in gates)
        raise PlanBlockedError(
            f"model {target.label} fails its promotion gates now: {failed}",
            hint="fix what the gates name and apply (see `fsctl describe models "
            f"{target.model}`), or score anyway with --allow-failing-gates",
        )


def score_batch(
    project: Project,
    registry: RegistryReader,
    engine: OfflineEngine,
    load: Callable[[str], LoadedModel],
    entities: Any,
    model: str,
    *,
    online: OnlineReader | None = None,
    allow_failing_gates: bool = False,
    progress: Progress | None = None,
    output: Path | None = None,
) -> ScoreResult:
    """Score ``entities`` (a path or a frame) with ``model`` (see the module docstring);
    ``online`` reads the features from that reader's online store instead of the offline
    engine. ``output``, when the caller will write there, must not be the entity file."""
    import pyarrow as pa

    catalog = Catalog(project, registry)
    target = target_of_ref(catalog, model)
    if not allow_failing_gates:
        check_gates(project, catalog, target)
    source = entity_input(entities)
    if output is not None and source.path is not None and source.path.resolve() == Path(output).resolve():
        raise UsageError(
            f"--output {output} is the entity file: writing the scores there would replace its rows",
            hint="write the scores to another file",
        )
    say = progress or (lambda _text: None)
    say(f"loading model {target.label} from {target.uri}")
    loaded = load(target.uri)
    started = time.perf_counter()
    table, names, how = _features(catalog, engine, source, target, online, progress)
    lookup = time.perf_counter() - started
    rows = table.num_rows
    say(f"scoring {rows:,} rows with {target.label}")
    started = time.perf_counter()
    try:
        raw = loaded.predict(feature_frame(table, names))
    except Exception as exc:  # the model's own code: any failure is the model's
        raise predict_failed(target.label, target.uri, exc) from exc
    columns = prediction_columns(raw, rows, target.output, target.uri, arrays=True)
    spent = time.perf_counter() - started
    kept = [c for c in table.column_names if c not in names]
    out = table.select(kept)
    for name, values in columns.items():
        _refuse_clash(out, name, "a prediction column")
        out = out.append_column(name, pa.array(values))
    return ScoreResult(out, target, tuple(columns), how, lookup, spent)


def _refuse_clash(table: Any, name: str, what: str) -> None:
    if name in table.column_names:
        raise UsageError(
            f"the entity rows have a column '{name}', which is also {what}",
            hint="rename that column in the entity file",
        )


def _features(
    catalog: Catalog,
    engine: OfflineEngine,
    source: EntityInput,
    target: Target,
    online: OnlineReader | None,
    progress: Progress | None,
) -> tuple[Any, list[str], str]:
    """The entity rows with the target's features (arrow), the feature column names, and
    how the features were read."""
    import pyarrow as pa

    from fsctl.services.retrieve import point_in_time_request

    if online is not None:
        entity = source.to_arrow()
        response = online.get(target.request, _key_columns(source, entity, online, target))
        table = entity
        for name, values in zip(response.names, response.values, strict=True):
            _refuse_clash(table, name, "a feature of the model")
            table = table.append_column(name, pa.array(values))
        return table, list(response.names), "online"
    how = "point_in_time"
    entities: Any = source
    names = _arrow_names(source)
    if TIME_COLUMN not in names:
        how = "latest_offline"
        entity = source.to_arrow()
        now = pa.array([datetime.now(timezone.utc)] * entity.num_rows, pa.timestamp("us", tz="UTC"))
        entities = entity.append_column(TIME_COLUMN, now)
    pit = point_in_time_request(catalog, entities, target.request)
    with engine.historical(pit, progress) as result:
        table = result.to_arrow()
    if how == "latest_offline":
        table = table.drop_columns([TIME_COLUMN])
    return table, [ref.output for ref in pit.features], how


def _arrow_names(source: EntityInput) -> list[str]:
    """The entity rows' column names, from a file's footer or header line where it has one
    (the engine reads the rows; they are not read twice)."""
    if source.path is not None and source.format == "parquet":
        import pyarrow.parquet as pq

        return list(pq.read_schema(source.path).names)
    if source.path is not None and source.format == "csv":
        import csv

        with open(source.path, newline="", encoding="utf-8-sig") as file:
            return next(csv.reader(file), [])
    return list(source.to_arrow().column_names)


def _key_columns(
    source: EntityInput, entity: Any, online: OnlineReader, target: Target
) -> dict[str, list[Any]]:
    keys = online.plan(target.request).join_keys
    absent = [k for k in keys if k not in entity.column_names]
    if absent:
        raise UsageError(
            f"{source.label} has no column {', '.join(repr(k) for k in absent)} "
            f"(columns: {', '.join(entity.column_names)})",
            hint=f"model {target.label} reads features keyed by {', '.join(keys)}",
        )
    return {k: entity.column(k).to_pylist() for k in keys}

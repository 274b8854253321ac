"""Generate a large, realistic feature repo for benchmarking fsctl.

The repo is deterministic for given arguments (a seeded RNG), so every run of the
benchmark loads exactly the same definitions:

* ``fsctl.yaml`` (registry ``data/registry.json``, duckdb offline, sqlite online);
* ``entities.yaml``: six entities, one with a two-column join key;
* ``sources.yaml``: ``--sources`` FileSources, each pointing at a small real parquet
  file (``data/sources/*.parquet``, written with pyarrow) that has the join keys,
  ``event_timestamp``, ``created`` and every feature column of the views reading it,
  with arrow types matching the declared dtypes, so the loader's source-column
  checks run exactly as they would for a user;
* ``features/<source>/views_NN.yaml``: 90% of the FeatureViews, 25 documents per file;
* ``py/*_features.py``: the other 10%, written as a user would (module-level objects);
* ``services.yaml``: the FeatureServices, whole views and feature subsets;
* ``models.yaml``: two Model bindings with versions and aliases (and the owner and version
  descriptions the promotion gates require by default);
* ``.fsctlignore`` and an ignored ``scratch/`` folder.

:func:`generate` with ``revision=1`` writes the same repo with ``changes`` views
changed (a description, a longer TTL, or an added feature whose column the data
already has), so ``fsctl plan`` shows exactly that many non-breaking updates.

Run alone: ``python benchmarks/gen_repo.py OUT_DIR [--views 1000 --services 100]``.
"""

from __future__ import annotations

import argparse
import random
import shutil
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

# (name, join keys); the last one has a compound key.
ENTITIES = [
    ("driver", ["driver_id"]),
    ("customer", ["customer_id"]),
    ("merchant", ["merchant_id"]),
    ("store", ["store_id"]),
    ("product", ["product_id"]),
    ("route", ["origin_zone", "destination_zone"]),
]
TOPICS = ["trips", "payments", "ratings", "sessions", "orders", "support", "promos", "geo", "fraud", "supply"]
METRICS = ["count", "sum", "avg", "max", "min", "rate", "ratio", "p50", "p95", "share", "flag", "last"]
WINDOWS = ["1h", "6h", "1d", "7d", "30d", "90d"]
DTYPES = [
    "float64",
    "float64",
    "float64",
    "int64",
    "int64",
    "float32",
    "int32",
    "bool",
    "string",
    "list<float32>",
]
TTLS = ["1d", "2d", "7d", "30d", "90d"]
TTL_DAYS = {"1d": 1, "2d": 2, "7d": 7, "30d": 30, "90d": 90}
PY_DTYPE = {
    "int32": "Int32",
    "int64": "Int64",
    "float32": "Float32",
    "float64": "Float64",
    "string": "String",
    "bool": "Bool",
    "list<float32>": "Array(Float32)",
}
VIEWS_PER_YAML_FILE = 25
PYTHON_SHARE = 0.10
PYTHON_FILES = 2
ROWS_PER_SOURCE = 24


@dataclass
class Feature:
    name: str
    dtype: str
    description: str = ""


@dataclass
class View:
    index: int
    name: str
    entities: list[str]
    source: str
    ttl: str
    features: list[Feature]
    online: bool = True
    freshness: str | None = None
    checks: dict[str, dict[str, float]] = field(default_factory=dict)
    description: str = ""
    owner: str = ""
    tags: dict[str, str] = field(default_factory=dict)
    extra: Feature | None = None  # a column the data has, added to the schema by revision 1


@dataclass
class Layout:
    views: list[View]
    sources: list[dict[str, Any]]
    services: list[dict[str, Any]]
    models: list[dict[str, Any]]
    changed: list[str]


def _entity_keys() -> dict[str, list[str]]:
    return dict(ENTITIES)


def changed_indices(views: int, changes: int) -> list[int]:
    """The views revision 1 changes: evenly spread, so YAML and Python files are both hit."""
    changes = min(changes, views)
    # "+ k" moves each pick to another source (views are dealt to sources round-robin).
    return sorted({min(views - 1, int((k + 0.5) * views / changes) + k) for k in range(changes)})


def layout(views: int, services: int, sources: int, changes: int, revision: int, seed: int) -> Layout:
    rng = random.Random(seed)
    entity_names = [e for e, _ in ENTITIES]
    source_defs = []
    for s in range(sources):
        primary = entity_names[s % 5]
        secondary = entity_names[(s + 1) % 5] if s % 5 != 4 else "route"
        source_defs.append(
            {"name": f"{primary}_export_{s:02d}", "entities": [primary, secondary], "index": s}
        )
    to_change = set(changed_indices(views, changes)) if revision else set()
    changed: list[str] = []
    view_list: list[View] = []
    for i in range(views):
        src = source_defs[i % sources]
        primary, secondary = src["entities"]  # type: ignore[misc]
        ents = [primary] if rng.random() < 0.8 else [primary, secondary]
        topic = TOPICS[(i // sources) % len(TOPICS)]
        name = f"{primary}_{topic}_{i:04d}"
        n_features = rng.randint(5, 10)
        feats: list[Feature] = []
        used: set[str] = set()
        while len(feats) < n_features:
            metric, window = rng.choice(METRICS), rng.choice(WINDOWS)
            fname = f"{topic}_{metric}_{window}_{i:04d}"
            if fname in used:
                continue
            used.add(fname)
            feats.append(
                Feature(
                    fname,
                    rng.choice(DTYPES),
                    f"{metric} of {topic} over {window}" if rng.random() < 0.3 else "",
                )
            )
        numeric = [f.name for f in feats if f.dtype in ("float64", "float32")]
        checks: dict[str, dict[str, float]] = {}
        if numeric and rng.random() < 0.3:
            checks[numeric[0]] = {"min": 0, "max_null_fraction": 0.05}
        ttl = rng.choice(TTLS)
        view = View(
            index=i,
            name=name,
            entities=ents,
            source=str(src["name"]),
            ttl=ttl,
            features=feats,
            online=rng.random() < 0.85,
            freshness=rng.choice([None, None, "2h", "1d"]),
            checks=checks,
            description=f"{topic.capitalize()} features of each {' and '.join(ents)} (view {i})",
            owner=f"{topic}-team@example.com",
            tags={"team": topic, "tier": rng.choice(["gold", "silver", "bronze"])},
            extra=Feature(f"{topic}_extra_{i:04d}", "float64"),
        )
        if i in to_change:
            changed.append(name)
            kind = len(changed) % 3
            if kind == 0:
                view.description += " (revised)"
            elif kind == 1:
                view.ttl = f"{TTL_DAYS[view.ttl] + 1}d"  # longer TTL: non-breaking
            else:
                view.features = [*view.features, view.extra]  # type: ignore[list-item]
        view_list.append(view)

    service_defs = []
    for j in range(services):
        picked = rng.sample(view_list, k=min(len(view_list), rng.randint(3, 12)))
        selections: list[object] = []
        for v in sorted(picked, key=lambda v: v.index):
            if rng.random() < 0.35 and len(v.features) > 2:
                subset = rng.sample([f.name for f in v.features[:5]], k=2)
                selections.append({"view": v.name, "features": subset})
            else:
                selections.append(v.name)
        service_defs.append(
            {
                "name": f"{TOPICS[j % len(TOPICS)]}_model_features_{j:03d}",
                "features": selections,
                "description": f"Features of model {j}",
                "owner": f"{TOPICS[j % len(TOPICS)]}-ml@example.com",
            }
        )

    model_defs = []
    for m, mname in enumerate(["churn_classifier", "eta_regressor"][: max(0, min(2, services))]):
        bound = [service_defs[(m * 7 + k) % len(service_defs)]["name"] for k in range(3)]
        model_defs.append(
            {
                "name": mname,
                # the metadata the promotion gate requires by default (models.required_metadata)
                "owner": f"{mname.split('_')[0]}-ml@example.com",
                "versions": [
                    {
                        "version": k + 1,
                        "uri": f"s3://models/{mname}/{k + 1}",
                        "feature_service": svc,
                        "description": f"{mname} trained on {svc}",
                    }
                    for k, svc in enumerate(bound)
                ],
                "aliases": {"Production": 2, "Challenger": 3},
            }
        )
    return Layout(view_list, source_defs, service_defs, model_defs, changed)


# --------------------------------------------------------------------------- writers


def _q(value: str) -> str:
    """A YAML scalar, quoted only when needed."""
    if value == "" or any(c in value for c in ":#{}[],&*!|>'\"%@`") or value.strip() != value:
        return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'
    return value


def _yaml_view(v: View) -> str:
    lines = [
        "kind: FeatureView",
        f"name: {v.name}",
        f"entities: [{', '.join(v.entities)}]",
        f"source: {v.source}",
        f"ttl: {v.ttl}",
    ]
    if not v.online:
        lines.append("online: false")
    if v.freshness:
        lines.append(f"freshness: {v.freshness}")
    if v.checks:
        lines.append("checks:")
        for fname, check in v.checks.items():
            body = ", ".join(f"{k}: {val}" for k, val in check.items())
            lines.append(f"  {fname}: {{{body}}}")
    lines.append("schema:")
    for f in v.features:
        desc = f", description: {_q(f.description)}" if f.description else ""
        lines.append(f"  - {{name: {f.name}, dtype: {_q(f.dtype)}{desc}}}")
    lines.append(f"description: {_q(v.description)}")
    lines.append(f"owner: {v.owner}")
    lines.append("tags: {" + ", ".join(f"{k}: {val}" for k, val in v.tags.items()) + "}")
    return "\n".join(lines) + "\n"


def _py_view(v: View) -> str:
    fields = []
    for f in v.features:
        desc = f", description={f.description!r}" if f.description else ""
        fields.append(f"        Field(name={f.name!r}, dtype={PY_DTYPE[f.dtype]}{desc}),")
    args = [
        f"    name={v.name!r},",
        f"    entities={v.entities!r},",
        f"    source={v.source!r},",
        f"    ttl=timedelta(days={TTL_DAYS.get(v.ttl, int(v.ttl.rstrip('d')))}),",
    ]
    if not v.online:
        args.append("    online=False,")
    if v.freshness:
        args.append(f"    freshness={v.freshness!r},")
    if v.checks:
        args.append(f"    checks={v.checks!r},")
    args += [
        "    schema=[",
        *fields,
        "    ],",
        f"    description={v.description!r},",
        f"    owner={v.owner!r},",
        f"    tags={v.tags!r},",
    ]
    return f"{v.name} = FeatureView(\n" + "\n".join(args) + "\n)\n"


def _yaml_selection(sel: object) -> str:
    if isinstance(sel, str):
        return f"  - {sel}"
    assert isinstance(sel, dict)
    return f"  - {{view: {sel['view']}, features: [{', '.join(sel['features'])}]}}"


def _arrow_type(dtype: str):  # type: ignore[no-untyped-def]
    import pyarrow as pa

    return {
        "int32": pa.int32(),
        "int64": pa.int64(),
        "float32": pa.float32(),
        "float64": pa.float64(),
        "string": pa.string(),
        "bool": pa.bool_(),
        "list<float32>": pa.list_(pa.float32()),
    }[dtype]


def _column(dtype: str, rows: int, rng: random.Random):  # type: ignore[no-untyped-def]
    if dtype in ("int32", "int64"):
        return [rng.randint(0, 500) for _ in range(rows)]
    if dtype in ("float32", "float64"):
        return [round(rng.random(), 4) if rng.random() > 0.02 else None for _ in range(rows)]
    if dtype == "bool":
        return [rng.random() < 0.5 for _ in range(rows)]
    if dtype == "string":
        return [rng.choice(["a", "b", "c"]) for _ in range(rows)]
    return [[round(rng.random(), 3) for _ in range(3)] for _ in range(rows)]


def write_source_data(root: Path, lay: Layout, seed: int) -> None:
    """One small parquet file per source with every column its views need (and their extras)."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    rng = random.Random(seed + 1)
    keys = _entity_keys()
    folder = root / "data" / "sources"
    folder.mkdir(parents=True, exist_ok=True)
    start = datetime(2024, 1, 1, tzinfo=timezone.utc)
    for src in lay.sources:
        rows = ROWS_PER_SOURCE
        arrays: dict[str, object] = {}
        types: dict[str, object] = {}
        for entity in src["entities"]:
            for key in keys[entity]:
                arrays[key] = [1000 + (r % 8) for r in range(rows)]
                types[key] = pa.int64()
        arrays["event_timestamp"] = [start + timedelta(hours=r) for r in range(rows)]
        types["event_timestamp"] = pa.timestamp("us", tz="UTC")
        arrays["created"] = [start + timedelta(hours=r, minutes=5) for r in range(rows)]
        types["created"] = pa.timestamp("us", tz="UTC")
        for v in lay.views:
            if v.source != src["name"]:
                continue
            for f in [*v.features, *([v.extra] if v.extra else [])]:
                if f.name not in arrays:
                    arrays[f.name] = _column(f.dtype, rows, rng)
                    types[f.name] = _arrow_type(f.dtype)
        table = pa.table({n: pa.array(arrays[n], type=types[n]) for n in arrays})
        pq.write_table(table, folder / f"{src['name']}.parquet")


def write_definitions(root: Path, lay: Layout) -> None:
    (root / "fsctl.yaml").write_text(
        "# Generated by benchmarks/gen_repo.py\n"
        "project: bench\n"
        "registry: data/registry.json\n"
        "offline_store:\n  type: duckdb\n"
        "online_store:\n  type: sqlite\n  path: data/online.db\n"
    )
    (root / ".fsctlignore").write_text("scratch/\n*.draft.yaml\n")
    (root / "scratch").mkdir(exist_ok=True)
    (root / "scratch" / "notes.yaml").write_text("this: is not a definition\n")
    (root / "wip.draft.yaml").write_text("kind: Unknown\n")

    docs = []
    for name, jk in ENTITIES:
        docs.append(
            f"kind: Entity\nname: {name}\njoin_keys: [{', '.join(jk)}]\n"
            f"description: A {name}\nowner: platform@example.com\n"
        )
    (root / "entities.yaml").write_text("---\n".join(docs))

    docs = []
    for src in lay.sources:
        docs.append(
            f"kind: FileSource\nname: {src['name']}\npath: data/sources/{src['name']}.parquet\n"
            "format: parquet\ntimestamp_field: event_timestamp\ncreated_timestamp_field: created\n"
            f"description: Daily export {src['index']}\n"
        )
    (root / "sources.yaml").write_text("---\n".join(docs))

    n_python = int(len(lay.views) * PYTHON_SHARE) if len(lay.views) >= 20 else 0
    yaml_views = lay.views[: len(lay.views) - n_python]
    python_views = lay.views[len(lay.views) - n_python :]

    by_source: dict[str, list[View]] = {}
    for v in yaml_views:
        by_source.setdefault(v.source, []).append(v)
    for source, views in by_source.items():
        folder = root / "features" / source
        folder.mkdir(parents=True, exist_ok=True)
        for k in range(0, len(views), VIEWS_PER_YAML_FILE):
            chunk = views[k : k + VIEWS_PER_YAML_FILE]
            (folder / f"views_{k // VIEWS_PER_YAML_FILE:02d}.yaml").write_text(
                f"# {len(chunk)} views on {source}\n" + "---\n".join(_yaml_view(v) for v in chunk)
            )

    if python_views:
        (root / "py").mkdir(exist_ok=True)
        per_file = -(-len(python_views) // PYTHON_FILES)
        for k in range(PYTHON_FILES):
            chunk = python_views[k * per_file : (k + 1) * per_file]
            if not chunk:
                continue
            header = (
                f'"""{len(chunk)} feature views defined in Python (generated)."""\n\n'
                "from datetime import timedelta\n\n"
                "from fsctl import FeatureView, Field\n"
                "from fsctl.types import Array, Bool, Float32, Float64, Int32, Int64, String  # noqa: F401\n\n"
            )
            (root / "py" / f"batch_{k}_features.py").write_text(
                header + "\n".join(_py_view(v) for v in chunk)
            )

    docs = []
    for svc in lay.services:
        sels = "\n".join(_yaml_selection(s) for s in svc["features"])
        docs.append(
            f"kind: FeatureService\nname: {svc['name']}\ndescription: {svc['description']}\n"
            f"owner: {svc['owner']}\nfeatures:\n{sels}\n"
        )
    (root / "services.yaml").write_text("---\n".join(docs))

    docs = []
    for model in lay.models:
        versions = "\n".join(
            f"  - version: {v['version']}\n    uri: {v['uri']}\n    feature_service: {v['feature_service']}\n"
            f"    description: {v['description']}"
            for v in model["versions"]
        )
        aliases = ", ".join(f"{k}: {v}" for k, v in model["aliases"].items())
        docs.append(
            f"kind: Model\nname: {model['name']}\nowner: {model['owner']}\nversions:\n{versions}\naliases: {{{aliases}}}\n"
        )
    if docs:
        (root / "models.yaml").write_text("---\n".join(docs))


def generate(
    root: Path,
    views: int = 1000,
    services: int = 100,
    sources: int = 10,
    changes: int = 10,
    revision: int = 0,
    seed: int = 7,
    data: bool = True,
) -> Layout:
    """Write the repo into ``root`` (definitions are replaced; data only when ``data``)."""
    lay = layout(views, services, sources, changes, revision, seed)
    root.mkdir(parents=True, exist_ok=True)
    for sub in ("features", "py"):
        shutil.rmtree(root / sub, ignore_errors=True)
    write_definitions(root, lay)
    if data:
        write_source_data(root, lay, seed)
    return lay


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("out", type=Path)
    parser.add_argument("--views", type=int, default=1000)
    parser.add_argument("--services", type=int, default=100)
    parser.add_argument("--sources", type=int, default=10)
    parser.add_argument("--changes", type=int, default=10)
    parser.add_argument("--revision", type=int, default=0, choices=[0, 1])
    parser.add_argument("--seed", type=int, default=7)
    args = parser.parse_args()
    lay = generate(args.out, args.views, args.services, args.sources, args.changes, args.revision, args.seed)
    files = sum(1 for p in args.out.rglob("*") if p.suffix in (".py", ".yaml", ".yml"))
    print(
        f"Wrote {args.out}: {len(lay.views)} views, {len(lay.services)} services, "
        f"{len(lay.sources)} sources, {len(lay.models)} models in {files} definition files"
        + (f"; changed: {', '.join(lay.changed)}" if lay.changed else "")
    )


if __name__ == "__main__":
    main()

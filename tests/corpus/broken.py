"""A corpus of broken feature repos: each must make ``fsctl validate`` exit 1.

Every case is a project declared as a dict of files (path relative to the repo
root -> text or bytes) plus the substrings its error output must contain: at
least the file at fault (as a path relative to the repo) and the object at
fault (its name; for fsctl.yaml, the field), and usually a key word of the
problem. Most cases are a valid baseline repo (:func:`baseline`) with one file
replaced or added (:func:`variant`), so each case shows only what is broken.

Used by ``tests/cli/test_broken_repos.py``; loaded there by file path, so this
folder needs no ``__init__.py``.
"""

from __future__ import annotations

import io
import os
import re
import textwrap
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone

__all__ = [
    "CASES",
    "MULTI_PROBLEMS",
    "MULTI_PROBLEM_REPO",
    "Case",
    "baseline",
    "line_of",
    "missing",
    "variant",
]


@dataclass(frozen=True)
class Case:
    id: str
    files: dict[str, str | bytes]
    # Substrings the output must contain, each as a whole token (not inside a longer
    # identifier), case-insensitively; a tuple means "any one of these".
    expect: list[str | tuple[str, ...]]
    why: str = ""


# --------------------------------------------------------------------------- data


def _parquet(columns: dict[str, list]) -> bytes:
    import pyarrow as pa
    import pyarrow.parquet as pq

    buf = io.BytesIO()
    pq.write_table(pa.table(columns), buf)
    return buf.getvalue()


_T0 = datetime(2024, 1, 1, tzinfo=timezone.utc)
_TIMES = [_T0 + timedelta(hours=h) for h in range(3)]

DRIVER_STATS = _parquet(
    {
        "driver_id": [1001, 1002, 1003],
        "event_timestamp": _TIMES,
        "created": _TIMES,
        "conv_rate": [0.1, 0.5, 0.9],
        "avg_daily_trips": [10, 20, 30],
    }
)

# The same data but with the join key named differently and no event_timestamp column.
RENAMED_STATS = _parquet(
    {
        "driver": [1001, 1002, 1003],
        "ts": _TIMES,
        "conv_rate": [0.1, 0.5, 0.9],
        "avg_daily_trips": [10, 20, 30],
    }
)

DRIVER_STATS_CSV = (
    "driver_id,event_timestamp,conv_rate\n1001,2024-01-01T00:00:00Z,0.1\n1002,2024-01-01T01:00:00Z,0.5\n"
)


# --------------------------------------------------------------------------- helpers


def y(text: str) -> str:
    """Dedent a YAML (or Python) literal and drop the leading newline."""
    return textwrap.dedent(text).lstrip("\n")


def line_of(text: str, needle: str) -> int:
    """The 1-based line of the first occurrence of ``needle`` in ``text``."""
    index = text.index(needle)
    return text.count("\n", 0, index) + 1


CONFIG = "project: demo\n"

ENTITIES = y(
    """
    kind: Entity
    name: driver
    join_keys: [driver_id]
    description: A driver
    """
)

SOURCES = y(
    """
    kind: FileSource
    name: driver_stats_source
    path: data/driver_stats.parquet
    format: parquet
    timestamp_field: event_timestamp
    created_timestamp_field: created
    """
)

VIEWS = y(
    """
    kind: FeatureView
    name: driver_hourly_stats
    entities: [driver]
    source: driver_stats_source
    ttl: 2d
    online: true
    freshness: 2h
    checks:
      conv_rate: {min: 0, max: 1, max_null_fraction: 0.05}
    schema:
      - {name: conv_rate, dtype: float64}
      - {name: avg_daily_trips, dtype: int64}
    """
)

SERVICES = y(
    """
    kind: FeatureService
    name: driver_activity_v1
    features:
      - driver_hourly_stats
    ---
    kind: FeatureService
    name: driver_activity_v2
    features:
      - {view: driver_hourly_stats, features: [conv_rate]}
    """
)

MODELS = y(
    """
    kind: Model
    name: churn_classifier
    versions:
      - version: 1
        uri: s3://models/churn/1
        feature_service: driver_activity_v1
      - version: 2
        uri: file://models/churn-2.pkl
        feature_service: driver_activity_v2
    aliases: {Production: 1, Challenger: 2}
    """
)

# A Python definition file that is valid on its own (its objects have names of their own).
PY_DEFS = y(
    """
    from datetime import timedelta

    from fsctl import Entity, FeatureService, FeatureView, Field, FileSource
    from fsctl.types import Float64, Int64

    customer = Entity(name="customer", join_keys=["driver_id"])

    customer_source = FileSource(
        name="customer_source",
        path="data/driver_stats.parquet",
        timestamp_field="event_timestamp",
    )

    customer_stats = FeatureView(
        name="customer_stats",
        entities=[customer],
        source=customer_source,
        ttl=timedelta(days=1),
        schema=[Field(name="conv_rate", dtype=Float64), Field(name="avg_daily_trips", dtype=Int64)],
    )

    customer_service = FeatureService(name="customer_service", features=[customer_stats])
    """
)


def baseline() -> dict[str, str | bytes]:
    """A valid repo: `fsctl validate` passes on it (checked by the test module)."""
    return {
        "fsctl.yaml": CONFIG,
        "data/driver_stats.parquet": DRIVER_STATS,
        "entities.yaml": ENTITIES,
        "sources.yaml": SOURCES,
        "views.yaml": VIEWS,
        "services.yaml": SERVICES,
        "models.yaml": MODELS,
        "customer.py": PY_DEFS,
    }


def variant(**files: str | bytes | None) -> dict[str, str | bytes]:
    """The baseline with some files replaced, added or (value None) removed.

    Keyword names are file names with ``__`` for ``/`` and ``_DOT_`` for ``.``; use
    :func:`with_files` for arbitrary paths.
    """
    return with_files({k.replace("__", "/").replace("_DOT_", "."): v for k, v in files.items()})


def with_files(files: dict[str, str | bytes | None]) -> dict[str, str | bytes]:
    out = baseline()
    for path, content in files.items():
        if content is None:
            out.pop(path, None)
        else:
            out[path] = content
    return out


def view(body: str = "", *, name: str = "driver_hourly_stats", drop: tuple[str, ...] = ()) -> str:
    """A FeatureView document: the baseline view minus ``drop``-ped top-level keys, plus ``body``
    (appended as written, after the schema)."""
    lines = VIEWS.replace("name: driver_hourly_stats", f"name: {name}").splitlines()
    kept: list[str] = []
    skipping = False
    for line in lines:
        top = not line.startswith(" ")
        if top:
            skipping = line.split(":", 1)[0] in drop
        if not skipping:
            kept.append(line)
    return "\n".join(kept) + "\n" + body


def replace_in(text: str, old: str, new: str) -> str:
    assert old in text, (old, text)
    return text.replace(old, new, 1)


_FILE_RE = re.compile(r"\.(ya?ml|py|parquet|csv)(:\d+)?$")


def _token(text: str) -> re.Pattern[str]:
    """``text`` as a whole token; a file name must not be the tail of a longer path."""
    before = r"(?<![\w/.-])" if _FILE_RE.search(text) else r"(?<!\w)"
    return re.compile(before + re.escape(text) + r"(?!\w)", re.IGNORECASE)


def normalize(output: str, repo: str | None = None) -> str:
    """Blank out absolute paths inside the repo, so that an expected file name only
    matches a repo-relative path, and drop trailing spaces."""
    if repo:
        for root in sorted({repo.rstrip("/"), os.path.realpath(repo)}, key=len, reverse=True):
            output = re.sub(re.escape(root) + r"/[^\s'\"`,:)]*", "<abspath>", output)
    return "\n".join(line.rstrip() for line in output.splitlines())


def missing(
    output: str, expect: list[str | tuple[str, ...]], repo: str | None = None
) -> list[str | tuple[str, ...]]:
    """The expectations that no single line of ``output`` meets together (for the line that
    comes closest). All of them on one line: the file, the object and the problem must be
    named in the same message, not scattered over messages about other problems."""
    best: list[str | tuple[str, ...]] = list(expect)
    for line in normalize(output, repo).splitlines():
        unmet = [
            item
            for item in expect
            if not any(
                _token(option).search(line) for option in (item if isinstance(item, tuple) else (item,))
            )
        ]
        if len(unmet) < len(best):
            best = unmet
    return best


CASES: list[Case] = []


def case(id: str, files: dict[str, str | bytes], expect: list[str | tuple[str, ...]], why: str = "") -> None:
    CASES.append(Case(id=id, files=files, expect=expect, why=why))


# =========================================================================== YAML syntax

_BAD_INDENT = y(
    """
    kind: Entity
    name: driver
    join_keys:
      - driver_id
     description: A driver
    """
)
case(
    "yaml-bad-indentation",
    variant(entities_DOT_yaml=_BAD_INDENT),
    ["entities.yaml:5", "driver", "YAML"],
    "a key indented by one space too many",
)

_UNCLOSED = y(
    """
    kind: Entity
    name: driver
    join_keys: [driver_id]
    description: "A driver
    owner: ml-team
    """
)
case("yaml-unclosed-quote", variant(entities_DOT_yaml=_UNCLOSED), ["entities.yaml", "driver", "YAML"])

_TAB = "kind: Entity\nname: driver\njoin_keys:\n\t- driver_id\n"
case("yaml-tab-indentation", variant(entities_DOT_yaml=_TAB), ["entities.yaml:4", "driver", "YAML"])

_UNCLOSED_FLOW = y(
    """
    kind: FeatureView
    name: driver_hourly_stats
    entities: [driver
    source: driver_stats_source
    schema:
      - {name: conv_rate, dtype: float64}
    """
)
case(
    "yaml-unclosed-flow-sequence",
    variant(views_DOT_yaml=_UNCLOSED_FLOW),
    ["views.yaml", "driver_hourly_stats", "YAML"],
)

# =========================================================================== YAML documents

_LIST_DOC = y(
    """
    - kind: Entity
      name: driver
      join_keys: [driver_id]
    """
)
case("yaml-document-is-list", variant(entities_DOT_yaml=_LIST_DOC), ["entities.yaml:1", "mapping"])

case(
    "yaml-document-is-scalar",
    variant(notes_DOT_yaml="just some notes about the repo\n"),
    ["notes.yaml:1", "mapping"],
    "a stray YAML file that is not a definition",
)

case(
    "yaml-second-document-is-scalar",
    variant(entities_DOT_yaml=ENTITIES + "---\n42\n"),
    ["entities.yaml:6", "mapping"],
)

_NO_KIND = y(
    """
    name: driver
    join_keys: [driver_id]
    """
)
case("yaml-missing-kind", variant(entities_DOT_yaml=_NO_KIND), ["entities.yaml", "driver", "kind"])

case(
    "yaml-unknown-kind",
    variant(entities_DOT_yaml=replace_in(ENTITIES, "kind: Entity", "kind: Entiti")),
    ["entities.yaml:1", "driver", "Entiti", "kind"],
)

case(
    "yaml-duplicate-key",
    variant(views_DOT_yaml=view("ttl: 7d\n")),
    ["views.yaml:13", "driver_hourly_stats", "ttl", "twice"],
    "PyYAML keeps the last value silently; the loader must report it, naming the object",
)

_DUP_NESTED = replace_in(VIEWS, "conv_rate: {min: 0, max: 1", "conv_rate: {min: 0, max: 1, min: 0.5")
case(
    "yaml-duplicate-key-nested",
    variant(views_DOT_yaml=_DUP_NESTED),
    ["views.yaml:9", "driver_hourly_stats", "min", "twice"],
)

# =========================================================================== unknown fields

case(
    "entity-unknown-field",
    variant(entities_DOT_yaml=ENTITIES + "primary: true\n"),
    ["entities.yaml:5", "driver", "primary", "unknown field"],
)
case(
    "source-unknown-field",
    variant(sources_DOT_yaml=SOURCES + "compression: snappy\n"),
    ["sources.yaml:7", "driver_stats_source", "compression", "unknown field"],
)
case(
    "view-unknown-field-typo",
    variant(views_DOT_yaml=view("tll: 7d\n")),
    ["views.yaml:13", "driver_hourly_stats", "tll", "unknown field"],
    "a typo of ttl must not be ignored",
)
case(
    "service-unknown-field",
    variant(
        services_DOT_yaml=replace_in(
            SERVICES, "name: driver_activity_v2\n", "name: driver_activity_v2\nversion: 2\n"
        )
    ),
    ["services.yaml:8", "driver_activity_v2", "version", "unknown field"],
)
case(
    "model-unknown-field",
    variant(models_DOT_yaml=MODELS + "framework: sklearn\n"),
    ["models.yaml:11", "churn_classifier", "framework", "unknown field"],
)
case(
    "model-version-unknown-field",
    variant(
        models_DOT_yaml=replace_in(
            MODELS, "uri: s3://models/churn/1\n", "uri: s3://models/churn/1\n    stage: prod\n"
        )
    ),
    ["models.yaml:6", "churn_classifier", "stage", "unknown field"],
)
case(
    "view-schema-field-unknown-key",
    variant(
        views_DOT_yaml=replace_in(
            VIEWS, "{name: avg_daily_trips, dtype: int64}", "{name: avg_daily_trips, type: int64}"
        )
    ),
    ["views.yaml:12", "driver_hourly_stats", "type", "unknown field"],
    "`type` instead of `dtype` in a schema entry",
)
case(
    "view-check-unknown-key",
    variant(views_DOT_yaml=replace_in(VIEWS, "{min: 0, max: 1,", "{minimum: 0, max: 1,")),
    ["views.yaml:9", "driver_hourly_stats", "minimum", "unknown field"],
)

# =========================================================================== wrong types

case(
    "entity-join-keys-string",
    variant(entities_DOT_yaml=replace_in(ENTITIES, "join_keys: [driver_id]", "join_keys: driver_id")),
    ["entities.yaml:3", "driver", "join_keys", "list"],
)
case(
    "view-online-maybe",
    variant(views_DOT_yaml=replace_in(VIEWS, "online: true", 'online: "maybe"')),
    ["views.yaml:6", "driver_hourly_stats", "online", ("bool", "boolean", "true or false")],
)
case(
    "view-ttl-list",
    variant(views_DOT_yaml=replace_in(VIEWS, "ttl: 2d", "ttl: [2d]")),
    ["views.yaml:5", "driver_hourly_stats", "ttl"],
)
case(
    "view-schema-not-list",
    variant(
        views_DOT_yaml=view("schema:\n  conv_rate: float64\n  avg_daily_trips: int64\n", drop=("schema",))
    ),
    ["views.yaml", "driver_hourly_stats", "schema", "list"],
)
case(
    "model-alias-not-int",
    variant(models_DOT_yaml=replace_in(MODELS, "Production: 1,", "Production: latest,")),
    ["models.yaml:10", "churn_classifier", "Production"],
)
case(
    "name-not-string",
    variant(entities_DOT_yaml=replace_in(ENTITIES, "name: driver", "name: 123")),
    ["entities.yaml:2", "123", "name", "string"],
    "the object is named by what the user wrote, even if it is not a valid name",
)

# =========================================================================== missing fields

case(
    "entity-without-join-keys",
    variant(entities_DOT_yaml="kind: Entity\nname: driver\n"),
    ["entities.yaml", "driver", "join_keys", "missing"],
)
case(
    "view-without-source",
    variant(views_DOT_yaml=view(drop=("source",))),
    ["views.yaml", "driver_hourly_stats", "source", "missing"],
)
case(
    "view-without-schema",
    variant(views_DOT_yaml=view(drop=("schema", "checks"))),
    ["views.yaml", "driver_hourly_stats", "schema", "missing"],
)
case(
    "view-without-entities",
    variant(views_DOT_yaml=view(drop=("entities",))),
    ["views.yaml", "driver_hourly_stats", "entities", "missing"],
)
case(
    "view-schema-field-without-dtype",
    variant(
        views_DOT_yaml=replace_in(VIEWS, "{name: avg_daily_trips, dtype: int64}", "{name: avg_daily_trips}")
    ),
    ["views.yaml:12", "driver_hourly_stats", "dtype", "missing"],
)
case(
    "source-without-path",
    variant(sources_DOT_yaml=replace_in(SOURCES, "path: data/driver_stats.parquet\n", "")),
    ["sources.yaml", "driver_stats_source", "path", "missing"],
)
case(
    "entity-empty-join-keys",
    variant(entities_DOT_yaml=replace_in(ENTITIES, "join_keys: [driver_id]", "join_keys: []")),
    ["entities.yaml:3", "driver", "join_keys"],
)

# =========================================================================== durations

for _id, _ttl in (("2q", "2q"), ("negative", "-5"), ("fractional", "1.5h")):
    case(
        f"view-ttl-bad-duration-{_id}",
        variant(views_DOT_yaml=replace_in(VIEWS, "ttl: 2d", f"ttl: {_ttl}")),
        ["views.yaml:5", "driver_hourly_stats", "ttl", _ttl],
    )
case(
    "view-freshness-bad-duration",
    variant(views_DOT_yaml=replace_in(VIEWS, "freshness: 2h", "freshness: soon")),
    ["views.yaml:7", "driver_hourly_stats", "freshness", "soon"],
)

# =========================================================================== dtypes

for _id, _dtype in (("int65", "int65"), ("nested-list", "list<list<int64>>"), ("float", "float")):
    case(
        f"view-bad-dtype-{_id}",
        variant(views_DOT_yaml=replace_in(VIEWS, "dtype: int64}", f"dtype: '{_dtype}'}}")),
        ["views.yaml:12", "driver_hourly_stats", _dtype, "dtype"],
    )

# =========================================================================== names

case(
    "view-name-with-space",
    variant(
        views_DOT_yaml=replace_in(VIEWS, "name: driver_hourly_stats", "name: Driver Stats"),
        services_DOT_yaml=SERVICES.replace("driver_hourly_stats", "Driver Stats"),
    ),
    ["views.yaml:2", "Driver Stats", "name"],
)
case(
    "entity-name-starts-with-digit",
    variant(
        entities_DOT_yaml=replace_in(ENTITIES, "name: driver", "name: 9lives"),
        views_DOT_yaml=replace_in(VIEWS, "entities: [driver]", "entities: ['9lives']"),
    ),
    ["entities.yaml:2", "9lives", "name"],
)
case(
    "service-name-double-underscore",
    variant(services_DOT_yaml=replace_in(SERVICES, "name: driver_activity_v1", "name: a__b")),
    ["services.yaml:2", "a__b", "name"],
)
case(
    "feature-name-double-underscore",
    variant(
        views_DOT_yaml=replace_in(VIEWS, "{name: avg_daily_trips,", "{name: avg__trips,"),
        data__driver_stats_DOT_parquet=_parquet(
            {
                "driver_id": [1],
                "event_timestamp": _TIMES[:1],
                "created": _TIMES[:1],
                "conv_rate": [0.1],
                "avg__trips": [1],
            }
        ),
    ),
    ["views.yaml:12", "driver_hourly_stats", "avg__trips"],
    "'__' is reserved for full feature names",
)

# =========================================================================== duplicates

case(
    "duplicate-name-one-file",
    variant(entities_DOT_yaml=ENTITIES + "---\n" + replace_in(ENTITIES, "A driver", "Another driver")),
    ["entities.yaml:1", "entities.yaml:6", "driver", "defined twice"],
)
case(
    "duplicate-name-two-yaml-files",
    variant(more_views_DOT_yaml=VIEWS),
    ["views.yaml", "more_views.yaml", "driver_hourly_stats", "defined twice"],
)
_PY_DUP = y(
    """
    from fsctl import Entity

    driver = Entity(name="driver", join_keys=["driver_id"])
    """
)
case(
    "duplicate-name-yaml-and-python",
    variant(driver_DOT_py=_PY_DUP),
    ["entities.yaml", "driver.py:3", "driver", "defined twice"],
)
case(
    "duplicate-name-two-python-files",
    variant(customer_copy_DOT_py=PY_DEFS),
    ["customer.py", "customer_copy.py", "customer_stats", "defined twice"],
)
case(
    "duplicate-name-nested-folders",
    with_files({"features/a/views.yaml": VIEWS, "features/b/views.yaml": VIEWS, "views.yaml": None}),
    ["features/a/views.yaml", "features/b/views.yaml", "driver_hourly_stats", "defined twice"],
    "paths are relative to the repo, with their folders",
)

# =========================================================================== references

case(
    "view-entity-not-defined",
    variant(views_DOT_yaml=replace_in(VIEWS, "entities: [driver]", "entities: [drivr]")),
    ["views.yaml", "driver_hourly_stats", "drivr", "not defined"],
)
case(
    "view-source-not-defined",
    variant(views_DOT_yaml=replace_in(VIEWS, "source: driver_stats_source", "source: driver_stats")),
    ["views.yaml", "driver_hourly_stats", "driver_stats", "not defined"],
)
case(
    "service-view-not-defined",
    variant(services_DOT_yaml=replace_in(SERVICES, "  - driver_hourly_stats\n", "  - driver_daily_stats\n")),
    ["services.yaml", "driver_activity_v1", "driver_daily_stats", "not defined"],
)
case(
    "service-feature-not-in-view",
    variant(services_DOT_yaml=replace_in(SERVICES, "features: [conv_rate]", "features: [acceptance_rate]")),
    ["services.yaml", "driver_activity_v2", "acceptance_rate", "driver_hourly_stats"],
)
case(
    "service-lists-view-twice",
    variant(
        services_DOT_yaml=replace_in(
            SERVICES, "  - driver_hourly_stats\n", "  - driver_hourly_stats\n  - driver_hourly_stats\n"
        )
    ),
    ["services.yaml", "driver_activity_v1", "driver_hourly_stats", "more than once"],
)
case(
    "model-version-service-not-defined",
    variant(
        models_DOT_yaml=replace_in(
            MODELS, "feature_service: driver_activity_v2", "feature_service: driver_activity_v3"
        )
    ),
    ["models.yaml", "churn_classifier", "driver_activity_v3", "not defined"],
)
case(
    "model-alias-missing-version",
    variant(models_DOT_yaml=replace_in(MODELS, "Challenger: 2", "Challenger: 3")),
    ["models.yaml", "churn_classifier", "Challenger", "3"],
)
case(
    "model-duplicate-version",
    variant(models_DOT_yaml=replace_in(MODELS, "- version: 2", "- version: 1")),
    ["models.yaml", "churn_classifier", "version 1", "more than once"],
)
case(
    "model-version-zero",
    variant(models_DOT_yaml=replace_in(MODELS, "- version: 1", "- version: 0")),
    ["models.yaml:4", "churn_classifier", "version"],
)

# =========================================================================== schemas and checks

case(
    "view-feature-listed-twice",
    variant(views_DOT_yaml=view("  - {name: conv_rate, dtype: float32}\n")),
    ["views.yaml", "driver_hourly_stats", "conv_rate", "more than once"],
)
case(
    "view-check-feature-not-in-schema",
    variant(views_DOT_yaml=replace_in(VIEWS, "  conv_rate: {min", "  acceptance_rate: {min")),
    ["views.yaml", "driver_hourly_stats", "acceptance_rate", "schema"],
)
case(
    "view-check-null-fraction-over-one",
    variant(views_DOT_yaml=replace_in(VIEWS, "max_null_fraction: 0.05", "max_null_fraction: 1.5")),
    ["views.yaml:9", "driver_hourly_stats", "max_null_fraction"],
)
case(
    "view-check-min-above-max",
    variant(views_DOT_yaml=replace_in(VIEWS, "{min: 0, max: 1,", "{min: 1, max: 0,")),
    ["views.yaml:9", "driver_hourly_stats", "conv_rate", "min", "max"],
    "a check that no value can pass is a mistake",
)
case(
    "view-check-allowed-values-of-another-type",
    variant(views_DOT_yaml=replace_in(VIEWS, "{min: 0, max: 1, max_null_fraction: 0.05}", "{allowed: [low, high]}")),
    ["views.yaml", "driver_hourly_stats", "checks.conv_rate.allowed", "float64"],
    "a float64 feature's allowed values are numbers",
)
case(
    "view-check-min-on-a-string-feature",
    variant(
        views_DOT_yaml=replace_in(
            replace_in(VIEWS, "{name: conv_rate, dtype: float64}", "{name: conv_rate, dtype: string}"),
            "{min: 0, max: 1, max_null_fraction: 0.05}",
            "{min: 0}",
        )
    ),
    ["views.yaml", "driver_hourly_stats", "checks.conv_rate.min", "string"],
    "min and max check numbers",
)
case(
    "view-row-checks-min-rows-zero",
    variant(views_DOT_yaml=replace_in(VIEWS, "checks:\n", "row_checks: {min_rows: 0}\nchecks:\n")),
    ["views.yaml", "driver_hourly_stats", "min_rows", "at least 1"],
)
case(
    "view-unknown-check-policy",
    variant(views_DOT_yaml=replace_in(VIEWS, "checks:\n", "check_policy: block\nchecks:\n")),
    ["views.yaml:8", "driver_hourly_stats", "check_policy", "reject"],
)
case(
    "view-feature-is-join-key",
    variant(views_DOT_yaml=view("  - {name: driver_id, dtype: int64}\n")),
    ["views.yaml", "driver_hourly_stats", "driver_id", "join key"],
)

case(
    "view-entity-listed-twice",
    variant(views_DOT_yaml=replace_in(VIEWS, "entities: [driver]", "entities: [driver, driver]")),
    ["views.yaml", "driver_hourly_stats", "entities", "driver"],
    "the same entity twice gives the same join key twice",
)
case(
    "service-feature-listed-twice",
    variant(
        services_DOT_yaml=replace_in(SERVICES, "features: [conv_rate]", "features: [conv_rate, conv_rate]")
    ),
    ["services.yaml", "driver_activity_v2", "conv_rate", ("twice", "more than once", "repeat", "duplicate")],
)
case(
    "service-empty-feature-subset",
    variant(services_DOT_yaml=replace_in(SERVICES, "features: [conv_rate]", "features: []")),
    ["services.yaml", "driver_activity_v2", "driver_hourly_stats", "features"],
    "a selection of no features is a mistake (omit 'features' for the whole view)",
)

# =========================================================================== sources

case(
    "source-unknown-format",
    variant(sources_DOT_yaml=replace_in(SOURCES, "format: parquet", "format: orc")),
    ["sources.yaml:4", "driver_stats_source", "orc", "format"],
)
case(
    "source-parquet-file-called-delta",
    variant(sources_DOT_yaml=replace_in(SOURCES, "format: parquet", "format: delta")),
    ["sources.yaml", "driver_stats_source", "not a Delta table", "_delta_log"],
)
case(
    "source-cannot-provide-join-key",
    variant(
        entities_DOT_yaml=ENTITIES + "---\nkind: Entity\nname: rider\njoin_keys: [rider_id]\n",
        views_DOT_yaml=replace_in(VIEWS, "entities: [driver]", "entities: [driver, rider]"),
    ),
    ["views.yaml", "driver_hourly_stats", "rider_id", "driver_stats_source"],
)
case(
    "source-renamed-join-key-column",
    variant(
        data__driver_stats_DOT_parquet=RENAMED_STATS,
        sources_DOT_yaml=replace_in(
            replace_in(SOURCES, "timestamp_field: event_timestamp", "timestamp_field: ts"),
            "created_timestamp_field: created\n",
            "",
        ),
    ),
    ["views.yaml", "driver_hourly_stats", "driver_id", "data/driver_stats.parquet"],
    "the column is 'driver'; a field_mapping would fix it",
)
case(
    "source-missing-feature-column",
    variant(views_DOT_yaml=view("  - {name: acceptance_rate, dtype: float64}\n")),
    ["views.yaml", "driver_hourly_stats", "acceptance_rate", "data/driver_stats.parquet"],
)
case(
    "source-missing-timestamp-field",
    variant(
        sources_DOT_yaml=replace_in(SOURCES, "timestamp_field: event_timestamp", "timestamp_field: event_ts")
    ),
    ["sources.yaml", "driver_stats_source", "event_ts", "timestamp_field"],
)
case(
    "source-missing-created-timestamp-field",
    variant(
        sources_DOT_yaml=replace_in(
            SOURCES, "created_timestamp_field: created", "created_timestamp_field: created_at"
        )
    ),
    ["sources.yaml", "driver_stats_source", "created_at", "created_timestamp_field"],
)
case(
    "source-field-mapping-missing-column",
    variant(sources_DOT_yaml=SOURCES + "field_mapping: {trips: avg_daily_trips}\n"),
    ["views.yaml", "driver_hourly_stats", "avg_daily_trips", "trips"],
    "the mapping names a source column that does not exist",
)
case(
    "source-field-mapping-two-columns-one-name",
    variant(sources_DOT_yaml=SOURCES + "field_mapping: {conv_rate: rate, avg_daily_trips: rate}\n"),
    ["sources.yaml", "driver_stats_source", "field_mapping", "rate"],
    "two source columns mapped to the same name: which one is 'rate'?",
)
case(
    "source-feature-dtype-mismatch",
    variant(
        views_DOT_yaml=replace_in(
            VIEWS, "{name: conv_rate, dtype: float64}", "{name: conv_rate, dtype: timestamp}"
        )
    ),
    ["views.yaml", "driver_hourly_stats", "conv_rate", "timestamp", ("double", "float64")],
    "the parquet column is float64; a timestamp feature cannot be read from it",
)
case(
    "source-csv-missing-feature-column",
    variant(
        data__driver_stats_DOT_csv=DRIVER_STATS_CSV,
        sources_DOT_yaml=replace_in(
            replace_in(SOURCES, "format: parquet", "format: csv"),
            "path: data/driver_stats.parquet",
            "path: data/driver_stats.csv",
        ).replace("created_timestamp_field: created\n", ""),
    ),
    ["views.yaml", "driver_hourly_stats", "avg_daily_trips", "data/driver_stats.csv"],
)
case(
    "source-corrupt-parquet",
    variant(data__driver_stats_DOT_parquet=b"this is not a parquet file\n"),
    ["sources.yaml", "driver_stats_source", "data/driver_stats.parquet", "parquet"],
)

# =========================================================================== files

case(
    "yaml-not-utf8",
    variant(entities_DOT_yaml=ENTITIES.replace("A driver", "A dr\xefver").encode("latin-1")),
    ["entities.yaml", "UTF-8"],
)
case(
    "yaml-yml-extension",
    variant(
        **{"entities_DOT_yaml": None},
        extra_DOT_yml=replace_in(ENTITIES, "join_keys: [driver_id]", "join_keys: [driver id]"),
    ),
    ["extra.yml:3", "driver", "driver id"],
)

# =========================================================================== Python definitions

_PY_SYNTAX = y(
    """
    from fsctl import Entity

    rider = Entity(name="rider", join_keys=["rider_id"]
    other = 1
    """
)
case("py-syntax-error", variant(rider_DOT_py=_PY_SYNTAX), ["rider.py:3", "syntax"])

_PY_ZERO = y(
    """
    from fsctl import Entity

    rider = Entity(name="rider", join_keys=["rider_id"])
    SCALE = 1 / 0
    """
)
case("py-zero-division", variant(rider_DOT_py=_PY_ZERO), ["rider.py:4", "ZeroDivisionError"])

_PY_IMPORT = y(
    """
    from fsctl import Entity
    import fsctl_company_helpers

    rider = Entity(name="rider", join_keys=["rider_id"])
    """
)
case(
    "py-import-missing-module",
    variant(rider_DOT_py=_PY_IMPORT),
    ["rider.py:2", "fsctl_company_helpers", "ModuleNotFoundError"],
)

_PY_EXIT = y(
    """
    import sys

    from fsctl import Entity

    rider = Entity(name="rider", join_keys=["rider_id"])
    sys.exit(3)
    """
)
case("py-sys-exit", variant(rider_DOT_py=_PY_EXIT), ["rider.py:6", "SystemExit"])

_PY_BAD_TTL = replace_in(PY_DEFS, "ttl=timedelta(days=1),", 'ttl="2q",')
case(
    "py-constructor-bad-ttl",
    variant(customer_DOT_py=_PY_BAD_TTL),
    [f"customer.py:{line_of(_PY_BAD_TTL, 'customer_stats = FeatureView(')}", "customer_stats", "ttl", "2q"],
    "the line of the call that built the object",
)

_PY_UNKNOWN_KW = replace_in(
    PY_DEFS, "ttl=timedelta(days=1),", "ttl=timedelta(days=1),\n    time_to_live=3600,"
)
case(
    "py-constructor-unknown-keyword",
    variant(customer_DOT_py=_PY_UNKNOWN_KW),
    [
        f"customer.py:{line_of(_PY_UNKNOWN_KW, 'customer_stats = FeatureView(')}",
        "customer_stats",
        "time_to_live",
        "unknown field",
    ],
)

_PY_JOIN_KEYS_STR = replace_in(PY_DEFS, 'join_keys=["driver_id"]', 'join_keys="driver_id"')
case(
    "py-constructor-join-keys-string",
    variant(customer_DOT_py=_PY_JOIN_KEYS_STR),
    [f"customer.py:{line_of(_PY_JOIN_KEYS_STR, 'customer = Entity(')}", "customer", "join_keys"],
)

_PY_FIELD_DTYPE = replace_in(
    PY_DEFS, 'Field(name="avg_daily_trips", dtype=Int64)', 'Field(name="avg_daily_trips", dtype="int65")'
)
case(
    "py-field-bad-dtype",
    variant(customer_DOT_py=_PY_FIELD_DTYPE),
    [f"customer.py:{line_of(_PY_FIELD_DTYPE, 'int65')}", "avg_daily_trips", "int65", "dtype"],
    "a Field built in Python with a bad dtype must name the feature, not dump a pydantic error",
)

_PY_MODEL_VERSION = y(
    """
    from fsctl import Model, ModelVersion

    churn_py = Model(
        name="churn_py",
        versions=[ModelVersion(version=0, uri="s3://m/0", feature_service="driver_activity_v1")],
    )
    """
)
case(
    "py-model-version-zero",
    variant(churn_DOT_py=_PY_MODEL_VERSION),
    [f"churn.py:{line_of(_PY_MODEL_VERSION, 'ModelVersion(')}", "version"],
)

_PY_DANGLING = PY_DEFS + y(
    """

    customer_subset = FeatureService(name="customer_subset", features=[customer_stats[["lifetime_value"]]])
    """
)
case(
    "py-service-feature-not-in-view",
    variant(customer_DOT_py=_PY_DANGLING),
    [f"customer.py:{line_of(_PY_DANGLING, 'customer_subset =')}", "customer_subset", "lifetime_value"],
)

# =========================================================================== fsctl.yaml

case(
    "config-missing-project",
    variant(fsctl_DOT_yaml="registry: data/registry.json\n"),
    ["fsctl.yaml", "project", "missing"],
)
case(
    "config-bad-project-name",
    variant(fsctl_DOT_yaml="project: My Project\n"),
    ["fsctl.yaml", "project", "My Project"],
)
case(
    "config-unknown-top-level-key",
    variant(fsctl_DOT_yaml="project: demo\nregistry_path: data/registry.json\n"),
    ["fsctl.yaml", "registry_path", "unknown field"],
)
case(
    "config-unknown-online-store",
    variant(fsctl_DOT_yaml="project: demo\nonline_store:\n  type: mongodb\n"),
    ["fsctl.yaml", "online_store", "mongodb"],
)
case(
    "config-online-store-unknown-option",
    variant(fsctl_DOT_yaml="project: demo\nonline_store:\n  type: redis\n  host: localhost\n"),
    ["fsctl.yaml", "online_store.host", "unknown field"],
    "the field is named by its path in the file, without the store type",
)
UNSET_VAR = "FSCTL_CORPUS_UNSET_VAR"
case(
    "config-unset-env-var",
    variant(fsctl_DOT_yaml="project: demo\nregistry: s3://${" + UNSET_VAR + "}/registry.json\n"),
    ["fsctl.yaml", "registry", UNSET_VAR],
)
case(
    "config-not-yaml",
    variant(fsctl_DOT_yaml="project: demo\nregistry: [data/registry.json\n"),
    ["fsctl.yaml", "YAML"],
)
case(
    "config-is-a-list",
    variant(fsctl_DOT_yaml="- project: demo\n"),
    ["fsctl.yaml", "project", "mapping"],
)

# =========================================================================== several problems at once

_MULTI_VIEWS = replace_in(VIEWS, "ttl: 2d", "ttl: 2q")  # 1: bad duration
_MULTI_SERVICES = replace_in(
    SERVICES, "  - driver_hourly_stats\n", "  - driver_weekly_stats\n"
)  # 2: dangling view
_MULTI_MODELS = replace_in(MODELS, "Challenger: 2", "Challenger: 5")  # 3: alias -> missing version
_MULTI_PY = y(  # 4: an exception at import
    """
    from fsctl import Entity

    rider = Entity(name="rider", join_keys=["rider_id"])
    RATIO = 1 / 0
    """
)
_MULTI_EXTRA = replace_in(ENTITIES, "name: driver", "name: courier") + "primary: true\n"  # 5: unknown field

MULTI_PROBLEM_REPO = variant(
    views_DOT_yaml=_MULTI_VIEWS,
    services_DOT_yaml=_MULTI_SERVICES,
    models_DOT_yaml=_MULTI_MODELS,
    rider_DOT_py=_MULTI_PY,
    extra__couriers_DOT_yaml=_MULTI_EXTRA,
)
# One tuple per problem: substrings that must all appear on one line of the output.
MULTI_PROBLEMS = [
    ("views.yaml", "driver_hourly_stats", "ttl"),
    ("services.yaml", "driver_activity_v1", "driver_weekly_stats"),
    ("models.yaml", "churn_classifier", "Challenger"),
    ("rider.py:4", "ZeroDivisionError"),
    ("extra/couriers.yaml", "courier", "primary"),
]

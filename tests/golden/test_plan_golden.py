"""Golden-file tests of `fsctl plan` output (STYLE.md habits 9 and 10).

Each case declares a small repo *before* and *after* as dicts of files. The
``before`` files are written to a temp folder and applied to a fresh registry
with the real CLI (``fsctl apply --yes``); then the folder is replaced by the
``after`` files and ``fsctl plan`` is run in each format. Its stdout must match
``cases/<case>/expected.txt|.json|.md`` byte for byte, and its exit code must be
0 (1 when the plan is blocked); with ``--detailed-exitcode`` it must be 2 when
there are changes.

The CLI runs in-process through ``fsctl.cli.run`` (the console script's entry
point) with stdout captured, so it is not a terminal and the output is plain;
``COLUMNS`` and ``NO_COLOR`` are pinned. The registry is given as the relative
``--registry reg.json`` (resolved against the working directory, the repo), so it renders the same on
every machine. Nothing is masked: both hashes are deterministic.

To regenerate the expected files after an intended output change:

    FSCTL_UPDATE_GOLDEN=1 .venv/bin/pytest tests/golden

The run then fails on purpose, naming the files it wrote: review them with
``git diff tests/golden/cases`` before committing.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from pathlib import Path

import pytest

from fsctl.cli import run
from tests.support.source_data import fill_sources

CASES_DIR = Path(__file__).parent / "cases"
UPDATE = os.environ.get("FSCTL_UPDATE_GOLDEN", "") not in ("", "0", "false")
FORMATS = {"text": "expected.txt", "json": "expected.json", "markdown": "expected.md"}
REGISTRY = "reg.json"  # relative: resolved against the working directory, rendered as given

# --------------------------------------------------------------------------- #
# The base repo. Data paths do not exist on purpose: the loader only warns.   #
# --------------------------------------------------------------------------- #

CONFIG = """\
project: golden
registry: data/registry.json   # overridden by --registry in every run
models: {required_metadata: []}  # the base models carry none; the gate cases require some
"""

ENTITIES = """\
kind: Entity
name: driver
join_keys: [driver_id]
description: A driver on the platform
owner: ranking@example.com
---
kind: Entity
name: customer
join_keys: [customer_id]
description: A rider who books trips
"""

SOURCES = """\
kind: FileSource
name: driver_stats_source
path: data/driver_stats.parquet
timestamp_field: event_timestamp
created_timestamp_field: created
---
kind: FileSource
name: customer_source
path: data/customer.parquet
timestamp_field: event_timestamp
"""

DRIVER_HOURLY = """\
kind: FeatureView
name: driver_hourly_stats
entities: [driver]
source: driver_stats_source
ttl: 2d
schema:
  - {name: conv_rate, dtype: float64}
  - {name: acc_rate, dtype: float64}
  - {name: avg_daily_trips, dtype: int64}
description: Hourly conversion and acceptance rates
owner: ranking@example.com
tags: {team: ranking}
"""

CUSTOMER_PROFILE = """\
kind: FeatureView
name: customer_profile
entities: [customer]
source: customer_source
ttl: 30d
schema:
  - {name: current_balance, dtype: float64}
  - {name: avg_passenger_count, dtype: float64}
  - {name: lifetime_trip_count, dtype: int64}
"""

# Used by no service.
DRIVER_DAILY = """\
kind: FeatureView
name: driver_daily_stats
entities: [driver]
source: driver_stats_source
ttl: 7d
schema:
  - {name: trips_today, dtype: int64}
  - {name: rating, dtype: float32}
"""

SERVICES = """\
kind: FeatureService
name: driver_activity_v1
description: Features of the first churn model
features:
  - driver_hourly_stats
  - {view: customer_profile, features: [current_balance]}
---
kind: FeatureService
name: driver_activity_v2
features:
  - driver_hourly_stats
  - {view: customer_profile, features: [current_balance, avg_passenger_count]}
"""

MODELS = """\
kind: Model
name: churn_classifier
versions:
  - version: 1
    uri: s3://models/churn/1
    feature_service: driver_activity_v1
  - version: 2
    uri: s3://models/churn/2
    feature_service: driver_activity_v2
aliases: {Production: 1, Challenger: 2}
"""

# MODELS with metrics recorded on both versions (what the metric gates compare).
METRIC_MODELS = MODELS.replace(
    "feature_service: driver_activity_v1\n", "feature_service: driver_activity_v1\n    metrics: {auc: 0.91}\n"
).replace("feature_service: driver_activity_v2\n", "feature_service: driver_activity_v2\n    metrics: {auc: 0.85}\n")

# Version 1 of MODELS with an expected signature (what the model reads, and its output).
SIGNED_V1 = """\
feature_service: driver_activity_v1
    signature:
      inputs: {conv_rate: float64, acc_rate: float64}
      output: {churn_probability: float64}
"""

# A self-contained group of one object of each kind that nothing else references.
VEHICLE = """\
kind: Entity
name: vehicle
join_keys: [vehicle_id]
---
kind: FileSource
name: vehicle_source
path: data/vehicles.parquet
---
kind: FeatureView
name: vehicle_stats
entities: [vehicle]
source: vehicle_source
ttl: 1d
schema:
  - {name: mileage, dtype: float64}
---
kind: FeatureService
name: vehicle_service
features:
  - {view: vehicle_stats, features: [mileage]}
---
kind: Model
name: eta_model
versions:
  - version: 1
    uri: s3://models/eta/1
    feature_service: vehicle_service
aliases: {Shadow: 1}
"""
# The same group when its model is in production: a protected alias reaches all of it.
VEHICLE_IN_PRODUCTION = VEHICLE.replace("aliases: {Shadow: 1}", "aliases: {Production: 1}")


# A SQL source over driver_stats_source, a view on it, read by the Production version's service.
SQL_SOURCE = """\
kind: SqlSource
name: driver_conv_sql
query: |
  SELECT driver_id, event_timestamp, avg(conv_rate) AS conv_rate_avg
  FROM {{ source('driver_stats_source') }}
  GROUP BY ALL
---
kind: FeatureView
name: driver_conv_avg
entities: [driver]
source: driver_conv_sql
schema:
  - {name: conv_rate_avg, dtype: float64}
"""


def views(*docs: str) -> str:
    return "---\n".join(docs)


BASE: dict[str, str] = {
    "fsctl.yaml": CONFIG,
    "entities.yaml": ENTITIES,
    "sources.yaml": SOURCES,
    "views.yaml": views(DRIVER_HOURLY, CUSTOMER_PROFILE, DRIVER_DAILY),
    "services.yaml": SERVICES,
    "models.yaml": MODELS,
}
WITH_VEHICLE = {**BASE, "vehicle.yaml": VEHICLE}
WITH_VEHICLE_IN_PRODUCTION = {**BASE, "vehicle.yaml": VEHICLE_IN_PRODUCTION}


def edit(text: str, old: str, new: str) -> str:
    """``text`` with ``old`` replaced once; fails loudly if ``old`` is not there."""
    assert text.count(old) == 1, f"{old!r} must occur exactly once"
    return text.replace(old, new)


WITH_SQL = {
    **BASE,
    "sql.yaml": SQL_SOURCE,
    "services.yaml": edit(
        SERVICES,
        "  - driver_hourly_stats\n  - {view: customer_profile, features: [current_balance]}\n",
        "  - driver_hourly_stats\n  - {view: customer_profile, features: [current_balance]}\n  - driver_conv_avg\n",
    ),
}


@dataclass(frozen=True)
class Case:
    about: str
    before: dict[str, str]
    after: dict[str, str]
    blocked: bool = False
    changes: bool = True
    args: tuple[str, ...] = ()  # extra plan options (--allow-breaking ... --reason ...)
    switch: bool = False  # the online store changes
    materialize: bool = False  # load 'before' into the online store (so the freshness gate can pass)


CASES: dict[str, Case] = {
    "no_changes": Case(
        "the definitions match the registry",
        before=BASE,
        after=BASE,
        changes=False,
    ),
    "initial_plan": Case(
        "a fresh registry (version 0): everything is added",
        before={"fsctl.yaml": CONFIG},
        after=BASE,
    ),
    "add_each_kind": Case(
        "one object of each kind added",
        before=BASE,
        after=WITH_VEHICLE,
    ),
    "add_one_view": Case(
        "a single view added on existing entity and source",
        before=BASE,
        after={
            **BASE,
            "more.yaml": edit(DRIVER_DAILY, "name: driver_daily_stats", "name: driver_weekly_stats"),
        },
    ),
    "change_each_kind": Case(
        "one compatible change to an object of each kind",
        before=WITH_VEHICLE,
        after={
            **BASE,
            "vehicle.yaml": (
                VEHICLE.replace(
                    "join_keys: [vehicle_id]\n", "join_keys: [vehicle_id]\nowner: fleet@example.com\n"
                )
                .replace("path: data/vehicles.parquet", "path: data/vehicles.parquet\ndescription: Vehicle telemetry")
                .replace("ttl: 1d", "ttl: 3d")
                .replace(
                    "  - {name: mileage, dtype: float64}\n---",
                    "  - {name: mileage, dtype: float64}\n  - {name: fuel_level, dtype: float32}\n---",
                )
                .replace("features: [mileage]", "features: [mileage, fuel_level]")
                .replace(
                    "aliases: {Shadow: 1}",
                    "  - version: 2\n    uri: s3://models/eta/2\n    feature_service: vehicle_service\n"
                    "aliases: {Shadow: 1, Challenger: 2}",
                )
            ),
        },
    ),
    "delete_each_kind": Case(
        "one object of each kind deleted; nothing that remains refers to them",
        before=WITH_VEHICLE,
        after=BASE,
    ),
    "source_moved": Case(
        "a source's path and format change: breaking; only an unprotected (Shadow) model version reads it, so a warning",
        before=WITH_VEHICLE,
        after={
            **BASE,
            "vehicle.yaml": VEHICLE.replace("path: data/vehicles.parquet", "path: data/vehicles_v2.csv\nformat: csv"),
        },
        blocked=False,  # the rule of fsctl/diff/reach.py: (b) warns
    ),
    "delete_protected_model": Case(
        "the same deletions while the model has a Production alias: the protected-alias guard rail blocks all of it",
        before=WITH_VEHICLE_IN_PRODUCTION,
        after=BASE,
        blocked=True,
    ),
    "delete_protected_model_allowed": Case(
        "the same, let through on purpose with --allow-breaking '*' --reason ...",
        before=WITH_VEHICLE_IN_PRODUCTION,
        after=BASE,
        args=("--allow-breaking", "*", "--reason", "ETA model retired after the Q3 review"),
    ),
    "delete_everything": Case(
        "a repo that loads no definitions against a full registry: the wipe guard rail blocks it",
        before=WITH_VEHICLE,
        after={"fsctl.yaml": CONFIG},
        blocked=True,
    ),
    "metadata_only": Case(
        "description, owner and tags changed, on objects and on a feature",
        before=BASE,
        after={
            **BASE,
            "entities.yaml": edit(
                ENTITIES, "description: A driver on the platform", "description: A driver who accepts trips"
            ),
            "views.yaml": views(
                DRIVER_HOURLY.replace("owner: ranking@example.com", "owner: marketplace@example.com")
                .replace("tags: {team: ranking}", "tags: {team: marketplace, tier: gold}")
                .replace(
                    "{name: conv_rate, dtype: float64}",
                    "{name: conv_rate, dtype: float64, description: Share of offers accepted}",
                ),
                CUSTOMER_PROFILE,
                DRIVER_DAILY,
            ),
            "services.yaml": edit(SERVICES, "description: Features of the first churn model\n", ""),
        },
    ),
    "breaking_not_blocked": Case(
        "a dtype change in a view no service uses, and in a feature no service selects",
        before=BASE,
        after={
            **BASE,
            "views.yaml": views(
                DRIVER_HOURLY,
                edit(
                    CUSTOMER_PROFILE,
                    "{name: lifetime_trip_count, dtype: int64}",
                    "{name: lifetime_trip_count, dtype: int32}",
                ),
                edit(DRIVER_DAILY, "{name: rating, dtype: float32}", "{name: rating, dtype: float64}"),
            ),
        },
    ),
    "blocked_feature_removed": Case(
        "a feature removed from a view that services and model versions use",
        before=BASE,
        after={
            **BASE,
            "views.yaml": views(
                edit(DRIVER_HOURLY, "  - {name: acc_rate, dtype: float64}\n", ""),
                CUSTOMER_PROFILE,
                DRIVER_DAILY,
            ),
        },
        blocked=True,
    ),
    "blocked_ttl_shortened": Case(
        "the TTL of a view that services and model versions use shortened",
        before=BASE,
        after={
            **BASE,
            "views.yaml": views(edit(DRIVER_HOURLY, "ttl: 2d", "ttl: 12h"), CUSTOMER_PROFILE, DRIVER_DAILY),
        },
        blocked=True,
    ),
    "model_alias_moved": Case(
        "the Production alias moves from version 1 to version 2, materialized: every promotion gate passes",
        before=BASE,
        after={**BASE, "models.yaml": edit(MODELS, "Production: 1", "Production: 2")},
        materialize=True,
    ),
    "promotion_gates_all_fail": Case(
        "Production moves to version 2 and Champion is added on a new version 3, nothing materialized, "
        "metadata required, the model's own gates set: every gate fails (the service change is blocked too)",
        before={**BASE, "models.yaml": METRIC_MODELS},
        after={
            **BASE,
            "fsctl.yaml": CONFIG.replace("required_metadata: []", "required_metadata: [owner, description]"),
            "services.yaml": edit(
                SERVICES, "features: [current_balance, avg_passenger_count]", "features: [current_balance]"
            ),
            "models.yaml": edit(
                METRIC_MODELS,
                "aliases: {Production: 1, Challenger: 2}",
                "  - {version: 3, feature_service: driver_activity_v2}\n"
                "aliases: {Production: 2, Challenger: 2, Champion: 3}\n"
                "gates: {min_metrics: {auc: 0.9}, beat_current: true}",
            ),
        },
        blocked=True,
    ),
    "source_path_changed_blocked": Case(
        "a source moves under views that a Production model version reads: blocked, with the chain to Production",
        before=BASE,
        after={**BASE, "sources.yaml": edit(SOURCES, "path: data/driver_stats.parquet", "path: data/driver_stats_v2.parquet")},
        blocked=True,
    ),
    "sql_source_added": Case(
        "a SQL source and a view on it added (the service of the Production version gains the view)",
        before=BASE,
        after=WITH_SQL,
    ),
    "sql_source_query_changed_blocked": Case(
        "a SQL source's query changes under a view a Production version reads: a data change, blocked",
        before=WITH_SQL,
        after={**WITH_SQL, "sql.yaml": edit(SQL_SOURCE, "avg(conv_rate)", "max(conv_rate)")},
        blocked=True,
    ),
    "sql_source_reindented": Case(
        "a SQL source's query re-indented: whitespace is not a change",
        before=WITH_SQL,
        after={**WITH_SQL, "sql.yaml": edit(SQL_SOURCE, "  GROUP BY ALL\n", "        GROUP   BY ALL\n")},
        changes=False,
    ),
    "sql_source_upstream_moved": Case(
        "the source a SQL source reads moves: what reads the SQL source is reached through it",
        before=WITH_SQL,
        after={**WITH_SQL, "sources.yaml": edit(SOURCES, "path: data/driver_stats.parquet", "path: data/driver_stats_v2.parquet")},
        blocked=True,
    ),
    "service_feature_removed_protected": Case(
        "a feature removed from the service a Production version is bound to: blocked, chain to Production",
        before=BASE,
        after={
            **BASE,
            "services.yaml": edit(
                SERVICES, "  - {view: customer_profile, features: [current_balance]}\n", ""
            ),
        },
        blocked=True,
    ),
    "service_deleted_protected": Case(
        "the service of the Production version is deleted and the version rebound: both blocked",
        before=BASE,
        after={
            **BASE,
            "services.yaml": SERVICES[SERVICES.index("---\n") + 4 :],
            "models.yaml": edit(
                MODELS,
                "uri: s3://models/churn/1\n    feature_service: driver_activity_v1",
                "uri: s3://models/churn/1\n    feature_service: driver_activity_v2",
            ),
        },
        blocked=True,
    ),
    "model_version_deleted_protected": Case(
        "the version Production points at is deleted while Production moves on (gates pass): blocked",
        before=BASE,
        after={
            **BASE,
            "models.yaml": edit(
                MODELS,
                "  - version: 1\n    uri: s3://models/churn/1\n    feature_service: driver_activity_v1\n",
                "",
            ).replace("Production: 1", "Production: 2"),
        },
        blocked=True,
        materialize=True,
    ),
    "feature_added": Case(
        "a feature added to a view (services select the whole view)",
        before=BASE,
        after={
            **BASE,
            "views.yaml": views(
                edit(
                    DRIVER_HOURLY,
                    "  - {name: avg_daily_trips, dtype: int64}\n",
                    "  - {name: avg_daily_trips, dtype: int64}\n  - {name: cancel_rate, dtype: float64}\n",
                ),
                CUSTOMER_PROFILE,
                DRIVER_DAILY,
            ),
        },
    ),
    "service_subset_shrunk": Case(
        "a feature dropped from a service's subset that only the unprotected Challenger version reads: a warning",
        before=BASE,
        after={
            **BASE,
            "services.yaml": edit(
                SERVICES, "features: [current_balance, avg_passenger_count]", "features: [current_balance]"
            ),
        },
        blocked=False,  # (b): Challenger is not a protected alias
    ),
    "service_subset_grown": Case(
        "a feature added to a service's subset (compatible)",
        before=BASE,
        after={
            **BASE,
            "services.yaml": edit(
                SERVICES, "features: [current_balance]}", "features: [current_balance, lifetime_trip_count]}"
            ),
        },
    ),
    "view_source_changed": Case(
        "a view used by services moves to a new source",
        before=BASE,
        after={
            **BASE,
            "sources.yaml": SOURCES
            + "---\nkind: FileSource\nname: driver_stats_v2\npath: data/driver_stats_v2/\n",
            "views.yaml": views(
                edit(DRIVER_HOURLY, "source: driver_stats_source", "source: driver_stats_v2"),
                CUSTOMER_PROFILE,
                DRIVER_DAILY,
            ),
        },
        blocked=True,
    ),
    "entity_join_keys_changed": Case(
        "an entity's join keys change under the views keyed by it",
        before=BASE,
        after={
            **BASE,
            "entities.yaml": edit(ENTITIES, "join_keys: [driver_id]", "join_keys: [driver_id, city]"),
        },
        blocked=True,
    ),
    "model_version_changed": Case(
        "a published model version, pointed at by an alias, changes its URI",
        before=BASE,
        after={**BASE, "models.yaml": edit(MODELS, "uri: s3://models/churn/1", "uri: s3://models/churn/1b")},
        blocked=True,
    ),
    "model_metrics_added": Case(
        "metrics recorded on a published, aliased model version (and its description): not breaking",
        before=BASE,
        after={
            **BASE,
            "models.yaml": edit(
                MODELS,
                "    feature_service: driver_activity_v1\n",
                "    feature_service: driver_activity_v1\n    metrics: {auc: 0.91, logloss: 0.31}\n"
                "    description: Gradient-boosted trees, trained on 2025 Q4\n",
            ),
        },
    ),
    "model_signature_changed": Case(
        "the expected signature of a published version behind Production changes: breaking, blocked",
        before={**BASE, "models.yaml": edit(MODELS, "feature_service: driver_activity_v1\n", SIGNED_V1)},
        after={
            **BASE,
            "models.yaml": edit(
                MODELS,
                "feature_service: driver_activity_v1\n",
                SIGNED_V1.replace("acc_rate: float64}", "acc_rate: float64, avg_daily_trips: int64}"),
            ),
        },
        blocked=True,
    ),
    "view_dtype_breaks_snapshot": Case(
        "a feature's dtype changes in a view that model versions were trained on: the reason names each version",
        before=BASE,
        after={
            **BASE,
            "views.yaml": views(
                edit(DRIVER_HOURLY, "{name: conv_rate, dtype: float64}", "{name: conv_rate, dtype: float32}"),
                CUSTOMER_PROFILE,
                DRIVER_DAILY,
            ),
        },
        blocked=True,
    ),
    "feature_order_changed": Case(
        "features of a view reordered, nothing else",
        before=BASE,
        after={
            **BASE,
            "views.yaml": views(
                DRIVER_HOURLY,
                CUSTOMER_PROFILE,
                edit(
                    DRIVER_DAILY,
                    "  - {name: trips_today, dtype: int64}\n  - {name: rating, dtype: float32}",
                    "  - {name: rating, dtype: float32}\n  - {name: trips_today, dtype: int64}",
                ),
            ),
        },
    ),
    "online_store_switched": Case(
        "fsctl.yaml points online_store at another SQLite file, nothing else changes: a switch of store",
        before=BASE,
        after={**BASE, "fsctl.yaml": CONFIG + "online_store: {type: sqlite, path: data/online_v2.db}\n"},
        switch=True,
    ),
    "online_store_switched_to_redis": Case(
        "the online store becomes Redis (a password in the URL) while a view is added and one deleted: "
        "every online view gets a table in the new store, nothing is dropped from the old one",
        before=WITH_VEHICLE,
        after={
            **BASE,
            "fsctl.yaml": CONFIG + "online_store: {type: redis, url: 'redis://:s3cret@Cache.internal:6380/2'}\n",
            "more.yaml": edit(DRIVER_DAILY, "name: driver_daily_stats", "name: driver_weekly_stats"),
        },
        switch=True,
    ),
    "mixed_add_change_delete": Case(
        "adds, compatible and breaking changes and deletions in one plan, one of them blocked",
        before=WITH_VEHICLE,
        after={
            **BASE,
            "views.yaml": views(
                edit(DRIVER_HOURLY, "ttl: 2d", "ttl: 1d"),
                edit(CUSTOMER_PROFILE, "ttl: 30d", "ttl: 60d"),
                edit(DRIVER_DAILY, "name: driver_daily_stats", "name: driver_daily_stats_v2"),
            ),
        },
        blocked=True,
    ),
}


# --------------------------------------------------------------------------- #
# Fixtures and helpers                                                        #
# --------------------------------------------------------------------------- #


@pytest.fixture
def cli(monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]):
    """Run the fsctl CLI in-process with a pinned, non-terminal environment: (exit code, stdout, stderr)."""
    monkeypatch.setenv("COLUMNS", "100")
    monkeypatch.setenv("NO_COLOR", "1")
    monkeypatch.setenv("TZ", "UTC")
    for var in ("FSCTL_REGISTRY", "FSCTL_DEBUG", "FORCE_COLOR"):
        monkeypatch.delenv(var, raising=False)

    def invoke(*args: str) -> tuple[int, str, str]:
        capsys.readouterr()
        code = run(list(args))
        captured = capsys.readouterr()
        return code, captured.out, captured.err

    return invoke


def write_files(root: Path, files: dict[str, str]) -> None:
    for rel, text in files.items():
        path = root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")


def remove_files(root: Path, files: dict[str, str]) -> None:
    for rel in files:
        (root / rel).unlink()


@pytest.fixture
def planned_repo(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, cli):
    """A factory: apply a case's ``before`` to a fresh registry, then lay down its ``after``; returns the repo."""

    def make(case: Case) -> Path:
        repo = tmp_path / "repo"
        repo.mkdir()
        monkeypatch.chdir(repo)  # a relative --registry is relative to the working directory
        write_files(repo, case.before)
        data = fill_sources(repo)
        code, out, err = cli("apply", "--yes", "--repo", str(repo), "--registry", REGISTRY)
        assert code == 0, f"applying 'before' failed ({code}):\n{out}{err}"
        if case.materialize:  # the sample rows are at 2026-01-01 (tests/support/source_data.py)
            window = ("2025-12-01T00:00:00", "2026-01-02T00:00:00")
            code, out, err = cli("materialize", *window, "--repo", str(repo), "--registry", REGISTRY)
            assert code == 0, f"materializing 'before' failed ({code}):\n{out}{err}"
        if len(case.before) > 1:  # --registry reg.json lands in the working directory
            assert (repo / REGISTRY).is_file() and not (tmp_path / REGISTRY).exists()
        remove_files(repo, case.before)
        for path in data:  # the data follows the definitions: "after" may read other columns
            path.unlink()
        write_files(repo, case.after)
        fill_sources(repo)
        return repo

    return make


def check_golden(expected_file: Path, actual: str, about: str) -> None:
    if UPDATE:
        expected_file.parent.mkdir(parents=True, exist_ok=True)
        old = expected_file.read_text(encoding="utf-8") if expected_file.exists() else None
        expected_file.write_text(actual, encoding="utf-8")
        what = "unchanged" if old == actual else "updated"
        # Never green in update mode: a run that rewrites the expectations proves nothing.
        pytest.fail(
            f"{what} {expected_file.relative_to(CASES_DIR.parent)} (FSCTL_UPDATE_GOLDEN is set); "
            "review `git diff tests/golden/cases`, then run again without it"
        )
    assert expected_file.exists(), (
        f"{expected_file} is missing; create it with FSCTL_UPDATE_GOLDEN=1 .venv/bin/pytest tests/golden"
    )
    expected = expected_file.read_text(encoding="utf-8")
    assert actual == expected, (
        f"plan output ({about}) differs from {expected_file.relative_to(CASES_DIR.parent)}"
    )


# --------------------------------------------------------------------------- #
# Tests                                                                       #
# --------------------------------------------------------------------------- #


@pytest.mark.parametrize("fmt", list(FORMATS))
@pytest.mark.parametrize("name", list(CASES))
def test_plan_output_matches_golden(name: str, fmt: str, planned_repo, cli) -> None:
    case = CASES[name]
    repo = planned_repo(case)
    code, out, err = cli("plan", "--repo", str(repo), "--registry", REGISTRY, "--format", fmt, *case.args)
    assert code == (1 if case.blocked else 0), f"exit code {code}; stderr:\n{err}"
    assert "Traceback" not in err and "internal error" not in err, err
    assert str(repo) not in out + err, "the output must not depend on where the repo is"
    assert "s3cret" not in out + err, "a store's password never shows"
    if case.blocked:
        assert "blocked" in err
    check_golden(CASES_DIR / name / FORMATS[fmt], out, case.about)


@pytest.mark.parametrize("name", list(CASES))
def test_plan_detailed_exitcode(name: str, planned_repo, cli) -> None:
    case = CASES[name]
    repo = planned_repo(case)
    code, _, err = cli("plan", "--repo", str(repo), "--registry", REGISTRY, "--detailed-exitcode", *case.args)
    expected = 1 if case.blocked else 2 if case.changes else 0
    assert code == expected, f"--detailed-exitcode gave {code}, expected {expected}; stderr:\n{err}"


@pytest.mark.parametrize("name", list(CASES))
def test_plan_json_follows_the_design_shape(name: str, planned_repo, cli) -> None:
    """DESIGN.md section 2: the keys that scripts rely on are present and consistent with the case."""
    case = CASES[name]
    repo = planned_repo(case)
    _, out, _ = cli("plan", "--repo", str(repo), "--registry", REGISTRY, "--format", "json", *case.args)
    doc = json.loads(out)
    assert {"project", "registry_version", "changes", "blocked"} <= set(doc)
    assert doc["project"] == "golden"
    assert bool(doc["changes"] or doc["online_store_change"]) == case.changes
    assert bool(doc["online_store_change"]) == case.switch
    assert bool(doc["blocked"]) == case.blocked
    for change in doc["changes"]:
        assert {"kind", "name", "action", "fields", "breaking", "reasons"} <= set(change)
        assert change["kind"] in ("Entity", "FileSource", "SqlSource", "FeatureView", "FeatureService", "Model")
        assert change["action"] in ("add", "update", "delete")
        assert isinstance(change["breaking"], bool)
        if change["breaking"]:
            assert change["reasons"], f"{change['kind']} {change['name']} is breaking but gives no reason"
        for f in change["fields"]:
            assert {"path", "before", "after"} <= set(f)
    for blocked in doc["blocked"]:
        assert {"kind", "name", "reason", "dependents"} <= set(blocked)
        assert blocked["dependents"] or blocked["kind"] == "Registry"  # the wipe rule has no dependents
    assert bool(doc["allowed_breaking"]) == bool(case.args)


def test_every_case_has_its_expected_files_and_no_strays() -> None:
    if UPDATE:
        pytest.skip("updating")
    on_disk = {p.name for p in CASES_DIR.iterdir() if p.is_dir()} if CASES_DIR.exists() else set()
    assert on_disk == set(CASES), (
        f"stray case folders: {sorted(on_disk - set(CASES))}; missing: {sorted(set(CASES) - on_disk)}"
    )
    for name in CASES:
        assert sorted(p.name for p in (CASES_DIR / name).iterdir()) == sorted(FORMATS.values())


def test_at_least_twelve_cases() -> None:
    assert len(CASES) >= 12

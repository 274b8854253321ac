"""Data checks in the definition (issue 14): the model and its canonical form, the loader's
rules that need the feature's dtype, how a plan classifies a change of checks, and the
check outcomes a run records in the state document."""

from __future__ import annotations

import json
import textwrap
from collections.abc import Callable
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import pytest

from fsctl import FeatureView, Field
from fsctl.definitions import RowChecks
from fsctl.definitions.kinds import object_from_dict
from fsctl.diff.plan import NON_BREAKING
from fsctl.errors import DefinitionError, DefinitionErrors, Problem
from fsctl.loader import load_repo
from fsctl.state.document import CheckRecord, RunRecord, StateSnapshot, dumps, parse_document
from tests.unit.test_diff import only_change, p_paths, plan, view, world

UTC = timezone.utc


def stats_view(**kw: Any) -> FeatureView:
    kw.setdefault("entities", ["driver"])
    kw.setdefault("source", "src")
    kw.setdefault(
        "schema",
        [
            Field(name="conv_rate", dtype="float64"),
            Field(name="trips", dtype="int64"),
            Field(name="city", dtype="string"),
            Field(name="active", dtype="bool"),
            Field(name="seen", dtype="timestamp"),
        ],
    )
    return FeatureView(name="stats", **kw)


# --- the model and its canonical form ---------------------------------------------------------


def test_a_view_without_the_new_keys_keeps_its_canonical_form() -> None:
    """What a registry applied before issue 14 holds for the same definitions: no
    ``allowed``, ``row_checks`` or ``check_policy`` keys, so upgrading plans no change."""
    data = stats_view(checks={"conv_rate": {"min": 0, "max": 1}}).to_dict()
    assert data["checks"] == {"conv_rate": {"min": 0.0, "max": 1.0, "max_null_fraction": None}}
    assert "row_checks" not in data and "check_policy" not in data
    # the default policy written out, and empty row checks, are the same definitions
    same = stats_view(checks={"conv_rate": {"min": 0, "max": 1}}, check_policy="reject", row_checks={}).to_dict()
    assert same == data


def test_the_new_keys_are_stored_and_round_trip() -> None:
    made = stats_view(
        checks={"city": {"allowed": ["paris", "lyon"]}, "active": {"allowed": [True]}},
        row_checks=RowChecks(min_rows=100, unique=True),
        check_policy="warn",
    )
    data = made.to_dict()
    assert data["checks"]["city"] == {"min": None, "max": None, "max_null_fraction": None, "allowed": ["paris", "lyon"]}
    assert data["row_checks"] == {"min_rows": 100, "unique": True}
    assert data["check_policy"] == "warn"
    assert object_from_dict(data).to_dict() == data
    only_unique = stats_view(row_checks={"unique": True}).to_dict()
    assert only_unique["row_checks"] == {"unique": True}


@pytest.mark.parametrize(
    ("kw", "field", "words"),
    [
        ({"checks": {"conv_rate": {"min": 2, "max": 1}}}, "checks.conv_rate", ["min (2)", "max (1)"]),
        ({"checks": {"city": {"allowed": []}}}, "checks.city.allowed", ["at least 1"]),
        ({"checks": {"city": {"allowed": ["a", "a"]}}}, "checks.city.allowed", ["'a'", "more than once"]),
        ({"checks": {"city": {"allowed": [None]}}}, "checks.city.allowed", []),
        ({"checks": {"conv_rate": {"max": float("nan")}}}, "checks.conv_rate.max", ["finite"]),
        ({"checks": {"conv_rate": {"maximum": 1}}}, "checks.conv_rate.maximum", ["unknown field"]),
        ({"row_checks": {"min_rows": 0}}, "row_checks.min_rows", ["at least 1"]),
        ({"row_checks": {"unique": "yes"}}, "row_checks.unique", []),
        ({"check_policy": "block"}, "check_policy", ["reject", "warn"]),
    ],
)
def test_bad_checks_are_definition_errors_naming_the_field(kw: dict[str, Any], field: str, words: list[str]) -> None:
    with pytest.raises((DefinitionError, DefinitionErrors)) as info:
        stats_view(**kw)
    problems = info.value.problems if isinstance(info.value, DefinitionErrors) else [info.value.problem]
    matching = [p for p in problems if p.field and p.field.startswith(field)]
    assert matching, [p.render() for p in problems]  # a bad list item may fail each type of the union
    problem = matching[0]
    assert problem.name == "stats" and problem.file == __file__
    for word in words:
        assert word in problem.message


# --- the loader: rules that need the feature's dtype --------------------------------------------

FILES = {
    "fsctl.yaml": "project: demo\nregistry: data/registry.json\n",
    "entities.yaml": "kind: Entity\nname: driver\njoin_keys: [driver_id]\n",
    "sources.yaml": "kind: FileSource\nname: src\npath: data/stats.parquet\n",
}
VIEW = """\
kind: FeatureView
name: stats
entities: [driver]
source: src
schema:
  - {name: conv_rate, dtype: float64}
  - {name: trips, dtype: int64}
  - {name: city, dtype: string}
  - {name: active, dtype: bool}
  - {name: seen, dtype: timestamp}
"""


def load_problems(make_repo: Callable[..., Path], checks: str) -> list[Problem]:
    root = make_repo({**FILES, "views.yaml": VIEW + textwrap.dedent(checks)})
    with pytest.raises(DefinitionErrors) as info:
        load_repo(root)
    return info.value.problems


@pytest.mark.parametrize(
    ("checks", "field", "words"),
    [
        ("checks: {speed: {min: 0}}", "checks.speed", ["'speed'", "not in the schema"]),
        ("checks: {city: {min: 0}}", "checks.city.min", ["'min' checks numbers", "string"]),
        ("checks: {seen: {max: 5}}", "checks.seen.max", ["timestamp"]),
        ("checks: {trips: {allowed: [1, x, 2.5]}}", "checks.trips.allowed", ["int64", "whole numbers", "'x', 2.5"]),
        ("checks: {conv_rate: {allowed: [0.5, true]}}", "checks.conv_rate.allowed", ["float64", "True"]),
        ("checks: {city: {allowed: [paris, 75]}}", "checks.city.allowed", ["string", "75"]),
        ("checks: {active: {allowed: [1]}}", "checks.active.allowed", ["bool", "true or false"]),
        ("checks: {seen: {allowed: [x]}}", "checks.seen.allowed", ["timestamp"]),
    ],
)
def test_checks_that_do_not_fit_the_feature_name_file_view_and_field(
    make_repo: Callable[..., Path], checks: str, field: str, words: list[str]
) -> None:
    problems = load_problems(make_repo, checks + "\n")
    (problem,) = problems
    assert (problem.file, problem.kind, problem.name, problem.field) == ("views.yaml", "FeatureView", "stats", field)
    for word in words:
        assert word in problem.message, problem.render()


def test_every_problem_of_the_checks_is_reported_at_once(make_repo: Callable[..., Path]) -> None:
    problems = load_problems(
        make_repo,
        """\
        checks:
          city: {min: 0, allowed: [1]}
          trips: {allowed: [a]}
        """,
    )
    assert sorted(p.field or "" for p in problems) == ["checks.city.allowed", "checks.city.min", "checks.trips.allowed"]


def test_fitting_checks_load(make_repo: Callable[..., Path]) -> None:
    root = make_repo(
        {
            **FILES,
            "views.yaml": VIEW
            + textwrap.dedent(
                """\
                checks:
                  conv_rate: {min: 0, max: 1, max_null_fraction: 0.05, allowed: [0, 0.5, 1]}
                  trips: {min: 0, allowed: [1, 2]}
                  city: {allowed: [paris, '75'], max_null_fraction: 0}
                  active: {allowed: [true]}
                  seen: {max_null_fraction: 0.5}
                row_checks: {min_rows: 10, unique: true}
                check_policy: warn
                """
            ),
        }
    )
    view_ = load_repo(root).objects["FeatureView"]["stats"]
    assert isinstance(view_, FeatureView)
    assert view_.checks["city"].allowed == ["paris", "75"]
    assert view_.row_checks == RowChecks(min_rows=10, unique=True)
    assert view_.check_policy == "warn"


# --- plan -------------------------------------------------------------------------------------


def test_a_registry_applied_before_the_new_keys_plans_no_change() -> None:
    before = world(stats=view(checks={"conv_rate": {"min": 0}}))
    old = json.loads(json.dumps(before))  # the stored form, as an older fsctl wrote it
    assert "row_checks" not in old["FeatureView"]["stats"]
    assert plan(old, world(stats=view(checks={"conv_rate": {"min": 0}}, check_policy="reject"))).changes == ()


def test_adding_and_changing_checks_is_non_breaking_with_reasons() -> None:
    before = world(stats=view(checks={"conv_rate": {"min": 0}}))
    after = world(
        stats=view(
            checks={"conv_rate": {"min": 0, "max": 1}, "trips": {"allowed": [1, 2]}},
            row_checks={"min_rows": 5, "unique": True},
            check_policy="warn",
        )
    )
    change = only_change(plan(before, after))
    assert change.impact == NON_BREAKING
    assert p_paths(change) == ["check_policy", "checks.conv_rate.max", "checks.trips", "row_checks"]
    reasons = {f.path: f.reason for f in change.fields}
    assert all(f.impact == NON_BREAKING for f in change.fields)
    assert reasons["check_policy"] == "check policy: warn (was reject): a window failing a data check is written and reported"
    assert reasons["checks.conv_rate.max"] == "data check max of 'conv_rate': 1 (was none)"
    assert reasons["checks.trips"] == "data checks on 'trips' added: {allowed: [1, 2]}"
    assert reasons["row_checks"] == "row checks added: {min_rows: 5, unique: true}"
    back = only_change(plan(after, before))
    assert back.impact == NON_BREAKING
    back_reasons = {f.path: f.reason for f in back.fields}
    assert back_reasons["checks.trips"] == "data checks on 'trips' removed"
    assert back_reasons["check_policy"].startswith("check policy: reject (was warn)")
    assert back_reasons["row_checks"] == "row checks removed"


# --- the state document -------------------------------------------------------------------------


def run_record(**kw: Any) -> RunRecord:
    t = datetime(2026, 1, 5, tzinfo=UTC)
    base: dict[str, Any] = {
        "run_id": "r1",
        "view": "stats",
        "start": t,
        "end": t,
        "started_at": t,
        "finished_at": t,
        "status": "failed",
        "rows_read": 3,
        "keys_written": 0,
        "actor": "me",
        "store": "sqlite:data/online.db",
    }
    return RunRecord(**{**base, **kw})


def test_a_run_records_its_failed_checks_additively() -> None:
    checks = (
        CheckRecord("min", "conv_rate", 0.0, 2, 3, {"driver_id": 1001}, datetime(2026, 1, 4, 3, tzinfo=UTC)),
        CheckRecord("min_rows", None, 5, 2, 3),
    )
    record = run_record(check_policy="reject", checks=checks, error="rejected")
    stored = record.to_dict()
    assert stored["check_policy"] == "reject"
    assert stored["checks"] == [
        {
            "check": "min",
            "feature": "conv_rate",
            "limit": 0.0,
            "failed": 2,
            "rows": 3,
            "example_key": {"driver_id": 1001},
            "example_time": "2026-01-04T03:00:00Z",
        },
        {
            "check": "min_rows",
            "feature": None,
            "limit": 5,
            "failed": 2,
            "rows": 3,
            "example_key": None,
            "example_time": None,
        },
    ]
    snapshot = StateSnapshot(location="mem", project="demo", runs=[record, run_record(run_id="r2")], serial=1)
    parsed = parse_document(dumps(snapshot), "mem")
    assert parsed.runs[0] == record
    # a view without checks records neither key: the run reads as before issue 14
    assert "checks" not in parsed.runs[1].to_dict() and "check_policy" not in parsed.runs[1].to_dict()
    assert parsed.runs[1].checks is None


def test_a_malformed_check_entry_is_a_corrupt_document() -> None:
    snapshot = StateSnapshot(location="mem", project="demo", runs=[run_record(checks=())], serial=1)
    doc = json.loads(dumps(snapshot))
    doc["runs"][0]["checks"] = [{"check": "min", "failed": "2", "rows": 3}]
    from fsctl.errors import StoreError

    with pytest.raises(StoreError, match="run entry is malformed"):
        parse_document(json.dumps(doc), "mem")


# --- the Python API ---------------------------------------------------------------------------


def test_feature_store_check_and_a_rejected_materialize(tmp_path: Path) -> None:
    import pyarrow as pa
    import pyarrow.parquet as pq

    from fsctl import FeatureStore
    from tests.support.example import copy_example_repo

    repo = copy_example_repo(tmp_path / "repo")
    store = FeatureStore(repo)
    store.apply()
    day = datetime(2026, 1, 4, tzinfo=UTC)
    report = store.check("customer_profile", day, start=datetime(2026, 1, 3, tzinfo=UTC))
    assert not report.failed and report.checks is not None and report.checks.rows == 10
    loaded = store.materialize(datetime(2026, 1, 3, tzinfo=UTC), day)
    assert not loaded.failed

    path = repo / "data/customer_profile.parquet"
    table = pq.read_table(path)
    bad = dict(table.to_pylist()[0], customer_id=2007, event_timestamp=day, created=day, current_balance=-1.0)
    pq.write_table(pa.concat_tables([table, pa.Table.from_pylist([bad], schema=table.schema)]), path)
    window_end = datetime(2026, 1, 5, tzinfo=UTC)
    failed = store.check("customer_profile", window_end, start=day)
    assert failed.failed and failed.checks is not None
    (failure,) = failed.checks.failures
    assert (failure.feature, failure.check, failure.failed, failure.example_key) == (
        "current_balance",
        "min",
        1,
        {"customer_id": 2007},
    )

    result = store.materialize_incremental(window_end, views=["customer_profile"])
    (run,) = result.failed
    assert run.rejected and run.keys_written == 0
    snapshot = store.workspace.state().read()
    marks = snapshot.stores[store.workspace.project.online_store]
    assert marks["customer_profile"].watermark == day  # where the first materialize left it
    store.close()

"""Promotion gates (fsctl.diff.gates) through the pure planner: what each gate says for what the
plan service observed (watermarks, online tables, the time), and --strict-gates."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from typing import Any

import pytest

from fsctl import Field
from fsctl.definitions.graph import join_keys
from fsctl.definitions.training import view_data_fingerprint
from fsctl.diff import Plan, build_plan
from fsctl.diff.gates import Observed
from fsctl.errors import DefinitionError
from tests.unit.test_diff import Objects, model, view, world

NOW = datetime(2026, 3, 1, 12, tzinfo=timezone.utc)
STORE = "sqlite:data/online.db"


def promoted(**kw: Any) -> Objects:
    """The base world with Production moved from version 1 to 2 (and the model's owner and
    version 2's description, so the metadata gate passes)."""
    versions = [
        {"version": 1, "uri": "s3://m/1", "feature_service": "svc", "metrics": {"auc": 0.8}},
        {"version": 2, "uri": "s3://m/2", "feature_service": "svc_subset", "description": "v2", "metrics": {"auc": 0.9}},
    ]
    return world(churn=model(versions=versions, aliases={"Production": 2}, owner="ml@example.com", **kw), **{})


def fingerprint(objects: Objects, name: str = "stats") -> str:
    v = objects["FeatureView"][name]
    return view_data_fingerprint(v, objects["FileSource"][v["source"]], list(join_keys(v, objects["Entity"])))


def plan(desired: Objects, observed: Observed | None, strict: bool = False, current: Objects | None = None) -> Plan:
    return build_plan(
        "demo", "reg", 3, current if current is not None else world(), desired, observed=observed, strict_gates=strict
    )


def gate(p: Plan, name: str) -> Any:
    [found] = [g for g in p.gates if g.name == name]
    return found


def test_a_fresh_promotion_passes_every_gate() -> None:
    desired = promoted()
    seen = Observed(STORE, NOW, {"stats": (NOW - timedelta(hours=1), fingerprint(desired))}, tables=frozenset({"stats"}))
    p = plan(desired, seen)
    assert [(g.name, g.status) for g in p.gates] == [
        ("version", "pass"), ("signature", "pass"), ("metadata", "pass"), ("freshness", "pass"),
    ]  # fmt: skip
    assert not p.is_blocked
    assert gate(p, "freshness").detail == "stats materialized up to 2026-03-01T11:00:00Z (no freshness declared)"


def test_freshness_is_unknown_when_the_state_cannot_be_read_and_strict_makes_it_block() -> None:
    desired = promoted()
    seen = Observed(STORE, NOW, None, state_problem="access denied")
    p = plan(desired, seen)
    assert gate(p, "freshness").status == "unknown"
    assert "access denied" in gate(p, "freshness").detail
    assert not p.is_blocked
    strict = plan(desired, seen, strict=True)
    [blocked] = strict.blocked
    assert (blocked.kind, blocked.name) == ("Model", "churn") and "freshness (unknown)" in blocked.reason


@pytest.mark.parametrize(
    ("watermarks", "tables", "why"),
    [
        ({}, frozenset({"stats"}), "stats was never materialized into sqlite:data/online.db"),
        ({"stats": (NOW, "another")}, frozenset({"stats"}), "materialized under another data definition"),
        (None, None, None),  # filled below: a watermark but no table
    ],
)
def test_freshness_fails_without_a_matching_watermark_or_table(watermarks: Any, tables: Any, why: Any) -> None:
    desired = promoted()
    if watermarks is None:
        watermarks, tables, why = {"stats": (NOW, fingerprint(desired))}, frozenset(), "stats has no table in"
    p = plan(desired, Observed(STORE, NOW, watermarks, tables=tables))
    assert gate(p, "freshness").status == "fail" and why in gate(p, "freshness").detail
    assert "fsctl materialize-incremental NOW --views stats" in gate(p, "freshness").fix
    assert "--allow-breaking Model/churn --reason TEXT" in gate(p, "freshness").fix
    assert p.is_blocked


def test_freshness_compares_the_watermark_with_the_views_freshness() -> None:
    desired = promoted()
    desired["FeatureView"]["stats"] = view(freshness="2h")
    current = world(stats=view(freshness="2h"))
    old = {"stats": (NOW - timedelta(hours=3), fingerprint(desired))}
    p = plan(desired, Observed(STORE, NOW, old, tables=frozenset({"stats"})), current=current)
    assert gate(p, "freshness").status == "fail"
    assert "watermark 2026-03-01T09:00:00Z is 3h old, over its freshness 2h" in gate(p, "freshness").detail
    recent = {"stats": (NOW - timedelta(hours=1), fingerprint(desired))}
    p = plan(desired, Observed(STORE, NOW, recent, tables=frozenset({"stats"})), current=current)
    assert gate(p, "freshness").status == "pass"


def test_freshness_judges_the_newest_online_event_not_the_watermark() -> None:
    """The watermark moves with every run, even when the source stopped; the newest event the
    runs wrote does not: a view whose data is older than its freshness fails, as in status."""
    desired = promoted()
    desired["FeatureView"]["stats"] = view(freshness="2h")
    current = world(stats=view(freshness="2h"))
    fresh_watermark = {"stats": (NOW, fingerprint(desired))}
    tables = frozenset({"stats"})
    stopped = {"stats": (NOW - timedelta(hours=5), "runs")}
    p = plan(desired, Observed(STORE, NOW, fresh_watermark, tables=tables, newest=stopped), current=current)
    assert gate(p, "freshness").status == "fail"
    assert "stats newest online event 2026-03-01T07:00:00Z is 5h old, over its freshness 2h" in gate(p, "freshness").detail
    assert "compared: the watermark" not in gate(p, "freshness").detail
    live = {"stats": (NOW - timedelta(minutes=30), "pushes")}
    p = plan(desired, Observed(STORE, NOW, fresh_watermark, tables=tables, newest=live), current=current)
    assert gate(p, "freshness").status == "pass"
    assert "newest online event 2026-03-01T11:30:00Z, within its freshness 2h" in gate(p, "freshness").detail
    empty = {"stats": (None, None)}  # runs found no rows in their windows
    p = plan(desired, Observed(STORE, NOW, fresh_watermark, tables=tables, newest=empty), current=current)
    assert gate(p, "freshness").status == "fail" and "stats has no rows in" in gate(p, "freshness").detail
    legacy = {"stats": (NOW - timedelta(hours=1), "watermark")}  # runs of an fsctl that kept no newest event
    p = plan(desired, Observed(STORE, NOW, fresh_watermark, tables=tables, newest=legacy), current=current)
    assert gate(p, "freshness").status == "pass" and "compared: the watermark" in gate(p, "freshness").detail


def test_freshness_is_unknown_when_the_plan_changes_the_data_definition_of_a_view_read() -> None:
    """The state's watermark was written under the registry's definition of the view; the plan
    adds a feature to it (a new data fingerprint), so nothing can be fresh before the apply:
    materializing now would write the old fingerprint again."""
    current = world()
    desired = promoted()
    schema = [Field(name="conv_rate", dtype="float64"), Field(name="trips", dtype="int64"), Field(name="km", dtype="float64")]
    desired["FeatureView"]["stats"] = view(schema=schema)
    assert fingerprint(desired) != fingerprint(current)
    seen = Observed(STORE, NOW, {"stats": (NOW, fingerprint(current))}, tables=frozenset({"stats"}))
    p = plan(desired, seen, current=current)
    found = gate(p, "freshness")
    assert (found.status, found.detail) == (
        "unknown",
        "stats is changed by this plan (source, keys or dtypes): nothing can be materialized under its new "
        "definition before the apply",
    )
    assert not p.is_blocked
    assert plan(desired, seen, strict=True, current=current).is_blocked
    # unchanged, the same watermark passes: it was written under the registry's definition
    assert gate(plan(promoted(), seen, current=current), "freshness").status == "pass"


def test_metric_gates_and_overriding_a_failed_gate() -> None:
    desired = promoted(gates={"min_metrics": {"auc": 0.95}, "beat_current": True})
    seen = Observed(STORE, NOW, {"stats": (NOW, fingerprint(desired))}, tables=frozenset({"stats"}))
    current = world(churn=model(versions=[
        {"version": 1, "uri": "s3://m/1", "feature_service": "svc", "metrics": {"auc": 0.93}},
        {"version": 2, "uri": "s3://m/2", "feature_service": "svc_subset"},
    ]))  # fmt: skip
    p = plan(desired, seen, current=current)
    assert (gate(p, "min_metrics").status, gate(p, "min_metrics").detail) == ("fail", "auc 0.9 < 0.95")
    assert (gate(p, "beat_current").status, gate(p, "beat_current").detail) == (
        "fail", "auc 0.9 does not beat 0.93 of version 1",
    )  # fmt: skip
    from fsctl.diff.plan import Override

    allowed = build_plan(
        "demo", "reg", 3, current, desired, observed=seen, overrides=(Override("Model/churn", "AUC drop accepted"),)
    )
    assert not allowed.is_blocked and [b.name for b in allowed.allowed] == ["churn"]


def test_a_model_blocked_by_a_change_and_by_its_gates_is_one_entry_and_the_error_shows_each_gate_once() -> None:
    """churn's Production moves to version 2, which lacks the metadata the gate requires, and
    version 1's uri changes (breaking, Production is on it now); zeta, deleted, has a protected
    alias. The error lists churn once, its failed gate under it, before zeta."""
    from fsctl.errors import PlanBlockedError
    from fsctl.services.plan import raise_if_blocked

    versions = [
        {"version": 1, "uri": "s3://m/1-retrained", "feature_service": "svc"},
        {"version": 2, "uri": "s3://m/2", "feature_service": "svc_subset"},
    ]
    current = world(zeta=model("zeta", aliases={"Production": 1}))
    desired = world(churn=model(versions=versions, aliases={"Production": 2}))
    p = plan(desired, None, current=current)
    assert [(b.kind, b.name) for b in p.blocked] == [("Model", "churn"), ("Model", "zeta")]
    assert p.summary["blocked"] == 2
    churn = p.blocked[0]
    assert churn.gates == tuple(g for g in p.gates if g.status == "fail")
    assert [g.name for g in churn.gates] == ["metadata"]
    assert churn.reason.endswith("; promotion of version 2 to Production fails its gates: metadata (fail)")
    assert "protected alias Production of Model churn" in churn.dependents
    with pytest.raises(PlanBlockedError) as caught:
        raise_if_blocked(p)
    lines = caught.value.message.splitlines()
    gate_lines = [i for i, line in enumerate(lines) if line.lstrip().startswith("gate ")]
    starts = [i for i, line in enumerate(lines) if line.startswith("  Model ")]
    assert len(gate_lines) == 1 and starts[0] < gate_lines[0] < starts[1]
    assert lines[gate_lines[0]].startswith("    gate metadata of churn/2 -> Production: missing owner, description")


def test_beat_current_needs_min_metrics() -> None:
    with pytest.raises((DefinitionError, ValueError)):
        model(gates={"beat_current": True})


def test_no_gates_without_a_protected_alias_landing_and_the_canonical_form_omits_unset_gates() -> None:
    p = plan(world(churn=model(aliases={"Production": 1, "Challenger": 1})), None)
    assert p.gates == ()
    assert "gates" not in model()


class _Versions:
    """A registry reader holding past versions' documents (what ``registry diff`` reads)."""

    location = "memory://past"

    def __init__(self, *documents: dict[str, Any]) -> None:
        self.documents = documents

    def read_version(self, version: int) -> dict[str, Any]:
        return self.documents[version - 1]


def test_a_registry_diff_of_a_past_promotion_runs_no_gates_or_guard_rails() -> None:
    """A past move of Production, to a version without the metadata the gate asks for now,
    is history: the diff shows it, blocked by nothing."""
    from pathlib import Path

    from fsctl.services.browse import diff_versions
    from fsctl.services.project import Project

    before, after = world(), world(churn=model(aliases={"Production": 2}))
    registry = _Versions({"objects": before}, {"objects": after})
    project = Project("demo", Path("."), "memory://past", STORE)
    result = diff_versions(project, registry, 1, 2)  # type: ignore[arg-type]
    assert [(c.kind, c.name) for c in result.plan.changes] == [("Model", "churn")]
    assert result.plan.gates == () and result.plan.blocked == ()

"""The training-time snapshot (issue 12, item 2) and the plan's classification of model
version changes: the planner records a snapshot when a version first lands, keeps it after,
takes one silently from the registry for versions an older fsctl applied, and marks a change
that no longer gives a published version what it was trained on as breaking, naming it."""

from __future__ import annotations

import copy
from typing import Any

import pytest

from fsctl import Entity, FeatureService, FeatureView, Field, FileSource, Model
from fsctl.definitions.training import SNAPSHOT_KEY, service_output, take_snapshot
from fsctl.diff import Plan, build_plan
from fsctl.diff.plan import BREAKING, METADATA, NON_BREAKING

Objects = dict[str, dict[str, dict[str, Any]]]


def world(
    conv_dtype: str = "float64",
    versions: list[dict[str, Any]] | None = None,
    aliases: dict[str, int] | None = None,
    path: str = "data/driver.parquet",
    subset: list[str] | None = None,
) -> Objects:
    versions = versions or [
        {"version": 1, "uri": "s3://m/1", "feature_service": "svc"},
        {"version": 2, "uri": "s3://m/2", "feature_service": "svc_subset"},
    ]
    objects = [
        Entity(name="driver", join_keys=["driver_id"]),
        FileSource(name="src", path=path),
        FeatureView(
            name="stats",
            entities=["driver"],
            source="src",
            ttl="2d",
            schema=[Field(name="conv_rate", dtype=conv_dtype), Field(name="trips", dtype="int64")],
        ),
        FeatureService(name="svc", features=["stats"]),
        FeatureService(name="svc_subset", features=[{"view": "stats", "features": subset or ["trips"]}]),
        Model(name="churn", versions=versions, aliases={"Production": 1} if aliases is None else aliases),
    ]
    out: Objects = {}
    for obj in objects:
        doc = obj.to_dict()
        out.setdefault(doc["kind"], {})[doc["name"]] = doc
    return out


def plan(current: Objects, desired: Objects, version: int = 3) -> Plan:
    return build_plan("demo", "data/registry.json", version, current, desired, guard_rails=False)


def applied(desired: Objects, version: int = 3) -> Objects:
    """The registry after applying ``desired`` on an empty registry (snapshots recorded)."""
    return plan({}, desired, version).desired


def snapshots(objects: Objects) -> dict[int, dict[str, Any]]:
    return {v["version"]: v.get(SNAPSHOT_KEY) for v in objects["Model"]["churn"]["versions"]}


def strip_snapshots(objects: Objects) -> Objects:
    out = copy.deepcopy(objects)
    for model in out.get("Model", {}).values():
        for v in model["versions"]:
            v.pop(SNAPSHOT_KEY, None)
    return out


# --- recording -------------------------------------------------------------------------


def test_a_new_version_records_its_services_resolved_output() -> None:
    registry = applied(world(), version=4)
    first = snapshots(registry)[1]
    assert first["registry_version"] == 5  # the version the apply writes
    assert first["feature_service"] == "svc"
    assert first["features"] == [
        {"ref": "stats:conv_rate", "name": "conv_rate", "dtype": "float64"},
        {"ref": "stats:trips", "name": "trips", "dtype": "int64"},
    ]
    assert len(first["fingerprint"]) == 64
    assert snapshots(registry)[2]["features"] == [{"ref": "stats:trips", "name": "trips", "dtype": "int64"}]


def test_the_fingerprint_follows_what_produces_the_features_read() -> None:
    base = take_snapshot(world(), "svc_subset", 1)
    assert base is not None
    moved = take_snapshot(world(path="data/driver_v2.parquet"), "svc_subset", 1)
    retyped_unread = take_snapshot(world(conv_dtype="float32"), "svc_subset", 1)  # conv_rate is not read
    retyped_read = take_snapshot(world(conv_dtype="float32"), "svc", 1)
    assert moved is not None and moved["fingerprint"] != base["fingerprint"]
    assert retyped_unread is not None and retyped_unread["fingerprint"] == base["fingerprint"]
    assert retyped_read != take_snapshot(world(), "svc", 1)


def test_a_published_version_keeps_its_snapshot() -> None:
    registry = applied(world(), version=0)
    later = plan(registry, world(versions=None, aliases={"Production": 1}), version=1)
    assert snapshots(later.desired) == snapshots(registry)
    assert snapshots(later.desired)[1]["registry_version"] == 1


def test_an_added_version_records_as_of_the_apply_and_the_others_keep_theirs() -> None:
    registry = applied(world(), version=0)
    more = world(
        versions=[
            {"version": 1, "uri": "s3://m/1", "feature_service": "svc"},
            {"version": 2, "uri": "s3://m/2", "feature_service": "svc_subset"},
            {"version": 3, "uri": "s3://m/3", "feature_service": "svc"},
        ]
    )
    p = plan(registry, more, version=6)
    recorded = snapshots(p.desired)
    assert [recorded[n]["registry_version"] for n in (1, 2, 3)] == [1, 1, 7]
    # the snapshot is registry-side: the added version's field change does not show it
    [field] = p.changes[0].fields
    assert field.path == "versions.3" and SNAPSHOT_KEY not in field.after


def test_an_older_registry_without_snapshots_plans_no_change_and_gets_them_silently() -> None:
    old = strip_snapshots(applied(world(), version=0))
    p = plan(old, world(), version=1)
    assert not p.has_changes, [c.to_dict() for c in p.changes]
    # what an apply with other changes would write: snapshots of the registry as it is
    assert snapshots(p.desired)[1]["registry_version"] == 1
    assert snapshots(p.desired)[1]["features"][0] == {"ref": "stats:conv_rate", "name": "conv_rate", "dtype": "float64"}


def test_an_older_registry_is_snapshotted_as_it_was_served_not_as_the_plan_changes_it() -> None:
    old = strip_snapshots(applied(world(), version=0))
    p = plan(old, world(conv_dtype="float32"), version=1)
    assert snapshots(p.desired)[1]["features"][0]["dtype"] == "float64"
    [change] = p.changes
    assert [g.reason for g in change.breaks] == [
        "churn v1 was trained on stats:conv_rate float64 but would get float32"
    ]


# --- what breaks a version -------------------------------------------------------------


def test_a_dtype_change_is_breaking_for_each_version_trained_on_it_and_names_it() -> None:
    registry = applied(world(), version=0)
    [change] = plan(registry, world(conv_dtype="float32"), version=1).changes
    assert change.kind == "FeatureView" and change.impact == BREAKING
    assert [(g.model, g.version, g.ref, g.trained, g.now) for g in change.breaks] == [
        ("churn", 1, "stats:conv_rate", "float64", "float32")
    ]  # v2 reads only trips
    assert "churn v1 was trained on stats:conv_rate float64 but would get float32" in change.reasons
    assert change.to_dict()["breaks_model_versions"] == [
        {
            "model": "churn",
            "version": 1,
            "feature": "stats:conv_rate",
            "trained": "float64",
            "now": "float32",
            "reason": "churn v1 was trained on stats:conv_rate float64 but would get float32",
        }
    ]


def test_a_service_dropping_a_feature_breaks_the_version_trained_on_it() -> None:
    registry = applied(world(subset=["trips", "conv_rate"]), version=0)
    [change] = plan(registry, world(subset=["trips"]), version=1).changes
    assert change.kind == "FeatureService" and change.name == "svc_subset"
    assert [g.reason for g in change.breaks] == ["churn v2 was trained on stats:conv_rate float64, which it would no longer get"]


def test_rebinding_a_version_to_a_service_without_its_features_is_put_on_the_model() -> None:
    registry = applied(world(), version=0)
    rebound = world(
        versions=[
            {"version": 1, "uri": "s3://m/1", "feature_service": "svc_subset"},
            {"version": 2, "uri": "s3://m/2", "feature_service": "svc_subset"},
        ]
    )
    [change] = plan(registry, rebound, version=1).changes
    assert change.kind == "Model"
    assert [g.ref for g in change.breaks] == ["stats:conv_rate"]
    assert "version 1 changed feature_service: a published version must not change" in change.reasons


def test_a_gap_already_in_the_registry_is_not_this_plans() -> None:
    registry = applied(world(), version=0)
    forced = plan(registry, world(conv_dtype="float32"), version=1).desired  # applied with --allow-breaking
    p = plan(forced, {**world(conv_dtype="float32")}, version=2)
    assert not p.has_changes
    assert snapshots(p.desired)[1]["features"][0]["dtype"] == "float64"  # still what v1 was trained on


def test_an_archived_version_is_not_held_to_its_snapshot() -> None:
    versions = [
        {"version": 1, "uri": "s3://m/1", "feature_service": "svc", "archived": True},
        {"version": 2, "uri": "s3://m/2", "feature_service": "svc_subset"},
    ]
    registry = applied(world(versions=versions, aliases={}), version=0)
    [change] = plan(registry, world(conv_dtype="float32", versions=versions, aliases={}), version=1).changes
    assert change.breaks == ()


def test_snapshots_are_not_compared_for_a_feature_added() -> None:
    registry = applied(world(), version=0)
    grown = world()
    grown["FeatureView"]["stats"]["schema"].append({"name": "rating", "dtype": "float32", "description": "", "tags": {}})
    [change] = plan(registry, grown, version=1).changes
    assert change.impact == NON_BREAKING and change.breaks == ()


# --- classification of a published version's fields --------------------------------------


def with_version_1(**fields: Any) -> Objects:
    return world(
        versions=[
            {"version": 1, "uri": "s3://m/1", "feature_service": "svc", **fields},
            {"version": 2, "uri": "s3://m/2", "feature_service": "svc_subset"},
        ]
    )


SIGNATURE = {"inputs": {"conv_rate": "float64"}, "output": {"p": "float64"}}


@pytest.mark.parametrize(
    ("before", "after", "impact"),
    [
        ({}, {"metrics": {"auc": 0.91}}, NON_BREAKING),
        ({"metrics": {"auc": 0.91}}, {"metrics": {"auc": 0.92}}, NON_BREAKING),
        ({}, {"description": "first", "tags": {"trainer": "xgb"}}, METADATA),
        ({}, {"archived": True}, NON_BREAKING),
        ({"archived": True}, {}, NON_BREAKING),
        ({}, {"uri": "s3://m/1b"}, BREAKING),
        ({}, {"signature": SIGNATURE}, BREAKING),
        ({"signature": SIGNATURE}, {"signature": {**SIGNATURE, "output": {"q": "float64"}}}, BREAKING),
    ],
)
def test_what_a_change_to_a_published_version_means(before: dict[str, Any], after: dict[str, Any], impact: str) -> None:
    aliases = {} if "archived" in before or "archived" in after else None
    registry = applied(
        world(versions=with_version_1(**before)["Model"]["churn"]["versions"], aliases=aliases), version=0
    )
    desired = world(versions=with_version_1(**after)["Model"]["churn"]["versions"], aliases=aliases)
    [change] = plan(registry, desired, version=1).changes
    assert change.impact == impact, [f.to_dict() for f in change.fields]


def test_traffic_changes_are_not_breaking() -> None:
    registry = applied(world(aliases={"Production": 1, "Challenger": 2}), version=0)
    desired = world(aliases={"Production": 1, "Challenger": 2})
    desired["Model"]["churn"]["traffic"] = {"Production": 90, "Challenger": 10}
    [change] = plan(registry, desired, version=1).changes
    assert change.impact == NON_BREAKING and change.fields[0].reason == "traffic split changed"


def test_service_output_resolves_whole_views_and_subsets_in_order() -> None:
    objects = world(subset=["trips", "conv_rate"])
    assert [o.ref for o in service_output(objects, "svc_subset") or []] == ["stats:trips", "stats:conv_rate"]
    assert service_output(objects, "missing") is None

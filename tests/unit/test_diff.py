"""Planning: build_plan is pure; each change is classified by the documented rules; breaking
changes with remaining dependents are blocked, naming every dependent; output is deterministic."""

from __future__ import annotations

import copy
import json
import random
from typing import Any

import pytest

from fsctl import Entity, FeatureService, FeatureView, Field, FileSource, Model
from fsctl.diff import Plan, build_plan
from fsctl.diff.plan import BREAKING, METADATA, NON_BREAKING, Override

Objects = dict[str, dict[str, dict[str, Any]]]


# --- a small world -----------------------------------------------------------------------


def entity(name: str = "driver", **kw: Any) -> dict[str, Any]:
    kw.setdefault("join_keys", ["driver_id"])
    return Entity(name=name, **kw).to_dict()


def source(name: str = "src", **kw: Any) -> dict[str, Any]:
    kw.setdefault("path", "data/driver.parquet")
    return FileSource(name=name, **kw).to_dict()


def view(name: str = "stats", **kw: Any) -> dict[str, Any]:
    kw.setdefault("entities", ["driver"])
    kw.setdefault("source", "src")
    kw.setdefault("ttl", "2d")
    kw.setdefault("schema", [Field(name="conv_rate", dtype="float64"), Field(name="trips", dtype="int64")])
    return FeatureView(name=name, **kw).to_dict()


def service(name: str, *features: Any, **kw: Any) -> dict[str, Any]:
    return FeatureService(name=name, features=list(features), **kw).to_dict()


def model(name: str = "churn", versions: Any = None, aliases: Any = None, **kw: Any) -> dict[str, Any]:
    if versions is None:
        versions = [
            {"version": 1, "uri": "s3://m/1", "feature_service": "svc"},
            {"version": 2, "uri": "s3://m/2", "feature_service": "svc_subset"},
        ]
    if aliases is None:
        aliases = {"Production": 1, "Challenger": 2}
    return Model(name=name, versions=versions, aliases=aliases, **kw).to_dict()


def state(*objects: dict[str, Any]) -> Objects:
    out: Objects = {}
    for obj in objects:
        out.setdefault(obj["kind"], {})[obj["name"]] = obj
    return out


def world(**replace: dict[str, Any] | None) -> Objects:
    """The base world; ``replace={name: object or None}`` swaps or drops objects by name."""
    objects = {
        "driver": entity(),
        "src": source(),
        "stats": view(),
        "svc": service("svc", "stats"),
        "svc_subset": service("svc_subset", {"view": "stats", "features": ["conv_rate"]}),
        "churn": model(),
    }
    for name, obj in replace.items():
        if obj is None:
            objects.pop(name, None)
        else:
            objects[name] = obj
    return state(*objects.values())


def plan(current: Objects, desired: Objects, version: int = 3, guard_rails: bool = False) -> Plan:
    """The plan with the dependency rule only; the guard rails (wipes, protected aliases)
    have their own tests below, with ``guard_rails=True``."""
    return build_plan("demo", "data/registry.json", version, current, desired, guard_rails=guard_rails)


def only_change(p: Plan) -> Any:
    assert len(p.changes) == 1, [c.to_dict() for c in p.changes]
    return p.changes[0]


def blocked_of(p: Plan, kind: str, name: str) -> Any:
    matches = [b for b in p.blocked if (b.kind, b.name) == (kind, name)]
    return matches[0] if matches else None


# --- basics ------------------------------------------------------------------------------


def test_no_changes() -> None:
    p = plan(world(), world())
    assert p.changes == ()
    assert p.blocked == ()
    assert not p.has_changes and not p.is_blocked
    assert p.summary == {"add": 0, "update": 0, "delete": 0, "breaking": 0, "blocked": 0, "allowed_breaking": 0}


def test_first_plan_adds_everything_in_kind_order() -> None:
    p = plan({}, world(), version=0)
    assert [(c.kind, c.name, c.action) for c in p.changes] == [
        ("Entity", "driver", "add"),
        ("FileSource", "src", "add"),
        ("FeatureView", "stats", "add"),
        ("FeatureService", "svc", "add"),
        ("FeatureService", "svc_subset", "add"),
        ("Model", "churn", "add"),
    ]
    assert not any(c.breaking for c in p.changes)
    assert p.blocked == ()
    assert p.registry_version == 0
    # what apply writes: the definitions, plus each model version's training snapshot,
    # recorded as of the version this apply writes (1)
    versions = p.desired["Model"]["churn"]["versions"]
    assert [v.pop("training_snapshot")["registry_version"] for v in copy.deepcopy(versions)] == [1, 1]
    stripped = copy.deepcopy(p.desired)
    for v in stripped["Model"]["churn"]["versions"]:
        del v["training_snapshot"]
    assert stripped == world()


def test_build_plan_does_not_mutate_its_inputs() -> None:
    before, after = world(), world(stats=view(ttl="1d"), svc=None, churn=None)
    snapshot = copy.deepcopy((before, after))
    plan(before, after)
    assert (before, after) == snapshot


def test_plan_json_has_the_documented_shape() -> None:
    p = plan(
        world(),
        world(
            stats=view(schema=[Field(name="conv_rate", dtype="int64"), Field(name="trips", dtype="int64")])
        ),
    )
    data = json.loads(json.dumps(p.to_dict()))
    assert {"project", "registry_version", "changes", "blocked"} <= set(data)
    assert (data["project"], data["registry_version"]) == ("demo", 3)
    change = data["changes"][0]
    assert {"kind", "name", "action", "fields", "breaking", "reasons"} <= set(change)
    assert len(change["fields"]) == 1
    field = change["fields"][0]  # extra keys may be added; these stay
    assert {k: field[k] for k in ("path", "before", "after")} == {
        "path": "schema.conv_rate.dtype",
        "before": "float64",
        "after": "int64",
    }
    assert change["breaking"] is True and change["action"] == "update"
    assert {"kind", "name", "reason", "dependents"} <= set(data["blocked"][0])


# --- entities and sources ----------------------------------------------------------------


def test_entity_added_and_deleted() -> None:
    p = plan(
        world(),
        state(
            *world().get("Entity", {}).values(),
            entity("rider", join_keys=["rider_id"]),
            *[o for k, objs in world().items() if k != "Entity" for o in objs.values()],
        ),
    )
    change = only_change(p)
    assert (change.kind, change.name, change.action, change.breaking) == ("Entity", "rider", "add", False)
    back = plan(p.desired, world())
    change = only_change(back)
    assert (change.action, change.breaking) == ("delete", True)
    assert "deleted" in change.reasons[0]
    assert back.blocked == ()  # nothing that remains uses it


def test_join_key_change_is_breaking_and_blocked_by_every_dependent() -> None:
    p = plan(world(), world(driver=entity(join_keys=["driver_id", "region"])))
    change = only_change(p)
    assert (change.kind, change.action, change.impact) == ("Entity", "update", BREAKING)
    assert change.fields[0].path == "join_keys"
    assert any("join keys" in r for r in change.reasons)
    blocked = blocked_of(p, "Entity", "driver")
    assert blocked is not None
    assert list(blocked.dependents) == [
        "FeatureView stats",
        "FeatureService svc",
        "FeatureService svc_subset",
        "Model churn v1 (Production)",
        "Model churn v2 (Challenger)",
    ]


def test_source_location_and_format_changes_change_the_data_so_they_are_breaking() -> None:
    p = plan(world(), world(src=source(path="s3://bucket/driver/")))
    change = only_change(p)
    assert (change.impact, change.fields[0].path) == (BREAKING, "path")
    assert "views on it read other data" in change.fields[0].reason
    assert [b.dependents[0] for b in p.blocked] == ["FeatureView stats"]
    change = only_change(plan(world(), world(src=source(format="csv"))))
    assert change.impact == BREAKING


@pytest.mark.parametrize(
    "changed",
    [
        {"timestamp_field": "ts"},
        {"created_timestamp_field": "created"},
        {"field_mapping": {"DriverID": "driver_id"}},
    ],
)
def test_source_column_changes_are_breaking_and_blocked(changed: dict[str, Any]) -> None:
    p = plan(world(), world(src=source(**changed)))
    change = only_change(p)
    assert change.impact == BREAKING
    blocked = blocked_of(p, "FileSource", "src")
    assert blocked is not None and blocked.dependents[0] == "FeatureView stats"


def test_deleting_a_source_still_used_is_blocked() -> None:
    p = plan(world(), world(src=None))
    blocked = blocked_of(p, "FileSource", "src")
    assert blocked is not None
    assert "FeatureView stats" in blocked.dependents


# --- feature views -----------------------------------------------------------------------


def _schema(*pairs: tuple[str, str]) -> list[Field]:
    return [Field(name=n, dtype=d) for n, d in pairs]


def test_feature_added_is_not_breaking() -> None:
    after = world(
        stats=view(schema=_schema(("conv_rate", "float64"), ("trips", "int64"), ("acc", "float32")))
    )
    p = plan(world(), after)
    change = only_change(p)
    assert [(f.path, f.before, f.impact) for f in change.fields] == [("schema.acc", None, NON_BREAKING)]
    assert change.fields[0].after["dtype"] == "float32"
    assert not change.breaking and p.blocked == ()


def test_feature_removed_is_breaking_and_blocked_by_services_that_select_it() -> None:
    p = plan(world(), world(stats=view(schema=_schema(("conv_rate", "float64")))))
    change = only_change(p)
    assert [(f.path, f.after, f.impact) for f in change.fields] == [("schema.trips", None, BREAKING)]
    assert any("trips" in r for r in change.reasons)
    blocked = blocked_of(p, "FeatureView", "stats")
    # svc takes the whole view; svc_subset only selects conv_rate and is not affected.
    assert list(blocked.dependents) == ["FeatureService svc", "Model churn v1 (Production)"]


def test_feature_named_like_a_metadata_key_removed_is_still_breaking() -> None:
    # "description", "owner" and "tags" are valid feature names; removing such a feature is a
    # schema change, not a metadata-only change.
    before = world(stats=view(schema=_schema(("conv_rate", "float64"), ("owner", "string"))))
    after = world(stats=view(schema=_schema(("conv_rate", "float64"))))
    change = only_change(plan(before, after))
    assert change.fields[0].path == "schema.owner"
    assert change.impact == BREAKING


def test_service_over_a_view_named_like_a_metadata_key_removed_is_breaking() -> None:
    before = world(svc=service("svc", "stats", "tags"))
    after = world()
    change = only_change(plan(before, after))
    assert change.fields[0].path == "features.tags"
    assert change.impact == BREAKING


def test_dtype_change_is_breaking_and_blocked_by_every_service_using_the_feature() -> None:
    p = plan(world(), world(stats=view(schema=_schema(("conv_rate", "float32"), ("trips", "int64")))))
    change = only_change(p)
    field = change.fields[0]
    assert (field.path, field.before, field.after, field.impact) == (
        "schema.conv_rate.dtype",
        "float64",
        "float32",
        BREAKING,
    )
    assert any("float64" in r and "float32" in r for r in change.reasons)
    assert list(blocked_of(p, "FeatureView", "stats").dependents) == [
        "FeatureService svc",
        "FeatureService svc_subset",
        "Model churn v1 (Production)",
        "Model churn v2 (Challenger)",
    ]


def test_feature_order_change_is_a_non_breaking_change() -> None:
    p = plan(world(), world(stats=view(schema=_schema(("trips", "int64"), ("conv_rate", "float64")))))
    change = only_change(p)
    assert change.impact == NON_BREAKING
    assert [f.path for f in change.fields] == ["schema_order"]


@pytest.mark.parametrize(
    ("before", "after", "impact"),
    [
        ("2d", "1d", BREAKING),  # shortened: older values become null
        ("1d", "2d", NON_BREAKING),  # lengthened
        ("2d", 0, NON_BREAKING),  # 0 = no limit: lengthened to infinity
        (0, "2d", BREAKING),  # from no limit to a limit: shortened
        ("2d", "48h", None),  # the same duration written differently: no change
    ],
)
def test_ttl_changes(before: Any, after: Any, impact: str | None) -> None:
    p = plan(world(stats=view(ttl=before)), world(stats=view(ttl=after)))
    if impact is None:
        assert p.changes == ()
        return
    change = only_change(p)
    assert change.fields[0].path == "ttl"
    assert change.impact == impact
    if impact == BREAKING:
        assert blocked_of(p, "FeatureView", "stats") is not None
    else:
        assert p.blocked == ()


def test_ttl_reason_says_no_limit_for_zero() -> None:
    change = only_change(plan(world(stats=view(ttl=0)), world(stats=view(ttl="2d"))))
    assert any("no limit" in r for r in change.reasons)


def test_view_source_change_is_breaking() -> None:
    before = world(src2=source("src2", path="data/other.parquet"))
    after = world(src2=source("src2", path="data/other.parquet"), stats=view(source="src2"))
    p = plan(before, after)
    change = only_change(p)
    assert (change.fields[0].path, change.fields[0].before, change.fields[0].after) == (
        "source",
        "src",
        "src2",
    )
    assert change.impact == BREAKING
    assert blocked_of(p, "FeatureView", "stats").dependents[0] == "FeatureService svc"


def test_view_entities_change_is_breaking() -> None:
    before = world(rider=entity("rider", join_keys=["rider_id"]))
    after = world(rider=entity("rider", join_keys=["rider_id"]), stats=view(entities=["driver", "rider"]))
    assert only_change(plan(before, after)).impact == BREAKING


def test_turning_online_off_is_breaking_and_on_is_not() -> None:
    assert only_change(plan(world(), world(stats=view(online=False)))).impact == BREAKING
    assert only_change(plan(world(stats=view(online=False)), world())).impact == NON_BREAKING


def test_freshness_and_checks_are_not_breaking() -> None:
    after = world(stats=view(freshness="2h", checks={"conv_rate": {"min": 0, "max": 1}}))
    change = only_change(plan(world(), after))
    assert change.impact == NON_BREAKING
    assert p_paths(change) == ["checks.conv_rate", "freshness"]


def p_paths(change: Any) -> list[str]:
    return [f.path for f in change.fields]


# --- metadata-only -----------------------------------------------------------------------


@pytest.mark.parametrize(
    "after",
    [
        world(driver=entity(description="A driver")),
        world(src=source(owner="data-eng")),
        world(stats=view(tags={"team": "ranking"})),
        world(
            stats=view(
                schema=[
                    Field(name="conv_rate", dtype="float64", description="Share accepted"),
                    Field(name="trips", dtype="int64"),
                ]
            )
        ),
        world(
            stats=view(
                schema=[
                    Field(name="conv_rate", dtype="float64", tags={"pii": "no"}),
                    Field(name="trips", dtype="int64"),
                ]
            )
        ),
        world(svc=service("svc", "stats", description="v1 features")),
        world(churn=model(owner="ml-team")),
        world(
            churn=model(
                versions=[
                    {"version": 1, "uri": "s3://m/1", "feature_service": "svc", "description": "first"},
                    {"version": 2, "uri": "s3://m/2", "feature_service": "svc_subset"},
                ]
            )
        ),
    ],
    ids=[
        "entity",
        "source",
        "view-tags",
        "feature-description",
        "feature-tags",
        "service",
        "model",
        "model-version-description",
    ],
)
def test_metadata_only_changes(after: Objects) -> None:
    p = plan(world(), after)
    change = only_change(p)
    assert change.impact == METADATA
    assert all(f.impact == METADATA for f in change.fields)
    assert not change.breaking
    assert change.reasons == []
    assert p.blocked == ()


def test_update_impact_is_the_most_severe_field() -> None:
    after = world(stats=view(ttl="1d", description="new", freshness="1h"))
    change = only_change(plan(world(), after))
    assert {f.impact for f in change.fields} == {BREAKING, METADATA, NON_BREAKING}
    assert change.impact == BREAKING
    assert p_paths(change) == sorted(p_paths(change))


# --- feature services --------------------------------------------------------------------


def test_service_subset_grow_is_not_breaking() -> None:
    after = world(svc_subset=service("svc_subset", {"view": "stats", "features": ["conv_rate", "trips"]}))
    p = plan(world(), after)
    change = only_change(p)
    assert (change.fields[0].path, change.impact) == ("features.stats", NON_BREAKING)
    assert p.blocked == ()


def test_service_subset_shrink_read_only_by_an_unprotected_version_is_a_warning_not_a_block() -> None:
    before = world(svc_subset=service("svc_subset", {"view": "stats", "features": ["conv_rate", "trips"]}))
    p = plan(before, world())
    change = only_change(p)
    assert change.impact == BREAKING
    assert any("trips" in r for r in change.reasons)
    assert blocked_of(p, "FeatureService", "svc_subset") is None
    [warning] = p.warnings
    assert (warning.kind, warning.name) == ("FeatureService", "svc_subset")
    [chain] = warning.chains
    assert chain.links == ("svc_subset.features.stats [conv_rate, trips] -> [conv_rate]", "churn/2", "Challenger")
    assert (chain.model, chain.version, chain.alias, chain.protected) == ("churn", 2, "Challenger", False)


def test_the_same_shrink_under_a_protected_alias_is_blocked_with_the_chain_first() -> None:
    before = world(svc_subset=service("svc_subset", {"view": "stats", "features": ["conv_rate", "trips"]}))
    after = world(churn=model(aliases={"Production": 1, "Challenger": 2, "Champion": 2}))
    p = plan(before, after)
    blocked = blocked_of(p, "FeatureService", "svc_subset")
    assert [(c.alias, c.protected) for c in blocked.chains] == [("Champion", True), ("Challenger", False)]
    assert blocked.chains[0].links[-2:] == ("churn/2", "Champion")
    assert p.warnings == ()


def test_a_version_protected_only_in_the_registry_now_still_blocks() -> None:
    # Production moves from 1 to 2 in this plan while svc (v1's service) loses a feature
    after = world(
        svc=service("svc", {"view": "stats", "features": ["conv_rate"]}),
        churn=model(aliases={"Production": 2, "Challenger": 2}),
    )
    blocked = blocked_of(plan(world(), after), "FeatureService", "svc")
    assert [(c.version, c.alias, c.protected) for c in blocked.chains] == [(1, "Production", True)]


def test_a_dependent_no_model_version_is_bound_to_blocks_as_before() -> None:
    before = world(churn=None, svc_subset=service("svc_subset", {"view": "stats", "features": ["conv_rate", "trips"]}))
    p = plan(before, world(churn=None))
    assert blocked_of(p, "FeatureService", "svc_subset") is None  # nothing reads the service
    p = plan(world(churn=None), world(churn=None, stats=view(ttl="1h")))
    blocked = blocked_of(p, "FeatureView", "stats")
    assert blocked.chains == () and "FeatureService svc" in blocked.dependents


def test_service_whole_view_to_subset_is_breaking_and_back_is_not() -> None:
    subset = world(svc=service("svc", {"view": "stats", "features": ["conv_rate"]}))
    p = plan(world(), subset)
    assert only_change(p).impact == BREAKING
    assert list(blocked_of(p, "FeatureService", "svc").dependents) == ["Model churn v1 (Production)"]
    assert only_change(plan(subset, world())).impact == NON_BREAKING


def test_service_view_added_is_not_breaking_and_removed_is() -> None:
    before = world(other=view("other"))
    after = world(other=view("other"), svc=service("svc", "stats", "other"))
    change = only_change(plan(before, after))
    assert (change.fields[0].path, change.impact) == ("features.other", NON_BREAKING)
    p = plan(after, before)
    assert only_change(p).impact == BREAKING
    assert blocked_of(p, "FeatureService", "svc") is not None


def test_reordering_the_views_of_a_service_is_a_change() -> None:
    # A service's feature order is the column order of the training sets and online responses
    # built from it, so the registry must be updated when it changes.
    before = world(other=view("other"), svc=service("svc", "stats", "other"))
    after = world(other=view("other"), svc=service("svc", "other", "stats"))
    change = only_change(plan(before, after))
    assert (change.kind, change.name, change.action) == ("FeatureService", "svc", "update")


def test_deleting_a_service_bound_to_a_model_is_blocked() -> None:
    p = plan(world(), world(svc=None))
    blocked = blocked_of(p, "FeatureService", "svc")
    assert blocked is not None
    assert list(blocked.dependents) == ["Model churn v1 (Production)"]


def test_model_version_without_alias_is_named_plainly() -> None:
    p = plan(world(), world(churn=model(aliases={"Challenger": 2}), svc=None))
    assert list(blocked_of(p, "FeatureService", "svc").dependents) == ["Model churn v1"]


def test_model_version_with_several_aliases_lists_them_sorted() -> None:
    p = plan(world(), world(churn=model(aliases={"Production": 1, "Champion": 1}), svc=None))
    assert list(blocked_of(p, "FeatureService", "svc").dependents) == [
        "Model churn v1 (Champion, Production)"
    ]


# --- models ------------------------------------------------------------------------------


V1 = {"version": 1, "uri": "s3://m/1", "feature_service": "svc"}
V2 = {"version": 2, "uri": "s3://m/2", "feature_service": "svc_subset"}
V3 = {"version": 3, "uri": "s3://m/3", "feature_service": "svc_subset"}


def test_model_version_added_is_not_breaking() -> None:
    p = plan(world(), world(churn=model(versions=[V1, V2, V3])))
    change = only_change(p)
    assert (change.fields[0].path, change.fields[0].before, change.impact) == (
        "versions.3",
        None,
        NON_BREAKING,
    )


def test_model_version_removed_is_breaking() -> None:
    p = plan(world(churn=model(versions=[V1, V2, V3])), world())
    change = only_change(p)
    assert (change.fields[0].path, change.fields[0].after, change.impact) == ("versions.3", None, BREAKING)
    assert any("version 3" in r for r in change.reasons)
    assert p.blocked == ()  # no alias points at it


def test_model_version_uri_change_is_breaking_and_blocked_by_its_aliases() -> None:
    p = plan(world(), world(churn=model(versions=[{**V1, "uri": "s3://m/1-retrained"}, V2])))
    change = only_change(p)
    field = change.fields[0]
    assert (field.path, field.before, field.after, field.impact) == (
        "versions.1.uri",
        "s3://m/1",
        "s3://m/1-retrained",
        BREAKING,
    )
    assert list(blocked_of(p, "Model", "churn").dependents) == ["alias Production of Model churn (version 1)"]


def test_model_version_rebound_to_another_service_is_breaking() -> None:
    p = plan(world(), world(churn=model(versions=[V1, {**V2, "feature_service": "svc"}])))
    change = only_change(p)
    assert change.fields[0].path == "versions.2.feature_service"
    assert change.impact == BREAKING
    assert blocked_of(p, "Model", "churn") is None  # Challenger is not protected: a warning
    [warning] = p.warnings
    assert [c.links[1:] for c in warning.chains] == [("churn/2", "Challenger")]
    p = plan(world(), world(churn=model(versions=[{**V1, "feature_service": "svc_subset"}, V2])))
    assert list(blocked_of(p, "Model", "churn").dependents) == ["alias Production of Model churn (version 1)"]


def test_alias_move_is_not_breaking() -> None:
    p = plan(world(), world(churn=model(aliases={"Production": 2, "Challenger": 2})))
    change = only_change(p)
    field = change.fields[0]
    assert (field.path, field.before, field.after, field.impact) == ("aliases.Production", 1, 2, NON_BREAKING)
    assert p.blocked == ()


def test_alias_added_is_not_breaking_and_removed_is() -> None:
    change = only_change(
        plan(world(), world(churn=model(aliases={"Production": 1, "Challenger": 2, "Shadow": 2})))
    )
    assert (change.fields[0].path, change.impact) == ("aliases.Shadow", NON_BREAKING)
    change = only_change(plan(world(), world(churn=model(aliases={"Production": 1}))))
    assert (change.fields[0].path, change.fields[0].after, change.impact) == (
        "aliases.Challenger",
        None,
        BREAKING,
    )
    assert any("Challenger" in r for r in change.reasons)


# --- blocking ----------------------------------------------------------------------------


def test_breaking_change_whose_dependents_move_away_in_the_same_plan_is_not_blocked() -> None:
    after = world(
        stats=view(schema=_schema(("conv_rate", "float64"))),  # drop trips ...
        svc=None,  # ... together with the only service that used it ...
        churn=model(versions=[V2], aliases={"Challenger": 2}),  # ... and the model version bound to it
    )
    p = plan(world(), after)
    assert [c.breaking for c in p.changes] == [True, True, True]
    # only the removal of version 1, which Production names in the registry now, is blocked
    assert [(b.kind, b.name) for b in p.blocked] == [("Model", "churn")]
    assert [c.links[1:] for c in p.blocked[0].chains] == [("churn/1", "Production")]


def test_blocked_entries_follow_change_order_and_each_names_its_reason() -> None:
    after = world(
        driver=entity(join_keys=["id"]),
        stats=view(ttl="1h"),
        churn=model(versions=[{**V1, "uri": "s3://other"}, V2]),
    )
    p = plan(world(), after)
    assert [(b.kind, b.name) for b in p.blocked] == [
        ("Entity", "driver"),
        ("FeatureView", "stats"),
        ("Model", "churn"),
    ]
    for b in p.blocked:
        assert b.reason
        assert list(b.dependents) == list(dict.fromkeys(b.dependents))  # no repeats
    assert "TTL" in blocked_of(p, "FeatureView", "stats").reason
    assert p.summary["blocked"] == 3


# --- determinism -------------------------------------------------------------------------


def _shuffled(objects: Objects, seed: int) -> Objects:
    rng = random.Random(seed)

    def shuffle_dict(d: dict[str, Any]) -> dict[str, Any]:
        items = list(d.items())
        rng.shuffle(items)
        return {k: shuffle_dict(v) if isinstance(v, dict) else v for k, v in items}

    return shuffle_dict(copy.deepcopy(objects))


def _big_change() -> tuple[Objects, Objects]:
    before = world(other=view("other"), extra=entity("extra", join_keys=["e"]))
    after = world(
        driver=entity(join_keys=["id"], description="changed"),
        src=source(owner="me", timestamp_field="ts"),
        stats=view(ttl="1h", schema=_schema(("conv_rate", "float32"), ("new", "int64"))),
        svc=service("svc", "stats", {"view": "other", "features": ["trips"]}),
        churn=model(versions=[V1, {**V2, "uri": "x"}, V3], aliases={"Production": 3}),
        other=view("other"),
        rider=entity("rider", join_keys=["rider_id"]),
    )
    return before, after


def test_plan_is_deterministic() -> None:
    before, after = _big_change()
    first = plan(before, after)
    second = plan(copy.deepcopy(before), copy.deepcopy(after))
    assert first.to_dict() == second.to_dict()
    assert first.plan_hash == second.plan_hash
    assert json.dumps(first.to_dict()) == json.dumps(second.to_dict())


@pytest.mark.parametrize("seed", range(5))
def test_plan_does_not_depend_on_dict_insertion_order(seed: int) -> None:
    before, after = _big_change()
    reference = plan(before, after)
    shuffled = plan(_shuffled(before, seed), _shuffled(after, seed + 100))
    assert shuffled.to_dict() == reference.to_dict()
    assert [c.name for c in shuffled.changes] == [c.name for c in reference.changes]
    assert shuffled.plan_hash == reference.plan_hash
    assert shuffled.definitions_hash == reference.definitions_hash


def test_changes_are_sorted_by_kind_then_name_and_fields_by_path() -> None:
    before, after = _big_change()
    p = plan(before, after)
    order = ["Entity", "FileSource", "FeatureView", "FeatureService", "Model"]
    keys = [(order.index(c.kind), c.name) for c in p.changes]
    assert keys == sorted(keys)
    for c in p.changes:
        assert p_paths(c) == sorted(p_paths(c))


def test_plan_hash_depends_on_registry_version_and_changes() -> None:
    before, after = _big_change()
    assert plan(before, after, version=3).plan_hash != plan(before, after, version=4).plan_hash
    assert plan(before, after).plan_hash != plan(before, world()).plan_hash
    assert plan(before, after).definitions_hash == plan(world(), after).definitions_hash


# -- guard rails: wipes and protected aliases (issue 11) -----------------------------------


def guarded(current: Objects, desired: Objects, **kw: Any) -> Plan:
    return build_plan("demo", "data/registry.json", 3, current, desired, **kw)


def test_a_plan_that_deletes_every_object_is_blocked() -> None:
    p = guarded(world(), {})
    assert p.is_blocked
    wipe = p.blocked[0]
    assert (wipe.kind, wipe.name) == ("Registry", "*")
    assert "deletes every object of the registry (6)" in wipe.reason and "teardown" in wipe.reason
    assert p.summary["delete"] == 6 and p.summary["breaking"] == 6


def test_the_first_plan_and_teardown_are_not_wipes() -> None:
    assert not guarded({}, world(), required_metadata=()).is_blocked
    assert not guarded({}, {}).is_blocked
    teardown = guarded(world(), {}, guard_rails=False)
    assert [b.kind for b in teardown.blocked] == []  # nothing remains to depend on anything


def test_deleting_what_a_protected_alias_reaches_is_blocked_even_with_its_model() -> None:
    # the model goes too, so no remaining object depends on svc: only the guard rail stops it
    p = guarded(world(), world(churn=None, svc=None))
    blocked = {(b.kind, b.name): b.dependents for b in p.blocked}
    assert blocked[("Model", "churn")] == ("protected alias Production of Model churn",)
    assert blocked[("FeatureService", "svc")] == ("protected alias Production of Model churn",)
    assert guarded(world(), world(churn=None, svc=None), guard_rails=False).blocked == ()


def test_removing_a_protected_alias_is_blocked_and_other_aliases_are_not() -> None:
    no_production = guarded(world(), world(churn=model(aliases={"Challenger": 2})))
    assert [(b.kind, b.name, b.dependents) for b in no_production.blocked] == [
        ("Model", "churn", ("protected alias Production of Model churn",))
    ]
    no_challenger = guarded(world(), world(churn=model(aliases={"Production": 1})))
    assert not no_challenger.is_blocked
    # the aliases fsctl.yaml protects are configurable
    assert not guarded(world(), world(churn=model(aliases={"Challenger": 2})), protected_aliases=("Champion",)).is_blocked


def test_an_override_lets_a_blocked_change_through_and_is_recorded() -> None:
    p = guarded(world(), {}, overrides=(Override("*", "retiring the project"),))
    assert not p.is_blocked
    assert [(b.kind, b.name) for b in p.allowed] == [("Registry", "*")] + [
        (b.kind, b.name) for b in p.allowed[1:]
    ]
    assert p.summary["allowed_breaking"] == len(p.allowed)
    as_json = p.to_dict()["allowed_breaking"]
    assert as_json[0]["override"] == {"object": "*", "reason": "retiring the project"}
    # an override names one object: by Kind/name or by name
    by_name = guarded(world(), world(churn=model(aliases={"Challenger": 2})), overrides=(Override("Model/churn", "r"),))
    assert not by_name.is_blocked and [b.name for b in by_name.allowed] == ["churn"]
    other = guarded(world(), world(churn=model(aliases={"Challenger": 2})), overrides=(Override("svc", "r"),))
    assert other.is_blocked
    assert p.plan_hash != guarded(world(), {}, overrides=(Override("*", "another reason"),)).plan_hash

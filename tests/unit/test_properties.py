"""Properties of planning over random object sets (hypothesis).

Random valid worlds (entities, sources, views with random schemas, services over the views,
models over the services) are built through the real definition classes; an "after" world is
made from a "before" world by keeping, replacing, mutating, dropping and adding objects.
"""

from __future__ import annotations

import copy
import json
import random
from typing import Any

from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st

from fsctl import Entity, FeatureService, FeatureView, Field, FileSource, Model
from fsctl.definitions import KIND_ORDER
from fsctl.diff import build_plan

Objects = dict[str, dict[str, dict[str, Any]]]

# No shrink phase: these worlds are large and shrinking one failure takes ~40 s; the assertion
# messages name the objects at fault instead.
SETTINGS = settings(
    max_examples=100,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
    phases=[Phase.explicit, Phase.reuse, Phase.generate],
)

ENTITY_NAMES = ["driver", "customer", "store"]
SOURCE_NAMES = ["src_a", "src_b"]
VIEW_NAMES = ["v_one", "v_two", "v_three"]
SERVICE_NAMES = ["s_one", "s_two", "s_three"]
MODEL_NAMES = ["m_one", "m_two"]
FEATURES = ["a", "b", "c", "d", "e"]
DTYPES = ["int64", "float64", "string", "bool", "list<float32>"]
TTLS = [0, 3600, 86400, 172800]


def unique_list(
    elements: list[str], min_size: int = 1, max_size: int | None = None
) -> st.SearchStrategy[list[str]]:
    return st.lists(
        st.sampled_from(elements), min_size=min_size, max_size=max_size or len(elements), unique=True
    )


@st.composite
def worlds(draw: st.DrawFn) -> Objects:
    out: Objects = {k: {} for k in KIND_ORDER}
    for name in draw(unique_list(ENTITY_NAMES)):
        out["Entity"][name] = Entity(
            name=name,
            join_keys=draw(unique_list([f"{name}_id", "region", "id"], max_size=2)),
            description=draw(st.sampled_from(["", "described"])),
        ).to_dict()
    for name in draw(unique_list(SOURCE_NAMES)):
        out["FileSource"][name] = FileSource(
            name=name,
            path=draw(st.sampled_from(["data/x.parquet", "s3://b/x/", "data/*.csv"])),
            timestamp_field=draw(st.sampled_from(["event_timestamp", "ts"])),
            created_timestamp_field=draw(st.sampled_from([None, "created"])),
        ).to_dict()
    for name in draw(unique_list(VIEW_NAMES, min_size=0)):
        features = draw(unique_list(FEATURES))
        out["FeatureView"][name] = FeatureView(
            name=name,
            entities=draw(unique_list(sorted(out["Entity"]), max_size=2)),
            source=draw(st.sampled_from(sorted(out["FileSource"]))),
            ttl=draw(st.sampled_from(TTLS)),
            online=draw(st.booleans()),
            schema=[Field(name=f, dtype=draw(st.sampled_from(DTYPES))) for f in features],
            owner=draw(st.sampled_from(["", "team"])),
        ).to_dict()
    views = out["FeatureView"]
    if views:
        for name in draw(unique_list(SERVICE_NAMES, min_size=0)):
            selections: list[Any] = []
            for view in draw(unique_list(sorted(views), min_size=min(2, len(views)))):
                names = [f["name"] for f in views[view]["schema"]]
                if draw(st.booleans()):
                    selections.append(view)
                else:
                    selections.append({"view": view, "features": draw(unique_list(names))})
            out["FeatureService"][name] = FeatureService(name=name, features=selections).to_dict()
    services = out["FeatureService"]
    if services:
        for name in draw(unique_list(MODEL_NAMES, min_size=0)):
            numbers = sorted(draw(st.lists(st.integers(1, 5), min_size=1, max_size=3, unique=True)))
            versions = [
                {
                    "version": n,
                    "uri": draw(st.sampled_from([f"s3://m/{name}/{n}", f"file://m{n}.pkl"])),
                    "feature_service": draw(st.sampled_from(sorted(services))),
                }
                for n in numbers
            ]
            aliases = {
                alias: draw(st.sampled_from(numbers))
                for alias in draw(unique_list(["Production", "Challenger"], min_size=0))
            }
            out["Model"][name] = Model(name=name, versions=versions, aliases=aliases).to_dict()
    return {k: v for k, v in out.items() if v}


def mutate(obj: dict[str, Any], draw: st.DrawFn) -> dict[str, Any]:
    """A small edit of one canonical object (possibly one that changes nothing that matters)."""
    obj = copy.deepcopy(obj)
    kind = obj["kind"]
    choice = draw(st.integers(0, 3))
    if choice == 0:
        obj["description"] = obj.get("description", "") + " edited"
    elif kind == "Entity":
        obj["join_keys"] = (
            [*obj["join_keys"], "extra_key"] if choice == 1 else list(reversed(obj["join_keys"]))
        )
    elif kind == "FileSource":
        obj["path" if choice == 1 else "timestamp_field"] = "moved" if choice == 1 else "other_ts"
    elif kind == "FeatureView":
        if choice == 1:
            obj["ttl"] = draw(st.sampled_from([t for t in TTLS if t != obj["ttl"]]))
        elif choice == 2:
            obj["schema"] = list(reversed(obj["schema"]))
        else:
            obj["schema"][0] = {**obj["schema"][0], "dtype": "bytes"}
    elif kind == "FeatureService":
        if choice in (1, 2):
            obj["features"] = list(reversed(obj["features"]))  # the column order of its training sets
        else:
            obj["features"][0] = {**obj["features"][0], "features": None}
    elif kind == "Model":
        if choice == 1:
            obj["versions"] = list(reversed(obj["versions"]))  # versions are keyed by number: same model
        elif choice == 2:
            obj["versions"][0] = {**obj["versions"][0], "uri": "s3://changed"}
        else:
            obj["aliases"] = {**obj["aliases"], "Shadow": obj["versions"][-1]["version"]}
    return obj


@st.composite
def before_after(draw: st.DrawFn) -> tuple[Objects, Objects]:
    before, other = draw(worlds()), draw(worlds())
    after: Objects = {}
    for kind in KIND_ORDER:
        for name in sorted(set(before.get(kind, {})) | set(other.get(kind, {}))):
            options = ["drop"]
            if name in before.get(kind, {}):
                options += ["keep", "keep", "mutate"]
            if name in other.get(kind, {}):
                options += ["other"]
            pick = draw(st.sampled_from(options))
            if pick == "keep":
                after.setdefault(kind, {})[name] = copy.deepcopy(before[kind][name])
            elif pick == "mutate":
                after.setdefault(kind, {})[name] = mutate(before[kind][name], draw)
            elif pick == "other":
                after.setdefault(kind, {})[name] = copy.deepcopy(other[kind][name])
    return before, after


def plan(current: Objects, desired: Objects, version: int = 7) -> Any:
    return build_plan("demo", "data/registry.json", version, current, desired)


def normalized(obj: dict[str, Any] | None) -> Any:
    """An object with the orders that carry no meaning removed (model versions are keyed by number)."""
    if obj is None or obj.get("kind") != "Model":
        return obj
    return {**obj, "versions": sorted(obj["versions"], key=lambda v: v["version"])}


def shuffled(objects: Objects, rng: random.Random) -> Objects:
    def shuffle(value: Any) -> Any:
        if isinstance(value, dict):
            items = list(value.items())
            rng.shuffle(items)
            return {k: shuffle(v) for k, v in items}
        if isinstance(value, list):
            return [shuffle(v) for v in value]
        return value

    return shuffle(copy.deepcopy(objects))


# --- (a) apply, then re-plan: nothing left to do ------------------------------------------


@SETTINGS
@given(before_after())
def test_replan_after_apply_is_empty(states: tuple[Objects, Objects]) -> None:
    before, after = states
    first = plan(before, after)
    second = plan(first.desired, after, version=8)
    assert second.changes == (), [c.to_dict() for c in second.changes]
    assert second.blocked == ()
    # The applied objects survive the registry's JSON storage unchanged.
    stored = json.loads(json.dumps(first.desired))
    assert plan(stored, after, version=8).changes == ()


# --- (b) determinism ---------------------------------------------------------------------


@SETTINGS
@given(before_after(), st.integers(0, 2**32 - 1))
def test_plans_are_deterministic_and_ignore_dict_insertion_order(
    states: tuple[Objects, Objects], seed: int
) -> None:
    before, after = states
    reference = plan(before, after)
    again = plan(copy.deepcopy(before), copy.deepcopy(after))
    assert again.to_dict() == reference.to_dict()
    assert again.plan_hash == reference.plan_hash

    rng = random.Random(seed)
    reordered = plan(shuffled(before, rng), shuffled(after, rng))
    assert reordered.to_dict() == reference.to_dict()
    assert json.dumps(reordered.to_dict(), sort_keys=True) == json.dumps(reference.to_dict(), sort_keys=True)
    assert reordered.plan_hash == reference.plan_hash
    assert reordered.definitions_hash == reference.definitions_hash


# --- (c) changes cover exactly what differs ------------------------------------------------


@SETTINGS
@given(before_after())
def test_changes_cover_exactly_the_objects_that_differ(states: tuple[Objects, Objects]) -> None:
    before, after = states
    p = plan(before, after)
    keys = {(k, n) for objs in (before, after) for k in objs for n in objs[k]}
    differ = {
        (k, n) for k, n in keys if normalized(before.get(k, {}).get(n)) != normalized(after.get(k, {}).get(n))
    }
    changed = [(c.kind, c.name) for c in p.changes]
    assert len(changed) == len(set(changed))
    wrong = set(changed) ^ differ
    assert not wrong, "\n".join(
        f"{k} {n}:\n  before {json.dumps(before.get(k, {}).get(n))}\n  after  {json.dumps(after.get(k, {}).get(n))}"
        for k, n in sorted(wrong)
    )
    for c in p.changes:
        in_before, in_after = c.name in before.get(c.kind, {}), c.name in after.get(c.kind, {})
        assert (
            c.action
            == {(False, True): "add", (True, False): "delete", (True, True): "update"}[(in_before, in_after)]
        )
        assert (c.action == "update") == bool(c.fields)


@SETTINGS
@given(before_after())
def test_only_breaking_changes_are_blocked(states: tuple[Objects, Objects]) -> None:
    before, after = states
    p = plan(before, after)
    breaking = {(c.kind, c.name) for c in p.changes if c.breaking}
    # the wipe guard rail: one entry, first, exactly when every object of a non-empty registry goes
    wipe = [b for b in p.blocked if b.kind == "Registry"]
    assert bool(wipe) == (any(before.values()) and not any(after.values()))
    assert p.blocked[: len(wipe)] == tuple(wipe)
    # one entry per object
    assert len({(b.kind, b.name) for b in p.blocked}) == len(p.blocked)
    # a promotion gate that fails blocks its model, breaking change or not, and the entry
    # carries exactly the model's failed gates
    failed = [g for g in p.gates if g.status == "fail"]
    assert {b.name for b in p.blocked if b.gates} == {g.model for g in failed}
    for b in p.blocked:
        assert b.gates == tuple(g for g in failed if b.kind == "Model" and g.model == b.name)
    changes = [b for b in p.blocked if b.kind != "Registry"]
    for b in changes:
        assert (b.kind, b.name) in breaking or b.gates
        assert b.dependents and b.reason
    order = [(c.kind, c.name) for c in p.changes]
    assert [(b.kind, b.name) for b in changes] == [k for k in order if k in {(b.kind, b.name) for b in changes}]


# --- orders that carry meaning are changes; orders that do not are not ----------------------


@SETTINGS
@given(worlds())
def test_reordering_meaningful_lists_is_a_change_and_model_versions_is_not(before: Objects) -> None:
    after = copy.deepcopy(before)
    expected = set()
    for name, svc in after.get("FeatureService", {}).items():
        if len(svc["features"]) > 1:  # the column order of the service's training sets
            svc["features"] = list(reversed(svc["features"]))
            expected.add(("FeatureService", name))
    for name, view in after.get("FeatureView", {}).items():
        if len(view["schema"]) > 1:  # the column order of the view
            view["schema"] = list(reversed(view["schema"]))
            expected.add(("FeatureView", name))
    for model in after.get("Model", {}).values():
        model["versions"] = list(reversed(model["versions"]))  # keyed by number: no change
    p = plan(before, after)
    assert {(c.kind, c.name) for c in p.changes} == expected
    assert not any(c.breaking for c in p.changes)

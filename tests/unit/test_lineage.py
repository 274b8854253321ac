"""fsctl lineage's use case on a small graph (services.lineage.build_lineage over a Catalog)
and its three renderings: which objects each walk reaches, how OBJECT is resolved, protected
marking, the order of nodes."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest

from fsctl import Entity, FeatureService, FeatureView, Field, FileSource, Model, ModelVersion
from fsctl.definitions.config import DEFAULT_PROTECTED_ALIASES
from fsctl.errors import UsageError
from fsctl.render import render
from fsctl.results.lineage import BOTH, DOWNSTREAM, UPSTREAM, Branch, Lineage
from fsctl.services import lineage as service
from fsctl.services.catalog import Catalog
from fsctl.services.project import Project

Documents = dict[str, dict[str, dict[str, Any]]]


def build_lineage(
    documents: Documents,
    ref: str,
    direction: str = BOTH,
    protected_aliases: tuple[str, ...] = DEFAULT_PROTECTED_ALIASES,
    registry: str = "r.json",
    registry_version: int = 4,
) -> Lineage:
    """The lineage of ``ref`` among ``documents``, as version ``registry_version`` of ``registry``."""
    project = Project("demo", Path("/repo"), registry, "memory:", protected_aliases)
    return service.build_lineage(Catalog.of(project, documents, registry_version), ref, direction)


def _documents(*objects: Any) -> Documents:
    out: Documents = {}
    for obj in objects:
        out.setdefault(obj.KIND, {})[obj.name] = obj.to_dict()
    return out


def _repo() -> Documents:
    driver = Entity(name="driver", join_keys=["driver_id"], owner="@acme/drivers")
    src = FileSource(name="src", path="data/x.parquet")
    other_src = FileSource(name="trips", path="data/t.parquet")  # shares a name with a service
    stats = FeatureView(
        name="stats",
        entities=[driver],
        source=src,
        schema=[Field(name="conv", dtype="float64"), Field(name="trips", dtype="int64")],
        owner="@alice",
    )
    unused = FeatureView(name="unused", entities=[driver], source=other_src, schema=[Field(name="x", dtype="int64")])
    whole = FeatureService(name="whole", features=[stats])
    part = FeatureService(name="trips", features=[stats[["trips"]]])
    churn = Model(
        name="churn",
        versions=[
            ModelVersion(version=1, feature_service=whole),
            ModelVersion(version=2, feature_service=part),
            ModelVersion(version=3, feature_service=part),
        ],
        aliases={"Production": 1, "Challenger": 2, "Champion": 2},
    )
    return _documents(driver, src, other_src, stats, unused, whole, part, churn)


def ids(result: Lineage) -> set[str]:
    return {n.id for n in result.nodes}


def tree_ids(branch: Branch | None) -> list[str]:
    if branch is None:
        return []
    return [branch.node, *(i for c in branch.children for i in tree_ids(c))]


def test_a_feature_downstream_is_its_services_versions_and_aliases() -> None:
    result = build_lineage(_repo(), "stats:conv", DOWNSTREAM)
    assert result.root == "feature:stats:conv"
    assert result.upstream is None
    # conv is selected only by the whole-view service: not by 'trips', which selects trips
    assert ids(result) == {
        "feature:stats:conv",
        "service:whole",
        "model_version:churn/1",
        "alias:churn@Production",
    }
    assert {(e.source, e.target) for e in result.edges} == {
        ("feature:stats:conv", "service:whole"),
        ("service:whole", "model_version:churn/1"),
        ("model_version:churn/1", "alias:churn@Production"),
    }


def test_protected_marks_aliases_and_the_versions_behind_them() -> None:
    result = build_lineage(_repo(), "stats:trips", DOWNSTREAM, protected_aliases=("Production",))
    nodes = {n.id: n for n in result.nodes}
    assert nodes["alias:churn@Production"].protected
    assert not nodes["alias:churn@Challenger"].protected
    assert not nodes["alias:churn@Champion"].protected  # not protected in this project
    assert nodes["model_version:churn/1"].protected
    assert not nodes["model_version:churn/2"].protected
    assert not nodes["model_version:churn/3"].protected  # no alias at all
    text = render(result, "text")
    assert "alias churn@Production  [protected]" in text
    assert "alias churn@Challenger\n" in text
    assert "Read by 3 model versions, 1 behind a protected alias: churn/1 (Production), churn/2, churn/3" in text
    # the default protected aliases include Champion
    again = build_lineage(_repo(), "stats:trips", DOWNSTREAM)
    assert {n.id for n in again.nodes if n.protected} == {
        "alias:churn@Production",
        "alias:churn@Champion",
        "model_version:churn/1",
        "model_version:churn/2",
    }


def test_upstream_of_an_alias_is_what_its_version_reads_without_features() -> None:
    result = build_lineage(_repo(), "churn@Challenger", UPSTREAM)
    assert result.downstream is None
    assert ids(result) == {
        "alias:churn@Challenger",
        "model_version:churn/2",
        "service:trips",
        "view:stats",
        "entity:driver",
        "source:src",
    }
    selection = next(e for e in result.edges if e.target == "service:trips")
    assert (selection.source, selection.relation, selection.features) == ("view:stats", "selected", ("trips",))
    assert "view stats (trips)" in render(result, "text")


def test_both_directions_by_default_and_features_only_under_their_view() -> None:
    result = build_lineage(_repo(), "FeatureView/stats")
    assert tree_ids(result.upstream) == ["view:stats", "entity:driver", "source:src"]
    down = tree_ids(result.downstream)
    assert down[:2] == ["view:stats", "feature:stats:conv"]
    assert "feature:stats:trips" in down
    # the view's services are reached through its features, never directly
    assert not any(e.source == "view:stats" and e.target.startswith("service:") for e in result.edges)
    assert ("feature:stats:trips", "service:trips") in {(e.source, e.target) for e in result.edges}
    # from a source, views lead to services directly: no feature nodes
    from_source = build_lineage(_repo(), "src", DOWNSTREAM)
    assert not any(n.kind == "feature" for n in from_source.nodes)
    assert {"service:whole", "service:trips", "alias:churn@Production"} <= ids(from_source)
    assert "view:unused" not in ids(from_source)


def test_a_model_reads_what_its_versions_read_and_leads_to_its_aliases() -> None:
    result = build_lineage(_repo(), "churn")
    up = tree_ids(result.upstream)
    assert up[:3] == ["model:churn", "model_version:churn/1", "service:whole"]
    assert "source:src" in up
    assert tree_ids(result.downstream) == [
        "model:churn",
        "model_version:churn/1",
        "alias:churn@Production",
        "model_version:churn/2",
        "alias:churn@Challenger",
        "alias:churn@Champion",
        "model_version:churn/3",
    ]
    # a version does not list its model as something it reads
    version = build_lineage(_repo(), "churn/3", UPSTREAM)
    assert "model:churn" not in ids(version)
    assert "Read by" not in render(result, "text")


def test_model_versions_are_in_numeric_order_in_every_format() -> None:
    docs = _repo()
    versions = docs["Model"]["churn"]["versions"]
    docs["Model"]["churn"]["versions"] = [*versions[:2], {**versions[2], "version": 10}]
    result = build_lineage(docs, "churn")
    numbers = [n.name for n in result.nodes if n.kind == "model_version"]
    assert numbers == ["churn/1", "churn/2", "churn/10"]
    assert result.downstream is not None
    assert [b.node for b in result.downstream.children] == [
        "model_version:churn/1",
        "model_version:churn/2",
        "model_version:churn/10",
    ]
    text = render(result, "text")
    assert text.index("model version churn/2") < text.index("model version churn/10")
    json_versions = [n["name"] for n in json.loads(render(result, "json"))["nodes"] if n["kind"] == "model_version"]
    assert json_versions == ["churn/1", "churn/2", "churn/10"]
    mermaid = render(result, "mermaid")
    assert mermaid.index('"model version churn/2"') < mermaid.index('"model version churn/10"')
    stats = render(build_lineage(docs, "stats:trips", DOWNSTREAM), "text")
    assert "Read by 3 model versions, 2 behind a protected alias: churn/1 (Production), churn/2 (Champion), churn/10" in stats


def test_a_node_met_twice_in_a_tree_is_expanded_once() -> None:
    result = build_lineage(_repo(), "stats", DOWNSTREAM)
    down = tree_ids(result.downstream)
    assert down.count("service:trips") == 1  # selected only through feature trips
    assert down.count("service:whole") == 2  # through conv and through trips
    assert down.count("model_version:churn/1") == 1
    assert "service whole  (see above)" in render(result, "text")


@pytest.mark.parametrize(
    ("ref", "message", "hint"),
    [
        ("trips", "'trips' names 2 objects: FileSource/trips, FeatureService/trips", "fsctl lineage FileSource/trips"),
        ("stat", "no object named 'stat'", "did you mean 'stats'?"),
        ("conv", "no object named 'conv'", "a feature is named view:feature: stats:conv"),
        ("stats:conb", "view 'stats' has no feature 'conb'", "did you mean 'conv'?"),
        ("stat:conv", "feature view 'stat' is not in the registry r.json (version 4)", "did you mean 'stats'?"),
        ("stats:", "feature reference 'stats:' is not view:feature", "e.g. driver_hourly_stats:conv_rate"),
        ("churn/9", "model 'churn' has no version 9", "its versions: 1, 2, 3"),
        ("churn@Prod", "model 'churn' has no alias 'Prod'", "its aliases: Challenger, Champion, Production"),
        ("churn@Prodution", "has no alias 'Prodution'", "did you mean 'Production'?"),
        ("chrun@Production", "model 'chrun' is not in the registry r.json (version 4)", "did you mean 'churn'?"),
        ("chrun/1", "model 'chrun' is not in the registry r.json (version 4)", "did you mean 'churn'?"),
        ("FeatureService/stats", "feature service 'stats' is not in the registry", "applied FeatureService objects: trips, whole"),
        ("widget/stats", "unknown kind 'widget'", "use one of entities"),
        ("churn/\u00b2", "unknown kind 'churn'", "use one of entities"),  # ² is a digit, not an ASCII one
        ("churn/\u0663", "unknown kind 'churn'", "use one of entities"),  # Arabic-Indic 3
        ("nothing", "no object named 'nothing' in the registry r.json (version 4)", "give NAME, Kind/NAME"),
        (" ", "name the object", "MODEL@ALIAS"),
    ],
)
def test_bad_objects_say_how_to_name_them(ref: str, message: str, hint: str) -> None:
    with pytest.raises(UsageError) as error:
        build_lineage(_repo(), ref)
    assert message in error.value.message
    assert hint in (error.value.hint or "")


def test_an_ambiguous_name_resolves_with_its_kind() -> None:
    assert build_lineage(_repo(), "FeatureService/trips").root == "service:trips"
    assert build_lineage(_repo(), "sources/trips").root == "source:trips"
    assert build_lineage(_repo(), "churn/2").root == "model_version:churn/2"


def test_json_has_design_shape() -> None:
    data = json.loads(render(build_lineage(_repo(), "stats:conv", registry="r.json", registry_version=4), "json"))
    assert data["root"] == "feature:stats:conv"
    assert (data["registry"], data["registry_version"], data["direction"]) == ("r.json", 4, "both")
    assert data["nodes"][0] == {"id": "feature:stats:conv", "kind": "feature", "name": "stats:conv", "view": "stats", "feature": "conv"}
    for node in data["nodes"]:
        assert {"id", "kind", "name"} <= set(node)
    known = {n["id"] for n in data["nodes"]}
    for edge in data["edges"]:
        assert {"from", "to", "relation"} <= set(edge)
        assert edge["from"] in known and edge["to"] in known
    owners = {n["id"]: n.get("owner") for n in data["nodes"]}
    assert owners["view:stats"] == "@alice" and owners["entity:driver"] == "@acme/drivers"
    alias = next(n for n in data["nodes"] if n["kind"] == "alias")
    assert alias == {
        "id": "alias:churn@Production",
        "kind": "alias",
        "name": "churn@Production",
        "model": "churn",
        "alias": "Production",
        "version": 1,
        "protected": True,
    }


# A Mermaid flowchart as fsctl writes it: declarations, edges, class definitions and uses.
_ID = r"n\d+"
_LABEL = r'"[^"<>]*"'
_SHAPES = [r"\[" + _LABEL + r"\]", r"\(" + _LABEL + r"\)", r"\(\[" + _LABEL + r"\]\)", r"\[\(" + _LABEL + r"\)\]"]
_NODE = re.compile(rf"^  ({_ID})(?:{'|'.join(_SHAPES)})$")
_EDGE = re.compile(rf"^  ({_ID}) --> ({_ID})$")
_CLASSDEF = re.compile(r"^  classDef [a-z]+ [a-z-]+:[#\w]+(,[a-z-]+:[#\w]+)*$")
_CLASS = re.compile(rf"^  class ({_ID}(?:,{_ID})*) (root|protected)$")


def check_mermaid(text: str) -> dict[str, list[str]]:
    """Every line is one of the forms GitHub's Mermaid reads; ids are declared before use;
    brackets balance. Returns the declared ids, the edges and the classes."""
    lines = text.splitlines()
    assert lines[0] == "```mermaid" and lines[-1] == "```" and lines[1] == "flowchart LR"
    declared: list[str] = []
    edges: list[str] = []
    classes: list[str] = []
    for line in lines[2:-1]:
        if node := _NODE.match(line):
            assert node.group(1) not in declared
            declared.append(node.group(1))
            body = line.split('"')[0] + line.split('"')[-1]  # the brackets around the label
            assert body.count("[") == body.count("]") and body.count("(") == body.count(")")
        elif edge := _EDGE.match(line):
            assert edge.group(1) in declared and edge.group(2) in declared
            edges.append(f"{edge.group(1)}->{edge.group(2)}")
        elif cls := _CLASS.match(line):
            assert all(i in declared for i in cls.group(1).split(","))
            classes.append(line.strip())
        else:
            assert _CLASSDEF.match(line), f"not a Mermaid line fsctl writes: {line!r}"
    return {"nodes": declared, "edges": edges, "classes": classes}


def test_mermaid_is_a_well_formed_flowchart() -> None:
    result = build_lineage(_repo(), "stats")
    parsed = check_mermaid(render(result, "mermaid"))
    assert len(parsed["nodes"]) == len(result.nodes)
    assert len(parsed["edges"]) == len(result.edges)
    assert "class n0 root" in parsed["classes"]
    text = render(result, "mermaid")
    assert 'n0["view stats"]' in text
    assert '[("source src")]' in text  # sources are cylinders
    protected = [n for n in result.nodes if n.kind == "alias" and n.protected]
    index = {n.id: i for i, n in enumerate(result.nodes)}
    assert f"class {','.join(f'n{index[n.id]}' for n in protected)} protected" in parsed["classes"]


def test_mermaid_checker_catches_broken_output() -> None:
    good = render(build_lineage(_repo(), "churn@Production"), "mermaid")
    check_mermaid(good)
    broken_edge = re.sub(r"--> n\d+", "--> n99", good, count=1)
    for broken in (good.replace("n1[", "n1 [", 1), broken_edge, good.replace('"]', '"', 1), good + "graph TD\n"):
        assert broken != good
        with pytest.raises(AssertionError):
            check_mermaid(broken)

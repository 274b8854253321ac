"""The one dependency graph over definitions (fsctl.definitions.graph): nodes, typed edges,
upstream/downstream walks and dangling references, built from canonical documents."""

from __future__ import annotations

from typing import Any

from fsctl import Entity, FeatureService, FeatureView, Field, FileSource, Model, ModelVersion
from fsctl.definitions import graph as g
from fsctl.definitions.graph import build_graph


def _documents(*objects: Any) -> dict[str, dict[str, dict[str, Any]]]:
    out: dict[str, dict[str, dict[str, Any]]] = {}
    for obj in objects:
        out.setdefault(obj.KIND, {})[obj.name] = obj.to_dict()
    return out


def _repo() -> dict[str, dict[str, dict[str, Any]]]:
    driver = Entity(name="driver", join_keys=["driver_id"])
    customer = Entity(name="customer", join_keys=["customer_id"])
    src = FileSource(name="src", path="data/x.parquet")
    stats = FeatureView(
        name="stats",
        entities=[driver],
        source=src,
        schema=[Field(name="conv", dtype="float64"), Field(name="trips", dtype="int64")],
    )
    profile = FeatureView(
        name="profile",
        entities=[driver, customer],
        source=src,
        schema=[Field(name="balance", dtype="float64")],
    )
    whole = FeatureService(name="whole", features=[stats])
    part = FeatureService(name="part", features=[stats[["trips"]], profile])
    churn = Model(
        name="churn",
        versions=[
            ModelVersion(version=1, feature_service=whole),
            ModelVersion(version=2, feature_service=part),
            ModelVersion(version=10, feature_service=part),
        ],
        aliases={"Production": 1, "Challenger": 2, "Shadow": 2},
    )
    return _documents(driver, customer, src, stats, profile, whole, part, churn)


def test_nodes_have_stable_ids() -> None:
    assert g.feature("stats", "conv").id == "feature:stats:conv"
    assert g.model_version("churn", 3).id == "model_version:churn/3"
    assert g.alias("churn", "Production").id == "alias:churn@Production"
    assert str(g.object_node("FileSource", "src")) == "source:src"


def test_every_defined_object_and_part_is_a_node() -> None:
    graph = build_graph(_repo())
    for node in (
        g.entity("driver"),
        g.source("src"),
        g.view("stats"),
        g.feature("stats", "conv"),
        g.service("part"),
        g.model("churn"),
        g.model_version("churn", 10),
        g.alias("churn", "Shadow"),
    ):
        assert graph.has(node), node
    assert not graph.has(g.feature("stats", "nope"))
    assert list(graph.dangling()) == []


def test_edges_are_typed_and_name_the_referring_field() -> None:
    graph = build_graph(_repo())
    to_profile = {(e.upstream, e.relation, e.field) for e in graph.upstream_edges(g.view("profile"))}
    assert to_profile == {
        (g.entity("driver"), g.KEYS, "entities[0]"),
        (g.entity("customer"), g.KEYS, "entities[1]"),
        (g.source("src"), g.FEEDS, "source"),
    }
    part = {(e.upstream, e.relation, e.field) for e in graph.upstream_edges(g.service("part"))}
    assert (g.view("stats"), g.SELECTED, "features[0]") in part
    assert (g.view("profile"), g.SELECTED_ALL, "features[1]") in part
    assert (g.feature("stats", "trips"), g.SELECTED, "features[0]") in part
    assert (g.feature("profile", "balance"), g.SELECTED, "features[1]") in part  # whole view: every feature
    assert (g.feature("stats", "conv"), g.SELECTED, "features[0]") not in part  # not in the subset
    bound = graph.upstream_edges(g.model_version("churn", 2))
    assert {(e.upstream, e.relation, e.field) for e in bound} == {
        (g.model("churn"), g.HAS, None),
        (g.service("part"), g.BOUND, "versions[1].feature_service"),
    }


def test_downstream_runs_from_a_source_to_the_aliases() -> None:
    graph = build_graph(_repo())
    below = graph.downstream([g.source("src")])
    assert g.view("stats") in below and g.service("whole") in below
    assert g.model_version("churn", 10) in below and g.alias("churn", "Production") in below
    assert g.entity("driver") not in below
    # a feature only reaches the services that select it
    below_conv = graph.downstream([g.feature("stats", "conv")])
    assert g.service("whole") in below_conv and g.service("part") not in below_conv
    assert graph.aliases_of(g.model_version("churn", 2)) == ["Challenger", "Shadow"]


def test_upstream_runs_from_an_alias_to_entities_and_sources() -> None:
    graph = build_graph(_repo())
    above = graph.upstream([g.alias("churn", "Challenger")])
    assert {g.model_version("churn", 2), g.model("churn"), g.service("part")} <= set(above)
    assert {g.view("stats"), g.view("profile"), g.source("src"), g.entity("customer")} <= set(above)
    assert g.service("whole") not in above and g.model_version("churn", 1) not in above


def test_dangling_references_are_edges_from_undefined_nodes() -> None:
    docs = _repo()
    docs["FeatureView"]["stats"]["source"] = "gone"
    docs["FeatureService"]["part"]["features"][0]["features"] = ["trips", "ghost"]
    docs["FeatureService"]["orphan"] = {
        "name": "orphan",
        "features": [{"view": "missing", "features": ["a"]}],
    }
    docs["Model"]["churn"]["aliases"]["Old"] = 7
    graph = build_graph(docs)
    dangling = {(e.upstream, e.downstream, e.field) for e in graph.dangling()}
    assert dangling == {
        (g.source("gone"), g.view("stats"), "source"),
        (g.feature("stats", "ghost"), g.service("part"), "features[0]"),
        (g.view("missing"), g.service("orphan"), "features[0]"),  # not also each of its features
        (g.model_version("churn", 7), g.alias("churn", "Old"), "aliases.Old"),
    }


def test_an_empty_repo_has_an_empty_graph() -> None:
    graph = build_graph({})
    assert graph.defined == set() and graph.edges == []
    assert graph.downstream([g.view("x")]) == []


def test_one_join_keys_rule_for_objects_and_documents() -> None:
    driver = Entity(name="driver", join_keys=["driver_id"])
    trip = Entity(name="trip", join_keys=["trip_id", "leg"])
    src = FileSource(name="src", path="x.parquet")
    view = FeatureView(name="v", entities=[trip, driver], source=src, schema=[Field(name="f", dtype="int64")])
    objects = {"driver": driver, "trip": trip}
    documents = {"driver": driver.to_dict(), "trip": trip.to_dict()}
    assert g.join_keys(view, objects) == ("trip_id", "leg", "driver_id")  # in the view's entity order
    assert g.join_keys(view.to_dict(), documents) == ("trip_id", "leg", "driver_id")
    assert g.join_keys(view, {"driver": driver}) == ("driver_id",)  # a missing entity is skipped


def test_the_graph_of_objects_is_the_graph_of_their_documents() -> None:
    from fsctl.definitions import object_from_dict

    documents = _repo()
    objects = {
        kind: {name: object_from_dict({"kind": kind, **doc}) for name, doc in docs.items()}
        for kind, docs in documents.items()
    }
    from_objects, from_documents = build_graph(objects), build_graph(documents)
    assert from_objects.defined == from_documents.defined
    assert from_objects.edges == from_documents.edges

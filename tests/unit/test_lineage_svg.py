"""The lineage SVG (fsctl.render.lineage_svg): well-formed XML, one link per node with the
right href, columns in kind order, every edge a path, the focus and protected marks, crossings
reduced, escaping, nothing a strict CSP would block, and the degenerate graphs."""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from typing import Any

import pytest

from fsctl.render import render
from fsctl.render.lineage_svg import MAX_CHARS, default_href, lineage_svg
from fsctl.results.lineage import BOTH, Lineage, LineageEdge, LineageNode
from tests.unit.test_lineage import _repo, build_lineage

NS = "{http://www.w3.org/2000/svg}"


def parse(svg: str) -> ET.Element:
    root = ET.fromstring(svg)
    assert root.tag == f"{NS}svg"
    return root


def links(root: ET.Element) -> dict[str, ET.Element]:
    """data-node -> its <a>; each node exactly once."""
    found = [a for a in root.iter(f"{NS}a")]
    ids = [a.get("data-node") for a in found]
    assert len(ids) == len(set(ids)), ids
    return {str(a.get("data-node")): a for a in found}


def rect(a: ET.Element) -> ET.Element:
    found = a.find(f"{NS}rect")
    assert found is not None
    return found


def x_of(root: ET.Element, node_id: str) -> float:
    return float(rect(links(root)[node_id]).get("x", "nan"))


def paths(root: ET.Element) -> set[tuple[str, str]]:
    return {
        (str(p.get("data-from")), str(p.get("data-to"))) for p in root.iter(f"{NS}path") if p.get("data-from")
    }


def lineage_of(nodes: list[LineageNode], edges: list[tuple[str, str]], root: str | None = None) -> Lineage:
    return Lineage(
        root=root or (nodes[0].id if nodes else ""),
        direction=BOTH,
        registry="r.json",
        registry_version=1,
        nodes=tuple(nodes),
        edges=tuple(LineageEdge(a, b, "feeds") for a, b in edges),
        upstream=None,
        downstream=None,
    )


def node(kind: str, name: str, **attrs: Any) -> LineageNode:
    return LineageNode(f"{kind}:{name}", kind, name, attrs)


def test_every_node_is_one_link_with_its_page() -> None:
    result = build_lineage(_repo(), "churn")
    root = parse(lineage_svg(result))
    found = links(root)
    assert set(found) == {n.id for n in result.nodes}
    hrefs = {node_id: a.get("href") for node_id, a in found.items()}
    assert hrefs["entity:driver"] == "/entities/driver"
    assert hrefs["source:src"] == "/sources/src"
    assert hrefs["view:stats"] == "/views/stats"
    assert hrefs["service:whole"] == "/services/whole"
    assert hrefs["model:churn"] == "/models/churn"
    assert hrefs["model_version:churn/2"] == "/models/churn"
    assert hrefs["alias:churn@Production"] == "/models/churn"
    for a in found.values():  # a rect, the kind and the name, and a tooltip naming the node
        assert a.find(f"{NS}rect") is not None and len(a.findall(f"{NS}text")) == 2
        title = a.find(f"{NS}title")
        assert title is not None and title.text and a.get("data-node", "").split(":", 1)[1] in title.text


def test_a_custom_href_and_a_feature_links_to_its_view() -> None:
    result = build_lineage(_repo(), "stats")
    root = parse(lineage_svg(result, href=lambda n: f"/ui/{n.kind}/{n.name}?at=3&x=1"))
    assert links(root)["view:stats"].get("href") == "/ui/view/stats?at=3&x=1"
    assert default_href(result.node("feature:stats:conv")) == "/views/stats"


def test_columns_run_from_sources_to_aliases() -> None:
    result = build_lineage(_repo(), "churn")
    root = parse(lineage_svg(result))
    order = ["source:src", "view:stats", "service:whole", "model_version:churn/1", "alias:churn@Production"]
    xs = [x_of(root, n) for n in order]
    assert xs == sorted(xs) and len(set(xs)) == len(xs)
    assert x_of(root, "entity:driver") == x_of(root, "source:src")  # one column
    assert x_of(root, "service:whole") < x_of(root, "model:churn") < x_of(root, "model_version:churn/1")
    # the features column is there only when the lineage has features
    with_features = parse(lineage_svg(build_lineage(_repo(), "stats")))
    assert x_of(with_features, "view:stats") < x_of(with_features, "feature:stats:conv") < x_of(
        with_features, "service:whole"
    )
    headers = [t.text for t in root.findall(f"{NS}text")]
    assert "Features" not in headers and "Views" in headers and "Aliases" in headers


def test_every_edge_is_a_curve_from_right_side_to_left_side() -> None:
    result = build_lineage(_repo(), "stats")
    root = parse(lineage_svg(result))
    assert paths(root) == {(e.source, e.target) for e in result.edges}
    boxes = {k: rect(a) for k, a in links(root).items()}
    for p in root.iter(f"{NS}path"):
        if not p.get("data-from"):
            continue  # the arrowhead
        numbers = [float(n) for n in re.findall(r"-?[0-9.]+", p.get("d", ""))]
        assert re.fullmatch(r"M\S+ C\S+ \S+ \S+", p.get("d", ""))
        a, b = boxes[str(p.get("data-from"))], boxes[str(p.get("data-to"))]
        assert numbers[0] == pytest.approx(float(a.get("x", 0)) + float(a.get("width", 0)))
        assert numbers[-2] == pytest.approx(float(b.get("x", 0)))
        assert p.get("marker-end", "").startswith("url(#")


def test_the_focus_is_highlighted_the_root_by_default() -> None:
    result = build_lineage(_repo(), "whole")
    root = parse(lineage_svg(result))
    focused = [k for k, a in links(root).items() if "focus" in a.get("class", "").split()]
    assert focused == ["service:whole"]
    assert links(root)["service:whole"].get("aria-current") == "true"
    assert rect(links(root)["service:whole"]).get("stroke-width") == "3"
    other = parse(lineage_svg(result, focus="view:stats"))
    assert [k for k, a in links(other).items() if a.get("aria-current")] == ["view:stats"]
    assert rect(links(other)["service:whole"]).get("stroke-width") == "1"


def test_protected_aliases_and_versions_have_a_red_border() -> None:
    result = build_lineage(_repo(), "churn")
    found = links(parse(lineage_svg(result)))
    red = {k for k, a in found.items() if rect(a).get("stroke") == "#cf222e"}
    assert red == {"alias:churn@Production", "alias:churn@Champion", "model_version:churn/1", "model_version:churn/2"}
    assert red == {n.id for n in result.nodes if n.protected}  # Challenger and version 3 are not
    assert red == {k for k, a in found.items() if "protected" in a.get("class", "").split()}
    title = found["alias:churn@Production"].find(f"{NS}title")
    assert title is not None and "protected alias" in str(title.text)


def test_barycenter_ordering_uncrosses_edges() -> None:
    # the lineage's own order (by name) would cross: a -> y, b -> x
    nodes = [node("source", "a"), node("source", "b"), node("view", "x"), node("view", "y")]
    result = lineage_of(nodes, [("source:a", "view:y"), ("source:b", "view:x")])
    found = links(parse(lineage_svg(result)))
    y = {k: float(rect(a).get("y", 0)) for k, a in found.items()}
    assert (y["source:a"] < y["source:b"]) == (y["view:y"] < y["view:x"])


def test_payloads_in_names_and_attributes_end_up_as_text() -> None:
    payload = '<script>alert("x")</script>" onload="alert(1)'
    nodes = [
        node("view", "v", owner=payload, description="a & b <img src=x onerror=alert(1)>"),
        LineageNode('service:"><script>', "service", '"><script>alert(1)</script>', {}),
    ]
    result = lineage_of(nodes, [("view:v", 'service:"><script>')])
    svg = lineage_svg(result)
    root = parse(svg)
    assert len(links(root)) == 2
    titles = "".join(t.text or "" for t in root.iter(f"{NS}title"))
    assert payload in titles and "<img src=x onerror=alert(1)>" in titles  # as text, unescaped by the parser
    assert "<script" not in svg and "<img" not in svg
    assert links(root)['service:"><script>'].get("href") == "/services/%22%3E%3Cscript%3Ealert%281%29%3C%2Fscript%3E"


def check_csp_safe(svg: str) -> None:
    root = parse(svg)
    for element in root.iter():
        tag = element.tag.removeprefix(NS)
        assert tag not in ("script", "style", "foreignObject", "image", "use", "iframe"), tag
        for name, value in element.attrib.items():
            assert not name.lower().startswith("on"), name
            assert name != "style" and "xlink" not in name, name
            assert "javascript:" not in value.lower()
            if "url(" in value:
                assert re.fullmatch(r"url\(#[\w-]+\)", value), value
        if tag == "a":
            assert element.get("href", "").startswith("/")
    assert "<script" not in svg.lower() and "<style" not in svg.lower()


@pytest.mark.parametrize("ref", ["churn", "stats", "stats:conv", "churn@Production", "driver", "src", "trips"])
def test_nothing_a_strict_csp_would_block(ref: str) -> None:
    check_csp_safe(lineage_svg(build_lineage(_repo(), ref if ref != "trips" else "FeatureService/trips")))


def test_a_javascript_link_is_refused() -> None:
    result = build_lineage(_repo(), "whole")
    for bad in ("javascript:alert(1)", " JaVa\tscript:alert(1)", "data:text/html,x"):

        def link(node: LineageNode, bad: str = bad) -> str:
            return bad

        with pytest.raises(ValueError, match="refusing"):
            lineage_svg(result, href=link)
    check_csp_safe(lineage_svg(result, href=lambda n: f"/x/{n.name}"))


def test_the_graph_is_named_for_assistive_technology() -> None:
    root = parse(lineage_svg(build_lineage(_repo(), "churn@Production")))
    assert root.get("role") == "group"  # not img: an image's links would be hidden from screen readers
    labelled = str(root.get("aria-labelledby")).split()
    by_id = {e.get("id"): e for e in root.iter() if e.get("id")}
    assert [by_id[i].tag.removeprefix(NS) for i in labelled] == ["title", "desc"]
    assert by_id[labelled[0]].text == "Lineage of alias churn@Production"
    assert "model version" in str(by_id[labelled[1]].text)


def test_size_from_the_layout_long_names_cut_and_a_view_box() -> None:
    long = "a_very_long_feature_view_name_that_goes_on_and_on"
    result = lineage_of([node("view", long), node("service", "s")], [(f"view:{long}", "service:s")])
    root = parse(lineage_svg(result))
    width, height = float(root.get("width", 0)), float(root.get("height", 0))
    assert root.get("viewBox") == f"0 0 {root.get('width')} {root.get('height')}"
    texts = [t.text or "" for t in links(root)[f"view:{long}"].findall(f"{NS}text")]
    assert texts[1].endswith("…") and len(texts[1]) == MAX_CHARS
    title = links(root)[f"view:{long}"].find(f"{NS}title")
    assert title is not None and long in str(title.text)
    for a in links(root).values():  # every box inside the drawing
        r = rect(a)
        assert float(r.get("x", 0)) + float(r.get("width", 0)) <= width
        assert float(r.get("y", 0)) + float(r.get("height", 0)) <= height
    bigger = parse(lineage_svg(build_lineage(_repo(), "churn")))
    assert float(bigger.get("height", 0)) > height and float(bigger.get("width", 0)) > width


def test_one_node_and_no_node() -> None:
    one = parse(lineage_svg(lineage_of([node("entity", "driver")], [])))
    assert list(links(one)) == ["entity:driver"] and paths(one) == set()
    assert "focus" in links(one)["entity:driver"].get("class", "")
    empty = lineage_svg(lineage_of([], []))
    root = parse(empty)
    assert links(root) == {} and "nothing to show" in empty
    check_csp_safe(empty)


def test_edges_to_unknown_nodes_are_skipped_and_backward_edges_drawn() -> None:
    nodes = [node("view", "v"), node("source", "s")]
    result = lineage_of(nodes, [("view:v", "source:s"), ("view:v", "service:gone")])
    root = parse(lineage_svg(result))
    assert paths(root) == {("view:v", "source:s")}


def test_the_render_table_and_the_cli_format() -> None:
    from fsctl.cli.options import LINEAGE_FORMATS

    result = build_lineage(_repo(), "churn")
    assert render(result, "svg") == lineage_svg(result)
    assert "svg" in LINEAGE_FORMATS


def test_sql_sources_get_a_column_between_sources_and_views() -> None:
    nodes = [node("view", "daily_orders"), node("source", "orders"), node("source", "daily", sql=True)]
    edges = [("source:orders", "source:daily"), ("source:daily", "view:daily_orders")]
    root = parse(lineage_svg(lineage_of(nodes, edges)))
    assert x_of(root, "source:orders") < x_of(root, "source:daily") < x_of(root, "view:daily_orders")
    assert "SQL sources" in [t.text for t in root.findall(f"{NS}text")]
    assert links(root)["source:daily"].get("href") == "/sources/daily"  # the UI shows it as a SQL source

"""An SVG drawing of a :class:`~fsctl.results.lineage.Lineage`, laid out in pure Python (no
graphviz, no JavaScript), for ``fsctl lineage --format svg`` and the UI's lineage page.

The layout is layered by kind, left to right: entities and sources, views, features (only
when the lineage has them), services, models (only a model's own lineage has one), model
versions, aliases. Within a column, nodes are ordered by a few barycenter sweeps so that
edges cross little; edges are cubic Bézier curves from a node's right side to the next
node's left side. The focused node (the lineage's root by default) is drawn with a thick
blue border, protected aliases and the versions behind them with a red one, as in the
Mermaid output.

The output is meant to be embedded in pages served under a strict Content-Security-Policy
(``default-src 'none'; style-src 'self'``): presentation attributes only (no ``<style>``,
no ``style=``), no script, no event handler, no external reference; every string is
XML-escaped. Each node is an ``<a href>`` (by default ``/views/NAME``, ``/models/NAME``, ...)
with a ``<title>`` tooltip; long names are cut with an ellipsis, the full name stays in the
tooltip. The ``<svg>`` has ``role="group"`` (not ``img``: an image's children are hidden
from assistive technology, and its links with them) named by its ``<title>`` and ``<desc>``.
"""

from __future__ import annotations

import hashlib
import math
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from urllib.parse import quote, urlsplit
from xml.sax.saxutils import escape, quoteattr

from fsctl.render.lineage import KIND_WORDS, label
from fsctl.results.lineage import Lineage, LineageEdge, LineageNode

# Columns left to right; a column is drawn only when it has nodes.
COLUMNS: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("Entities and sources", ("entity", "source")),
    ("SQL sources", ("sql_source",)),  # a source node whose attrs say sql: it reads the sources left of it
    ("Views", ("view",)),
    ("Features", ("feature",)),
    ("Services", ("service",)),
    ("Models", ("model",)),
    ("Model versions", ("model_version",)),
    ("Aliases", ("alias",)),
)
_COLUMN_OF = {kind: i for i, (_, kinds) in enumerate(COLUMNS) for kind in kinds}
_OTHER = len(COLUMNS)  # a kind this module does not know yet: a last column


def _column(node: LineageNode) -> int:
    kind = "sql_source" if node.kind == "source" and node.attrs.get("sql") else node.kind
    return _COLUMN_OF.get(kind, _OTHER)

PLURALS = {"entity": "entities", "alias": "aliases"}  # kind -> the word for several; else + "s"

# Geometry (px). Names are drawn in a monospace font so their width is known: 0.6em a glyph.
NAME_SIZE, KIND_SIZE, HEADER_SIZE = 13, 10, 12
CHAR_WIDTH = NAME_SIZE * 0.6
MAX_CHARS = 30  # longer names are cut, with an ellipsis
NODE_HEIGHT, ROW_GAP, COLUMN_GAP, MARGIN, HEADER = 44, 16, 72, 16, 28
MIN_WIDTH, PADDING = 120, 12
SWEEPS = 4

# Colours: GitHub's Primer palette, as in the Mermaid output.
FILLS = {
    "entity": "#f6f8fa",
    "source": "#fff8c5",
    "view": "#dafbe1",
    "feature": "#f0fff4",
    "service": "#fbefff",
    "model": "#fff1e5",
    "model_version": "#ffffff",
    "alias": "#ffffff",
}
STROKE, TEXT, MUTED, EDGE = "#57606a", "#1f2328", "#57606a", "#8c959f"
FOCUS_STROKE, FOCUS_FILL = "#1f6feb", "#ddf4ff"
PROTECTED_STROKE, PROTECTED_FILL = "#cf222e", "#ffebe9"
SANS = "system-ui, -apple-system, 'Segoe UI', Helvetica, Arial, sans-serif"
MONO = "ui-monospace, SFMono-Regular, Menlo, Consolas, monospace"


def default_href(node: LineageNode) -> str:
    """The UI page of a node: ``/views/NAME``, ``/services/NAME``, ...; a feature's view's page,
    a model version's or an alias's model's page."""
    if node.kind == "feature":
        return f"/views/{quote(str(node.attrs.get('view') or node.name.partition(':')[0]), safe='')}"
    if node.kind in ("model_version", "alias"):
        model = node.attrs.get("model") or node.name.partition("@" if node.kind == "alias" else "/")[0]
        return f"/models/{quote(str(model), safe='')}"
    return f"/{quote(_plural(node.kind), safe='')}/{quote(node.name, safe='')}"


def _plural(word: str) -> str:
    return PLURALS.get(word, f"{word}s")


def _checked_href(url: str) -> str:
    """``url`` if it is relative or http(s); a ``javascript:`` (or any other scheme) link is a
    caller's bug, refused rather than drawn."""
    cleaned = "".join(c for c in url if c > " ")  # browsers drop controls and spaces in a scheme
    scheme = urlsplit(cleaned).scheme.lower()
    if scheme not in ("", "http", "https"):
        raise ValueError(f"refusing a {scheme}: link in the lineage SVG: {url!r}")
    return url


@dataclass
class _Box:
    node: LineageNode
    column: int
    x: float = 0.0
    y: float = 0.0
    width: float = 0.0


def lineage_svg(
    lineage: Lineage,
    *,
    href: Callable[[LineageNode], str] | None = None,
    focus: str | None = None,
) -> str:
    """``lineage`` as a standalone SVG document (also fit to be inlined in HTML). ``href``
    gives each node's link (default :func:`default_href`); ``focus`` is the id of the node to
    highlight (default: the lineage's root)."""
    link = href or default_href
    focus_id = lineage.root if focus is None else focus
    prefix = "lineage-" + hashlib.sha1(f"{lineage.root}|{focus_id}".encode()).hexdigest()[:8]
    title_id, desc_id, arrow_id = f"{prefix}-title", f"{prefix}-desc", f"{prefix}-arrow"

    known = {n.id for n in lineage.nodes}
    edges = [e for e in lineage.edges if e.source in known and e.target in known]
    columns = _order(lineage.nodes, edges)
    boxes, width, height = _place(columns)

    out = [
        '<svg xmlns="http://www.w3.org/2000/svg" version="1.1" role="group"'
        f' width="{_n(width)}" height="{_n(height)}" viewBox="0 0 {_n(width)} {_n(height)}"'
        f' aria-labelledby={quoteattr(f"{title_id} {desc_id}")} font-family={quoteattr(SANS)}>',
        f"<title id={quoteattr(title_id)}>{escape(_graph_title(lineage))}</title>",
        f"<desc id={quoteattr(desc_id)}>{escape(_graph_description(lineage, columns, edges))}</desc>",
        "<defs>",
        f'<marker id={quoteattr(arrow_id)} viewBox="0 0 10 10" refX="10" refY="5" markerUnits="userSpaceOnUse"'
        ' markerWidth="9" markerHeight="9" orient="auto">'
        f'<path d="M0,0 L10,5 L0,10 z" fill="{EDGE}"/></marker>',
        "</defs>",
    ]
    for index, (header, _) in enumerate((*COLUMNS, ("Other", ()))):
        column = [b for b in boxes.values() if b.column == index]
        if column:
            x = column[0].x + max(b.width for b in column) / 2
            out.append(
                f'<text x="{_n(x)}" y="{_n(MARGIN + HEADER_SIZE)}" text-anchor="middle"'
                f' font-size="{HEADER_SIZE}" font-weight="600" fill="{MUTED}">{escape(header)}</text>'
            )
    out.append(f'<g fill="none" stroke="{EDGE}" stroke-width="1.5">')
    for edge in edges:
        out.append(_edge(edge, boxes, lineage, arrow_id, focus_id))
    out.append("</g>")
    for box in boxes.values():
        out.append(_node(box, _checked_href(link(box.node)), box.node.id == focus_id))
    if not boxes:
        out.append(
            f'<text x="{_n(width / 2)}" y="{_n(height / 2)}" text-anchor="middle"'
            f' font-size="{NAME_SIZE}" fill="{MUTED}">nothing to show</text>'
        )
    out.append("</svg>")
    return "\n".join(out) + "\n"


# -- layout ----------------------------------------------------------------------------------


def _order(nodes: Iterable[LineageNode], edges: list[LineageEdge]) -> list[list[LineageNode]]:
    """The non-empty columns, each ordered to reduce crossings: the lineage's own order (by
    kind and name) to start with, then barycenter sweeps, left to right and back."""
    by_column: dict[int, list[LineageNode]] = {}
    for node in nodes:
        by_column.setdefault(_column(node), []).append(node)
    columns = [by_column[i] for i in sorted(by_column)]
    column_of = {n.id: i for i, column in enumerate(columns) for n in column}
    before: dict[str, list[str]] = {}
    after: dict[str, list[str]] = {}
    for e in edges:
        if column_of[e.source] < column_of[e.target]:
            after.setdefault(e.source, []).append(e.target)
            before.setdefault(e.target, []).append(e.source)

    def positions() -> dict[str, float]:
        # columns are centred vertically, so a node's row offset from its column's middle
        # compares across columns of different lengths
        return {n.id: i - (len(column) - 1) / 2 for column in columns for i, n in enumerate(column)}

    for sweep in range(SWEEPS):
        forward = sweep % 2 == 0
        neighbours = before if forward else after
        for index in range(len(columns)) if forward else reversed(range(len(columns))):
            pos = positions()
            # stable: ties keep their order
            columns[index] = sorted(columns[index], key=lambda n: _barycenter(n.id, neighbours, pos))
    return columns


def _barycenter(node: str, neighbours: dict[str, list[str]], pos: dict[str, float]) -> float:
    """The mean position of a node's neighbours on the sweep's side; its own without any."""
    others = neighbours.get(node)
    return sum(pos[o] for o in others) / len(others) if others else pos[node]


def _place(columns: list[list[LineageNode]]) -> tuple[dict[str, _Box], float, float]:
    """Boxes with coordinates, and the drawing's width and height."""
    boxes: dict[str, _Box] = {}
    tallest = max((len(c) for c in columns), default=0)
    body = max(tallest * NODE_HEIGHT + (tallest - 1) * ROW_GAP, NODE_HEIGHT)
    x = float(MARGIN)
    for index, column in enumerate(columns):
        width = max(MIN_WIDTH, *(math.ceil(_text_width(n)) + 2 * PADDING for n in column))
        span = len(column) * NODE_HEIGHT + (len(column) - 1) * ROW_GAP
        y = MARGIN + HEADER + (body - span) / 2
        for node in column:
            boxes[node.id] = _Box(node, _column(node), x, y, width)
            y += NODE_HEIGHT + ROW_GAP
        x += width + (COLUMN_GAP if index < len(columns) - 1 else 0)
    return boxes, max(x + MARGIN, MIN_WIDTH + 2 * MARGIN), MARGIN + HEADER + body + MARGIN


def _shown_name(node: LineageNode) -> str:
    """The name drawn in the box (a feature's without its view: the view's column shows it);
    cut with an ellipsis past MAX_CHARS. The tooltip has the full name."""
    name = node.name.partition(":")[2] or node.name if node.kind == "feature" else node.name
    return name if len(name) <= MAX_CHARS else name[: MAX_CHARS - 1] + "…"


def _text_width(node: LineageNode) -> float:
    return len(_shown_name(node)) * CHAR_WIDTH


# -- drawing -----------------------------------------------------------------------------------


def _node(box: _Box, url: str, focused: bool) -> str:
    node = box.node
    protected = node.protected and node.kind in ("alias", "model_version")
    fill = FOCUS_FILL if focused else PROTECTED_FILL if protected and node.kind == "alias" else FILLS.get(node.kind, "#ffffff")
    stroke = PROTECTED_STROKE if protected else FOCUS_STROKE if focused else STROKE
    stroke_width = 3 if focused else 2 if protected else 1
    classes = " ".join(
        ["lineage-node", f"kind-{node.kind}", *(["focus"] if focused else []), *(["protected"] if protected else [])]
    )
    current = ' aria-current="true"' if focused else ""
    cx = box.x + box.width / 2
    return (
        f"<a href={quoteattr(url)} class={quoteattr(classes)} data-node={quoteattr(node.id)}{current}>"
        f"<title>{escape(_tooltip(node, focused))}</title>"
        f'<rect x="{_n(box.x)}" y="{_n(box.y)}" width="{_n(box.width)}" height="{NODE_HEIGHT}" rx="6"'
        f' fill="{fill}" stroke="{stroke}" stroke-width="{stroke_width}"/>'
        f'<text x="{_n(cx)}" y="{_n(box.y + 16)}" text-anchor="middle" font-size="{KIND_SIZE}"'
        f' fill="{MUTED}">{escape(_kind_line(node))}</text>'
        f'<text x="{_n(cx)}" y="{_n(box.y + 34)}" text-anchor="middle" font-size="{NAME_SIZE}"'
        f" font-family={quoteattr(MONO)} fill={quoteattr(TEXT)}>{escape(_shown_name(node))}</text>"
        "</a>"
    )


def _kind_line(node: LineageNode) -> str:
    word = KIND_WORDS.get(node.kind, node.kind)
    if node.kind == "alias" and node.protected:
        return f"{word} (protected)"
    return word


def _tooltip(node: LineageNode, focused: bool) -> str:
    lines = [label(node)]
    if node.kind == "alias" and node.protected:
        lines.append("protected alias")
    if node.kind == "model_version" and node.protected:
        lines.append("behind a protected alias")
    if node.kind == "alias" and node.attrs.get("version") is not None:
        lines.append(f"version {node.attrs['version']}")
    if node.kind == "model_version" and node.attrs.get("aliases"):
        lines.append(f"aliases: {', '.join(str(a) for a in node.attrs['aliases'])}")
    for key in ("owner", "description"):
        if node.attrs.get(key):
            lines.append(f"{key}: {node.attrs[key]}")
    if focused:
        lines.append("(the object shown)")
    return "\n".join(lines)


def _edge(edge: LineageEdge, boxes: dict[str, _Box], lineage: Lineage, arrow_id: str, focus_id: str) -> str:
    a, b = boxes[edge.source], boxes[edge.target]
    x1, y1 = a.x + a.width, a.y + NODE_HEIGHT / 2
    x2, y2 = b.x, b.y + NODE_HEIGHT / 2
    bend = (x2 - x1) / 2 if x2 > x1 else COLUMN_GAP  # a backward edge loops around
    d = f"M{_n(x1)},{_n(y1)} C{_n(x1 + bend)},{_n(y1)} {_n(x2 - bend)},{_n(y2)} {_n(x2)},{_n(y2)}"
    near = focus_id in (edge.source, edge.target)
    tip = f"{label(lineage.node(edge.source))} {edge.relation} {label(lineage.node(edge.target))}"
    if edge.features:
        tip += f" ({', '.join(edge.features)})"
    return (
        f"<path d={quoteattr(d)} marker-end={quoteattr(f'url(#{arrow_id})')}"
        f" data-from={quoteattr(edge.source)} data-to={quoteattr(edge.target)}"
        + (f' stroke="{FOCUS_STROKE}" stroke-width="2"' if near else "")
        + f"><title>{escape(tip)}</title></path>"
    )


def _graph_title(lineage: Lineage) -> str:
    if not lineage.nodes or lineage.root not in {n.id for n in lineage.nodes}:
        return "Lineage: nothing to show"
    return f"Lineage of {label(lineage.node(lineage.root))}"


def _graph_description(lineage: Lineage, columns: list[list[LineageNode]], edges: list[LineageEdge]) -> str:
    count = sum(len(c) for c in columns)
    parts = [f"{count} object{'s' if count != 1 else ''} and {len(edges)} link{'s' if len(edges) != 1 else ''}"]
    if columns:
        words = ", ".join(
            f"{len(c)} {_plural(KIND_WORDS.get(k, k)) if len(c) != 1 else KIND_WORDS.get(k, k)}"
            for k in dict.fromkeys(n.kind for column in columns for n in column)
            for c in [[n for column in columns for n in column if n.kind == k]]
        )
        parts.append(f"from left (what is read) to right (what reads it): {words}")
    if lineage.registry:
        parts.append(f"registry {lineage.registry}, version {lineage.registry_version}")
    return "; ".join(parts) + "."


def _n(value: float) -> str:
    """A coordinate: an integer when it is one, else one decimal."""
    return str(int(value)) if float(value).is_integer() else f"{value:.1f}"


def lineage_svg_view(result: Lineage) -> str:
    """The ``("Lineage", "svg")`` view of :mod:`fsctl.render`: focused on the root, default links."""
    return lineage_svg(result)

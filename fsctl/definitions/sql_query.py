"""The query of a SQL source as plain text, with no pydantic: the ``{{ source('name') }}``
references it makes to other sources, and turning them into an engine's relations.

A query names other sources only through ``{{ source('name') }}`` (single or double quotes,
spaces optional). Nothing else of a template language is accepted: a stray ``{{``, ``{%``
or ``{#`` is an error, so a query reads the same in every engine and in every version of
fsctl. Each engine replaces a reference by its own relation for that source (DuckDB: a view
of the upstream's rows); fsctl never edits the rest of the query, which is the user's own
SQL and runs with the user's rights.

The loader, the planner and the data path use these functions.
"""

from __future__ import annotations

import re
from collections.abc import Callable

SOURCE_REF_RE = re.compile(r"\{\{\s*source\(\s*(?P<q>['\"])(?P<name>[^'\"]*)(?P=q)\s*\)\s*\}\}")
_TEMPLATE_RE = re.compile(r"\{\{|\}\}|\{%|%\}|\{#|#\}")


def upstream_names(query: str) -> list[str]:
    """The sources ``query`` reads, in the order they first appear."""
    return list(dict.fromkeys(m.group("name") for m in SOURCE_REF_RE.finditer(query)))


def query_problems(query: str) -> list[str]:
    """What is wrong with the template part of ``query`` (not its SQL): stray template
    markers, or no source referenced at all."""
    rest = SOURCE_REF_RE.sub(" ", query)
    stray = _TEMPLATE_RE.search(rest)
    if stray is not None:
        start = max(stray.start() - 20, 0)
        snippet = " ".join(rest[start : stray.end() + 20].split())
        return [
            f"the query has '{stray.group()}' outside a {{{{ source('name') }}}} reference (near '{snippet}'): "
            "a SQL source names other sources only with {{ source('name') }}"
        ]
    if not upstream_names(query):
        return ["the query reads no source: name the sources it reads with {{ source('name') }}"]
    return []


def render_query(query: str, relation: Callable[[str], str]) -> str:
    """``query`` with each ``{{ source('name') }}`` replaced by ``relation(name)`` and a
    trailing semicolon dropped, ready to be used as a subquery."""
    text = SOURCE_REF_RE.sub(lambda m: relation(m.group("name")), query)
    return text.strip().rstrip(";").rstrip()


def normalise_query(query: str) -> str:
    """``query`` with runs of whitespace made one space: what the plan compares, so
    re-indenting a query is not a change."""
    return " ".join(query.split())

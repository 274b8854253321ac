"""Use cases of the web UI (``fsctl ui``) beyond ``list`` and ``describe``: the overview of a
registry version, search across it, the history of one object, and the freshness of its
views (the status service, cached for a few seconds).

Each takes a :class:`~fsctl.services.registry_cache.PinnedRegistry` (one version, current
or past) and returns plain JSON-ready dicts: the UI shows them as HTML and as JSON as they are.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from fsctl.definitions.values import KIND_ORDER
from fsctl.errors import FsctlError
from fsctl.services.registry_cache import LiveRegistry, PinnedRegistry

Doc = dict[str, Any]

# YAML kind <-> the word of the UI's URLs (as `fsctl list` takes them)
KIND_WORDS = {
    "Entity": "entities",
    "FileSource": "sources",
    "SqlSource": "sql-sources",
    "FeatureView": "views",
    "FeatureService": "services",
    "Model": "models",
}
WORD_KINDS = {word: kind for kind, word in KIND_WORDS.items()}
FRESHNESS_SECONDS = 10.0  # how long one status report is shown before it is taken again


def overview(pinned: PinnedRegistry, project: str) -> Doc:
    """Project, version, when and by whom it was applied, counts per kind, and the online
    views that declare no ``freshness`` (nobody is told when they go stale)."""
    snapshot = pinned.snapshot
    last = next((h for h in reversed(snapshot.history) if h.version == snapshot.version), None)
    views = snapshot.objects.get("FeatureView", {})
    return {
        "project": snapshot.project or project,
        "registry": pinned.location,
        "registry_version": snapshot.version,
        "current": pinned.current,
        "applied_at": last.applied_at if last else None,
        "actor": last.actor if last else None,
        "commit": last.commit if last else None,
        "counts": {KIND_WORDS[k]: len(snapshot.objects.get(k, {})) for k in KIND_ORDER},
        "views_missing_freshness": sorted(
            name for name, v in views.items() if v.get("online", True) and not v.get("freshness")
        ),
    }


# -- search --------------------------------------------------------------------------------

QUALIFIERS = ("kind", "tag", "owner")


@dataclass(frozen=True)
class Query:
    terms: tuple[str, ...]
    kinds: tuple[str, ...]  # YAML kinds
    tags: tuple[str, ...]  # "key" or "key=value"
    owners: tuple[str, ...]

    def to_dict(self) -> Doc:
        return {
            "terms": list(self.terms),
            "kinds": list(self.kinds),
            "tags": list(self.tags),
            "owners": list(self.owners),
        }


def parse_query(text: str) -> Query:
    """Words; ``kind:views`` (any spelling ``fsctl list`` takes), ``tag:KEY`` or
    ``tag:KEY=VALUE``, ``owner:TEXT``. Unknown ``x:y`` words are searched as text."""
    from fsctl.services.browse import KIND_ALIASES

    terms, kinds, tags, owners = [], [], [], []
    for word in text.split():
        key, sep, value = word.partition(":")
        key = key.lower()
        if sep and value and key in QUALIFIERS:
            if key == "kind":
                kinds.append(KIND_ALIASES.get(value.lower().replace("-", "").replace("_", ""), value))
            elif key == "tag":
                tags.append(value.lower())
            else:
                owners.append(value.lower())
        else:
            terms.append(word.lower())
    return Query(tuple(terms), tuple(kinds), tuple(tags), tuple(owners))


def _tag_strings(tags: Any) -> list[str]:
    if not isinstance(tags, dict):
        return []
    return [str(k).lower() for k in tags] + [f"{k}={v}".lower() for k, v in tags.items()]


def _feature_names(kind: str, doc: Doc) -> list[str]:
    if kind == "FeatureView":
        return [str(f.get("name", "")) for f in doc.get("schema", [])]
    if kind == "FeatureService":
        return [str(f) for s in doc.get("features", []) for f in (s.get("features") or [])]
    return []


def _fields(kind: str, doc: Doc) -> dict[str, list[str]]:
    """What a search term is matched against, by what the UI calls it."""
    tags = _tag_strings(doc.get("tags"))
    descriptions = [str(doc.get("description") or "")]
    if kind == "Model":
        for version in doc.get("versions", []):
            descriptions.append(str(version.get("description") or ""))
            tags += _tag_strings(version.get("tags"))
    return {
        "name": [str(doc.get("name", ""))],
        "description": descriptions,
        "tag": tags,
        "owner": [str(doc.get("owner") or "")],
        "feature": _feature_names(kind, doc),
    }


def search(pinned: PinnedRegistry, text: str) -> Doc:
    """Objects matching every word of ``text`` (in a name, description, tag, owner or feature
    name, case-insensitive) and every qualifier."""
    query = parse_query(text)
    hits = []
    for kind in KIND_ORDER:
        if query.kinds and kind not in query.kinds:
            continue
        for name, doc in sorted(pinned.snapshot.objects.get(kind, {}).items()):
            fields = _fields(kind, doc)
            if query.tags and not all(t in fields["tag"] for t in query.tags):
                continue
            owner = fields["owner"][0].lower()
            if query.owners and not all(o in owner for o in query.owners):
                continue
            matched: list[str] = []
            for term in query.terms:
                where = [f for f, values in fields.items() if any(term in v.lower() for v in values)]
                if not where:
                    break
                matched += [f for f in where if f not in matched]
            else:
                if not (query.terms or query.kinds or query.tags or query.owners):
                    continue
                hits.append(
                    {
                        "kind": kind,
                        "word": KIND_WORDS[kind],
                        "name": name,
                        "description": doc.get("description") or "",
                        "owner": doc.get("owner") or "",
                        "matched": matched,
                        "features": [
                            f for f in fields["feature"] if any(t in f.lower() for t in query.terms)
                        ],
                    }
                )
    return {"q": text, "query": query.to_dict(), "registry_version": pinned.version, "results": hits}


# -- per-object history --------------------------------------------------------------------


def object_history(live: LiveRegistry, pinned: PinnedRegistry, kind: str, name: str) -> Doc:
    """The versions (up to ``pinned``'s) that added, changed or deleted the object, newest first,
    with which of its top-level fields changed."""
    entries = [h for h in pinned.snapshot.history if h.version <= pinned.version]
    changes = []
    before: Doc | None = None
    for entry in entries:
        try:
            doc = live.at(entry.version).snapshot.objects.get(kind, {}).get(name)
        except FsctlError:  # a version whose document is not kept: skip it
            continue
        if doc != before:
            fields: list[str] = []
            if before is None:
                action = "add"
            elif doc is None:
                action = "delete"
            else:
                action = "update"
                fields = sorted(k for k in set(before) | set(doc) if before.get(k) != doc.get(k))
            changes.append(
                {
                    "version": entry.version,
                    "applied_at": entry.applied_at,
                    "actor": entry.actor,
                    "commit": entry.commit,
                    "action": action,
                    "fields": fields,
                }
            )
        before = doc
    changes.reverse()
    return {"kind": kind, "name": name, "registry_version": pinned.version, "changes": changes}


# -- freshness -----------------------------------------------------------------------------


def freshness(pinned: PinnedRegistry, take_status: Callable[[PinnedRegistry], Any]) -> Doc:
    """Per online view, its status (``fsctl status --format json``'s view entry), or why it is
    unknown: ``{"views": {name: {...}}, "error": str | None}``. Only for the current version
    (the state document knows the present only); a report is kept ``FRESHNESS_SECONDS``."""
    if not pinned.current:
        return {"views": {}, "error": "freshness is shown for the current version only"}
    kept = pinned.extras.get("freshness")
    now = time.monotonic()
    if kept is not None and now < kept[0]:
        return dict(kept[1])
    try:
        report = take_status(pinned)
        result: Doc = {"views": {v.name: v.to_dict() for v in report.views}, "error": None}
    except (FsctlError, OSError) as exc:
        result = {"views": {}, "error": getattr(exc, "message", None) or str(exc)}
    pinned.extras["freshness"] = (now + FRESHNESS_SECONDS, result)
    return result

"""The registry document: one versioned JSON document per project.

Shape (``format_version`` 1)::

    {
      "format_version": 1,
      "project": "driver_ranking",
      "version": 3,                      # 0 means "no registry yet"; +1 per apply that changes anything
      "applied_at": "2026-01-01T00:00:00Z", "actor": "ci@host", "commit": "abc123", "plan_hash": "...",
      "online_store": "sqlite:data/online.db",   # the store the online views were applied to
      "objects": {"Entity": {"driver": {...canonical object...}}, "FeatureView": {...}, ...},
      "history": [{"version": 1, "applied_at", "actor", "commit", "plan_hash", "summary": {...}}, ...]
    }

``history`` holds the metadata of every version; the full document of each
version is kept by the storage backend (a file or object per version).

``online_store`` (the identity of :class:`fsctl.online.base.OnlineStoreConfig`: no secrets),
and in the audit record of a version that switched stores ``online_store_change`` (``{"from",
"to"}``), were added with issue 11, so that ``fsctl plan`` can show a switch of online store and
``materialize`` refuses to load a store the views were not applied to. They are added keys,
so the format stays 1: an older fsctl ignores it (and drops it when it writes; the next
apply of this fsctl records it again). A document without it (written before) reads as
None, "not recorded": nothing is assumed, and the next apply that changes something
records the store it applies to.

Each model version in ``objects.Model.<name>.versions`` carries ``training_snapshot``
(``{"registry_version", "feature_service", "features": [{"ref", "name", "dtype"}],
"fingerprint"}``; see :mod:`fsctl.definitions.training`), added with issue 12: what its
feature service gave when it first landed. An added key, so the format stays 1. A document
without it (written before) is read as it is; the planner takes a snapshot of each version
from the registry as it stands, shows no change for it, and the next apply that changes
something writes it. The Model keys added by issue 12 (``traffic``; a version's ``tags``,
``metrics``, ``signature``, ``archived``) are absent while unset.

Issue 17 added the kind ``objects.SqlSource`` (``query``, ``timestamp_field``,
``created_timestamp_field``) and a FileSource's ``version`` / ``timestamp`` (Delta pins, absent
while unset): added keys, so the format stays 1 and a registry without them reads as before.
An older fsctl does not know the kind: it cannot serve views on a SQL source, and its apply
would leave SQL sources out, so a team upgrades every fsctl before applying one.

What counts as a breaking change to this format: removing or renaming a key,
changing a value's type or meaning. Adding keys is not breaking; readers ignore
unknown keys. A breaking change bumps ``FORMAT_VERSION``; this fsctl refuses to
write a document with a newer format than it knows.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from fsctl.errors import CorruptRegistryError, RegistryError

FORMAT_VERSION = 1


@dataclass(frozen=True)
class VersionInfo:
    """Audit record of one registry version."""

    version: int
    applied_at: str
    actor: str
    commit: str | None
    plan_hash: str | None
    summary: dict[str, int] = field(default_factory=dict)
    # What a guard rail blocked and --allow-breaking let through: kind, name, reason (the
    # guard rail's), override (the OBJECT given), because (the --reason), actor.
    allowed_breaking: tuple[dict[str, Any], ...] = ()
    # A switch of online store made by this version: {"from", "to"} (store identities).
    online_store_change: dict[str, str] | None = None

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "version": self.version,
            "applied_at": self.applied_at,
            "actor": self.actor,
            "commit": self.commit,
            "plan_hash": self.plan_hash,
            "summary": dict(self.summary),
        }
        if self.allowed_breaking:
            out["allowed_breaking"] = [dict(a) for a in self.allowed_breaking]
        if self.online_store_change:
            out["online_store_change"] = dict(self.online_store_change)
        return out


@dataclass(frozen=True)
class RegistrySnapshot:
    """What a reader saw: the document, plus an opaque token for compare-and-swap."""

    location: str
    project: str | None
    version: int
    objects: dict[str, dict[str, dict[str, Any]]]
    history: tuple[VersionInfo, ...] = ()
    token: str | None = None
    online_store: str | None = None  # identity of the store the online views were applied to

    @property
    def exists(self) -> bool:
        return self.version > 0

    def to_document(self) -> dict[str, Any]:
        last = self.history[-1] if self.history else None
        return {
            "format_version": FORMAT_VERSION,
            "project": self.project,
            "version": self.version,
            "applied_at": last.applied_at if last else None,
            "actor": last.actor if last else None,
            "commit": last.commit if last else None,
            "plan_hash": last.plan_hash if last else None,
            "online_store": self.online_store,
            "objects": self.objects,
            "history": [h.to_dict() for h in self.history],
        }

    def next(
        self,
        objects: dict[str, dict[str, dict[str, Any]]],
        info: VersionInfo,
        project: str,
        online_store: str | None = None,
    ) -> RegistrySnapshot:
        """The snapshot that an apply of ``objects`` (to ``online_store``: default, the
        store recorded now) on top of this one writes."""
        return RegistrySnapshot(
            location=self.location,
            project=project,
            version=self.version + 1,
            objects=objects,
            history=(*self.history, info),
            online_store=online_store or self.online_store,
        )


def check_version(current: RegistrySnapshot, version: int) -> bool:
    """Raise unless ``version`` exists in a registry now at ``current``; True if it is the current one."""
    if version < 1 or version > current.version:
        if current.version == 0:
            raise RegistryError(
                f"the registry {current.location} has no versions yet (nothing was applied)",
                hint="run `fsctl apply` first (or point --registry / FSCTL_REGISTRY at the registry you meant)",
            )
        raise RegistryError(
            f"the registry {current.location} has no version {version} (versions 1..{current.version})",
            hint="see `fsctl registry history`",
        )
    return version == current.version


def empty_snapshot(location: str, project: str | None = None) -> RegistrySnapshot:
    return RegistrySnapshot(location=location, project=project, version=0, objects={})


def parse_document(raw: bytes | str, location: str, token: str | None = None) -> RegistrySnapshot:
    """Parse a stored document; anything unexpected is a :class:`CorruptRegistryError`."""
    import json

    def corrupt(why: str) -> CorruptRegistryError:
        return CorruptRegistryError(
            f"the registry at {location} is not a valid fsctl registry: {why}",
            hint="it was left untouched; restore it from its history or a backup, "
            "or point --registry at the right location",
        )

    try:
        doc = json.loads(raw)
    except (ValueError, UnicodeDecodeError) as exc:
        raise corrupt(f"not JSON ({exc})") from None
    if not isinstance(doc, dict):
        raise corrupt("the document is not a JSON object")
    fmt = doc.get("format_version")
    if not isinstance(fmt, int):
        raise corrupt("no format_version")
    if fmt > FORMAT_VERSION:
        raise CorruptRegistryError(
            f"the registry at {location} has format version {fmt}, newer than this fsctl reads "
            f"({FORMAT_VERSION})",
            hint="upgrade fsctl",
        )
    version, objects, history = doc.get("version"), doc.get("objects"), doc.get("history", [])
    if not isinstance(version, int) or version < 0:
        raise corrupt("'version' is not a non-negative integer")
    if not isinstance(objects, dict) or not all(isinstance(v, dict) for v in objects.values()):
        raise corrupt("'objects' is not a mapping of kinds to objects")
    if not isinstance(history, list):
        raise corrupt("'history' is not a list")
    online_store = doc.get("online_store")
    if online_store is not None and not isinstance(online_store, str):
        raise corrupt("'online_store' is not a string")
    try:
        infos = tuple(
            VersionInfo(
                version=int(h["version"]),
                applied_at=str(h["applied_at"]),
                actor=str(h["actor"]),
                commit=h.get("commit"),
                plan_hash=h.get("plan_hash"),
                summary=dict(h.get("summary") or {}),
                allowed_breaking=tuple(dict(a) for a in h.get("allowed_breaking") or ()),
                online_store_change=dict(h["online_store_change"]) if h.get("online_store_change") else None,
            )
            for h in history
        )
    except (KeyError, TypeError, ValueError) as exc:
        raise corrupt(f"a history entry is malformed ({exc})") from None
    return RegistrySnapshot(
        location=location,
        project=doc.get("project"),
        version=version,
        objects=objects,
        history=infos,
        token=token,
        online_store=online_store,
    )


def dumps(document: dict[str, Any]) -> bytes:
    """Serialise a document with one line per object and per history entry: readable in a diff,
    and fast (each line goes through the C JSON encoder)."""
    import json

    def one(value: Any) -> str:
        return json.dumps(value, sort_keys=True, ensure_ascii=False)

    lines = ["{"]
    head = [k for k in sorted(document) if k not in ("objects", "history")]
    for key in head:
        lines.append(f" {one(key)}: {one(document[key])},")
    lines.append(' "objects": {')
    kinds = sorted(document.get("objects", {}))
    for i, kind in enumerate(kinds):
        objects = document["objects"][kind]
        lines.append(f"  {one(kind)}: {{")
        names = sorted(objects)
        lines.extend(
            f"   {one(n)}: {one(objects[n])}{',' if j < len(names) - 1 else ''}" for j, n in enumerate(names)
        )
        lines.append("  }" + ("," if i < len(kinds) - 1 else ""))
    lines.append(" },")
    history = document.get("history", [])
    lines.append(' "history": [')
    lines.extend(f"  {one(h)}{',' if j < len(history) - 1 else ''}" for j, h in enumerate(history))
    lines.append(" ]")
    lines.append("}")
    return ("\n".join(lines) + "\n").encode("utf-8")

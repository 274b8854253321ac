"""The plan: one structured result that every renderer (text, JSON, Markdown) shows.

A :class:`Plan` is pure data: the registry version it was computed against,
the field-level changes per object in a deterministic order, what is blocked,
and the desired objects, with two fingerprints: ``definitions_hash`` (what the
repo declares) and ``plan_hash`` (this exact plan).

The plan also says where the online views' tables are: ``online_store`` is the identity of
the configured online store, and ``store_change`` is set when the registry's views were
applied to another store (a switch: every online view gets a table in the new store, the
old store is left as it is).

JSON shape (``schema_version`` 1), fixed by DESIGN.md; keys may be added,
never removed or renamed without bumping ``schema_version``. ``online_store_change``
(``null`` or ``{"from", "to", "old_store": "kept"}``) was added with issue 11: an added key.
Issue 12 added, on a change that breaks model versions (absent otherwise), ``breaks_model_versions``: ``[{"model", "version", "feature",
"trained", "now", "reason"}]``, the published model versions the change leaves without a
feature they were trained on (``now`` null) or with another dtype (see
:mod:`fsctl.definitions.training`); such a change is breaking.

Guard rails and promotion gates (issue 12, items 4-6) added these keys:

* on each ``blocked`` (and ``allowed_breaking``) entry, ``chains``: ``[{"links": [...],
  "model", "version", "alias", "protected"}]``, each the way from the change to a model
  version (and the alias naming it): ``links`` are short labels, the change first
  (``"driver_hourly_stats.conv_rate dtype float64 -> float32"``, ``"driver_activity_v1"``,
  ``"churn_classifier/1"``, ``"Production"``); ``alias`` is null for a version no alias
  names; chains through protected aliases come first;
* ``warnings``: ``[{"kind", "name", "reason", "chains"}]``, breaking changes that reach only
  unprotected (or archived) model versions: shown, not blocked;
* ``gates``: ``[{"model", "alias", "version", "name", "status", "detail", "fix"}]``, the
  promotion gates of each protected alias the plan adds or moves (``status`` pass, fail or
  unknown; see :mod:`fsctl.diff.gates`); ``strict_gates``: whether unknown counts as fail;
* ``approvals``: ``[{"owner", "objects": [...]}]``, the owners (of the models and views the
  plan touches) whose approval it needs (see :mod:`fsctl.services.codeowners`).

None of them enters ``plan_hash`` (they describe the plan; the changes and overrides are it).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from fsctl.definitions.training import Gap
from fsctl.fingerprints import fingerprint

__all__ = [
    "SCHEMA_VERSION",
    "Approval",
    "Blocked",
    "Chain",
    "Change",
    "FieldChange",
    "Gate",
    "Override",
    "Plan",
    "PlanWarning",
    "StoreChange",
    "fingerprint",
]

SCHEMA_VERSION = 1

ADD, UPDATE, DELETE = "add", "update", "delete"
BREAKING, NON_BREAKING, METADATA = "breaking", "non-breaking", "metadata-only"


@dataclass(frozen=True)
class FieldChange:
    path: str
    before: Any
    after: Any
    impact: str = NON_BREAKING
    reason: str = ""

    def to_dict(self) -> dict[str, Any]:
        return {
            "path": self.path,
            "before": self.before,
            "after": self.after,
            "impact": self.impact,
            "reason": self.reason,
        }


@dataclass(frozen=True)
class Change:
    kind: str
    name: str
    action: str
    fields: tuple[FieldChange, ...] = ()
    impact: str = NON_BREAKING
    # Published model versions this change leaves without a feature (or dtype) their
    # training snapshot recorded: breaking for them, whatever the fields say.
    breaks: tuple[Gap, ...] = ()

    @property
    def breaking(self) -> bool:
        return self.impact == BREAKING

    @property
    def reasons(self) -> list[str]:
        seen: list[str] = []
        for f in self.fields:
            if f.impact == BREAKING and f.reason and f.reason not in seen:
                seen.append(f.reason)
        seen.extend(gap.reason for gap in self.breaks if gap.reason not in seen)
        if self.action == DELETE:
            seen.insert(0, f"{self.kind} '{self.name}' is deleted")
        return seen

    def to_dict(self) -> dict[str, Any]:
        out = {
            "kind": self.kind,
            "name": self.name,
            "action": self.action,
            "impact": self.impact,
            "fields": [f.to_dict() for f in self.fields],
            "breaking": self.breaking,
            "reasons": self.reasons,
        }
        if self.breaks:  # only then, so plans that break no version hash as before
            out["breaks_model_versions"] = [{**gap.to_dict(), "reason": gap.reason} for gap in self.breaks]
        return out


@dataclass(frozen=True)
class Chain:
    """How a change reaches a model version: ``links`` from the change (its short label)
    through the objects in between to the version and, when one names it, the alias."""

    links: tuple[str, ...]
    model: str
    version: int
    alias: str | None = None
    protected: bool = False
    # the graph node kind of each link ("change" for the first), for drawing; not in the JSON
    kinds: tuple[str, ...] = field(default=(), compare=False)

    def to_dict(self) -> dict[str, Any]:
        return {
            "links": list(self.links),
            "model": self.model,
            "version": self.version,
            "alias": self.alias,
            "protected": self.protected,
        }


@dataclass(frozen=True)
class Blocked:
    """One blocked object: every reason it is blocked (breaking change, guard rail, failed
    promotion gates), joined, with what depends on it and how."""

    kind: str
    name: str
    reason: str
    dependents: tuple[str, ...]
    chains: tuple[Chain, ...] = ()  # protected chains first
    # the promotion gates that block it (failed, or unknown under --strict-gates); not in the
    # JSON, whose "gates" list has every gate
    gates: tuple[Gate, ...] = ()

    def to_dict(self) -> dict[str, Any]:
        return {
            "kind": self.kind,
            "name": self.name,
            "reason": self.reason,
            "dependents": list(self.dependents),
            "chains": [c.to_dict() for c in self.chains],
        }


@dataclass(frozen=True)
class PlanWarning:
    """A breaking change that reaches only unprotected (or archived) model versions."""

    kind: str
    name: str
    reason: str
    chains: tuple[Chain, ...]

    def to_dict(self) -> dict[str, Any]:
        return {"kind": self.kind, "name": self.name, "reason": self.reason, "chains": [c.to_dict() for c in self.chains]}


PASS, FAIL, UNKNOWN = "pass", "fail", "unknown"


@dataclass(frozen=True)
class Gate:
    """One promotion gate of a protected alias landing on a model version."""

    model: str
    alias: str
    version: int
    name: str
    status: str  # pass | fail | unknown
    detail: str
    fix: str = ""

    def to_dict(self) -> dict[str, Any]:
        return {
            "model": self.model,
            "alias": self.alias,
            "version": self.version,
            "name": self.name,
            "status": self.status,
            "detail": self.detail,
            "fix": self.fix,
        }


@dataclass(frozen=True)
class Approval:
    """An owner whose approval the plan needs, and the objects it owns that the plan touches."""

    owner: str
    objects: tuple[str, ...]

    def to_dict(self) -> dict[str, Any]:
        return {"owner": self.owner, "objects": list(self.objects)}


@dataclass(frozen=True)
class Override:
    """``--allow-breaking OBJECT --reason TEXT``: let through what a guard rail blocks.
    ``target`` is ``Kind/name``, a bare ``name`` (any kind), or ``*`` (everything, which the
    rule against deleting every object needs)."""

    target: str
    reason: str

    def matches(self, blocked: Blocked) -> bool:
        return self.target in ("*", blocked.name, f"{blocked.kind}/{blocked.name}")

    def to_dict(self) -> dict[str, Any]:
        return {"object": self.target, "reason": self.reason}


@dataclass(frozen=True)
class StoreChange:
    """The online views move from the store the registry records (``before``) to the one
    configured (``after``), both store identities. The apply creates every online view's
    table in the new store and leaves the old store's tables and data as they are."""

    before: str
    after: str

    def to_dict(self) -> dict[str, Any]:
        return {"from": self.before, "to": self.after, "old_store": "kept"}


@dataclass(frozen=True)
class Plan:
    project: str
    registry: str
    registry_version: int
    changes: tuple[Change, ...]
    blocked: tuple[Blocked, ...]
    desired: dict[str, dict[str, dict[str, Any]]] = field(repr=False)
    definitions_hash: str = ""
    # Infrastructure the apply changes: ("create" | "drop", view) for online tables.
    online_changes: tuple[tuple[str, str], ...] = ()
    # Blocked changes let through by --allow-breaking, and the overrides asked for.
    allowed: tuple[Blocked, ...] = ()
    overrides: tuple[Override, ...] = ()
    # The configured online store (identity), a switch away from the registry's, and whether
    # the registry (written by an older fsctl) does not say which store its views are in.
    online_store: str | None = None
    store_change: StoreChange | None = None
    store_unrecorded: bool = False
    # Breaking changes reaching only unprotected model versions; promotion gates of the
    # protected aliases added or moved (strict: unknown counts as fail); owners to approve.
    warnings: tuple[PlanWarning, ...] = ()
    gates: tuple[Gate, ...] = ()
    strict_gates: bool = False
    approvals: tuple[Approval, ...] = ()

    @property
    def has_changes(self) -> bool:
        return bool(self.changes) or self.store_change is not None

    @property
    def is_blocked(self) -> bool:
        return bool(self.blocked)

    def count(self, action: str) -> int:
        return sum(1 for c in self.changes if c.action == action)

    @property
    def summary(self) -> dict[str, int]:
        return {
            "add": self.count(ADD),
            "update": self.count(UPDATE),
            "delete": self.count(DELETE),
            "breaking": sum(1 for c in self.changes if c.breaking),
            "blocked": len(self.blocked),
            "allowed_breaking": len(self.allowed),
        }

    @property
    def plan_hash(self) -> str:
        body: dict[str, Any] = {
            "project": self.project,
            "registry_version": self.registry_version,
            "changes": [c.to_dict() for c in self.changes],
            "definitions_hash": self.definitions_hash,
        }
        if self.overrides:  # a saved plan applies with exactly the overrides it was made with
            body["overrides"] = [o.to_dict() for o in self.overrides]
        if self.store_change:  # ... and to exactly the online store it switches to
            body["online_store_change"] = self.store_change.to_dict()
        return fingerprint(body)

    def to_dict(self) -> dict[str, Any]:
        return {
            "schema_version": SCHEMA_VERSION,
            "project": self.project,
            "registry": self.registry,
            "registry_version": self.registry_version,
            "changes": [c.to_dict() for c in self.changes],
            "blocked": [b.to_dict() for b in self.blocked],
            "online_store": [{"action": a, "view": v} for a, v in self.online_changes],
            "online_store_change": self.store_change.to_dict() if self.store_change else None,
            "overrides": [o.to_dict() for o in self.overrides],
            "allowed_breaking": [
                {**b.to_dict(), "override": next(o.to_dict() for o in self.overrides if o.matches(b))}
                for b in self.allowed
            ],
            "warnings": [w.to_dict() for w in self.warnings],
            "gates": [g.to_dict() for g in self.gates],
            "strict_gates": self.strict_gates,
            "approvals": [a.to_dict() for a in self.approvals],
            "summary": self.summary,
            "definitions_hash": self.definitions_hash,
            "plan_hash": self.plan_hash,
        }

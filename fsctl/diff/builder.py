"""Build a :class:`~fsctl.diff.plan.Plan` from desired objects and a registry snapshot.

Pure: no I/O. Objects are compared in canonical form (see ``FsctlObject.to_dict``).
A breaking change or a deletion is judged by what still depends on it after the apply,
as the dependency graph of the desired objects (:mod:`fsctl.definitions.graph`) says —
views on an entity or source, services selecting the affected features, model versions
bound to those services and the aliases naming them (:mod:`fsctl.diff.reach`):

a. a dependent model version is behind a *protected* alias (``models.protected_aliases``
   in fsctl.yaml, Production and Champion by default), in the registry now or in the
   desired objects: the change is **blocked**, and the blocked entry carries each chain
   from the change to the alias (``driver_hourly_stats.conv_rate dtype float64 -> float32``
   -> ``driver_activity_v1`` -> ``churn_classifier/1`` -> ``Production``), protected
   chains first;
b. else, every dependent path ends in model versions that are unprotected (or archived):
   a **warning** (``Plan.warnings``), not a block;
c. else, something that no model version is bound to depends on it (a view read directly
   by online clients, a service without a model): **blocked**, as before.

Two guard rails block more, even when nothing that remains depends on the change:

* a plan that deletes every object of a registry that has some (an empty or wrongly
  ignored repo, a wrong ``--repo``): ``teardown`` is the way to remove a project;
* deleting anything a *protected* alias reaches in the registry now, its model included
  (with the chain in the registry's graph), or removing a protected alias.

Promotion gates (:mod:`fsctl.diff.gates`): each protected alias the plan adds or moves
is checked on the version it lands on; a failed gate (or, with ``strict_gates``, an
unknown one) blocks the plan as a blocked ``Model`` entry. What the gates need from
outside the registry (watermarks, online tables, the time) comes in as data
(:class:`~fsctl.diff.gates.Observed`), gathered by the plan service.

Blocked plans cannot be applied, unless an override (``--allow-breaking OBJECT --reason
TEXT``) names the object; what it lets through is listed in ``Plan.allowed``.

Training snapshots (:mod:`fsctl.definitions.training`): the plan's ``desired`` objects
carry each model version's snapshot (kept from the registry, or recorded now), so apply
writes them; they are registry-side and never diffed. A change that leaves a published,
unarchived version without a feature it was trained on, or with another dtype, is breaking,
and names the version (``Change.breaks``).

Online stores: given the store the registry's views were applied to and the configured
one (identities), a registry with online views in another store is a *switch*: every
desired online view's table is created in the new store, nothing is dropped (the old store
is left as it is, tables of views removed now included), and the plan is a change even if
no definition changed. A registry that does not record its store (written by an older
fsctl) is not a switch; the plan notes it, and the next apply records the store.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from typing import Any

from fsctl.definitions import graph as g
from fsctl.definitions.config import DEFAULT_PROTECTED_ALIASES, DEFAULT_REQUIRED_METADATA
from fsctl.definitions.graph import DefinitionGraph, build_graph
from fsctl.definitions.training import SNAPSHOT_KEY, Gap, snapshot_gaps, with_snapshots
from fsctl.definitions.values import KIND_ORDER
from fsctl.diff import gates as gating
from fsctl.diff import reach
from fsctl.diff.compare import compare
from fsctl.diff.plan import (
    ADD,
    BREAKING,
    DELETE,
    METADATA,
    NON_BREAKING,
    UPDATE,
    Blocked,
    Chain,
    Change,
    Gate,
    Override,
    Plan,
    PlanWarning,
    StoreChange,
    fingerprint,
)

EVERYTHING = "*"

Objects = Mapping[str, Mapping[str, dict[str, Any]]]
_SEVERITY = {METADATA: 0, NON_BREAKING: 1, BREAKING: 2}


def build_plan(
    project: str,
    registry: str,
    registry_version: int,
    current: Objects,
    desired: Objects,
    *,
    protected_aliases: tuple[str, ...] = DEFAULT_PROTECTED_ALIASES,
    overrides: tuple[Override, ...] = (),
    guard_rails: bool = True,
    current_store: str | None = None,
    desired_store: str | None = None,
    required_metadata: tuple[str, ...] = DEFAULT_REQUIRED_METADATA,
    observed: gating.Observed | None = None,
    strict_gates: bool = False,
) -> Plan:
    """The plan of ``desired`` against ``current``. ``guard_rails=False`` (teardown, and
    diffs of past versions) blocks only what remaining objects depend on, and runs no
    promotion gates. ``current_store`` is the online store the registry records (None: not
    recorded) and ``desired_store`` the one to apply to (None: leave stores out of the
    plan). ``observed``: what the gates see outside the registry (None: nothing, so the
    freshness gate is unknown); ``strict_gates``: an unknown gate fails."""
    changes: list[Change] = []
    for kind in KIND_ORDER:
        before, after = current.get(kind, {}), desired.get(kind, {})
        for name in sorted(set(before) | set(after)):
            if name not in before:
                changes.append(Change(kind, name, ADD, impact=NON_BREAKING))
            elif name not in after:
                changes.append(Change(kind, name, DELETE, impact=BREAKING))
            else:
                fields = tuple(compare(kind, before[name], after[name]))
                if fields:
                    impact = max((f.impact for f in fields), key=_SEVERITY.__getitem__)
                    changes.append(Change(kind, name, UPDATE, fields=fields, impact=impact))
    # What apply writes: the definitions plus each model version's training snapshot.
    full = with_snapshots(current, desired, registry_version)
    changes = _snapshot_breaks(changes, current, full)
    declared = {k: dict(v) for k, v in desired.items() if v}
    desired_plain = {k: dict(v) for k, v in full.items() if v}
    blocked, warnings = _judge(changes, current, desired, protected_aliases)
    gates: tuple[Gate, ...] = ()
    if guard_rails:
        blocked = _merged(blocked, _guard_rails(changes, current, desired, protected_aliases))
        gates = gating.promotion_gates(current, full, protected_aliases, required_metadata, observed)
        blocked = _merged(blocked, gating.blocked_by(gates, strict_gates))
    order = {(c.kind, c.name): n for n, c in enumerate(changes)}
    blocked.sort(key=lambda b: order.get((b.kind, b.name), -1))  # the wipe first, then change order
    before_views, after_views = current.get("FeatureView", {}), desired.get("FeatureView", {})
    had_online = any(v.get("online", True) for v in before_views.values())
    switch = None
    if desired_store is not None and had_online and current_store not in (None, desired_store):
        switch = StoreChange(str(current_store), desired_store)
    return Plan(
        # A switch creates every online view's table in the new store and drops nothing: the
        # old store, tables of views removed now included, is left as it is.
        online_changes=_online_changes({} if switch else before_views, after_views),
        online_store=desired_store,
        store_change=switch,
        store_unrecorded=desired_store is not None and had_online and current_store is None,
        project=project,
        registry=registry,
        registry_version=registry_version,
        changes=tuple(changes),
        blocked=tuple(b for b in blocked if not any(o.matches(b) for o in overrides)),
        allowed=tuple(b for b in blocked if any(o.matches(b) for o in overrides)),
        overrides=overrides,
        desired=desired_plain,
        definitions_hash=fingerprint(declared),
        warnings=tuple(warnings),
        gates=gates,
        strict_gates=strict_gates,
    )


def _snapshot_breaks(changes: list[Change], current: Objects, desired: Objects) -> list[Change]:
    """``changes``, with the published model versions each one leaves without what their
    training snapshot recorded (gaps that exist already in the registry are not this plan's).
    A gap is put on the change that makes it: the version's own binding, else the view
    losing or retyping the feature, else the service; that change becomes breaking."""
    index = {(c.kind, c.name): i for i, c in enumerate(changes)}
    found: dict[int, list[Gap]] = {}
    for name, model in sorted(desired.get("Model", {}).items()):
        published = {v["version"]: v for v in (current.get("Model", {}).get(name) or {}).get("versions", [])}
        for version in model.get("versions", []):
            before = published.get(version["version"])
            snapshot = version.get(SNAPSHOT_KEY)
            if before is None or not snapshot or version.get("archived"):
                continue  # new, without a snapshot, or retired: nothing it was promised
            already = {(g.ref, g.now) for g in snapshot_gaps(name, {**before, SNAPSHOT_KEY: snapshot}, current)}
            for gap in snapshot_gaps(name, version, desired):
                if (gap.ref, gap.now) in already:
                    continue
                i = _responsible(changes, index, gap, before, version)
                if i is not None:
                    found.setdefault(i, []).append(gap)
    out = list(changes)
    for i, gaps in found.items():
        out[i] = dataclasses.replace(out[i], breaks=tuple(gaps), impact=BREAKING)
    return out


def _responsible(
    changes: list[Change], index: dict[tuple[str, str], int], gap: Gap, before: dict[str, Any], after: dict[str, Any]
) -> int | None:
    """The position in ``changes`` of the change that makes ``gap``."""
    if before["feature_service"] != after["feature_service"]:
        return index.get(("Model", gap.model))
    view = index.get(("FeatureView", gap.view))
    if view is not None:
        change = changes[view]
        prefix = f"schema.{gap.feature}"
        if change.action == DELETE or any(f.path == prefix or f.path.startswith(prefix + ".") for f in change.fields):
            return view
    for key in (("FeatureService", after["feature_service"]), ("FeatureView", gap.view), ("Model", gap.model)):
        if key in index:
            return index[key]
    return None


def _online_changes(
    before: Mapping[str, dict[str, Any]], after: Mapping[str, dict[str, Any]]
) -> tuple[tuple[str, str], ...]:
    """Online tables to create (views that become online) and drop (views that stop being online)."""
    changes = []
    for name in sorted(set(before) | set(after)):
        was = name in before and before[name].get("online", True)
        now = name in after and after[name].get("online", True)
        if now and not was:
            changes.append(("create", name))
        elif was and not now:
            changes.append(("drop", name))
    return tuple(changes)


def _model_dependents(desired: Objects, graph: DefinitionGraph, services: list[str]) -> list[str]:
    """Model versions bound to ``services`` (with their aliases), by model name and in the
    order each model lists its versions."""
    bound = {v for s in services for v in graph.children(g.service(s), g.BOUND)}
    out = []
    for model_name, model in sorted(desired.get("Model", {}).items()):
        for version in model.get("versions", []):
            node = g.model_version(model_name, version["version"])
            if node in bound:
                aliases = graph.aliases_of(node)
                label = f"Model {model_name} v{version['version']}"
                out.append(label + (f" ({', '.join(aliases)})" if aliases else ""))
    return out


def _dependents_of_view(desired: Objects, graph: DefinitionGraph, view: str, features: set[str] | None) -> list[str]:
    """Services selecting ``view`` (only those selecting one of ``features``, or the whole
    view, when ``features`` is given), then the model versions bound to them."""
    if features is None:
        found = graph.children(g.view(view), *g.SELECTIONS)
    else:
        found = graph.children(g.view(view), g.SELECTED_ALL)
        found += [s for f in features for s in graph.children(g.feature(view, f), g.SELECTED)]
    services = sorted({n.name for n in found})
    return [f"FeatureService {s}" for s in services] + _model_dependents(desired, graph, services)


def _dependents(current: Objects, desired: Objects, graph: DefinitionGraph, change: Change) -> list[str]:
    kind, name = change.kind, change.name
    if kind == "Entity" or kind in g.SOURCE_KINDS:
        node = g.object_node(kind, name)
        if kind == "Entity":
            readers, views = [], [n.name for n in graph.children(node, g.KEYS)]
        else:  # the SQL sources that read it, and the views on it or on them
            readers = [n.name for n in graph.downstream([node]) if n.kind == "source"]
            views = [n.name for n in graph.fed_views(node)]
        out = [f"SqlSource {s}" for s in readers] + [f"FeatureView {v}" for v in views]
        for v in views:
            out += [d for d in _dependents_of_view(desired, graph, v, None) if d not in out]
        return out
    if kind == "FeatureView":
        features: set[str] | None = None
        if change.action == UPDATE and all(
            f.path.startswith(("schema.", "aggregations.")) or f.impact != BREAKING for f in change.fields
        ):
            features = {f.path.split(".")[1] for f in change.fields if f.impact == BREAKING}
        return _dependents_of_view(desired, graph, name, features)
    if kind == "FeatureService":
        return _model_dependents(desired, graph, [name])
    if kind == "Model":
        aliased = sorted(
            (alias, number)
            for number in reach.broken_versions(change)
            for alias in reach.aliases_of(current, desired, name, number)
        )
        return [f"alias {alias} of Model {name} (version {number})" for alias, number in aliased]
    return []


def _judge(
    changes: list[Change], current: Objects, desired: Objects, protected_aliases: tuple[str, ...]
) -> tuple[list[Blocked], list[PlanWarning]]:
    """The blocked changes and the warnings, by the rule of the module docstring."""
    breaking = [c for c in changes if c.breaking]
    if not breaking:
        return [], []
    graph = build_graph(desired)
    blocked, warnings = [], []
    for change in breaking:
        found, other = reach.chains(change, reach.paths_from(graph, change), current, desired, protected_aliases)
        reason = "; ".join(change.reasons) or "breaking change"
        if other or any(c.protected for c in found):
            dependents = _dependents(current, desired, graph, change)
            blocked.append(Blocked(change.kind, change.name, reason, tuple(dependents), tuple(found)))
        elif found:
            warnings.append(PlanWarning(change.kind, change.name, reason, tuple(found)))
    return blocked, warnings


def _guard_rails(
    changes: list[Change], current: Objects, desired: Objects, protected_aliases: tuple[str, ...]
) -> list[Blocked]:
    """What the two guard rails of the module docstring block."""
    out: list[Blocked] = []
    had_objects = any(current.get(kind) for kind in KIND_ORDER)
    if had_objects and not any(desired.get(kind) for kind in KIND_ORDER):
        count = sum(len(current.get(kind, {})) for kind in KIND_ORDER)
        out.append(
            Blocked(
                "Registry",
                EVERYTHING,
                f"the plan deletes every object of the registry ({count}): the repo has no definitions "
                "(check --repo and .fsctlignore; `fsctl teardown` removes a project on purpose)",
                (),
            ),
        )
    protected = _protected_reach(current, protected_aliases)
    if protected:
        graph = build_graph(current)
        for change in changes:
            reaching = protected.get((change.kind, change.name))
            if not reaching:
                continue
            if change.action == UPDATE:  # a model losing a protected alias
                removed = {f.path.split(".", 1)[1] for f in change.fields if f.path.startswith("aliases.") and f.after is None}
                reaching = [a for a in reaching if a.split("@", 1)[1] in removed]
                if not reaching:
                    continue
            elif change.action != DELETE:
                continue
            labels = [f"protected alias {a.split('@', 1)[1]} of Model {a.split('@', 1)[0]}" for a in reaching]
            chains = _protected_chains(change, graph, current, desired, reaching)
            reason = "; ".join(change.reasons) or "breaking change"
            out.append(Blocked(change.kind, change.name, reason, tuple(labels), chains))
    return out


def _merged(blocked: list[Blocked], more: list[Blocked]) -> list[Blocked]:
    """``blocked`` with ``more`` folded in: one entry per object, its reasons, dependents,
    chains (protected first) and gates joined without repeats."""
    out = list(blocked)
    at = {(b.kind, b.name): i for i, b in enumerate(out)}
    for new in more:
        i = at.get((new.kind, new.name))
        if i is None:
            at[(new.kind, new.name)] = len(out)
            out.append(new)
            continue
        old = out[i]
        out[i] = Blocked(
            old.kind,
            old.name,
            old.reason if new.reason == old.reason else f"{old.reason}; {new.reason}",
            old.dependents + tuple(d for d in new.dependents if d not in old.dependents),
            _protected_first(old.chains + tuple(c for c in new.chains if c not in old.chains)),
            old.gates + new.gates,
        )
    return out


def _protected_first(chains: tuple[Chain, ...]) -> tuple[Chain, ...]:
    return tuple(sorted(chains, key=lambda c: not c.protected))


def _protected_chains(
    change: Change, graph: DefinitionGraph, current: Objects, desired: Objects, reaching: list[str]
) -> tuple[Chain, ...]:
    """The chains, in the registry's graph now, from a deleted object (or a model losing a
    protected alias) to the protected aliases ``reaching`` it (``model@Alias``)."""
    wanted = {tuple(a.split("@", 1)) for a in reaching}
    if change.action == UPDATE:  # a protected alias removed: the version it named, then the alias
        label = reach.change_label(change)
        aliases = (current.get("Model", {}).get(change.name) or {}).get("aliases") or {}
        return tuple(
            Chain(
                (label, f"{model}/{aliases[alias]}", alias),
                model,
                int(aliases[alias]),
                alias,
                True,
                ("change", "model_version", "alias"),
            )
            for model, alias in sorted(wanted)
        )
    found, _ = reach.chains(change, reach.paths_from(graph, change), current, {}, tuple(a for _, a in wanted))
    return tuple(c for c in found if c.protected and (c.model, c.alias) in wanted)


def _protected_reach(current: Objects, protected_aliases: tuple[str, ...]) -> dict[tuple[str, str], list[str]]:
    """(kind, name) -> the protected aliases (``model@Alias``) that reach the object in the
    registry now: the model itself and everything upstream of the aliased version."""
    models = current.get("Model", {})
    aliases = [
        (name, alias)
        for name, doc in sorted(models.items())
        for alias in sorted(doc.get("aliases") or {})
        if alias in protected_aliases
    ]
    if not aliases:
        return {}
    graph = build_graph(current)
    reach: dict[tuple[str, str], list[str]] = {}
    for model_name, alias in aliases:
        label = f"{model_name}@{alias}"
        for node in [g.model(model_name), *graph.upstream([g.alias(model_name, alias)])]:
            kind = g.yaml_kind(current, node)
            labels = reach.setdefault((kind, node.name), []) if kind is not None else None
            if labels is not None and label not in labels:
                labels.append(label)
    return reach

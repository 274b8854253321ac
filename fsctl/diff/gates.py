"""Promotion gates: what a model version must show before a protected alias points at it.

When a plan adds or moves a protected alias (``models.protected_aliases``), the version it
lands on is checked by each gate below, one function per gate, each giving a
:class:`~fsctl.diff.plan.Gate` with ``pass``, ``fail`` or ``unknown``, why, and the fix:

* ``version`` — the version exists, is not archived and has a ``uri``;
* ``signature`` — its signature (else its training-time snapshot) matches what its feature
  service gives now: names and dtypes;
* ``metadata`` — it carries ``models.required_metadata`` (:mod:`fsctl.definitions.model_rules`);
* ``freshness`` — every online view it reads has been materialized into the configured
  online store (the state document has a watermark for the view's current data definition
  there, and the store has its table) and, when the view declares ``freshness``, the
  watermark is within it (the state keeps the watermark, the END of the last window loaded,
  not the newest event, so that is what is compared); a state document or store that cannot
  be reached, a view this plan adds, or one whose data definition (source, keys, dtypes) it
  changes, is ``unknown``: nothing can be materialized under the new definition before the apply;
* ``min_metrics`` — with the model's ``gates: {min_metrics: {auc: 0.8}}``: each metric at
  least its threshold;
* ``beat_current`` — with ``gates: {beat_current: true}``: each of those metrics above the
  version's the alias points at now.

A failed gate (or an unknown one, with ``--strict-gates``) blocks the plan: a blocked
``Model`` entry that only ``--allow-breaking Model/NAME --reason TEXT`` lets through.
Pure: what the freshness gate sees outside the registry comes in as :class:`Observed`.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from fsctl.definitions.graph import join_keys
from fsctl.definitions.model_rules import missing_metadata
from fsctl.definitions.training import (
    SNAPSHOT_KEY,
    all_sources,
    service_output,
    snapshot_gaps,
    view_data_fingerprint,
)
from fsctl.definitions.values import format_duration
from fsctl.diff.plan import FAIL, PASS, UNKNOWN, Blocked, Gate

Objects = Mapping[str, Mapping[str, dict[str, Any]]]
GATE_NAMES = ("version", "signature", "metadata", "freshness", "min_metrics", "beat_current")


@dataclass(frozen=True)
class Observed:
    """What the freshness gate sees outside the registry, gathered by the plan service.

    ``watermarks``: view -> (watermark, data fingerprint) in the online store ``store``
    (None: the state document could not be read, ``state_problem`` says why);
    ``tables``: the project's online tables in that store (None: not reachable,
    ``store_problem`` says why)."""

    store: str
    now: datetime
    watermarks: Mapping[str, tuple[datetime | None, str]] | None = None
    state_problem: str = ""
    tables: frozenset[str] | None = None
    store_problem: str = ""


@dataclass(frozen=True)
class Promotion:
    """A protected alias landing on a version: added (``before`` None) or moved."""

    model: str
    alias: str
    version: int
    before: int | None


def promotions(current: Objects, desired: Objects, protected_aliases: tuple[str, ...]) -> list[Promotion]:
    """The protected aliases the plan adds or moves, by model and alias."""
    out = []
    for name, model in sorted(desired.get("Model", {}).items()):
        now = (current.get("Model", {}).get(name) or {}).get("aliases") or {}
        for alias, number in sorted((model.get("aliases") or {}).items()):
            if alias in protected_aliases and now.get(alias) != number:
                out.append(Promotion(name, alias, int(number), now.get(alias)))
    return out


def _override(model: str) -> str:
    return f"or, on purpose, --allow-breaking Model/{model} --reason TEXT"


def _version(desired: Objects, p: Promotion) -> dict[str, Any] | None:
    model = desired.get("Model", {}).get(p.model) or {}
    return next((v for v in model.get("versions", []) if v["version"] == p.version), None)


def gate_version(p: Promotion, version: dict[str, Any] | None) -> Gate:
    where = f"version {p.version} of Model {p.model}"
    if version is None:
        return Gate(p.model, p.alias, p.version, "version", FAIL, f"{where} does not exist", f"add {where}, or point {p.alias} at a version that exists")
    if version.get("archived"):
        return Gate(p.model, p.alias, p.version, "version", FAIL, f"{where} is archived", f"point {p.alias} at a version in use, or un-archive it; {_override(p.model)}")
    if not version.get("uri"):
        return Gate(p.model, p.alias, p.version, "version", FAIL, f"{where} has no uri", f"set uri on {where} (where its artifact lives); {_override(p.model)}")
    return Gate(p.model, p.alias, p.version, "version", PASS, f"version {p.version} exists, is not archived, uri {version['uri']}")


def gate_signature(p: Promotion, version: dict[str, Any], desired: Objects) -> Gate:
    service = version["feature_service"]
    fix = f"bind version {p.version} to a service that gives what it was trained on, or train a new version on {service}; {_override(p.model)}"
    signature = version.get("signature")
    if signature:
        given: dict[str, str] = {}
        for out in service_output(desired, service) or []:
            given.setdefault(out.feature, out.dtype)
            given[f"{out.view}__{out.feature}"] = out.dtype
        wrong = []
        for name, dtype in signature["inputs"].items():
            now = given.get(name)
            if now != dtype:
                wrong.append(f"{name} {dtype} but {service} gives {now}" if now else f"{name} {dtype} not given by {service}")
        if wrong:
            return Gate(p.model, p.alias, p.version, "signature", FAIL, "signature: " + "; ".join(wrong), fix)
        count = len(signature["inputs"])
        return Gate(p.model, p.alias, p.version, "signature", PASS, f"the {count} inputs of its signature match what {service} gives (names and dtypes)")
    snapshot = version.get(SNAPSHOT_KEY)
    if not snapshot:
        return Gate(p.model, p.alias, p.version, "signature", UNKNOWN, f"no signature and no training snapshot: {service} gives nothing to compare", "declare a signature on the version")
    gaps = snapshot_gaps(p.model, version, desired)
    if gaps:
        return Gate(p.model, p.alias, p.version, "signature", FAIL, "; ".join(gap.reason for gap in gaps), fix)
    count = len(snapshot.get("features", []))
    return Gate(
        p.model, p.alias, p.version, "signature", PASS,
        f"{service} gives the {count} features of its training snapshot (registry version {snapshot.get('registry_version')}), names and dtypes",
    )


def gate_metadata(p: Promotion, model: dict[str, Any], version: dict[str, Any], required: tuple[str, ...]) -> Gate:
    missing = missing_metadata(model, version, required)
    if missing:
        where = [f"owner on Model {p.model}" if m == "owner" else f"{m} on version {p.version}" for m in missing]
        return Gate(
            p.model, p.alias, p.version, "metadata", FAIL,
            f"missing {', '.join(missing)} (models.required_metadata in fsctl.yaml)",
            f"set {', '.join(where)}; {_override(p.model)}",
        )
    if not required:
        return Gate(p.model, p.alias, p.version, "metadata", PASS, "no metadata required (models.required_metadata)")
    return Gate(p.model, p.alias, p.version, "metadata", PASS, f"has {', '.join(required)}")


def gate_freshness(p: Promotion, version: dict[str, Any], current: Objects, desired: Objects, observed: Observed | None) -> Gate:
    views = desired.get("FeatureView", {})
    read = list(dict.fromkeys(o.view for o in service_output(desired, version["feature_service"]) or []))
    online = [v for v in read if views[v].get("online", True)]
    if not online:
        return Gate(p.model, p.alias, p.version, "freshness", PASS, "it reads no online view")
    failed: list[str] = []
    unknown: list[str] = []
    fine: list[str] = []
    stale: list[str] = []
    for name in online:
        view = views[name]
        if name not in current.get("FeatureView", {}):
            unknown.append(f"{name} is added by this plan (nothing is materialized before the apply)")
            continue
        # The state's watermarks were written under the registry's definition of the view: a
        # plan that changes it can only be checked after the apply and a materialization.
        now_fp = _data_fingerprint(current, name)
        if _data_fingerprint(desired, name) != now_fp:
            unknown.append(
                f"{name} is changed by this plan (source, keys or dtypes): nothing can be materialized "
                "under its new definition before the apply"
            )
            continue
        if observed is None:
            unknown.append(f"{name}: not checked")
            continue
        if observed.watermarks is None:
            unknown.append(f"{name}: the state document cannot be read ({observed.state_problem})")
            continue
        watermark, stored = observed.watermarks.get(name, (None, ""))
        if watermark is None:
            failed.append(f"{name} was never materialized into {observed.store}")
            stale.append(name)
            continue
        if stored != now_fp:
            failed.append(f"{name} was materialized under another data definition (source, keys or dtypes changed since)")
            stale.append(name)
            continue
        if observed.tables is None:
            unknown.append(f"{name}: the online store cannot be reached ({observed.store_problem})")
            continue
        if name not in observed.tables:
            failed.append(f"{name} has no table in {observed.store}")
            stale.append(name)
            continue
        when = watermark.strftime("%Y-%m-%dT%H:%M:%SZ")
        limit = view.get("freshness")
        if limit:
            age = int((observed.now - watermark).total_seconds())
            if age > limit:
                failed.append(f"{name} watermark {when} is {format_duration(max(age, 0))} old, over its freshness {format_duration(limit)}")
                stale.append(name)
                continue
            fine.append(f"{name} materialized up to {when}, within its freshness {format_duration(limit)}")
        else:
            fine.append(f"{name} materialized up to {when} (no freshness declared)")
    parts = failed + unknown + fine
    declared = any(views[v].get("freshness") for v in online)
    detail = "; ".join(parts) + (" (compared: the watermark; the state keeps no newest event)" if declared else "")
    if failed:
        fix = f"run `fsctl materialize-incremental NOW --views {','.join(stale)}`, then plan again; {_override(p.model)}"
        return Gate(p.model, p.alias, p.version, "freshness", FAIL, detail, fix)
    if unknown:
        return Gate(p.model, p.alias, p.version, "freshness", UNKNOWN, detail, "materialize the views after the apply; --strict-gates makes unknown fail")
    return Gate(p.model, p.alias, p.version, "freshness", PASS, detail)


def _data_fingerprint(objects: Objects, name: str) -> str:
    """The data fingerprint of view ``name`` in ``objects`` (what materialization's watermarks
    record); "" when its source is not there."""
    view = objects["FeatureView"][name]
    sources = all_sources(objects)
    source = sources.get(view["source"])
    keys = list(join_keys(view, objects.get("Entity", {})))
    return view_data_fingerprint(view, source, keys, sources=sources) if source else ""


def gate_min_metrics(p: Promotion, version: dict[str, Any], minimums: Mapping[str, float]) -> Gate:
    metrics = version.get("metrics") or {}
    short = []
    ok = []
    for name, least in sorted(minimums.items()):
        value = metrics.get(name)
        if value is None:
            short.append(f"no {name} recorded (needs at least {least:g})")
        elif value < least:
            short.append(f"{name} {value:g} < {least:g}")
        else:
            ok.append(f"{name} {value:g} >= {least:g}")
    if short:
        return Gate(
            p.model, p.alias, p.version, "min_metrics", FAIL, "; ".join(short + ok),
            f"promote a version whose metrics meet gates.min_metrics of Model {p.model}; {_override(p.model)}",
        )
    return Gate(p.model, p.alias, p.version, "min_metrics", PASS, "; ".join(ok))


def gate_beat_current(p: Promotion, version: dict[str, Any], current: Objects, metric_names: list[str]) -> Gate:
    if p.before is None:
        return Gate(p.model, p.alias, p.version, "beat_current", PASS, f"{p.alias} points at no version now: nothing to beat")
    model = current.get("Model", {}).get(p.model) or {}
    old: dict[str, Any] = next((v for v in model.get("versions", []) if v["version"] == p.before), {})
    new_metrics, old_metrics = version.get("metrics") or {}, old.get("metrics") or {}
    worse, better, unknown = [], [], []
    for name in metric_names:
        new, now = new_metrics.get(name), old_metrics.get(name)
        if new is None or now is None:
            unknown.append(f"{name} not recorded on version {p.version if new is None else p.before}")
        elif new > now:
            better.append(f"{name} {new:g} > {now:g} of version {p.before}")
        else:
            worse.append(f"{name} {new:g} does not beat {now:g} of version {p.before}")
    detail = "; ".join(worse + unknown + better)
    if worse:
        return Gate(p.model, p.alias, p.version, "beat_current", FAIL, detail, f"keep {p.alias} on version {p.before}, or promote a better version; {_override(p.model)}")
    if unknown:
        return Gate(p.model, p.alias, p.version, "beat_current", UNKNOWN, detail, "record the metrics on both versions")
    return Gate(p.model, p.alias, p.version, "beat_current", PASS, detail)


def promotion_gates(
    current: Objects,
    desired: Objects,
    protected_aliases: tuple[str, ...],
    required_metadata: tuple[str, ...],
    observed: Observed | None,
) -> tuple[Gate, ...]:
    """Every gate of every protected alias the plan adds or moves. ``desired`` carries the
    training snapshots (:func:`fsctl.definitions.training.with_snapshots`)."""
    out: list[Gate] = []
    for p in promotions(current, desired, protected_aliases):
        model = dict(desired["Model"][p.model])
        version = _version(desired, p)
        first = gate_version(p, version)
        out.append(first)
        if version is None:
            continue
        out.append(gate_signature(p, version, desired))
        out.append(gate_metadata(p, model, version, required_metadata))
        out.append(gate_freshness(p, version, current, desired, observed))
        own = model.get("gates") or {}
        if own.get("min_metrics"):
            out.append(gate_min_metrics(p, version, own["min_metrics"]))
        if own.get("beat_current"):
            out.append(gate_beat_current(p, version, current, sorted(own.get("min_metrics") or {})))
    return tuple(out)


def blocked_by(gates: tuple[Gate, ...], strict: bool) -> list[Blocked]:
    """One blocked ``Model`` entry per model with a failed gate (or an unknown one, when
    ``strict``), naming each promotion that fails and carrying its gates."""
    failing: dict[str, dict[tuple[str, int], list[Gate]]] = {}
    for gate in gates:
        if gate.status == FAIL or (strict and gate.status == UNKNOWN):
            failing.setdefault(gate.model, {}).setdefault((gate.alias, gate.version), []).append(gate)
    out: list[Blocked] = []
    for model, promotions in failing.items():
        reasons = [
            f"promotion of version {version} to {alias} fails its gates: "
            + ", ".join(f"{g.name} ({g.status})" for g in found)
            for (alias, version), found in promotions.items()
        ]
        out.append(
            Blocked(
                "Model",
                model,
                "; ".join(reasons),
                tuple(f"protected alias {alias} of Model {model}" for alias, _ in promotions),
                gates=tuple(g for found in promotions.values() for g in found),
            )
        )
    return out

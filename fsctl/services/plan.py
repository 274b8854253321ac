"""Use case: plan. Load definitions, read the registry, build the plan; save and load plan files.

A plan file (``--out``) holds the plan, the desired objects and both
fingerprints. ``fsctl apply PLAN`` applies exactly those objects, and only if
the registry is still at the planned version and the definitions still hash
the same.

Plan file format (``plan_format`` 1): ``{"plan_format", "fsctl_version",
"plan": <plan JSON>, "desired": <objects>}``.

Promotion gates (:mod:`fsctl.diff.gates`) look outside the registry: when a plan adds or
moves a protected alias, :func:`observe` reads the state document's watermarks for the
configured online store and the store's tables (through :class:`Lookouts`, opened only
then), and passes what it saw to the planner as data; what cannot be reached is reported,
and the gate says unknown. The owners whose approval a plan needs come from the code-owners
rules (:func:`fsctl.services.codeowners.approvals`).
"""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from fsctl.diff import Plan, build_plan
from fsctl.diff import gates as gating
from fsctl.diff.plan import Override
from fsctl.errors import FsctlError, PlanBlockedError, StalePlanError, UsageError
from fsctl.loader import RepoDefinitions, load_repo
from fsctl.online import OnlineStore
from fsctl.registry import RegistryReader, RegistrySnapshot
from fsctl.services.codeowners import approvals
from fsctl.services.project import Project
from fsctl.state import StateStore
from fsctl.state.history import newest_online

PLAN_FORMAT = 1


def _utc_now() -> datetime:
    return datetime.now(timezone.utc)


@dataclass(frozen=True)
class Lookouts:
    """Where promotion gates look beyond the registry; each is opened only when a plan adds
    or moves a protected alias. None: not looked at (the gate says unknown)."""

    state: Callable[[], StateStore] | None = None
    online: Callable[[], OnlineStore] | None = None
    now: Callable[[], datetime] = _utc_now


def observe(project: Project, lookouts: Lookouts) -> gating.Observed:
    """What the freshness gate needs: the watermarks of the configured online store in the
    state document and, when there are some, the store's tables; problems are kept, not raised."""
    watermarks: dict[str, tuple[datetime | None, str]] | None = None
    newest: dict[str, tuple[datetime | None, str | None]] | None = None
    state_problem = "not looked at"
    if lookouts.state is not None:
        try:
            state = lookouts.state().read()
            views = state.stores.get(project.online_store, {})
            watermarks = {name: (v.watermark, v.fingerprint) for name, v in views.items()}
            # judged under the state's fingerprint; the gate compares it with the registry's
            newest = {name: newest_online(state, name, project.online_store, v) for name, v in views.items()}
        except (FsctlError, OSError) as exc:
            state_problem = getattr(exc, "message", None) or str(exc)
    tables: frozenset[str] | None = None
    store_problem = "not looked at"
    if lookouts.online is not None and watermarks:  # nothing materialized: no need to open the store
        try:
            tables = frozenset(lookouts.online().views(project.name))
        except (FsctlError, OSError) as exc:
            store_problem = getattr(exc, "message", None) or str(exc)
    return gating.Observed(
        store=project.online_store,
        now=lookouts.now(),
        watermarks=watermarks,
        newest=newest,
        state_problem=state_problem,
        tables=tables,
        store_problem=store_problem,
    )


def desired_objects(
    definitions: RepoDefinitions, current: RegistrySnapshot | None = None
) -> dict[str, dict[str, dict[str, Any]]]:
    """The documents the registry should hold: the definitions' canonical dicts, with each
    view's ``key_dtypes`` (its join keys' dtypes, read from its source; see
    :mod:`fsctl.loader.key_types`). A view whose source cannot be read here (on S3, say)
    keeps the key dtypes the registry has for it, so an unreachable source is no change."""
    desired = {kind: dict(objects) for kind, objects in definitions.documents.items() if objects}
    views = desired.get("FeatureView")
    if views:
        inferred = definitions.key_dtypes
        applied = current.objects.get("FeatureView", {}) if current is not None else {}
        for name, doc in views.items():
            keys = inferred.get(name) or (applied.get(name) or {}).get("key_dtypes")
            if keys:
                views[name] = {**doc, "key_dtypes": dict(keys)}
    return desired


def check_project(project: Project, snapshot: RegistrySnapshot) -> None:
    if snapshot.project not in (None, project.name):
        raise UsageError(
            f"the registry {snapshot.location} belongs to project '{snapshot.project}', not '{project.name}'",
            hint="point --registry at this project's registry, or fix 'project' in fsctl.yaml",
        )


def plan_against(
    project: Project,
    desired: dict[str, dict[str, dict[str, Any]]],
    snapshot: RegistrySnapshot,
    overrides: tuple[Override, ...] = (),
    *,
    guard_rails: bool = True,
    lookouts: Lookouts | None = None,
    strict_gates: bool = False,
) -> Plan:
    check_project(project, snapshot)
    observed = None
    if guard_rails and lookouts is not None and gating.promotions(snapshot.objects, desired, project.protected_aliases):
        observed = observe(project, lookouts)
    plan = build_plan(
        project=project.name,
        registry=project.registry_uri,
        registry_version=snapshot.version,
        current=snapshot.objects,
        desired=desired,
        protected_aliases=project.protected_aliases,
        overrides=overrides,
        guard_rails=guard_rails,
        current_store=snapshot.online_store,
        desired_store=project.online_store,
        required_metadata=project.required_metadata,
        observed=observed,
        strict_gates=strict_gates,
    )
    return dataclasses.replace(plan, approvals=approvals(plan, snapshot.objects))


def unused_overrides(plan: Plan) -> list[Override]:
    """Overrides that let nothing through: usually a typo in the object's name."""
    return [o for o in plan.overrides if not any(o.matches(b) for b in plan.allowed)]


def check_overrides(plan: Plan) -> None:
    unused = unused_overrides(plan)
    if unused:
        names = ", ".join(repr(o.target) for o in unused)
        raise UsageError(
            f"--allow-breaking {names}: no blocked change of this plan is about {'them' if len(unused) > 1 else 'it'}",
            hint="name a blocked object as Kind/name or name (see the plan's BLOCKED list), or '*' for everything",
        )


def make_plan(
    project: Project,
    registry: RegistryReader,
    definitions: RepoDefinitions | None = None,
    overrides: tuple[Override, ...] = (),
    lookouts: Lookouts | None = None,
    strict_gates: bool = False,
) -> tuple[Plan, RegistrySnapshot]:
    definitions = definitions or load_repo(project.root)
    snapshot = registry.read()
    desired = desired_objects(definitions, snapshot)
    plan = plan_against(project, desired, snapshot, overrides, lookouts=lookouts, strict_gates=strict_gates)
    check_overrides(plan)
    return plan, snapshot


def raise_if_blocked(plan: Plan) -> None:
    if plan.is_blocked:
        lines = [
            f"the plan is blocked: {len(plan.blocked)} change(s) would break objects that depend on them"
        ]
        for b in plan.blocked:
            used = f"; used by {', '.join(b.dependents)}" if b.dependents else ""
            lines.append(f"  {b.kind} '{b.name}': {b.reason}{used}")
            lines.extend(f"    chain: {' -> '.join(c.links)}" for c in b.chains if c.protected)
            lines.extend(
                f"    gate {g.name} of {g.model}/{g.version} -> {g.alias}: {g.detail}; fix: {g.fix}" for g in b.gates
            )
        raise PlanBlockedError(
            "\n".join(lines),
            hint="keep the old objects and add new ones beside them (e.g. a _v2 view or service), "
            "move the dependents over, then remove the old ones; or, on purpose, pass "
            "--allow-breaking OBJECT --reason TEXT (recorded in the registry's history)",
        )


def save_plan(plan: Plan, path: Path) -> None:
    from fsctl.storage.local import atomic_write
    from fsctl.version import __version__

    document = {
        "plan_format": PLAN_FORMAT,
        "fsctl_version": __version__,
        "plan": plan.to_dict(),
        "desired": plan.desired,
    }
    atomic_write(path, (json.dumps(document, indent=1, sort_keys=True) + "\n").encode("utf-8"))


def load_plan_file(path: Path) -> dict[str, Any]:
    try:
        document = json.loads(path.read_bytes())
    except FileNotFoundError:
        raise UsageError(
            f"plan file {path} does not exist", hint="create one with `fsctl plan --out PLAN`"
        ) from None
    except OSError as exc:
        raise UsageError(f"plan file {path} cannot be read: {exc.strerror}") from None
    except ValueError as exc:
        raise UsageError(
            f"{path} is not an fsctl plan file (not JSON: {exc})",
            hint="create one with `fsctl plan --out PLAN`",
        ) from None
    if not isinstance(document, dict) or document.get("plan_format") != PLAN_FORMAT or "plan" not in document:
        raise UsageError(
            f"{path} is not an fsctl plan file (plan_format {PLAN_FORMAT})",
            hint="create one with `fsctl plan --out PLAN`",
        )
    return document


def replan_saved(
    project: Project,
    registry: RegistryReader,
    path: Path,
    lookouts: Lookouts | None = None,
    strict_gates: bool = False,
) -> tuple[Plan, RegistrySnapshot]:
    """Re-check a saved plan against the registry and the definitions; refuse if either moved."""
    saved = load_plan_file(path)
    planned = saved["plan"]
    if planned.get("project") != project.name:
        raise StalePlanError(
            f"plan file {path} is for project '{planned.get('project')}', not '{project.name}'"
        )
    if planned.get("registry") != project.registry_uri:
        raise StalePlanError(
            f"plan file {path} was made against registry {planned.get('registry')}, not {project.registry_uri}",
            hint="apply it with the same --registry it was planned with",
        )
    snapshot = registry.read()
    if snapshot.version != planned.get("registry_version"):
        raise StalePlanError(
            f"the registry moved since the plan was made: it was at version {planned.get('registry_version')}, "
            f"it is now at version {snapshot.version}",
            hint="run `fsctl plan --out PLAN` again, review it, and apply the new plan",
        )
    definitions = load_repo(project.root)
    desired = desired_objects(definitions, snapshot)
    overrides = tuple(Override(o["object"], o["reason"]) for o in planned.get("overrides", []))
    strict = strict_gates or bool(planned.get("strict_gates"))
    plan = plan_against(project, desired, snapshot, overrides, lookouts=lookouts, strict_gates=strict)
    if plan.definitions_hash != planned.get("definitions_hash"):
        raise StalePlanError(
            f"the definitions changed since the plan {path} was made",
            hint="run `fsctl plan --out PLAN` again, review it, and apply the new plan",
        )
    if plan.plan_hash != planned.get("plan_hash"):
        raise StalePlanError(f"plan file {path} does not match what planning now gives (plan hash differs)")
    return plan, snapshot

"""Use case: apply. Write a plan's desired objects as the next registry version.

Every write is a compare-and-swap on the version the plan was made against.
Applying without a plan file re-plans and retries a bounded number of times
when another apply landed first; a saved plan is never re-planned: it is
refused as stale. A plan with no changes writes nothing.
"""

from __future__ import annotations

import dataclasses
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from fsctl.diff import Plan
from fsctl.diff.plan import Override
from fsctl.errors import ConflictError
from fsctl.online import OnlineStore
from fsctl.registry import Registry, RegistrySnapshot, VersionInfo
from fsctl.results.apply import ApplyResult
from fsctl.services import audit, online_tables
from fsctl.services.plan import (
    Lookouts,
    check_overrides,
    desired_objects,
    plan_against,
    raise_if_blocked,
    replan_saved,
)
from fsctl.services.project import Project
from fsctl.state import StateStore


@dataclass(frozen=True)
class Publisher:
    """The ports an apply writes to: the registry (compare-and-swap), the online store
    (tables of online views) and the state document (watermarks of dropped views)."""

    registry: Registry
    online: OnlineStore
    state: StateStore

    @property
    def lookouts(self) -> Lookouts:
        """What promotion gates look at: this state document and online store."""
        return Lookouts(state=lambda: self.state, online=lambda: self.online)


MAX_ATTEMPTS = 5


def write_plan(project: Project, ports: Publisher, plan: Plan, snapshot: RegistrySnapshot) -> int:
    """Store the plan's objects as version ``snapshot.version + 1``; raises ConflictError if it moved."""
    actor = audit.actor()
    info = VersionInfo(
        version=snapshot.version + 1,
        applied_at=audit.now_iso(),
        actor=actor,
        commit=audit.git_commit(project.root),
        plan_hash=plan.plan_hash,
        summary=plan.summary,
        allowed_breaking=tuple(
            {
                "kind": b.kind,
                "name": b.name,
                "reason": b.reason,
                "override": next(o.target for o in plan.overrides if o.matches(b)),
                "because": next(o.reason for o in plan.overrides if o.matches(b)),
                "actor": actor,
            }
            for b in plan.allowed
        ),
        online_store_change=(
            {"from": plan.store_change.before, "to": plan.store_change.after} if plan.store_change else None
        ),
    )
    # The new version records the online store its views are applied to (a switch included).
    new = snapshot.next(plan.desired, info, project.name, online_store=project.online_store)
    online_tables.create_tables(project.name, ports.online, plan)
    ports.registry.write(new, snapshot)
    dropped = online_tables.dropped_views(plan)
    online_tables.drop_tables(project.name, ports.online, ports.state, dropped, project.online_store)
    return new.version


def apply_definitions(
    project: Project,
    ports: Publisher,
    confirm: Callable[[Plan], bool] | None = None,
    max_attempts: int = MAX_ATTEMPTS,
    overrides: tuple[Override, ...] = (),
    strict_gates: bool = False,
) -> ApplyResult:
    """Plan and apply the repo's definitions, re-planning if another writer lands first.

    ``confirm`` is asked before each write (again after a re-plan, since the plan changed);
    returning False cancels without writing.
    """
    started = time.perf_counter()
    from fsctl.loader import load_repo

    definitions = load_repo(project.root)
    for attempt in range(1, max_attempts + 1):
        snapshot = ports.registry.read()
        desired = desired_objects(definitions, snapshot)
        plan = plan_against(
            project, desired, snapshot, overrides, lookouts=ports.lookouts, strict_gates=strict_gates
        )
        check_overrides(plan)
        raise_if_blocked(plan)
        if not plan.has_changes:
            return _timed(ApplyResult(plan, snapshot.version, snapshot.version, attempt), started)
        if confirm is not None and not confirm(plan):
            return _timed(ApplyResult(plan, snapshot.version, snapshot.version, attempt, cancelled=True), started)
        try:
            version = write_plan(project, ports, plan, snapshot)
        except ConflictError:
            if attempt == max_attempts:
                raise ConflictError(
                    f"the registry {project.registry_uri} kept moving: gave up after {max_attempts} attempts",
                    hint="another apply is running; run `fsctl apply` again when it is done",
                ) from None
            _backoff(attempt)
            continue
        return _timed(ApplyResult(plan, snapshot.version, version, attempt), started)
    raise AssertionError("unreachable")


def _backoff(attempt: int) -> None:
    """A short, jittered pause before re-planning, so racing applies spread out."""
    import random
    import time

    time.sleep(random.uniform(0.05, 0.25) * attempt)


def apply_saved(
    project: Project,
    ports: Publisher,
    path: Path,
    confirm: Callable[[Plan], bool] | None = None,
    strict_gates: bool = False,
) -> ApplyResult:
    """Apply exactly the saved plan, or refuse (StalePlanError) if registry or definitions moved."""
    started = time.perf_counter()
    from fsctl.errors import StalePlanError

    plan, snapshot = replan_saved(project, ports.registry, path, ports.lookouts, strict_gates)
    raise_if_blocked(plan)
    if not plan.has_changes:
        return _timed(ApplyResult(plan, snapshot.version, snapshot.version), started)
    if confirm is not None and not confirm(plan):
        return _timed(ApplyResult(plan, snapshot.version, snapshot.version, cancelled=True), started)
    try:
        version = write_plan(project, ports, plan, snapshot)
    except ConflictError as exc:
        raise StalePlanError(
            f"the registry moved while the plan was being applied: {exc.message}",
            hint="run `fsctl plan --out PLAN` again, review it, and apply the new plan",
        ) from None
    return _timed(ApplyResult(plan, snapshot.version, version), started)


def teardown(project: Project, ports: Publisher, confirm: Callable[[Plan], bool] | None = None) -> ApplyResult:
    """Delete every object of the project (a new registry version with no objects) and every
    online table it has, in the online store its views were applied to (refused when
    fsctl.yaml names another: see :func:`online_tables.require_applied_store`)."""
    started = time.perf_counter()
    for attempt in range(1, MAX_ATTEMPTS + 1):
        snapshot = ports.registry.read()
        online_tables.require_applied_store(project, snapshot, "teardown")
        plan = plan_against(project, {}, snapshot, guard_rails=False)  # removing everything is its purpose
        if not plan.has_changes:
            left = _drop_all(project, ports)
            return _timed(ApplyResult(plan, snapshot.version, snapshot.version, attempt, other_stores=left), started)
        if confirm is not None and not confirm(plan):
            return _timed(ApplyResult(plan, snapshot.version, snapshot.version, attempt, cancelled=True), started)
        try:
            version = write_plan(project, ports, plan, snapshot)
            left = _drop_all(project, ports)
            return _timed(ApplyResult(plan, snapshot.version, version, attempt, other_stores=left), started)
        except ConflictError:
            if attempt == MAX_ATTEMPTS:
                raise
            _backoff(attempt)
    raise AssertionError("unreachable")


def _drop_all(project: Project, ports: Publisher) -> tuple[str, ...]:
    """Drop the project's tables in the configured store; return the other stores it loaded
    (they hold watermarks), which teardown leaves as the switch away from them did."""
    views = online_tables.all_online_views(project.name, ports.online)
    online_tables.drop_tables(project.name, ports.online, ports.state, views, project.online_store)
    return tuple(sorted(set(ports.state.read().stores) - {project.online_store}))


def _timed(result: ApplyResult, started: float) -> ApplyResult:
    return dataclasses.replace(result, seconds=time.perf_counter() - started)

"""Use case: keep the online store's tables in step with the applied definitions.

``apply`` creates the tables of views that become online *before* publishing them (so a
published online view always has a table, and an unreachable store fails the apply with
nothing written), and drops the tables of views that stop being online *after* the
registry write (so a lost compare-and-swap never drops a table still in use). A dropped
view's watermark in that store is forgotten with its data, so re-adding it loads it afresh.

The registry records the online store its views were applied to (its identity). A switch
of store is applied like any change (every online view's table is created in the new store;
the old one is left as it is); until then :func:`require_applied_store` keeps ``materialize``
and ``teardown`` off a store the views were not applied to, and :func:`drop_old_store`
removes a project's tables from a store it moved away from (``teardown --tables-only``).
"""

from __future__ import annotations

from collections.abc import Callable

from fsctl.definitions import graph
from fsctl.diff import Plan
from fsctl.errors import UsageError
from fsctl.online import OnlineStore
from fsctl.online.views import online_view
from fsctl.registry import RegistryReader, RegistrySnapshot
from fsctl.results.apply import TablesDrop
from fsctl.services.project import Project
from fsctl.state import StateStore


def create_tables(project: str, store: OnlineStore, plan: Plan) -> None:
    creates = [view for action, view in plan.online_changes if action == "create"]
    if not creates:
        return
    entities = plan.desired.get("Entity", {})
    for name in creates:
        store.create(online_view(project, plan.desired["FeatureView"][name], entities))


def drop_tables(project: str, store: OnlineStore, state_store: StateStore, views: list[str], store_id: str) -> None:
    """Drop ``views``' tables in ``store`` (whose identity is ``store_id``) and forget their
    watermarks there; other stores keep theirs."""
    if not views:
        return
    from fsctl import state
    from fsctl.state.document import forget_views

    for name in views:
        store.drop(project, name)
    # Decided inside the compare-and-swap, on the document being replaced: a watermark that
    # another process records meanwhile is kept.
    dropped = set(views)
    state.update(state_store, lambda s: forget_views(s, dropped, store_id))


def dropped_views(plan: Plan) -> list[str]:
    return [view for action, view in plan.online_changes if action == "drop"]


def all_online_views(project: str, store: OnlineStore) -> list[str]:
    return sorted(store.views(project))


def has_online_views(snapshot: RegistrySnapshot) -> bool:
    return graph.has_online_views(snapshot.objects)


def stores_left(snapshot: RegistrySnapshot) -> list[str]:
    """The stores this registry's online views were switched away from (its history's
    ``online_store_change.from``), oldest first."""
    left = [info.online_store_change["from"] for info in snapshot.history if info.online_store_change]
    return list(dict.fromkeys(left))


def require_applied_store(project: Project, snapshot: RegistrySnapshot, command: str) -> None:
    """Refuse ``command`` (materialize, teardown) when the registry's online views were
    applied to another store than fsctl.yaml names: that store has none of their tables
    (loading it would be a half setup), and a teardown there would orphan the applied one."""
    applied = snapshot.online_store
    if applied is None or applied == project.online_store or not has_online_views(snapshot):
        return
    where = (
        f"the online views of registry {project.registry_uri} (version {snapshot.version}) were applied to "
        f"online store {applied}, but fsctl.yaml's online_store is {project.online_store}"
    )
    if command == "teardown":
        raise UsageError(
            f"{where}: a teardown now would delete the objects and leave their tables in {applied} behind",
            hint=f"set online_store back to {applied} to remove the project with its tables; if "
            f"{project.online_store} is a store the project moved away from, `fsctl teardown --tables-only` "
            "drops only its tables there",
        )
    raise UsageError(
        f"{where}, which has no tables for them until the switch is applied",
        hint="run `fsctl plan` to review the switch and `fsctl apply` to make it (it creates the tables; the "
        f"new store then loads each view from scratch), or set online_store back to {applied}",
    )


def drop_old_store(
    project: Project,
    registry: RegistryReader,
    store: OnlineStore,
    state_store: StateStore,
    confirm: Callable[[TablesDrop], bool] | None = None,
) -> TablesDrop:
    """Drop every table of the project in the configured online store, and forget its
    watermarks there (in this registry's state), leaving the registry as it is: for a store
    this registry's online views were switched away from. Refused for the store the views are
    in, and for any store this registry never left: the tables there may be another
    registry's (another environment pointed at the same repo)."""
    snapshot = registry.read()
    where = f"registry {project.registry_uri} (version {snapshot.version})"
    if has_online_views(snapshot) and snapshot.online_store in (None, project.online_store):
        raise UsageError(
            f"online store {project.online_store} holds the tables of the online views of {where}: "
            "dropping them would leave every reader without data",
            hint="`fsctl teardown` removes the project with its tables; --tables-only is for a store the "
            "project moved away from: set online_store to that store first",
        )
    left = stores_left(snapshot)
    if project.online_store not in left:
        raise UsageError(
            f"the online views of {where} were never switched away from online store {project.online_store}: "
            "its tables may be those of another registry using it, so --tables-only leaves them",
            hint=f"the stores this registry left (see `fsctl registry history`): {', '.join(left) or 'none'}; "
            "to remove another registry's tables, point --registry / FSCTL_REGISTRY at it",
        )
    views = tuple(all_online_views(project.name, store))
    drop = TablesDrop(project.name, project.online_store, views)
    if not views:
        return drop
    if confirm is not None and not confirm(drop):
        return TablesDrop(project.name, project.online_store, views, cancelled=True)
    drop_tables(project.name, store, state_store, list(views), project.online_store)
    return TablesDrop(project.name, project.online_store, views, dropped=True)

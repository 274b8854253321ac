"""Use case: keep the online store's tables in step with the applied definitions.

``apply`` creates the tables of views that become online *before* publishing them (so a
published online view always has a table, and an unreachable store fails the apply with
nothing written), and drops the tables of views that stop being online *after* the
registry write (so a lost compare-and-swap never drops a table still in use). A dropped
view's watermark is forgotten with its data, so re-adding it loads it afresh.
"""

from __future__ import annotations

from fsctl.diff import Plan
from fsctl.online import OnlineStore
from fsctl.online.views import online_view
from fsctl.state import StateStore


def create_tables(project: str, store: OnlineStore, plan: Plan) -> None:
    creates = [view for action, view in plan.online_changes if action == "create"]
    if not creates:
        return
    entities = plan.desired.get("Entity", {})
    for name in creates:
        store.create(online_view(project, plan.desired["FeatureView"][name], entities))


def drop_tables(project: str, store: OnlineStore, state_store: StateStore, views: list[str]) -> None:
    if not views:
        return
    from fsctl import state
    from fsctl.state.document import forget_views

    for name in views:
        store.drop(project, name)
    # Decided inside the compare-and-swap, on the document being replaced: a watermark that
    # another process records meanwhile is kept.
    dropped = set(views)
    state.update(state_store, lambda s: forget_views(s, set(s.views) - dropped))


def dropped_views(plan: Plan) -> list[str]:
    return [view for action, view in plan.online_changes if action == "drop"]


def all_online_views(project: str, store: OnlineStore) -> list[str]:
    return sorted(store.views(project))

"""Use case: keep the online store's tables in step with the applied definitions.

``apply`` creates the tables of views that become online *before* publishing them (so a
published online view always has a table, and an unreachable store fails the apply with
nothing written), and drops the tables of views that stop being online *after* the
registry write (so a lost compare-and-swap never drops a table still in use). A dropped
view's watermark is forgotten with its data, so re-adding it loads it afresh.
"""

from __future__ import annotations

from fsctl.definitions import Entity, FeatureView, object_from_dict
from fsctl.diff import Plan
from fsctl.services.project import Project


def create_tables(project: Project, plan: Plan) -> None:
    creates = [view for action, view in plan.online_changes if action == "create"]
    if not creates:
        return
    from fsctl.online.views import online_view

    objects = plan.desired
    entities = {
        name: object_from_dict({"kind": "Entity", **raw}) for name, raw in objects.get("Entity", {}).items()
    }
    store = project.online_store()
    try:
        for name in creates:
            view = object_from_dict({"kind": "FeatureView", **objects["FeatureView"][name]})
            assert isinstance(view, FeatureView)
            store.create(
                online_view(project.name, view, {k: v for k, v in entities.items() if isinstance(v, Entity)})
            )
    finally:
        store.close()


def drop_tables(project: Project, views: list[str]) -> None:
    if not views:
        return
    from fsctl import state
    from fsctl.state.document import forget_views

    store = project.online_store()
    try:
        for name in views:
            store.drop(project.name, name)
    finally:
        store.close()
    # Decided inside the compare-and-swap, on the document being replaced: a watermark that
    # another process records meanwhile is kept.
    dropped = set(views)
    state.update(project.state(), lambda s: forget_views(s, set(s.views) - dropped))


def dropped_views(plan: Plan) -> list[str]:
    return [view for action, view in plan.online_changes if action == "drop"]


def all_online_views(project: Project) -> list[str]:
    store = project.online_store()
    try:
        return sorted(store.views(project.name))
    finally:
        store.close()

"""What every online store decides the same way: which of two records is kept, and the
message for a view that has no online table.

The sqlite, dynamodb, redis, postgres and mysql stores express :func:`keeps_stored` in their
own query language (an upsert ``WHERE``, a ``ConditionExpression``, a Lua script, an ``ON
CONFLICT ... WHERE``, ``ON DUPLICATE KEY UPDATE ... IF``); the memory store
calls it directly. The contract suite checks that they all agree.
"""

from __future__ import annotations

from fsctl.errors import StoreError


def keeps_stored(
    event_ts: int, created_ts: int | None, old_event_ts: int, old_created_ts: int | None
) -> bool:
    """True when the stored ``(old_event_ts, old_created_ts)`` is later than the incoming
    record's, so a write must keep it. Equal times replace; a null created time is the earliest."""
    if event_ts != old_event_ts:
        return event_ts < old_event_ts
    if created_ts is None:
        return old_created_ts is not None
    return old_created_ts is not None and created_ts < old_created_ts


def missing_view(store: str, project: str, view: str) -> StoreError:
    """The error a store raises for a read or write of a view it has no table for."""
    return StoreError(
        f"online store {store}: view '{view}' of project '{project}' has no online table",
        hint="run `fsctl apply` to create it, then `fsctl materialize` to load it",
    )

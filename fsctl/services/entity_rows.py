"""Entity rows of an online read: the join key columns out of what callers give (a dict of
lists, a list of dicts, or an entity file or frame through
:mod:`fsctl.offline.entity_input`), checked against the request plan."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from fsctl.errors import UsageError
from fsctl.offline.entity_input import EntityInput, entity_input
from fsctl.results.online import ReadPlan

EntityRows = Mapping[str, Sequence[Any]] | Sequence[Mapping[str, Any]] | Any
_FRAMES = ("pyarrow", "pandas", "polars")



def as_list(value: Any) -> list[Any] | None:
    """A column as a list of Python values (numpy arrays, pandas and polars Series through
    ``tolist()``); None for a scalar."""
    if type(value) is list:
        return value
    if isinstance(value, (str, bytes, bytearray)) or not hasattr(value, "__len__"):
        return None
    tolist = getattr(value, "tolist", None)  # numpy arrays, pandas and polars series
    if callable(tolist):
        return list(tolist())
    if isinstance(value, Mapping):
        return None
    return list(value)


def _missing_key(plan: ReadPlan, key: str, where: str) -> UsageError:
    view = plan.key_views[key]
    keys = next(vp.join_keys for vp in plan.views if vp.view.name == view)
    return UsageError(
        f"{where}no value for join key '{key}' of feature view '{view}'",
        hint=f"give {', '.join(keys)} for every entity row"
        + (f"; the request needs {', '.join(plan.join_keys)}" if len(plan.join_keys) > len(keys) else ""),
    )


def _caller_order(keys: tuple[str, ...], given: Any) -> tuple[str, ...]:
    """``keys`` in the order the caller names them in ``given`` (the keys of a mapping);
    keys it does not name keep their place after those."""
    if len(keys) < 2:
        return keys
    named = [k for k in given if k in keys]
    if len(named) == len(keys):
        return tuple(named)
    return (*named, *(k for k in keys if k not in named))


def entity_columns(entity_rows: Any, plan: ReadPlan) -> tuple[dict[str, list[Any]], int]:
    """The plan's join key columns out of ``entity_rows`` (columns or rows), checked, in the
    order the caller names them (a mapping's keys, the first row's), as Feast answers; and
    the number of rows."""
    keys = plan.join_keys
    if type(entity_rows) is dict:  # the common case, checked in a few steps
        keys = _caller_order(keys, entity_rows)
        columns: list[Any] = [entity_rows.get(k) for k in keys]
        first = columns[0]
        if type(first) is list and all(type(c) is list and len(c) == len(first) for c in columns):
            return dict(zip(keys, columns, strict=True)), len(first)
    if isinstance(entity_rows, Mapping):
        return _mapping_columns(entity_rows, plan, _caller_order(plan.join_keys, entity_rows))
    if isinstance(entity_rows, EntityInput) or type(entity_rows).__module__.split(".")[0] in _FRAMES:
        found = entity_input(entity_rows).columns(plan.join_keys, missing=lambda k: _missing_key(plan, k, ""))
        return found, len(found[plan.join_keys[0]])
    if isinstance(entity_rows, (str, bytes)) or not isinstance(entity_rows, Sequence):
        raise UsageError(
            f"entity_rows must be a dict of lists or a list of dicts, not {type(entity_rows).__name__}"
        )
    rows = entity_rows
    out: dict[str, list[Any]] = {}
    if rows and isinstance(rows[0], Mapping):
        keys = _caller_order(keys, rows[0])
    for key in keys:
        try:
            out[key] = [row[key] for row in rows]
        except KeyError:
            index = next(i for i, row in enumerate(rows) if key not in row)
            raise _missing_key(plan, key, f"entity row {index + 1}: ") from None
        except TypeError:
            index = next(i for i, row in enumerate(rows) if not isinstance(row, Mapping))
            raise UsageError(
                f"entity row {index + 1} is a {type(rows[index]).__name__}, not a mapping of join keys"
            ) from None
    return out, len(rows)


def _mapping_columns(
    entity_rows: Mapping[str, Any], plan: ReadPlan, keys: tuple[str, ...]
) -> tuple[dict[str, list[Any]], int]:
    columns: dict[str, list[Any] | None] = {}
    for key in keys:
        if key not in entity_rows:
            raise _missing_key(plan, key, "")
        columns[key] = as_list(entity_rows[key])
    scalars = [k for k, v in columns.items() if v is None]
    if scalars:
        if len(scalars) != len(columns):
            raise UsageError(
                f"entity column '{scalars[0]}' is a single value while others are lists",
                hint="give every join key a list of values, one per entity row",
            )
        return {k: [entity_rows[k]] for k in columns}, 1
    lengths = {k: len(v) for k, v in columns.items() if v is not None}
    if len(set(lengths.values())) > 1:
        shown = ", ".join(f"{k} has {n}" for k, n in lengths.items())
        raise UsageError(
            f"entity columns have different lengths: {shown}",
            hint="give the same number of values for every join key, one per entity row",
        )
    return {k: v for k, v in columns.items() if v is not None}, next(iter(lengths.values()))

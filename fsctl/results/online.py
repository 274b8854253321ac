"""The answer to an online read (:class:`OnlineResponse`), the request plan it answers, and
the JSON forms of its values. Statuses per value: ``present``, ``missing``, ``expired`` (see
:mod:`fsctl.services.online`)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from fsctl.errors import UsageError
from fsctl.json_values import iso_timestamp, json_safe
from fsctl.online.base import OnlineView
from fsctl.online.codec import micros_to_datetime

PRESENT = "present"
MISSING = "missing"
EXPIRED = "expired"
TIMESTAMP_SUFFIX = "__ts"  # Feast's to_dict(include_event_timestamps=True) column suffix


@dataclass(frozen=True)
class ViewPlan:
    """How one requested view is read: its store view, its keys and which outputs it fills."""

    view: OnlineView
    join_keys: tuple[str, ...]
    ttl_us: int  # 0: no lower bound on age
    slots: tuple[tuple[int, str], ...]  # (output position, feature name)


@dataclass(frozen=True)
class ReadPlan:
    """A request resolved against one registry version."""

    registry_version: int
    refs: tuple[str, ...]  # view:feature, in output order
    names: tuple[str, ...]  # output names, in the same order
    join_keys: tuple[str, ...]  # every key the request needs, in first-use order
    key_views: dict[str, str]  # join key -> the first view that needs it (for messages)
    views: tuple[ViewPlan, ...]
    # join key -> its dtype as the views' sources have it (recorded by plan); keys with no
    # recorded dtype, or whose views disagree, are absent and not checked
    key_dtypes: dict[str, str] = field(default_factory=dict)




def json_type(value: Any) -> str:
    """The JSON name of a decoded value's type, for messages ("must be a number, not a string")."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, (int, float)):
        return "a number"
    if isinstance(value, str):
        return "a string"
    return "an array" if isinstance(value, list) else "an object"


class OnlineResponse:
    """The result of an online read, kept by column (cheap to build). :meth:`to_dict` and
    :meth:`to_df` present it as Feast does (``{name: [values]}``, a DataFrame);
    :meth:`to_json_dict` and ``rows`` in fsctl's richer shape, each value with its status
    and event time.

    ``entity`` holds the join key values of every row as given; ``values``, ``statuses``
    and ``event_ts`` hold, per output name (``names``), one entry per row. Event times are
    integers of microseconds since the epoch (None where the status is missing). Treat
    these lists as read-only: features of one view may share their status and time lists.
    """

    __slots__ = ("_rows", "entity", "event_ts", "ignore_ttl", "plan", "statuses", "values")

    def __init__(
        self,
        plan: ReadPlan,
        entity: dict[str, list[Any]],
        values: list[list[Any]],
        statuses: list[list[str]],
        event_ts: list[list[int | None]],
        ignore_ttl: bool = False,
    ) -> None:
        self.plan = plan  # the request as resolved against the registry
        self.ignore_ttl = ignore_ttl  # expired values were returned, not nulled
        self.entity = entity
        self.values = values
        self.statuses = statuses
        self.event_ts = event_ts
        self._rows: list[dict[str, Any]] | None = None

    def __len__(self) -> int:
        return len(self.statuses[0]) if self.statuses else 0

    @property
    def join_keys(self) -> tuple[str, ...]:
        return tuple(self.entity)

    @property
    def names(self) -> tuple[str, ...]:
        """The output names, in request order."""
        return self.plan.names

    @property
    def refs(self) -> tuple[str, ...]:
        """``view:feature`` of each output name."""
        return self.plan.refs

    @property
    def registry_version(self) -> int:
        return self.plan.registry_version

    @property
    def ttl_seconds(self) -> dict[str, int]:
        """The TTL of each view read, in seconds (0: none), by view name in request order."""
        return {vp.view.name: vp.ttl_us // 1_000_000 for vp in self.plan.views}

    @property
    def rows(self) -> list[dict[str, Any]]:
        """One ``{"entity": {key: value}, "features": {name: {"value", "status",
        "event_timestamp"}}}`` per entity row, in input order (values and times as Python
        objects: times are aware UTC datetimes)."""
        if self._rows is None:
            keys = list(self.entity.items())
            columns = list(zip(self.names, self.values, self.statuses, self.event_ts, strict=True))
            rows = []
            for i in range(len(self)):
                features = {}
                for name, values, statuses, times in columns:
                    ts = times[i]
                    features[name] = {
                        "value": values[i],
                        "status": statuses[i],
                        "event_timestamp": None if ts is None else micros_to_datetime(ts),
                    }
                rows.append({"entity": {k: col[i] for k, col in keys}, "features": features})
            self._rows = rows
        return self._rows

    def to_dict(self, include_event_timestamps: bool = False) -> dict[str, list[Any]]:
        """Feast's ``to_dict()``: ``{join key or feature name: [value per row]}``, join keys
        first, values as Python objects (expired values are null unless the read ignored the
        TTL). ``include_event_timestamps`` adds ``NAME__ts`` after each name: the event time
        in whole seconds since the epoch (0 for join keys and missing values), as Feast does."""
        out: dict[str, list[Any]] = {}
        rows = len(self)
        for key, column in self.entity.items():
            out[key] = list(column)
            if include_event_timestamps:
                out[key + TIMESTAMP_SUFFIX] = [0] * rows
        for name, values, times in zip(self.names, self.values, self.event_ts, strict=True):
            out[name] = list(values)
            if include_event_timestamps:
                out[name + TIMESTAMP_SUFFIX] = [0 if ts is None else ts // 1_000_000 for ts in times]
        return out

    def to_df(self, include_event_timestamps: bool = False) -> Any:
        """Feast's ``to_df()``: :meth:`to_dict` as a pandas DataFrame (one row per entity row).
        Needs pandas (the ``dataframes`` extra)."""
        try:
            import pandas as pd
        except ImportError:
            raise UsageError(
                "OnlineResponse.to_df() needs pandas, which is not installed",
                hint="install fsctl with the dataframes extra: pip install 'fsctl[dataframes]'; "
                "or use to_dict()",
            ) from None
        return pd.DataFrame(self.to_dict(include_event_timestamps))

    def to_json_dict(self) -> dict[str, Any]:
        """fsctl's own shape, what ``fsctl online --format json`` prints (DESIGN.md):
        ``{"rows": [{"entity": {key: value}, "features": {name: {"value", "status",
        "event_timestamp"}}}]}`` with ISO-8601 event times and JSON-safe values, one row per
        entity row in input order. Unlike :meth:`to_dict`, it keeps each value's status."""
        keys = list(self.entity.items())
        columns = list(zip(self.names, self.values, self.statuses, self.event_ts, strict=True))
        iso: dict[int, str] = {}  # rows of one view share event times
        rows = []
        for i in range(len(self)):
            features = {}
            for name, values, statuses, times in columns:
                ts = times[i]
                if ts is not None:
                    text = iso.get(ts)
                    if text is None:
                        text = iso[ts] = iso_timestamp(micros_to_datetime(ts))
                features[name] = {
                    "value": json_safe(values[i]),
                    "status": statuses[i],
                    "event_timestamp": None if ts is None else text,
                }
            rows.append({"entity": {k: json_safe(col[i]) for k, col in keys}, "features": features})
        return {"rows": rows}

    def __repr__(self) -> str:
        return f"OnlineResponse({len(self)} rows, features={list(self.names)})"

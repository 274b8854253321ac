"""Online stores: the latest feature values per entity key, for low-latency reads.

``fsctl materialize`` writes rows; ``fsctl online``, ``FeatureStore.get_online_features``
and ``fsctl serve`` read them. Every store keeps, per online view, one record per entity
key: the key, the event time and created time of the source row it came from, and the
feature values by name. A write never replaces a record with an older one: a stored
record is replaced only when the incoming ``(event_ts, created_ts)`` is later or equal
(a null created time counts as the earliest), so re-running a window is idempotent and an
older window can never overwrite newer values. Records are written in one stored form
(:mod:`fsctl.online.format`) and read back decoded (:class:`OnlineRecord`). Implementations (memory, sqlite, dynamodb,
redis, postgres, mysql) pass one contract suite in ``tests/contract/test_online_contract.py``.

Times are integers of microseconds since the Unix epoch, UTC.

Each store's config (:class:`OnlineStoreConfig`) also gives the store's *identity*: a short,
stable string without secrets naming where its data lives (``sqlite:data/online.db``,
``redis:cache.internal:6379/0``, ``dynamodb:eu-west-1/fsctl_``,
``postgres:db:5432/features/public.fsctl_``). The registry records the
identity its online views were applied to, and the state document keys watermarks by it,
so switching stores is a visible plan change and a new store loads from scratch.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, NamedTuple, Protocol

from fsctl.online.format import StoredRecord


@dataclass(frozen=True)
class OnlineView:
    """What a store needs to know about a view: where its records live and how to encode them."""

    project: str
    name: str
    join_keys: tuple[str, ...]
    features: tuple[tuple[str, str], ...]  # (feature name, dtype) in schema order

    @property
    def feature_names(self) -> tuple[str, ...]:
        return tuple(name for name, _ in self.features)


class OnlineRecord(NamedTuple):
    key: tuple[Any, ...]  # join key values, in OnlineView.join_keys order
    event_ts: int  # microseconds since the epoch, UTC
    created_ts: int | None
    values: dict[str, Any]  # feature name -> value (None for null)


class OnlineStoreConfig(Protocol):
    """What every ``online_store`` config of fsctl.yaml has besides its fields."""

    type: str

    def identity(self, root: Path) -> str:
        """The store's identity: its type and what locates its data (never a password), the
        same from every checkout of the repo at ``root``. Two configs with one identity
        read and write the same data; a different identity is another store."""
        ...


class OnlineStore(Protocol):
    location: str  # for messages: a path, a table prefix and region, a redis URL

    def create(self, view: OnlineView) -> None:
        """Create the view's table/keyspace if it does not exist (idempotent)."""
        ...

    def drop(self, project: str, view: str) -> None:
        """Remove the view's table/keyspace and every record in it (idempotent)."""
        ...

    def views(self, project: str) -> set[str]:
        """Names of the project's views that have a table/keyspace in this store."""
        ...

    def write(self, view: OnlineView, records: Sequence[StoredRecord]) -> int:
        """Upsert ``records`` (at most one per key), in the stored form of
        :mod:`fsctl.online.format`; keep a stored record whose (event_ts, created_ts) is
        later. Returns how many records were stored. Callers holding Python values build
        the records with :func:`fsctl.online.codec.stored_records`; materialize gets them
        from the offline engine, which encodes them where the data is."""
        ...

    def read(self, view: OnlineView, keys: Sequence[tuple[Any, ...]]) -> list[OnlineRecord | None]:
        """The stored record for each key, in order; None where there is none."""
        ...

    def sync(self) -> None:
        """Make every write so far survive a power loss, not only a crash of this process;
        materialize calls it before it moves a watermark. A no-op where an acknowledged
        write is already durable."""
        ...

    def close(self) -> None: ...

"""Online stores: the latest feature values per entity key (see :mod:`fsctl.online.base`).

Services only ever see the :class:`OnlineStore` interface; the composition root
(:mod:`fsctl.workspace`) builds the store that ``online_store.type`` names, from its
module's config and factory. Implementations: :mod:`.sqlite` (the default),
:mod:`.dynamodb`, :mod:`.redis_store`, :mod:`.postgres` and :mod:`.mysql` (both on
:mod:`.sql_server`), :mod:`.memory` (tests). The stored form of a record
is :mod:`.format`; Python values go through :mod:`.codec`.
"""

from __future__ import annotations

from fsctl.online.base import OnlineRecord, OnlineStore, OnlineView
from fsctl.online.format import StoredRecord

__all__ = ["OnlineRecord", "OnlineStore", "OnlineView", "StoredRecord"]

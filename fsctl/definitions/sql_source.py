"""The SqlSource kind: a source whose rows are a SQL query over other sources.

::

    kind: SqlSource
    name: customer_daily_orders
    query: |
      SELECT customer_id, date_trunc('day', order_date) AS event_timestamp,
             sum(order_amount) AS daily_amount, count(*) AS daily_orders
      FROM {{ source('orders') }}
      GROUP BY ALL
    timestamp_field: event_timestamp
    created_timestamp_field: null      # optional

A SQL source is usable wherever a source is (a view's ``source``, and the query of another
SQL source). The query reads other sources only through ``{{ source('name') }}`` (see
:mod:`fsctl.definitions.sql_query`); the dependency graph has an edge from each of them to
this source, so validation, the plan's guard rails and lineage see through it. The loader
checks the query against the upstream schemas without reading data
(:mod:`fsctl.loader.sql_sources`); the plan treats a change of the query (ignoring
whitespace) as a change of the source's data.
"""

from __future__ import annotations

from typing import ClassVar

from pydantic import Field as PydanticField
from pydantic import field_validator

from fsctl.definitions.base import FsctlObject
from fsctl.definitions.fields import Column
from fsctl.definitions.sql_query import query_problems, upstream_names


class SqlSource(FsctlObject):
    """Rows computed by a SQL query over other sources, with event times."""

    KIND: ClassVar[str] = "SqlSource"
    query: str = PydanticField(min_length=1)
    timestamp_field: Column = "event_timestamp"
    created_timestamp_field: Column | None = None

    @field_validator("query")
    @classmethod
    def _query(cls, value: str) -> str:
        problems = query_problems(value)
        if problems:
            raise ValueError(problems[0])
        return value

    @property
    def upstreams(self) -> list[str]:
        """The sources the query reads, in the order they first appear."""
        return upstream_names(self.query)

    @property
    def format(self) -> str:
        """What the data path calls a SQL source's format."""
        return "sql"

    def column_for(self, name: str) -> str:
        """The column that provides feature or key ``name``: a SQL source renames in its query."""
        return name

"""SQL sources and Delta pins as definitions: the query's template part, the validation of
the query against its upstream schemas (with file and line), the graph, fingerprints."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from fsctl import FileSource, SqlSource
from fsctl.definitions import graph as g
from fsctl.definitions.sql_query import normalise_query, query_problems, render_query, upstream_names
from fsctl.definitions.training import view_data_fingerprint
from fsctl.errors import DefinitionError, DefinitionErrors
from fsctl.loader import load_repo

MakeRepo = Callable[..., Path]

QUERY = """\
SELECT customer_id, date_trunc('day', order_date) AS event_timestamp,
       sum(order_amount) AS amount, count(*) AS orders
FROM {{ source('orders') }}
GROUP BY ALL
"""


def orders_parquet(path: Path) -> None:
    import duckdb

    path.parent.mkdir(parents=True, exist_ok=True)
    duckdb.sql(
        "COPY (SELECT (i % 3)::BIGINT AS customer_id, i::BIGINT AS order_id, (i * 1.5)::DOUBLE AS order_amount, "
        "TIMESTAMP '2024-01-01' + i * INTERVAL 7 HOUR AS order_date FROM range(40) t(i)) "
        f"TO '{path}' (FORMAT parquet)"
    )


def repo_files(query: str = QUERY, view_schema: str = "  - {name: amount, dtype: float64}\n  - {name: orders, dtype: int64}\n", extra: str = "") -> dict[str, str]:
    indented = "".join(f"  {line}\n" for line in query.splitlines())
    return {
        "fsctl.yaml": "project: sql\nregistry: data/registry.json\n",
        "defs.yaml": (
            "kind: Entity\nname: customer\njoin_keys: [customer_id]\n"
            "---\nkind: FileSource\nname: orders\npath: data/orders.parquet\ntimestamp_field: order_date\n"
            f"---\nkind: SqlSource\nname: daily\nquery: |\n{indented}"
            "---\nkind: FeatureView\nname: daily_orders\nentities: [customer]\nsource: daily\n"
            f"schema:\n{view_schema}" + extra
        ),
    }


def make(make_repo: MakeRepo, **kwargs: str) -> Path:
    root = make_repo(repo_files(**kwargs), data=False)
    orders_parquet(root / "data" / "orders.parquet")
    return root


def problems_of(root: Path) -> list[tuple[str | None, int | None, str | None, str | None, str]]:
    with pytest.raises(DefinitionErrors) as excinfo:
        load_repo(root)
    return [(p.file, p.line, p.kind, p.field, p.message) for p in excinfo.value.problems]


# -- the query's template part ---------------------------------------------------------------


def test_references_are_found_in_order_once() -> None:
    query = "SELECT * FROM {{source('a')}} JOIN {{ source( \"b\" ) }} USING (k) JOIN {{ source('a') }} x USING (k)"
    assert upstream_names(query) == ["a", "b"]
    assert render_query(query + " ;\n", lambda n: f'"v_{n}"') == (
        'SELECT * FROM "v_a" JOIN "v_b" USING (k) JOIN "v_a" x USING (k)'
    )


def test_other_template_syntax_and_no_source_are_refused() -> None:
    assert "outside a {{ source('name') }} reference" in query_problems("SELECT {{ var('x') }} FROM {{ source('a') }}")[0]
    assert "outside" in query_problems("SELECT 1 FROM {{ source('a') }} {% if x %}")[0]
    assert "reads no source" in query_problems("SELECT 1")[0]
    assert query_problems(QUERY) == []


def test_whitespace_is_normalised_for_the_plan() -> None:
    assert normalise_query("SELECT  a,\n\tb\nFROM x  ") == "SELECT a, b FROM x"


def test_python_authoring_names_the_callers_line() -> None:
    source = SqlSource(name="daily", query=QUERY)
    assert source.upstreams == ["orders"]
    assert source.to_dict()["kind"] == "SqlSource"
    with pytest.raises(DefinitionError, match=r"test_sql_sources.py:\d+: SqlSource 'bad' field 'query'.*reads no source"):
        SqlSource(name="bad", query="SELECT 1 AS x")


def test_delta_pins() -> None:
    pinned = FileSource(name="t", path="data/t", format="delta", version=3)
    assert pinned.to_dict()["version"] == 3 and "timestamp" not in pinned.to_dict()
    at = FileSource(name="t", path="data/t", format="delta", timestamp="2024-05-01T12:00:00+02:00")
    assert at.timestamp == "2024-05-01T10:00:00Z"
    assert "version" not in FileSource(name="t", path="x.parquet").to_dict()  # canonical form unchanged
    with pytest.raises(DefinitionError, match="not both"):
        FileSource(name="t", path="data/t", format="delta", version=1, timestamp="2024-05-01T00:00:00Z")
    with pytest.raises(DefinitionError, match="needs format: delta"):
        FileSource(name="t", path="x.parquet", version=1)
    with pytest.raises(DefinitionError, match="invalid timestamp"):
        FileSource(name="t", path="data/t", format="delta", timestamp="yesterday")


# -- validation against the upstream schemas --------------------------------------------------


def test_a_valid_sql_source_loads_with_its_schema_and_graph(make_repo: MakeRepo) -> None:
    repo = load_repo(make(make_repo))
    assert set(repo.objects["SqlSource"]) == {"daily"}
    assert {k: str(v) for k, v in repo.source_columns["daily"].items()} == {
        "customer_id": "int64", "event_timestamp": "timestamp", "amount": "float64", "orders": "int64",
    }  # fmt: skip
    assert repo.key_dtypes == {"daily_orders": {"customer_id": "int64"}}
    edge = next(e for e in repo.graph.edges if e.downstream == g.source("daily"))
    assert (edge.upstream, edge.relation, edge.field) == (g.source("orders"), g.FEEDS, "query")
    assert repo.graph.fed_views(g.source("orders")) == [g.view("daily_orders")]


def test_unknown_source_is_named_with_file_and_line(make_repo: MakeRepo) -> None:
    root = make(make_repo, query=QUERY.replace("source('orders')", "source('order')"))
    problems = problems_of(root)
    assert problems == [
        ("defs.yaml", 10, "SqlSource", "query", "the query reads source 'order', which is not defined")
    ]
    with pytest.raises(DefinitionErrors, match="did you mean 'orders'"):
        load_repo(root)


def test_missing_upstream_column_is_reported_at_the_sql_source(make_repo: MakeRepo) -> None:
    root = make(make_repo, query=QUERY.replace("sum(order_amount)", "sum(order_total)"))
    [(file, line, kind, field, message)] = problems_of(root)
    assert (file, line, kind, field) == ("defs.yaml", 10, "SqlSource", "query")
    assert message.startswith("the query does not run against its sources' columns: Binder Error")
    assert "order_total" in message


def test_a_column_the_view_needs_but_the_query_lacks(make_repo: MakeRepo) -> None:
    root = make(make_repo, view_schema="  - {name: amount, dtype: float64}\n  - {name: avg_amount, dtype: float64}\n")
    assert problems_of(root) == [
        (
            "defs.yaml", 18, "FeatureView", "schema.avg_amount",
            "feature 'avg_amount' needs column 'avg_amount', which the query of SQL source 'daily' does not have "
            "(columns: customer_id, event_timestamp, amount, orders)",
        )
    ]  # fmt: skip


def test_a_wrong_dtype_against_the_query_output(make_repo: MakeRepo) -> None:
    root = make(make_repo, view_schema="  - {name: amount, dtype: string}\n")
    assert problems_of(root) == [
        (
            "defs.yaml", 18, "FeatureView", "schema.amount.dtype",
            "feature 'amount' is declared string but column 'amount' of the query of SQL source 'daily' is float64",
        )
    ]  # fmt: skip


def test_timestamp_field_must_be_given_by_the_query(make_repo: MakeRepo) -> None:
    root = make(make_repo, query=QUERY.replace("AS event_timestamp", "AS day"))
    [(file, line, kind, field, message)] = problems_of(root)
    assert (file, line, kind, field) == ("defs.yaml", 10, "SqlSource", "timestamp_field")
    assert message.startswith("the query gives no column 'event_timestamp'")


def test_cycles_and_name_clashes_are_refused(make_repo: MakeRepo) -> None:
    cycle = (
        "---\nkind: SqlSource\nname: a\nquery: SELECT * FROM {{ source('b') }}\n"
        "---\nkind: SqlSource\nname: b\nquery: SELECT * FROM {{ source('a') }}\n"
        "---\nkind: SqlSource\nname: orders\nquery: SELECT * FROM {{ source('daily') }}\n"
    )
    messages = [p[4] for p in problems_of(make(make_repo, extra=cycle))]
    assert "SQL sources read each other in a cycle: a -> b -> a" in messages
    assert any(m.startswith("a FileSource and a SqlSource are both named 'orders'") for m in messages)


# -- fingerprints: what restarts watermarks ------------------------------------------------------


def test_the_data_fingerprint_follows_the_query_and_its_upstreams() -> None:
    view = {"name": "v", "schema": [{"name": "amount", "dtype": "float64"}]}
    orders = {"path": "data/orders.parquet", "timestamp_field": "order_date"}
    sql = {"query": QUERY}
    sources = {"orders": orders, "daily": sql}
    base = view_data_fingerprint(view, sql, ["customer_id"], sources=sources)
    reindented = {"query": "  " + QUERY.replace("\n", "\n   ")}
    assert view_data_fingerprint(view, reindented, ["customer_id"], sources=sources) == base
    changed = {"query": QUERY.replace("sum(", "max(")}
    assert view_data_fingerprint(view, changed, ["customer_id"], sources=sources) != base
    moved = {**sources, "orders": {**orders, "path": "data/orders_v2.parquet"}}
    assert view_data_fingerprint(view, sql, ["customer_id"], sources=moved) != base
    # a FileSource without a Delta pin keeps the fingerprint it had before pins existed
    plain = view_data_fingerprint(view, orders, ["customer_id"])
    assert view_data_fingerprint(view, {**orders, "version": None}, ["customer_id"]) == plain
    assert view_data_fingerprint(view, {**orders, "format": "delta", "version": 1}, ["customer_id"]) != plain


def test_a_query_over_an_s3_source_is_left_unchecked_with_a_warning(make_repo: MakeRepo) -> None:
    files = repo_files()
    files["defs.yaml"] = files["defs.yaml"].replace("path: data/orders.parquet", "path: s3://bucket/orders.parquet")
    repo = load_repo(make_repo(files, data=False))
    messages = [(w.kind, w.name, w.field, w.message) for w in repo.warnings]
    assert (
        "SqlSource", "daily", "query",
        "the query is not checked here: it reads source 'orders' at s3://bucket/orders.parquet, whose schema is not "
        "read here (not a local path)",
    ) in messages  # fmt: skip
    assert "daily" not in repo.source_columns


def test_plan_classification_of_source_changes() -> None:
    from fsctl.diff.compare import compare

    sql = {"kind": "SqlSource", "name": "daily", "query": QUERY, "timestamp_field": "event_timestamp"}
    assert compare("SqlSource", sql, {**sql, "query": "  " + QUERY.replace(" ", "   ")}) == []
    [change] = compare("SqlSource", sql, {**sql, "query": QUERY.replace("sum(", "max(")})
    assert (change.path, change.impact, change.reason) == (
        "query", "breaking", "query changed: views on this source read other data",
    )  # fmt: skip
    delta = {"kind": "FileSource", "name": "t", "path": "data/t", "format": "delta"}
    [pinned] = compare("FileSource", delta, {**delta, "version": 3})
    assert (pinned.impact, pinned.reason) == (
        "breaking", "Delta table pin changed from latest to version 3: views on it read another version",
    )  # fmt: skip


def test_a_delta_source_without_deltalake_names_the_extra(monkeypatch: pytest.MonkeyPatch) -> None:
    import sys

    from fsctl.errors import UsageError
    from fsctl.offline.delta import open_table

    monkeypatch.setitem(sys.modules, "deltalake", None)  # import deltalake raises ImportError
    with pytest.raises(UsageError) as excinfo:
        open_table("stats", "/nowhere")
    assert excinfo.value.message == (
        "source 'stats' is a Delta table (format: delta), and the deltalake package is not installed"
    )
    assert excinfo.value.hint == "install fsctl with the delta extra: pip install 'fsctl[delta]'"

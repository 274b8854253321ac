"""What only the Spark engine has: Spark DataFrames and table names as entity rows, its own
session (the user's is never changed), the collect limit, results written by the executors
to a folder with the metadata in every footer. Spark Connect (a real server) is tested from
separate processes in tests/cli/test_historical_spark.py: pyspark cannot run a Connect client
beside the classic session these tests share. The join rules themselves are the contract suite (test_pit_rules,
test_pit_properties), run on both engines."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from fsctl import FeatureStore
from fsctl.errors import UsageError
from tests.offline.test_pit_rules import at, entities, parquet, rows, source_yaml, view_yaml

pytestmark = pytest.mark.xdist_group("spark")

DATA = rows((1, at(0), at(0), 0.1), (1, at(1), at(1), 0.2), (2, at(0), at(0.5), 0.3))
ENTITY_ROWS = entities((1, at(1)), (2, at(1)), (1, at(0.5)), (3, at(1)), (2, at(3)), label=[1, 2, 3, 4, 5])
EXPECTED = [0.2, 0.3, 0.1, None, None]  # TTL 2h: driver 2 at 3h is too late


def spark_store(make_repo: Callable[..., Path], offline: str, name: str = "repo") -> FeatureStore:
    files: dict[str, str | bytes] = {
        "fsctl.yaml": f"project: demo\nregistry: data/registry.json\noffline_store: {offline}\n",
        "defs.yaml": "kind: Entity\nname: driver\njoin_keys: [driver_id]\n---\n"
        + source_yaml()
        + "---\n"
        + view_yaml(),
        "data/stats.parquet": parquet(DATA),
    }
    fs = FeatureStore(make_repo(files, name=name))
    fs.apply()
    return fs


@pytest.fixture
def store(make_repo: Callable[..., Path], spark_session: Any) -> FeatureStore:
    return spark_store(make_repo, '{type: spark, master: "local[2]", collect_limit: 4}')


def test_a_spark_dataframe_and_a_table_name_are_entity_rows(store, spark_session):
    frame = spark_session.createDataFrame(ENTITY_ROWS)
    with store.get_historical_features(frame, ["stats:conv"]) as result:
        assert result.to_spark().toArrow().column("conv").to_pylist() == EXPECTED
        assert result.to_spark().columns == ["driver_id", "event_timestamp", "label", "conv"]
    frame.createOrReplaceGlobalTempView("fsctl_test_entities")
    with store.get_historical_features("table:global_temp.fsctl_test_entities", ["stats:conv"]) as result:
        assert [r["conv"] for r in result.to_spark().collect()] == EXPECTED
    with pytest.raises(UsageError, match=r"cannot read entity table global_temp.nope: .*TABLE_OR_VIEW_NOT_FOUND"):
        store.get_historical_features("table:global_temp.nope", ["stats:conv"])


def test_duckdb_refuses_spark_inputs_by_name(make_repo, spark_session):
    files = {"fsctl.yaml": "project: demo\nregistry: data/registry.json\n",
             "defs.yaml": "kind: Entity\nname: driver\njoin_keys: [driver_id]\n---\n" + source_yaml() + "---\n" + view_yaml(),
             "data/stats.parquet": parquet(DATA)}
    fs = FeatureStore(make_repo(files, name="duck"))
    fs.apply()
    with pytest.raises(UsageError, match="only be read by the spark engine") as caught:
        fs.get_historical_features("table:db.rows", ["stats:conv"])
    assert "type: spark" in str(caught.value.hint)


def test_the_users_session_keeps_its_time_zone(store, spark_session):
    spark_session.conf.set("spark.sql.session.timeZone", "America/New_York")
    try:
        with store.get_historical_features(ENTITY_ROWS, ["stats:conv"]) as result:
            assert result.to_spark().toArrow().column("conv").to_pylist() == EXPECTED
            assert result.to_spark().sparkSession.conf.get("spark.sql.session.timeZone") == "UTC"
        assert spark_session.conf.get("spark.sql.session.timeZone") == "America/New_York"
    finally:
        spark_session.conf.set("spark.sql.session.timeZone", "UTC")


def test_collecting_more_than_the_limit_is_refused_but_writing_works(store, tmp_path):
    with store.get_historical_features(ENTITY_ROWS, ["stats:conv"]) as result:
        with pytest.raises(UsageError, match="5 rows, more than") as caught:
            result.to_arrow()
        assert "--output" in str(caught.value.hint)
        written = pq.read_table(result.write(tmp_path / "train.parquet"))
    assert written.column("conv").to_pylist() == EXPECTED
    assert written.column("label").to_pylist() == [1, 2, 3, 4, 5]
    assert [p.name for p in tmp_path.iterdir() if p.name != "repo"] == ["train.parquet"]  # no staging left


def test_a_folder_output_is_written_by_the_executors_in_order_with_footer_metadata(store, tmp_path):
    entity_rows = entities(*((k % 3 + 1, at(k % 4)) for k in range(200)), label=list(range(200)))
    with store.get_historical_features(entity_rows, ["stats:conv"]) as result:
        result.metadata["fsctl"] = '{"model": "m"}'
        out = result.write(tmp_path / "out" / "train_dir")
    files = sorted(out.glob("part-*.parquet"))
    assert files
    for file in files:
        assert pq.ParquetFile(file).schema_arrow.metadata[b"fsctl"] == b'{"model": "m"}'
    table = pa.concat_tables(pq.read_table(f) for f in files)
    assert table.column("label").to_pylist() == list(range(200))
    assert list((tmp_path / "out").iterdir()) == [out]


def test_spark_connect_beside_a_classic_session_is_a_clear_error(store, make_repo):
    fs = spark_store(make_repo, '{type: spark, remote: "sc://127.0.0.1:1"}', name="connect")
    with pytest.raises(UsageError, match="already runs a classic Spark session") as caught:
        fs.get_historical_features(ENTITY_ROWS, ["stats:conv"])
    assert "separate process" in str(caught.value.hint)


def test_nanoseconds_become_microseconds_exactly(spark_session):
    """Floored integer division: a double division is a microsecond off for this time."""
    from pyspark.sql import functions as sf

    from fsctl.offline.spark.sources import nanos_to_micros

    values = [1776437354176976024, 1765000000123456789, -1001, 0]
    frame = spark_session.createDataFrame([(v,) for v in values], "n long")
    got = [row[0] for row in frame.select(nanos_to_micros(sf.col("n"))).collect()]
    assert got == [v // 1000 for v in values]

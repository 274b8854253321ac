"""Sources on S3 (a moto server): a parquet file, a CSV file and a glob of parquet files give
the same training set as the same files read locally; a missing object is a StoreError
naming its path.

The engine reads S3 through pyarrow's S3FileSystem, configured from the AWS_* environment
(AWS_ENDPOINT_URL for the moto server), which each test sets with monkeypatch.

The moto server runs in its own process here, not in the test process like the session
``s3_server``: DuckDB holds the GIL while it pulls batches from a pyarrow CSV dataset, so a
server thread in the same process cannot answer (the read stalls until a 30 s timeout).
A real S3 endpoint is never in-process.
"""

from __future__ import annotations

import subprocess
import sys
import time
import urllib.request
import uuid
from collections.abc import Iterator
from datetime import datetime, timedelta
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from fsctl import FeatureStore
from fsctl.errors import StoreError
from tests.support.s3 import endpoint_env, free_port, s3_client

T0 = datetime(2024, 1, 1)


def at(hours: float) -> datetime:
    return T0 + timedelta(hours=hours)


def table(*rows: tuple[Any, ...]) -> pa.Table:
    """Rows of (driver_id, event_timestamp, created, conv, trips)."""
    columns = list(zip(*rows, strict=True))
    return pa.table(
        {
            "driver_id": pa.array(columns[0], pa.int64()),
            "event_timestamp": pa.array(columns[1], pa.timestamp("us", tz="UTC")),
            "created": pa.array(columns[2], pa.timestamp("us", tz="UTC")),
            "conv": pa.array(columns[3], pa.float64()),
            "trips": pa.array(columns[4], pa.int64()),
        }
    )


PARTS = {
    "parts/a.parquet": table((1, at(0), at(0), 0.1, 10), (2, at(0), at(0.5), 0.2, 20)),
    "parts/b.parquet": table((1, at(1), at(1), 0.3, 30), (2, at(1), None, 0.4, 40)),
    "parts/c.parquet": table((2, at(1), at(1.1), 0.5, 50), (3, at(2), at(2), 0.6, 60)),
    # Not matched by parts/*.parquet: in a sub-folder, and not a parquet file.
    "parts/old/d.parquet": table((1, at(1.5), at(1.5), 9.0, 90)),
    "parts/readme.txt": b"not data",
}
WHOLE = pa.concat_tables([t for t in PARTS.values() if isinstance(t, pa.Table)][:3])
CSV = (
    "driver_id,event_timestamp,created,conv,trips\n"
    "1,2024-01-01T00:00:00Z,2024-01-01T00:00:00Z,0.1,10\n"
    "1,2024-01-01T03:00:00+02:00,2024-01-01T01:00:00Z,0.3,30\n"
    "2,2024-01-01T00:00:00Z,2024-01-01T00:30:00Z,0.2,20\n"
    "2,2024-01-01T01:00:00Z,,0.4,40\n"
    "2,2024-01-01T01:00:00Z,2024-01-01T01:06:00Z,0.5,50\n"
    "3,2024-01-01T02:00:00Z,2024-01-01T02:00:00Z,0.6,\n"
)
ENTITIES = pa.table(
    {
        "driver_id": [1, 2, 2, 3, 1, 3, 4, 1],
        "event_timestamp": pa.array(
            [at(1), at(1), at(0.75), at(2), at(0.5), at(1.9), at(1), at(2)], pa.timestamp("us")
        ),
        "label": [1, 0, 1, 1, 0, 0, 1, 0],
    }
)
EXPECTED_CONV = [0.3, 0.5, 0.2, 0.6, 0.1, None, None, 0.3]  # not 9.0: parts/old is not in the glob


def parquet_bytes(data: pa.Table) -> bytes:
    sink = pa.BufferOutputStream()
    pq.write_table(data, sink)
    return sink.getvalue().to_pybytes()


def blob(content: pa.Table | bytes | str) -> bytes:
    if isinstance(content, pa.Table):
        return parquet_bytes(content)
    return content.encode() if isinstance(content, str) else content


@pytest.fixture(scope="module")
def moto_endpoint() -> Iterator[str]:
    """A moto S3 server in a process of its own (see the module docstring)."""
    port = free_port()
    server = subprocess.Popen(
        [sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(port)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    endpoint = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                urllib.request.urlopen(endpoint, timeout=1).close()
                break
            except OSError:
                if server.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError(f"the moto server on port {port} did not start") from None
                time.sleep(0.1)
        yield endpoint
    finally:
        server.terminate()
        server.wait(timeout=10)


@pytest.fixture
def bucket(moto_endpoint, monkeypatch, tmp_path) -> str:
    """A new bucket holding the test files; the AWS_* environment points at the moto server."""
    for name in ("AWS_ENDPOINT_URL_S3", "AWS_PROFILE", "AWS_SESSION_TOKEN", "AWS_REGION"):
        monkeypatch.delenv(name, raising=False)
    for name, value in endpoint_env(moto_endpoint).items():
        monkeypatch.setenv(name, value)
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "no-aws-config"))
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(tmp_path / "no-aws-credentials"))
    name = f"fsctl-{uuid.uuid4().hex[:12]}"
    client = s3_client(moto_endpoint)
    client.create_bucket(Bucket=name)
    files: dict[str, Any] = {"stats.parquet": WHOLE, "stats.csv": CSV, **PARTS}
    for key, content in files.items():
        client.put_object(Bucket=name, Key=key, Body=blob(content))
    return name


def source(name: str, path: str, fmt: str = "parquet") -> str:
    return (
        f"kind: FileSource\nname: {name}\npath: {path}\nformat: {fmt}\n"
        "timestamp_field: event_timestamp\ncreated_timestamp_field: created\n"
    )


def view(name: str, source_name: str) -> str:
    return (
        f"kind: FeatureView\nname: {name}\nentities: [driver]\nsource: {source_name}\nttl: 1h\n"
        "schema:\n  - {name: conv, dtype: float64}\n  - {name: trips, dtype: int64}\n"
    )


def make_store(make_repo, bucket: str, pairs: dict[str, tuple[str, str]]) -> FeatureStore:
    """A repo with the local copies of the bucket's files and one view per (path, format)."""
    docs = ["kind: Entity\nname: driver\njoin_keys: [driver_id]\n"]
    for view_name, (path, fmt) in pairs.items():
        docs += [
            source(f"{view_name}_src", path.format(bucket=bucket), fmt),
            view(view_name, f"{view_name}_src"),
        ]
    files: dict[str, str | bytes] = {
        "fsctl.yaml": "project: s3demo\nregistry: data/registry.json\n",
        "defs.yaml": "---\n".join(docs),
        "data/stats.parquet": parquet_bytes(WHOLE),
        "data/stats.csv": CSV,
        **{f"data/{key}": blob(content) for key, content in PARTS.items()},
    }
    store = FeatureStore(make_repo(files))
    store.apply()
    return store


def retrieve(store: FeatureStore, view_name: str) -> list[dict[str, Any]]:
    with store.get_historical_features(ENTITIES, [f"{view_name}:conv", f"{view_name}:trips"]) as result:
        return result.to_arrow().to_pylist()


@pytest.mark.parametrize(
    ("local", "remote"),
    [
        (("data/stats.parquet", "parquet"), ("s3://{bucket}/stats.parquet", "parquet")),
        (("data/stats.csv", "csv"), ("s3://{bucket}/stats.csv", "csv")),
        (("data/parts/*.parquet", "parquet"), ("s3://{bucket}/parts/*.parquet", "parquet")),
    ],
    ids=["parquet", "csv", "glob"],
)
def test_an_s3_source_gives_the_same_rows_as_a_local_copy(make_repo, bucket, local, remote):
    store = make_store(make_repo, bucket, {"on_disk": local, "on_s3": remote})
    on_disk, on_s3 = retrieve(store, "on_disk"), retrieve(store, "on_s3")
    assert [row["conv"] for row in on_disk] == EXPECTED_CONV
    assert on_s3 == on_disk


def test_the_whole_file_and_its_parts_agree_on_s3(make_repo, bucket):
    store = make_store(
        make_repo,
        bucket,
        {
            "whole": ("s3://{bucket}/stats.parquet", "parquet"),
            "parts": ("s3://{bucket}/parts/*.parquet", "parquet"),
        },
    )
    with store.get_historical_features(
        ENTITIES, ["whole:conv", "parts:conv"], full_feature_names=True
    ) as result:
        table = result.to_arrow()
    assert table.column("whole__conv").to_pylist() == EXPECTED_CONV
    assert table.column("parts__conv").to_pylist() == EXPECTED_CONV


@pytest.mark.parametrize("key", ["missing.parquet", "nothing/*.parquet", "parts/missing.parquet"])
def test_a_missing_s3_object_is_a_store_error_naming_the_path(make_repo, bucket, key):
    store = make_store(make_repo, bucket, {"gone": (f"s3://{{bucket}}/{key}", "parquet")})
    with pytest.raises(StoreError) as caught:
        store.get_historical_features(ENTITIES, ["gone:conv"])
    assert f"s3://{bucket}/{key}" in caught.value.message
    assert "gone_src" in caught.value.message


def test_a_missing_bucket_is_a_store_error_naming_the_path(make_repo, bucket):
    store = make_store(make_repo, bucket, {"gone": ("s3://fsctl-no-such-bucket/stats.parquet", "parquet")})
    with pytest.raises(StoreError) as caught:
        store.get_historical_features(ENTITIES, ["gone:conv"])
    assert "s3://fsctl-no-such-bucket/stats.parquet" in caught.value.message


def test_statistics_of_a_prediction_log_on_s3(bucket: str, tmp_path) -> None:
    """``fsctl stats --model`` reads the prediction log where it is: on S3, every file under
    the prefix (its date= partitions), through the engine interface."""
    from datetime import timezone

    from fsctl.offline.duckdb import DuckDBEngine
    from fsctl.offline.requests import FileRows, StatsColumn, StatsRequest
    from fsctl.scoring.log import PredictionLog, PredictionRecord

    start = datetime(2026, 1, 6, 20, tzinfo=timezone.utc)
    records = [
        PredictionRecord(
            f"r{i}", start + timedelta(hours=i), "churn", None, 1 + i % 2, 1, {"driver_id": i}, {"conv": i / 10}, {"p": i / 100}
        )
        for i in range(10)
    ]
    with PredictionLog(f"s3://{bucket}/log", tmp_path) as log:
        log.append(records)
    engine = DuckDBEngine()
    try:
        answer = engine.stats(
            StatsRequest(
                FileRows(
                    "the prediction log",
                    f"s3://{bucket}/log",
                    time_column="predicted_at",
                    equals=(("model", "churn"), ("model_version", 1)),
                ),
                (StatsColumn("conv", "float64", column="features", json_key="conv"), StatsColumn("prediction", "float64")),
            )
        )
    finally:
        engine.close()
    mine = [r for r in records if r.model_version == 1]  # over two days: two partitions
    assert answer.rows == len(mine) == 5
    assert answer.feature("conv").mean == pytest.approx(sum(r.features["conv"] for r in mine) / 5)
    assert answer.feature("prediction").max == pytest.approx(0.08)

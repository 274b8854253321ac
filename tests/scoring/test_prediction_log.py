"""The prediction log (:mod:`fsctl.scoring.log`): batches written by rows and by age, every
row appended before ``close()`` written (from many threads), one file per date, the schema
and the JSON columns, the README's DuckDB query on the files, a failing write kept and
retried, the bound on pending rows, and S3 against the moto server.

Batches by age use an injected clock, so no test waits for ``flush_seconds``; waits for the
writer thread are bounded polls.
"""

from __future__ import annotations

import io
import json
import logging
import math
import re
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from fsctl.errors import StoreError, UsageError
from fsctl.scoring.log import LogStats, PredictionLog, PredictionRecord, arrow_schema

T0 = datetime(2024, 5, 17, 12, 0, tzinfo=timezone.utc)
PART = re.compile(r"^part-\d{8}T\d{12}-[0-9a-f]{8}\.parquet$")


class FakeClock:
    """A monotonic clock the test moves by hand."""

    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def record(i: int = 0, *, at: datetime = T0, version: int = 1, **fields: Any) -> PredictionRecord:
    values: dict[str, Any] = {
        "request_id": f"req-{i}",
        "predicted_at": at,
        "model": "churn",
        "alias": "prod",
        "model_version": version,
        "registry_version": 7,
        "entity": {"driver_id": i},
        "features": {"conv_rate": 0.5, "trips": 3},
        "outputs": {"prediction": 0.25},
    }
    values.update(fields)
    return PredictionRecord(**values)


def wait_for(condition: Callable[[], bool], timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError("timed out waiting for the prediction log's writer thread")
        time.sleep(0.01)


def files(folder: Path) -> list[Path]:
    return sorted(folder.glob("date=*/*.parquet"))


def rows_in(folder: Path) -> pa.Table:
    return pa.concat_tables([pq.read_table(f) for f in files(folder)])


@pytest.fixture
def logs() -> Iterator[list[PredictionLog]]:
    """Logs a test opened: closed at the end (quietly) so no writer thread outlives it."""
    opened: list[PredictionLog] = []
    yield opened
    for log in opened:
        try:
            log.close()
        except StoreError:
            pass


@pytest.fixture
def open_log(tmp_path: Path, logs: list[PredictionLog]) -> Callable[..., PredictionLog]:
    def make(location: str = "predictions", **kwargs: Any) -> PredictionLog:
        log = PredictionLog(location, tmp_path, **kwargs)
        logs.append(log)
        return log

    return make


# -- batches -----------------------------------------------------------------------------


def test_a_batch_is_written_when_flush_rows_rows_are_pending(tmp_path: Path, open_log: Any) -> None:
    log = open_log(flush_rows=10, flush_seconds=3600, clock=FakeClock())
    assert log.location == str(tmp_path / "predictions")  # relative to the root
    for i in range(9):
        log.append([record(i)])
    time.sleep(0.3)
    assert files(tmp_path / "predictions") == []
    assert log.stats.pending_rows == 9

    log.append([record(9)])
    wait_for(lambda: log.stats.written_rows == 10)
    [only] = files(tmp_path / "predictions")
    assert only.parent.name == "date=2024-05-17"
    assert PART.match(only.name)
    assert pq.read_table(only).column("request_id").to_pylist() == [f"req-{i}" for i in range(10)]
    assert log.stats == LogStats(
        written_rows=10, written_files=1, failed_writes=0, dropped_rows=0, pending_rows=0
    )


def test_a_batch_is_written_when_its_oldest_row_is_flush_seconds_old(tmp_path: Path, open_log: Any) -> None:
    clock = FakeClock()
    log = open_log(flush_rows=1000, flush_seconds=5, clock=clock)
    log.append([record(1), record(2)])
    clock.now += 4
    log.append([record(3)])  # younger rows do not restart the wait
    time.sleep(0.3)
    assert files(tmp_path / "predictions") == []

    clock.now += 1  # the oldest row is 5 s old
    wait_for(lambda: log.stats.written_rows == 3)
    assert rows_in(tmp_path / "predictions").column("request_id").to_pylist() == ["req-1", "req-2", "req-3"]


def test_the_real_clock_writes_a_small_batch_after_flush_seconds(tmp_path: Path, open_log: Any) -> None:
    log = open_log(flush_rows=1000, flush_seconds=0.2)
    log.append([record(1)])
    wait_for(lambda: log.stats.written_rows == 1, timeout=5)
    assert len(files(tmp_path / "predictions")) == 1


def test_close_writes_every_row_appended_from_many_threads(tmp_path: Path) -> None:
    log = PredictionLog("predictions", tmp_path, flush_rows=100, flush_seconds=0.05)
    threads, per_thread = 8, 400
    start = threading.Barrier(threads)

    def client(t: int) -> None:
        start.wait()
        for i in range(per_thread):
            n = 1 + i % 3  # requests of 1 to 3 rows
            log.append([record(t * 10_000 + i * 10 + k, request_id=f"{t}-{i}-{k}") for k in range(n)])
            if i % 50 == 0:
                time.sleep(0.005)  # let the writer thread write batches meanwhile

    workers = [threading.Thread(target=client, args=(t,)) for t in range(threads)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join()
    log.close()
    log.close()  # idempotent

    appended = threads * sum(1 + i % 3 for i in range(per_thread))
    ids = rows_in(tmp_path / "predictions").column("request_id").to_pylist()
    assert len(ids) == appended
    assert len(set(ids)) == appended
    stats = log.stats
    assert (stats.written_rows, stats.pending_rows, stats.dropped_rows) == (appended, 0, 0)
    assert stats.written_files == len(files(tmp_path / "predictions")) >= 1
    with pytest.raises(StoreError, match="is closed"):
        log.append([record()])


def test_a_log_left_open_is_closed_when_the_interpreter_exits(tmp_path: Path) -> None:
    script = (
        "from datetime import datetime, timezone\n"
        "from pathlib import Path\n"
        "from fsctl.scoring.log import PredictionLog, PredictionRecord\n"
        f"log = PredictionLog('predictions', Path({str(tmp_path)!r}), flush_rows=1000, flush_seconds=3600)\n"
        "at = datetime(2024, 5, 17, tzinfo=timezone.utc)\n"
        "log.append([PredictionRecord(str(i), at, 'm', None, 1, 1, {}, {}, {'p': i}) for i in range(3)])\n"
    )
    subprocess.run([sys.executable, "-c", script], check=True, timeout=60)
    assert rows_in(tmp_path / "predictions").column("prediction").to_pylist() == [0.0, 1.0, 2.0]


def test_a_batch_spanning_midnight_writes_one_file_per_date(tmp_path: Path, open_log: Any) -> None:
    log = open_log(flush_rows=1000, clock=FakeClock())
    midnight = datetime(2024, 5, 18, tzinfo=timezone.utc)
    log.append(
        [
            record(1, at=midnight - timedelta(microseconds=1)),
            record(2, at=midnight),
            record(3, at=midnight - timedelta(seconds=1)),
            # 01:30 in Paris on the 18th is still the 17th in UTC
            record(4, at=datetime(2024, 5, 18, 1, 30, tzinfo=timezone(timedelta(hours=2)))),
        ]
    )
    log.flush()
    folder = tmp_path / "predictions"
    by_date = {f.parent.name: pq.read_table(f).column("request_id").to_pylist() for f in files(folder)}
    assert by_date == {"date=2024-05-17": ["req-1", "req-3", "req-4"], "date=2024-05-18": ["req-2"]}
    assert log.stats.written_files == 2


# -- what a file holds -------------------------------------------------------------------


def test_the_schema_and_the_json_columns(tmp_path: Path, open_log: Any) -> None:
    log = open_log(clock=FakeClock())
    seen = datetime(2024, 5, 1, 8, 30, tzinfo=timezone.utc)
    log.append(
        [
            PredictionRecord(
                request_id="r1",
                predicted_at=T0,
                model="churn",
                alias=None,
                model_version=3,
                registry_version=12,
                entity={"zone": "b", "driver_id": 1001},
                features={"trips": 3, "conv_rate": math.nan, "last_seen": seen, "acc_rate": None},
                outputs={"label": True, "score": 0.9},
            ),
            record(2, outputs={"label": "churn", "score": 0.1}),
            record(3, outputs={"prediction": math.inf}),
            record(4, outputs={}),
        ]
    )
    log.flush()
    [path] = files(tmp_path / "predictions")
    table = pq.read_table(path)
    assert table.schema.equals(arrow_schema())
    assert [f.name for f in table.schema] == [
        "request_id",
        "predicted_at",
        "model",
        "alias",
        "model_version",
        "registry_version",
        "entity",
        "features",
        "outputs",
        "prediction",
    ]
    assert str(table.schema.field("predicted_at").type) == "timestamp[us, tz=UTC]"
    first = table.slice(0, 1).to_pylist()[0]
    assert first["predicted_at"] == T0
    assert first["alias"] is None
    assert (first["model_version"], first["registry_version"]) == (3, 12)
    # compact JSON, keys sorted, NaN as null, datetimes ISO 8601 in UTC
    assert first["entity"] == '{"driver_id":1001,"zone":"b"}'
    assert (
        first["features"] == '{"acc_rate":null,"conv_rate":null,"last_seen":"2024-05-01T08:30:00Z","trips":3}'
    )
    assert json.loads(first["outputs"]) == {"label": True, "score": 0.9}
    # the first output when it is a number (a boolean as 0/1); else, or not finite, null
    assert table.column("prediction").to_pylist() == [1.0, None, None, None]
    assert table.column("alias").to_pylist() == [None, "prod", "prod", "prod"]


def test_the_readme_query_compares_model_versions_with_duckdb(tmp_path: Path, open_log: Any) -> None:
    import duckdb
    log = open_log("logs/predictions", clock=FakeClock())
    day2 = T0 + timedelta(days=1)
    log.append([record(i, version=1, outputs={"prediction": float(i)}) for i in range(4)])  # mean 1.5
    log.flush()
    log.append([record(i, version=2, at=day2, outputs={"prediction": 0.5}) for i in range(3)])
    log.append([record(9, version=2, outputs={"prediction": True})])  # day 1; 1.0
    log.flush()

    folder = tmp_path / "logs" / "predictions"
    query = f"""
        SELECT model_version, count(*) AS predictions, avg(prediction) AS mean
        FROM read_parquet('{folder}/*/*.parquet', hive_partitioning = true)
        GROUP BY model_version ORDER BY model_version
    """
    assert duckdb.sql(query).fetchall() == [(1, 4, 1.5), (2, 4, 0.625)]
    dates = duckdb.sql(
        f"SELECT CAST(date AS VARCHAR), count(*) FROM read_parquet('{folder}/*/*.parquet', "
        "hive_partitioning = true) GROUP BY ALL ORDER BY 1"
    ).fetchall()
    assert dates == [("2024-05-17", 5), ("2024-05-18", 3)]
    assert duckdb.sql(
        f"SELECT json_extract(entity, '$.driver_id')::INT FROM read_parquet('{folder}/*/*.parquet') "
        "WHERE request_id = 'req-9'"
    ).fetchall() == [(9,)]


# -- failures ----------------------------------------------------------------------------


def test_a_failed_write_keeps_its_rows_and_is_retried(
    tmp_path: Path, open_log: Any, caplog: pytest.LogCaptureFixture
) -> None:
    blocker = tmp_path / "predictions"
    blocker.write_text("a file where the log's folder should be")
    clock = FakeClock()
    log = open_log(flush_rows=3, flush_seconds=5, clock=clock)
    with caplog.at_level(logging.WARNING, logger="fsctl"):
        log.append([record(i) for i in range(3)])
        wait_for(lambda: log.stats.failed_writes == 1)
    assert log.stats.pending_rows == 3
    assert f"cannot write the prediction log file {blocker}/date=2024-05-17/" in caplog.text
    assert "3 rows kept, retried in 5s" in caplog.text

    blocker.unlink()  # fixed
    log.append([record(3)])
    time.sleep(0.3)  # no retry before flush_seconds have passed: a broken disk is not hammered
    assert log.stats.written_rows == 0
    clock.now += 5
    wait_for(lambda: log.stats.written_rows == 4)
    assert rows_in(blocker).column("request_id").to_pylist() == [f"req-{i}" for i in range(4)]
    assert log.stats.pending_rows == 0


def test_flush_and_close_raise_when_the_write_fails(tmp_path: Path) -> None:
    blocker = tmp_path / "predictions"
    blocker.write_text("not a folder")
    log = PredictionLog("predictions", tmp_path, clock=FakeClock())
    log.append([record(i) for i in range(5)])
    with pytest.raises(StoreError, match=r"5 rows of the prediction log .* are kept and retried"):
        log.flush()
    with pytest.raises(StoreError) as failed:
        log.close()
    assert f"prediction log {blocker}: 5 rows were not written: cannot write" in str(failed.value)
    assert log.stats.pending_rows == 5

    blocker.unlink()
    log.close()  # a later close tries again
    assert len(rows_in(blocker)) == 5


def test_pending_rows_are_bounded_by_dropping_the_oldest(
    tmp_path: Path, open_log: Any, caplog: pytest.LogCaptureFixture
) -> None:
    blocker = tmp_path / "predictions"
    blocker.write_text("not a folder")
    log = open_log(flush_rows=2, flush_seconds=5, clock=FakeClock())
    assert log.max_pending == 200
    with caplog.at_level(logging.WARNING, logger="fsctl"):
        for i in range(250):
            log.append([record(i)])
        wait_for(lambda: log.stats.failed_writes >= 1)
        assert (log.stats.pending_rows, log.stats.dropped_rows) == (200, 50)
        blocker.unlink()
        log.close()
    assert rows_in(blocker).column("request_id").to_pylist() == [f"req-{i}" for i in range(50, 250)]
    assert log.stats.dropped_rows == 50
    assert "dropped the 50 oldest unwritten rows (50 in all) to keep at most 200 pending" in caplog.text


def test_bad_locations_and_limits() -> None:
    with pytest.raises(UsageError, match="unknown scheme"):
        PredictionLog("gs://bucket/predictions", Path("."))
    with pytest.raises(UsageError, match=r"s3://bucket/prefix"):
        PredictionLog("s3:///predictions", Path("."))
    with pytest.raises(ValueError, match="flush_rows"):
        PredictionLog("predictions", Path("."), flush_rows=0)


# -- S3 ----------------------------------------------------------------------------------


@pytest.fixture
def s3_env(s3_server: Any, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Any:
    """The AWS_* environment pointing at the moto server (what fsctl.storage.s3.client() reads)."""
    for name in ("AWS_ENDPOINT_URL_S3", "AWS_PROFILE", "AWS_SESSION_TOKEN", "AWS_REGION"):
        monkeypatch.delenv(name, raising=False)
    for name, value in s3_server.env.items():
        monkeypatch.setenv(name, value)
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "no-aws-config"))
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(tmp_path / "no-aws-credentials"))
    return s3_server


def test_s3_one_object_per_date_and_batch(s3_env: Any, tmp_path: Path) -> None:
    bucket = s3_env.new_bucket()
    log = PredictionLog(f"s3://{bucket}/serving/predictions/", tmp_path, flush_rows=5, clock=FakeClock())
    assert log.location == f"s3://{bucket}/serving/predictions"
    log.append([record(i) for i in range(3)] + [record(3, at=T0 + timedelta(days=1))])
    log.close()

    client = s3_env.client()
    keys = sorted(o["Key"] for o in client.list_objects_v2(Bucket=bucket)["Contents"])
    assert [k.rsplit("/", 1)[0] for k in keys] == [
        "serving/predictions/date=2024-05-17",
        "serving/predictions/date=2024-05-18",
    ]
    assert all(PART.match(k.rsplit("/", 1)[1]) for k in keys)
    tables = [pq.read_table(io.BytesIO(client.get_object(Bucket=bucket, Key=k)["Body"].read())) for k in keys]
    assert [t.column("request_id").to_pylist() for t in tables] == [["req-0", "req-1", "req-2"], ["req-3"]]
    assert all(t.schema.equals(arrow_schema()) for t in tables)


def test_s3_a_missing_bucket_keeps_the_rows_until_it_exists(s3_env: Any, tmp_path: Path) -> None:
    bucket = f"fsctl-later-{int(time.time() * 1000)}"
    log = PredictionLog(f"s3://{bucket}/p", tmp_path, clock=FakeClock())
    log.append([record(1), record(2)])
    with pytest.raises(
        StoreError, match=f"s3://{bucket}/p/date=2024-05-17/part-.*: bucket '{bucket}' does not exist"
    ):
        log.flush()
    assert log.stats.failed_writes == 1
    s3_env.client().create_bucket(Bucket=bucket)
    log.close()
    assert log.stats.written_rows == 2
    [key] = [o["Key"] for o in s3_env.client().list_objects_v2(Bucket=bucket)["Contents"]]
    assert key.startswith("p/date=2024-05-17/part-")

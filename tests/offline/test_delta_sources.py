"""Delta Lake tables as sources (``format: delta``), read through ``deltalake``: a table the
test writes in two versions gives the new values unpinned and the old ones pinned to version
0 or to the time of version 0, locally and on a moto S3 server (in its own process, see
tests/offline/test_s3_sources.py)."""

from __future__ import annotations

import time
import uuid
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import pyarrow as pa
import pytest
from deltalake import DeltaTable, write_deltalake

from fsctl import FeatureStore
from fsctl.errors import DefinitionErrors, StoreError
from tests.offline.test_s3_sources import moto_endpoint  # noqa: F401 - a fixture
from tests.support.s3 import endpoint_env, s3_client

T0 = datetime(2024, 1, 1, tzinfo=timezone.utc)


def rows(conv: float) -> pa.Table:
    return pa.table(
        {
            "driver_id": pa.array([1, 2], pa.int64()),
            "event_timestamp": pa.array([T0, T0], pa.timestamp("us", tz="UTC")),
            "conv": pa.array([conv, conv + 1], pa.float64()),
        }
    )


def write_two_versions(uri: str, options: dict[str, str] | None = None, pause: float = 0.05) -> str:
    """Version 0 with conv 0.1/1.1, version 1 (an overwrite) with 0.5/1.5, ``pause`` seconds
    later; returns the time of version 0. (deltalake finds the version at a time by the log
    objects' modification times, which S3 keeps to the second: there the pause is over 1 s.)"""
    write_deltalake(uri, rows(0.1), storage_options=options)
    time.sleep(pause)
    write_deltalake(uri, rows(0.5), mode="overwrite", storage_options=options)
    [v0] = [h for h in DeltaTable(uri, storage_options=options).history() if h["version"] == 0]
    return datetime.fromtimestamp(v0["timestamp"] / 1000, timezone.utc).isoformat()


def repo(make_repo, path: str, at: str) -> FeatureStore:
    docs = ["kind: Entity\nname: driver\njoin_keys: [driver_id]\n"]
    for name, pin in (("latest", ""), ("v0", "version: 0\n"), ("at_v0", f"timestamp: '{at}'\n")):
        docs.append(f"kind: FileSource\nname: {name}_src\npath: {path}\nformat: delta\n{pin}")
        docs.append(
            f"kind: FeatureView\nname: {name}\nentities: [driver]\nsource: {name}_src\n"
            "schema:\n  - {name: conv, dtype: float64}\n"
        )
    files = {"fsctl.yaml": "project: delta\nregistry: data/registry.json\n", "defs.yaml": "---\n".join(docs)}
    return FeatureStore(make_repo(files))


def conv(store: FeatureStore, view: str) -> list[Any]:
    entities = pa.table({"driver_id": [1, 2, 3], "event_timestamp": pa.array([T0, T0, T0], pa.timestamp("us", tz="UTC"))})
    with store.get_historical_features(entities, [f"{view}:conv"]) as result:
        return [r["conv"] for r in result.to_arrow().to_pylist()]


def check_pins(store: FeatureStore) -> None:
    store.apply()
    assert conv(store, "latest") == [0.5, 1.5, None]
    assert conv(store, "v0") == [0.1, 1.1, None]
    assert conv(store, "at_v0") == [0.1, 1.1, None]


def test_a_local_delta_table_pinned_and_unpinned(make_repo, tmp_path: Path) -> None:
    table = tmp_path / "repo" / "data" / "stats"
    at = write_two_versions(str(table))
    store = repo(make_repo, "data/stats", at)
    check_pins(store)
    result = store.materialize(T0, datetime(2024, 1, 2, tzinfo=timezone.utc), views=["v0", "latest"])
    assert not result.failed
    online = store.get_online_features(
        ["v0:conv", "latest:conv"], entity_rows={"driver_id": [1, 2]}, ignore_ttl=True, full_feature_names=True
    )
    assert online.to_dict() == {"driver_id": [1, 2], "v0__conv": [0.1, 1.1], "latest__conv": [0.5, 1.5]}


def test_validation_reads_the_schema_from_the_log(make_repo, tmp_path: Path) -> None:
    table = tmp_path / "repo" / "data" / "stats"
    write_two_versions(str(table))
    store = FeatureStore(
        make_repo(
            {
                "fsctl.yaml": "project: delta\nregistry: data/registry.json\n",
                "defs.yaml": (
                    "kind: Entity\nname: driver\njoin_keys: [driver_id]\n---\n"
                    "kind: FileSource\nname: src\npath: data/stats\nformat: delta\nversion: 7\n---\n"
                    "kind: FeatureView\nname: v\nentities: [driver]\nsource: src\n"
                    "schema:\n  - {name: conv, dtype: string}\n"
                ),
            }
        )
    )
    with pytest.raises(DefinitionErrors, match=r"defs.yaml:5: FileSource 'src' field 'path': cannot read the schema of data/stats"):
        store.plan()
    (store.root / "defs.yaml").write_text(
        (store.root / "defs.yaml").read_text(encoding="utf-8").replace("version: 7\n", ""), encoding="utf-8"
    )
    with pytest.raises(DefinitionErrors, match="feature 'conv' is declared string but column 'conv' of data/stats is float64"):
        store.plan()


def test_a_delta_table_on_s3(make_repo, moto_endpoint, monkeypatch, tmp_path: Path) -> None:  # noqa: F811
    for name in ("AWS_ENDPOINT_URL_S3", "AWS_PROFILE", "AWS_SESSION_TOKEN", "AWS_REGION"):
        monkeypatch.delenv(name, raising=False)
    for name, value in endpoint_env(moto_endpoint).items():
        monkeypatch.setenv(name, value)
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "no-aws-config"))
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(tmp_path / "no-aws-credentials"))
    bucket = f"fsctl-{uuid.uuid4().hex[:12]}"
    s3_client(moto_endpoint).create_bucket(Bucket=bucket)
    options = {
        "AWS_ENDPOINT_URL": moto_endpoint, "AWS_ALLOW_HTTP": "true", "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing", "AWS_REGION": "us-east-1", "AWS_S3_ALLOW_UNSAFE_RENAME": "true",
    }  # fmt: skip
    at = write_two_versions(f"s3://{bucket}/stats", options, pause=1.1)
    check_pins(repo(make_repo, f"s3://{bucket}/stats", at))


def test_a_missing_table_on_s3_is_a_store_error(make_repo, moto_endpoint, monkeypatch) -> None:  # noqa: F811
    for name, value in endpoint_env(moto_endpoint).items():
        monkeypatch.setenv(name, value)
    bucket = f"fsctl-{uuid.uuid4().hex[:12]}"
    s3_client(moto_endpoint).create_bucket(Bucket=bucket)
    store = repo(make_repo, f"s3://{bucket}/nothing", T0.isoformat())
    store.apply()
    with pytest.raises(StoreError, match=f"cannot read Delta table of source 'latest_src' at s3://{bucket}/nothing"):
        conv(store, "latest")

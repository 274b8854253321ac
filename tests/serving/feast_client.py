"""Run by ``test_feast_client.py`` with the Python of a separate virtualenv that holds the
real Feast (``make test`` builds it: Feast's dependencies, such as uvloop, must not change
the server under test). It applies a Feast repo whose online store is ``fsctl serve``
(Feast's ``remote`` online store) and drives Feast's own client: reads by feature list and
by feature service, ``write_to_online_store``, ``push`` through a push source, and a key of
the wrong type. It prints one JSON object of what Feast returned.

Usage: python feast_client.py FEAST_REPO SERVER_URL TOKEN DATA_DIR
"""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
from datetime import datetime, timezone
from pathlib import Path

DEFINITIONS = """
from datetime import timedelta
from feast import Entity, FeatureService, FeatureView, Field, FileSource, PushSource
from feast.types import Float64, Int64
from feast.value_type import ValueType

driver = Entity(name="driver", join_keys=["driver_id"], value_type=ValueType.INT64)
customer = Entity(name="customer", join_keys=["customer_id"], value_type=ValueType.INT64)
driver_source = FileSource(name="driver_stats_source", path="{data}/driver_stats.parquet",
                           timestamp_field="event_timestamp", created_timestamp_column="created")
driver_push = PushSource(name="driver_stats_push", batch_source=driver_source)
customer_source = FileSource(name="customer_profile_source", path="{data}/customer_profile.parquet",
                             timestamp_field="event_timestamp")
driver_hourly_stats = FeatureView(
    name="driver_hourly_stats", entities=[driver], ttl=timedelta(days=2), source=driver_push,
    schema=[Field(name="conv_rate", dtype=Float64), Field(name="acc_rate", dtype=Float64),
            Field(name="avg_daily_trips", dtype=Int64)])
customer_profile = FeatureView(
    name="customer_profile", entities=[customer], ttl=timedelta(days=30), source=customer_source,
    schema=[Field(name="current_balance", dtype=Float64), Field(name="avg_passenger_count", dtype=Float64),
            Field(name="lifetime_trip_count", dtype=Int64)])
driver_activity_v1 = FeatureService(name="driver_activity_v1",
                                    features=[driver_hourly_stats, customer_profile[["current_balance"]]])
"""

CONFIG = """
project: driver_ranking
registry: registry.db
provider: local
online_store:
  type: remote
  path: {url}
auth:
  type: kubernetes
  user_token: {token}
entity_key_serialization_version: 3
"""


def main(repo: Path, url: str, token: str, data: str) -> None:
    repo.mkdir(parents=True, exist_ok=True)
    (repo / "feature_store.yaml").write_text(textwrap.dedent(CONFIG.format(url=url, token=token)))
    (repo / "definitions.py").write_text(DEFINITIONS.format(data=data))
    feast = Path(sys.executable).with_name("feast")
    subprocess.run([str(feast), "apply"], cwd=repo, check=True, capture_output=True)

    import pandas as pd
    from feast import FeatureStore

    store = FeatureStore(str(repo))
    out: dict[str, object] = {}
    features = ["driver_hourly_stats:conv_rate", "driver_hourly_stats:avg_daily_trips"]
    rows = [{"driver_id": 1001}, {"driver_id": 1005}, {"driver_id": 9}]
    out["read"] = store.get_online_features(features=features, entity_rows=rows).to_dict()
    service = store.get_feature_service("driver_activity_v1")
    out["service"] = store.get_online_features(
        features=service, entity_rows=[{"driver_id": 1001, "customer_id": 2001}]
    ).to_dict()

    now = datetime.now(timezone.utc)
    written = pd.DataFrame(
        {"driver_id": [77], "conv_rate": [0.11], "acc_rate": [0.5], "avg_daily_trips": [3],
         "event_timestamp": [now], "created": [now]}
    )
    store.write_to_online_store("driver_hourly_stats", written)
    pushed = written.assign(driver_id=[78], conv_rate=[0.22])
    store.push("driver_stats_push", pushed)
    out["after_writes"] = store.get_online_features(
        features=features, entity_rows=[{"driver_id": 77}, {"driver_id": 78}]
    ).to_dict()
    try:
        store.get_online_features(features=features, entity_rows=[{"driver_id": "abc"}])
        out["wrong_key"] = "no error"
    except Exception as exc:  # noqa: BLE001 - Feast raises what its client makes of a 400
        out["wrong_key"] = f"{type(exc).__name__}: {exc}"
    print(json.dumps(out, default=str))


if __name__ == "__main__":
    main(Path(sys.argv[1]), sys.argv[2], sys.argv[3], sys.argv[4])

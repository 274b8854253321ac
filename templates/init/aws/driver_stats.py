"""Feature definitions in Python. YAML works too: see services.yaml."""

from datetime import timedelta

from fsctl import Entity, FeatureView, Field, FileSource
from fsctl.types import Float64, Int64

driver = Entity(name="driver", join_keys=["driver_id"], description="A driver")

driver_stats_source = FileSource(
    name="driver_stats_source",
    path="data/driver_stats.parquet",
    timestamp_field="event_timestamp",
    created_timestamp_field="created",
)

driver_hourly_stats = FeatureView(
    name="driver_hourly_stats",
    entities=[driver],
    source=driver_stats_source,
    ttl=timedelta(days=2),
    schema=[
        Field(name="conv_rate", dtype=Float64),
        Field(name="acc_rate", dtype=Float64),
        Field(name="avg_daily_trips", dtype=Int64),
    ],
    description="Hourly statistics of each driver",
)

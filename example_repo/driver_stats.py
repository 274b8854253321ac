"""Driver features, defined in Python (the other definitions of this repo are YAML)."""

from datetime import timedelta

from fsctl import FeatureView, Field, FileSource
from fsctl.types import Float64, Int64

driver_stats_source = FileSource(
    name="driver_stats_source",
    path="data/driver_stats.parquet",
    timestamp_field="event_timestamp",
    created_timestamp_field="created",
    description="Hourly driver statistics from the trips pipeline",
)

driver_hourly_stats = FeatureView(
    name="driver_hourly_stats",
    entities=["driver"],  # a name, or the Entity object itself
    source=driver_stats_source,
    ttl=timedelta(days=2),
    schema=[
        Field(name="conv_rate", dtype=Float64, description="Share of offers the driver accepted"),
        Field(name="acc_rate", dtype=Float64),
        Field(name="avg_daily_trips", dtype=Int64),
    ],
    checks={"conv_rate": {"min": 0, "max": 1}, "acc_rate": {"min": 0, "max": 1}},
    description="Hourly conversion and acceptance rates of each driver",
    owner="ranking-team@example.com",
    tags={"team": "ranking", "tier": "gold"},
)

"""A private copy of example_repo for a test: its definitions, and its data generated as of
:data:`ANCHOR`, without anything a run of ``make demo`` (or another test) left behind, so no
test sees a registry, state, online store, training set or data it did not make itself.

The data is not committed (``make example-data`` writes it as of now); the tests use a fixed
anchor, so their dates never move: drivers report hourly from 2026-01-01 00:00 to 2026-01-03
23:00 UTC (driver 1005 stops after 2026-01-02 11:00), customers daily from 2025-12-26 to
2026-01-04, and entities.csv runs from 2025-12-31 23:00 to 2026-01-05."""

from __future__ import annotations

import shutil
from datetime import datetime, timezone
from pathlib import Path

from fsctl.services.sample_data import write_order_data, write_sample_data

EXAMPLE = Path(__file__).resolve().parents[2] / "example_repo"
ANCHOR = datetime(2026, 1, 5, tzinfo=timezone.utc)
GENERATED = ("data", "__pycache__")  # data/ holds only what make example-data, make demo and fsctl write


def copy_example_repo(target: Path) -> Path:
    shutil.copytree(EXAMPLE, target, ignore=shutil.ignore_patterns(*GENERATED))
    write_sample_data(target / "data", ANCHOR)
    write_order_data(target / "data", ANCHOR)
    return target

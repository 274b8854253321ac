"""A private copy of example_repo for a test: its definitions and data, without anything a
run of ``make demo`` (or another test) left behind, so no test sees a registry, state,
online store or training set it did not make itself."""

from __future__ import annotations

import shutil
from pathlib import Path

EXAMPLE = Path(__file__).resolve().parents[2] / "example_repo"
GENERATED = ("registry.json*", "registry.state.json*", "online.db*", "training_set.parquet", "__pycache__")


def copy_example_repo(target: Path) -> Path:
    shutil.copytree(EXAMPLE, target, ignore=shutil.ignore_patterns(*GENERATED))
    return target

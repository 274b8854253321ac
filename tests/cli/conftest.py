"""Fixtures for end-to-end CLI tests: the real `fsctl` run as a separate process."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest

from tests.support.example import copy_example_repo

ROOT = Path(__file__).resolve().parents[2]


def fsctl_env(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("FSCTL_")}
    env.update({"FSCTL_ACTOR": "tester", "NO_COLOR": "1", "COLUMNS": "120"})
    env.update(extra)
    return env


def run_fsctl(*args: str, cwd: Path | None = None, input: str | None = None, **env: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "fsctl", *args],
        cwd=cwd,
        input=input,
        capture_output=True,
        text=True,
        env=fsctl_env(**env),
        timeout=120,
    )


@pytest.fixture
def fsctl() -> Callable[..., subprocess.CompletedProcess[str]]:
    return run_fsctl


@pytest.fixture
def example_repo(tmp_path: Path) -> Path:
    """A private copy of example_repo with no registry yet."""
    return copy_example_repo(tmp_path / "example_repo")


@pytest.fixture
def write_repo(tmp_path: Path) -> Callable[[dict[str, str]], Path]:
    """Write a project declared as a dict of files; returns its folder."""

    def write(files: dict[str, str], name: str = "repo", data: bool = True) -> Path:
        root = tmp_path / name
        for rel, text in files.items():
            path = root / rel
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(text, encoding="utf-8")
        if data:  # every local source gets a small file (see tests/support/source_data.py)
            from tests.support.source_data import fill_sources

            fill_sources(root)
        return root

    return write

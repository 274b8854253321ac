"""Shared fixtures. A test declares a project as a dict of files; ``make_repo`` writes it."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from pathlib import Path

import pytest


def write_files(root: Path, files: Mapping[str, str | bytes]) -> Path:
    """Write ``{relative path: text or bytes}`` under ``root`` (creating folders); return ``root``."""
    for rel, content in files.items():
        path = root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        if isinstance(content, bytes):
            path.write_bytes(content)
        else:
            path.write_text(content, encoding="utf-8")
    return root


@pytest.fixture
def make_repo(tmp_path: Path) -> Callable[..., Path]:
    """``make_repo({"fsctl.yaml": "project: demo\\n", ...})`` -> the repo folder (``tmp_path/repo``)."""

    def make(files: Mapping[str, str | bytes], name: str = "repo", data: bool = True) -> Path:
        """``data``: give every local source without a file a small one its views can read
        (a source path that matches nothing is an error at validate and plan)."""
        root = write_files(tmp_path / name, files)
        if data:
            from tests.support.source_data import fill_sources

            fill_sources(root)
        return root

    return make


@pytest.fixture(scope="session")
def s3_server():
    """A moto server on 127.0.0.1 (one per test worker), with atomic conditional writes."""
    from tests.support.s3 import start_server

    server = start_server()
    yield server
    server.stop()


@pytest.fixture(scope="session")
def redis_server(tmp_path_factory: pytest.TempPathFactory):
    """A real redis-server on 127.0.0.1 (one per test worker); fails if it is not installed."""
    from tests.support.redis_server import start_server

    try:
        server = start_server(tmp_path_factory.mktemp("redis"))
    except RuntimeError as exc:
        pytest.fail(str(exc), pytrace=False)
    yield server
    server.stop()


@pytest.fixture(scope="session")
def postgres_server():
    """A real Postgres on 127.0.0.1 (one per test worker) with the README's writer and
    reader users; fails if it is not installed."""
    from tests.support.postgres_server import start_with_users

    try:
        server = start_with_users()
    except RuntimeError as exc:
        pytest.fail(str(exc), pytrace=False)
    yield server
    server.stop()


@pytest.fixture(scope="session")
def mariadb_server():
    """A real MariaDB on 127.0.0.1 (one per test worker) with the README's writer and
    reader users; fails if it is not installed."""
    from tests.support.mariadb_server import start_with_users

    try:
        server = start_with_users()
    except RuntimeError as exc:
        pytest.fail(str(exc), pytrace=False)
    yield server
    server.stop()


@pytest.hookimpl(tryfirst=True)
def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Every test that runs in the process's Spark context gets the xdist group ``spark``, so
    ``pytest -n 2 --dist loadgroup`` gives them all to one worker (one JVM for the suite).
    Marks on a fixture's params do not reach the tests, so the group is set here: a test
    uses Spark when it asks for ``spark_session`` or one of its fixture params is ``spark``."""
    for item in items:
        params = getattr(getattr(item, "callspec", None), "params", {})
        spark_param = any(isinstance(v, str) and v == "spark" for v in params.values())
        if "spark_session" in getattr(item, "fixturenames", ()) or spark_param:
            item.add_marker(pytest.mark.xdist_group("spark"))

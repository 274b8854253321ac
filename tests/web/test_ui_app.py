"""The UI app in-process (starlette's TestClient) for what needs a broken registry or a bug:
an unreadable registry is a 503 page, an unexpected exception a 500 page saying it is a bug,
neither with a traceback; and the live registry re-reads at most every interval."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from starlette.testclient import TestClient

from fsctl.services.registry_cache import LiveRegistry
from fsctl.web import pages
from fsctl.web.app import create_app
from fsctl.web.runner import read_model
from fsctl.web.security import allowed_hosts
from fsctl.workspace import open_workspace
from tests.support.example import copy_example_repo
from tests.support.online_ports import apply_repo

BASE = "http://127.0.0.1:8888"


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    root = copy_example_repo(tmp_path / "example_repo")
    apply_repo(root)
    return root


@pytest.fixture
def client(repo: Path) -> Iterator[TestClient]:
    with open_workspace(repo) as ws:
        app = create_app(read_model(ws, interval=0), allowed_hosts("127.0.0.1", 8888))
        with TestClient(app, base_url=BASE, raise_server_exceptions=False) as http:
            yield http


def test_a_corrupt_registry_is_a_503_page(repo: Path, client: TestClient) -> None:
    assert client.get("/").status_code == 200
    (repo / "data" / "registry.json").write_text("{ not json")
    for path in ("/", "/views", "/views/driver_hourly_stats", "/history"):
        page = client.get(path)
        assert page.status_code == 503, path
        assert "The registry cannot be read" in page.text and "not a valid fsctl registry" in page.text
        assert "Traceback" not in page.text and 'File "' not in page.text
    api = client.get("/api/views")
    assert api.status_code == 503 and "not a valid fsctl registry" in api.json()["detail"]


def test_a_bug_is_a_500_page_without_traceback(monkeypatch: pytest.MonkeyPatch, client: TestClient) -> None:
    def broken(*args: object) -> object:
        raise ZeroDivisionError("secret internals")

    monkeypatch.setattr(pages, "overview", broken)
    page = client.get("/")
    assert page.status_code == 500
    assert "this is a bug in fsctl" in page.text
    assert "secret internals" not in page.text and "Traceback" not in page.text
    assert client.get("/api/").status_code == 500


def test_nothing_applied_shows_an_empty_overview(tmp_path: Path) -> None:
    root = copy_example_repo(tmp_path / "fresh")
    with open_workspace(root) as ws:
        app = create_app(read_model(ws, interval=0), allowed_hosts("127.0.0.1", 8888))
        with TestClient(app, base_url=BASE) as http:
            page = http.get("/")
            assert page.status_code == 200 and "Nothing has been applied" in page.text
            assert http.get("/views").status_code == 200
            assert http.get("/views/driver_hourly_stats").status_code == 404


def test_host_allow_list() -> None:
    assert allowed_hosts("127.0.0.1", 8888) == {"127.0.0.1:8888", "localhost:8888"}
    assert allowed_hosts("::1", 80) >= {"[::1]:80", "localhost:80"}


def test_the_live_registry_rereads_at_most_every_interval(repo: Path) -> None:
    now = [0.0]
    with open_workspace(repo) as ws:
        reader = ws.registry_reader()
        calls = []

        class Counting:
            location = reader.location

            def read(self):  # type: ignore[no-untyped-def]
                calls.append(1)
                return reader.read()

            def read_version(self, version: int):  # type: ignore[no-untyped-def]
                return reader.read_version(version)

        live = LiveRegistry(Counting(), interval=2.0, clock=lambda: now[0])
        first = live.current()
        live.current()
        now[0] = 1.9
        assert live.current() is first and len(calls) == 1
        now[0] = 2.1
        assert live.current() is first and len(calls) == 2  # same version: same snapshot kept
        assert live.at(1) is first


def test_an_aggregation_view_has_its_pages(client: TestClient) -> None:
    """A view with time-window aggregations (example_repo/customer_aggregates.yaml): its page,
    its JSON (with the aggregations) and its statistics (of its input columns) all render."""
    for path in ("/views/customer_order_windows", "/views/customer_order_windows/stats"):
        page = client.get(path)
        assert page.status_code == 200, (path, page.text[:500])
    document = client.get("/api/views/customer_order_windows").json()["document"]
    assert [a["name"] for a in document["aggregations"]][:2] == ["orders_7d", "orders_30d"]
    stats = client.get("/views/customer_order_windows/stats").text
    assert "order_amount" in stats

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
    assert allowed_hosts("127.0.0.1", 8888) == {"127.0.0.1:8888", "localhost:8888", "[::1]:8888"}
    assert allowed_hosts("::1", 80) == {"[::1]:80", "localhost:80", "127.0.0.1:80", "[::1]", "localhost", "127.0.0.1"}
    assert "10.0.0.5:8888" in allowed_hosts("10.0.0.5", 8888)


def test_bound_to_every_interface_the_machine_names_are_served() -> None:
    import socket

    hosts = allowed_hosts("0.0.0.0", 8888)
    assert f"{socket.gethostname()}:8888".lower() in hosts
    assert "0.0.0.0:8888" not in hosts and "evil.example:8888" not in hosts


def test_allow_host_names_a_proxy() -> None:
    hosts = allowed_hosts("0.0.0.0", 8888, ["Features.Example.com", "lb.internal:8443", "fd00::1"])
    assert {"features.example.com", "features.example.com:8888", "lb.internal:8443", "[fd00::1]:8888"} <= hosts
    assert "lb.internal" not in hosts and "lb.internal:8888" not in hosts


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


def test_a_proxy_name_given_with_allow_host_is_served(repo: Path) -> None:
    with open_workspace(repo) as ws:
        app = create_app(read_model(ws, interval=0), allowed_hosts("0.0.0.0", 8888, ["features.example.com"]))
        with TestClient(app, base_url="http://features.example.com") as http:
            assert http.get("/").status_code == 200
            refused = http.get("/", headers={"Host": "evil.example"})
            assert refused.status_code == 421 and "--allow-host" in refused.text


def test_object_history_reads_each_past_version_once(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import re

    from fsctl.services import registry_cache
    from fsctl.services.explore import object_history

    monkeypatch.setattr(registry_cache, "_MAX_PAST", 1)  # far fewer kept than there are versions
    root = copy_example_repo(tmp_path / "example_repo")
    code = root / "driver_stats.py"
    apply_repo(root)
    for n in (1, 2, 3):
        code.write_text(re.sub(r'owner="[^"]*"', f'owner="team{n}@example.com"', code.read_text()))
        apply_repo(root)
    with open_workspace(root) as ws:
        reads: list[int] = []
        source = ws.registry_reader()

        class Counting:
            location = source.location

            def read(self):  # type: ignore[no-untyped-def]
                return source.read()

            def read_version(self, version: int):  # type: ignore[no-untyped-def]
                reads.append(version)
                return source.read_version(version)

        live = LiveRegistry(Counting(), interval=0)  # type: ignore[arg-type]
        newest = live.current().version
        full = object_history(live, live.current(), "FeatureView", "driver_hourly_stats")
        assert [c["version"] for c in full["changes"]] == [newest, newest - 1, newest - 2, 1]
        assert [c["action"] for c in full["changes"]] == ["update", "update", "update", "add"]
        assert full["changes"][0]["fields"] == ["owner"]
        first_reads = len(reads)
        assert first_reads == newest - 1  # each past version once (the current one is in hand)

        again = object_history(live, live.current(), "FeatureView", "driver_hourly_stats")
        older = object_history(live, live.at(newest - 1), "FeatureView", "driver_hourly_stats")
        assert again == full and len(reads) == first_reads
        assert older["changes"] == full["changes"][1:] and older["registry_version"] == newest - 1

        # a fresh LiveRegistry (nothing remembered) agrees, version by version
        for version in range(1, newest + 1):
            fresh = LiveRegistry(source, interval=0)
            assert object_history(fresh, fresh.at(version), "FeatureView", "driver_hourly_stats") == \
                object_history(live, live.at(version), "FeatureView", "driver_hourly_stats")


def test_the_statistics_kept_per_version_are_bounded(repo: Path) -> None:
    from fsctl.web.pages import STATS_KEPT

    with open_workspace(repo) as ws:
        model = read_model(ws, interval=0)
        with TestClient(create_app(model, allowed_hosts("127.0.0.1", 8888)), base_url=BASE) as http:
            for n in range(STATS_KEPT + 8):  # a distinct window each time, all still fresh
                page = http.get(f"/views/driver_hourly_stats/stats?start=2020-01-01T00:00:{n:02d}Z")
                assert page.status_code == 200
        kept = model.live.current().extras["stats"]
        assert len(kept) == STATS_KEPT
        assert ("driver_hourly_stats", f"2020-01-01T00:00:{STATS_KEPT + 7:02d}Z", None) in kept


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

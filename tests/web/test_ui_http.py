"""``fsctl ui`` over HTTP: the real command in a subprocess on a free port, over a copy of
the example repo applied twice (version 2 adds an entity whose description, owner and tags
hold script and HTML payloads). One server for the module.

Every page answers 200 HTML and its JSON under /api; unknown objects 404; the security
headers and the Host allow-list; payloads escaped; search qualifiers; ``?at=``; the history
diff equals ``fsctl registry diff``; an apply while the UI runs shows within seconds."""

from __future__ import annotations

import html
import json
import re
import signal
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.cli.conftest import run_fsctl
from tests.support.example import copy_example_repo
from tests.support.online_ports import apply_repo
from tests.web.ui_server import PAYLOAD_ATTR, PAYLOAD_SCRIPT, PAYLOADS_YAML, UIServer, start_ui

pytestmark = pytest.mark.slow

CSP = (
    "default-src 'none'; style-src 'self'; img-src 'self' data:; script-src 'self'; "
    "base-uri 'none'; form-action 'self'; frame-ancestors 'none'"
)

PAGES = [
    "/",
    "/entities",
    "/sources",
    "/views",
    "/services",
    "/models",
    "/entities/driver",
    "/entities/evil_entity",
    "/sources/driver_stats_source",
    "/views/driver_hourly_stats",
    "/views/customer_profile",
    "/services/driver_activity_v1",
    "/models/churn_classifier",
    "/lineage/views/driver_hourly_stats",
    "/lineage/models/churn_classifier",
    "/lineage/entities/driver",
    "/lineage/sources/customer_profile_source",
    "/lineage/services/driver_activity_v2",
    "/history",
    "/history/diff?a=1&b=2",
    "/history/diff?a=0&b=1",
    "/views/driver_hourly_stats/history",
    "/views/driver_hourly_stats/stats",
    "/views/customer_profile/stats?start=2020-01-01T00:00:00Z",
    "/entities/evil_entity/history",
    "/search?q=driver",
    "/search?q=kind:views",
    "/?at=1",
    "/views/driver_hourly_stats?at=1",
]


@pytest.fixture(scope="module")
def repo(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = copy_example_repo(tmp_path_factory.mktemp("ui") / "example_repo")
    apply_repo(root)  # version 1
    (root / "evil.yaml").write_text(PAYLOADS_YAML)
    apply_repo(root)  # version 2
    return root


@pytest.fixture(scope="module")
def server(repo: Path) -> Iterator[UIServer]:
    running = start_ui(repo)
    yield running
    running.stop()


@pytest.fixture(scope="module")
def client(server: UIServer) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=server.url, timeout=20) as http:
        yield http


def api_path(path: str) -> str:
    return "/api/" if path == "/" else "/api" + path if not path.startswith("/?") else "/api/" + path[1:]


@pytest.mark.parametrize("path", PAGES)
def test_every_page_answers_html_and_json(client: httpx.Client, path: str) -> None:
    page = client.get(path)
    assert page.status_code == 200, page.text
    assert page.headers["content-type"].startswith("text/html")
    text = page.text
    assert '<html lang="en">' in text
    assert '<a class="skip" href="#main">Skip to content</a>' in text and '<main id="main" tabindex="-1">' in text
    assert "Traceback" not in text
    as_json = client.get(api_path(path))
    assert as_json.status_code == 200, as_json.text
    assert as_json.headers["content-type"].startswith("application/json")
    assert isinstance(as_json.json(), dict)


def test_overview_shows_version_counts_and_missing_freshness(client: httpx.Client) -> None:
    data = client.get("/api/").json()
    assert data["project"] == "driver_ranking" and data["registry_version"] >= 2
    assert data["counts"]["views"] == 5 and data["counts"]["models"] == 1
    assert data["actor"] and data["applied_at"]
    assert "customer_profile" in data["views_missing_freshness"]
    page = client.get("/").text
    assert "customer_profile" in page and "Views without a freshness objective" in page


def test_details_link_related_objects(client: httpx.Client) -> None:
    view = client.get("/views/driver_hourly_stats").text
    assert 'href="/sources/driver_stats_source"' in view and 'href="/entities/driver"' in view
    assert "<code>float64</code>" in view and 'href="/services/driver_activity_v1"' in view
    service = client.get("/services/driver_activity_v1").text
    assert 'href="/views/customer_profile"' in service and 'href="/models/churn_classifier"' in service
    model = client.get("/models/churn_classifier")
    assert "0.912" in model.text and "0.927" in model.text and "Production" in model.text
    data = client.get("/api/models/churn_classifier").json()
    assert [v["version"] for v in data["versions"]] == [1, 2]
    assert data["aliases"] == {"Challenger": 2, "Production": 1}
    assert data["gates"], "the gates of the protected alias Production"
    view_json = client.get("/api/views/driver_hourly_stats").json()
    assert "status" in view_json and "status_error" in view_json


def test_lineage_lists_upstream_and_downstream_with_links(client: httpx.Client) -> None:
    page = client.get("/lineage/views/driver_hourly_stats").text
    assert "Upstream" in page and "Downstream" in page
    assert 'href="/sources/driver_stats_source"' in page and 'href="/services/driver_activity_v2"' in page
    data = client.get("/api/lineage/views/driver_hourly_stats").json()
    assert data["root"] == "view:driver_hourly_stats"
    assert {"from", "to"} <= set(data["edges"][0])


def test_lineage_page_draws_the_graph_as_svg_on_the_server(client: httpx.Client) -> None:
    import xml.etree.ElementTree as ET

    page = client.get("/lineage/models/churn_classifier").text
    start, end = page.index("<svg"), page.index("</svg>") + len("</svg>")
    svg = ET.fromstring(page[start:end])  # well-formed, inline (no <img>, no script)
    links = {a.get("href") for a in svg.iter("{http://www.w3.org/2000/svg}a")}
    assert {"/views/driver_hourly_stats", "/services/driver_activity_v1", "/models/churn_classifier"} <= links
    assert "<script" not in page[start:end]


def test_unknown_objects_and_pages_are_404(client: httpx.Client) -> None:
    for path in ("/views/nope", "/nope", "/models/nope", "/lineage/views/nope", "/views/nope/history",
                 "/?at=99", "/history/diff?a=1&b=99", "/a/b/c/d"):
        page = client.get(path)
        assert page.status_code == 404, path
        assert "Traceback" not in page.text
        if path.count("/") < 4:
            assert "<h1>Not found</h1>" in page.text, path
    assert client.get("/api/views/nope").status_code == 404
    assert "detail" in client.get("/api/views/nope").json()
    assert client.get("/history/diff?a=x&b=1").status_code == 400


def test_security_headers_on_every_response(client: httpx.Client) -> None:
    for path in ("/", "/api/", "/static/ui.css", "/views/nope"):
        headers = client.get(path, headers={"Origin": "http://evil.example"}).headers
        assert headers["content-security-policy"] == CSP
        assert headers["x-content-type-options"] == "nosniff"
        assert headers["referrer-policy"] == "no-referrer"
        assert not any(k.lower().startswith("access-control-") for k in headers)


def test_host_allow_list_refuses_other_hosts(server: UIServer, client: httpx.Client) -> None:
    for host in ("evil.example", f"evil.example:{server.port}", "127.0.0.1:1"):
        refused = client.get("/", headers={"Host": host})
        assert refused.status_code in (400, 421), host
        assert "driver_ranking" not in refused.text
    assert client.get("/", headers={"Host": f"localhost:{server.port}"}).status_code == 200


def test_read_only(client: httpx.Client) -> None:
    assert client.post("/", content=b"x").status_code == 405
    assert client.delete("/views/driver_hourly_stats").status_code == 405


def test_user_strings_are_escaped(client: httpx.Client) -> None:
    for path in ("/entities", "/entities/evil_entity", "/search?q=evil", "/search?q=tag:xss",
                 "/search?q=" + PAYLOAD_SCRIPT, "/lineage/entities/evil_entity"):
        text = client.get(path).text
        assert PAYLOAD_SCRIPT not in text and PAYLOAD_ATTR not in text, path
        assert "<img" not in text and "<script" not in text, path
    detail = client.get("/entities/evil_entity").text
    assert html.escape(PAYLOAD_SCRIPT) in detail or "&lt;script&gt;alert(1)&lt;/script&gt;" in detail
    assert "onerror=alert(1)&gt;" in detail
    # JSON carries the strings as they are (it is data, served as application/json)
    assert client.get("/api/entities/evil_entity").json()["document"]["description"] == PAYLOAD_SCRIPT


def test_a_sql_source_page_shows_its_query_and_what_it_reads(client: httpx.Client) -> None:
    view = client.get("/views/customer_order_days").text
    assert 'href="/sources/customer_daily_orders"' in view
    page = client.get("/sources/customer_daily_orders")  # a view links its source by the one word
    assert page.status_code == 200
    assert "FROM {{ source(&#39;orders&#39;) }}" in page.text and 'href="/sources/orders"' in page.text
    assert 'href="/views/customer_order_days"' in page.text and "rights" in page.text
    assert client.get("/sql-sources/customer_daily_orders").status_code == 200
    listed = client.get("/api/sql-sources").json()
    assert [o["name"] for o in listed["objects"]] == ["customer_daily_orders"]


def test_search_qualifiers(client: httpx.Client) -> None:
    def names(q: str) -> list[tuple[str, str]]:
        return [(r["kind"], r["name"]) for r in client.get("/api/search", params={"q": q}).json()["results"]]

    assert ("FeatureView", "customer_profile") in names("tag:team=growth")
    growth = ["customer_active_days", "customer_order_days", "customer_order_windows", "customer_profile"]
    assert names("tag:team=growth") == [("FeatureView", name) for name in growth]
    assert set(names("kind:views")) == {("FeatureView", "driver_hourly_stats"), *(("FeatureView", n) for n in growth)}
    assert names("kind:models churn") == [("Model", "churn_classifier")]
    assert ("FeatureView", "customer_profile") in names("owner:growth-team")
    assert all(k == "Entity" for k, _ in names("owner:ranking-team kind:entities"))
    assert ("FeatureView", "customer_profile") in names("avg_passenger_count")  # a feature name
    assert ("FeatureService", "driver_activity_v2") in names("avg_passenger_count kind:services")
    assert names("nothing_matches_this") == []
    page = client.get("/search", params={"q": "conv_rate"}).text
    assert 'href="/views/driver_hourly_stats"' in page and 'value="conv_rate"' in page


def test_at_browses_a_past_version(client: httpx.Client) -> None:
    assert client.get("/api/?at=1").json()["registry_version"] == 1
    assert client.get("/api/entities?at=1").json()["objects"] and all(
        o["name"] != "evil_entity" for o in client.get("/api/entities?at=1").json()["objects"]
    )
    assert client.get("/entities/evil_entity?at=1").status_code == 404
    page = client.get("/entities?at=1").text
    assert "browsing registry version 1" in page and 'href="/entities/driver?at=1"' in page
    history = client.get("/api/entities/evil_entity/history").json()
    assert [c["action"] for c in history["changes"]][-1] == "add" and history["changes"][-1]["version"] == 2


def test_history_diff_is_the_cli_diff(repo: Path, client: httpx.Client) -> None:
    cli = run_fsctl("registry", "diff", "1", "2", "--repo", str(repo))
    assert cli.returncode == 0, cli.stderr
    data = client.get("/api/history/diff", params={"a": 1, "b": 2}).json()
    assert data["text"].rstrip("\n") == cli.stdout.rstrip("\n")
    page = client.get("/history/diff", params={"a": 1, "b": 2}).text
    shown = re.search(r'<pre class="plan">(.*?)</pre>', page, re.S)
    assert shown is not None
    assert html.unescape(shown.group(1)).rstrip("\n") == cli.stdout.rstrip("\n")
    history = client.get("/api/history").json()["versions"]
    assert history[0]["version"] > history[-1]["version"]  # newest first


def test_view_statistics_equal_fsctl_stats(repo: Path, client: httpx.Client) -> None:
    for view in ("driver_hourly_stats", "customer_profile"):
        cli = run_fsctl("stats", view, "--repo", str(repo), "--format", "json")
        assert cli.returncode == 0, cli.stderr
        expected = json.loads(cli.stdout)
        assert client.get(f"/api/views/{view}/stats").json() == expected
        assert expected["rows"] > 0 and any(f["histogram"] for f in expected["features"])
        page = client.get(f"/views/{view}/stats")
        assert page.status_code == 200
        text = page.text
        assert " style=" not in text and "<style" not in text
        charts = re.findall(r"<svg\b([^>]*)>(.*?)</svg>", text, re.S)
        with_bins = [f for f in expected["features"] if f["histogram"]]
        assert len(charts) == len(with_bins)
        for feature, (attrs, bars) in zip(with_bins, charts, strict=True):
            assert 'role="img"' in attrs and f'aria-label="Histogram of {feature["name"]}' in attrs
            assert bars.count("<rect ") == len(feature["histogram"]) == bars.count("<title>")
            row = re.search(rf'<th scope="row">{feature["name"]}</th>(.*?)</tr>', text, re.S)
            assert row is not None and f">{feature['count']}<" in row.group(1)
    link = 'href="/views/driver_hourly_stats/stats">Statistics</a>'
    assert link in client.get("/views/driver_hourly_stats").text
    assert link in client.get("/lineage/views/driver_hourly_stats").text
    assert "Statistics</a>" not in client.get("/entities/driver").text


def test_view_statistics_window(repo: Path, client: httpx.Client) -> None:
    window = {"start": "2020-01-01T00:00:00Z", "end": "2099-01-01"}
    cli = run_fsctl("stats", "driver_hourly_stats", "--start", window["start"], "--end", window["end"],
                    "--repo", str(repo), "--format", "json")
    assert cli.returncode == 0, cli.stderr
    assert client.get("/api/views/driver_hourly_stats/stats", params=window).json() == json.loads(cli.stdout)
    empty = client.get("/views/driver_hourly_stats/stats", params={"start": "2099-01-01T00:00:00Z"})
    assert empty.status_code == 200 and "There are no rows in this window." in empty.text
    assert client.get("/api/views/driver_hourly_stats/stats", params={"start": "2099-01-01"}).json()["rows"] == 0


def test_view_statistics_bad_parameters(client: httpx.Client) -> None:
    bad = client.get("/views/driver_hourly_stats/stats", params={"start": PAYLOAD_SCRIPT})
    assert bad.status_code == 400
    assert PAYLOAD_SCRIPT not in bad.text and html.escape(PAYLOAD_SCRIPT, quote=False) in bad.text
    assert bad.text.count('class="error"') == 1 and "ISO-8601" in bad.text
    api = client.get("/api/views/driver_hourly_stats/stats", params={"start": "yesterday"})
    assert api.status_code == 400 and "ISO-8601" in api.json()["detail"]
    backwards = client.get("/api/views/driver_hourly_stats/stats", params={"start": "2024-02-01", "end": "2024-01-01"})
    assert backwards.status_code == 400
    assert client.get("/views/no_such_view/stats").status_code == 404
    unknown = client.get("/views/" + PAYLOAD_SCRIPT + "/stats")
    assert unknown.status_code == 404 and PAYLOAD_SCRIPT not in unknown.text


def test_an_apply_while_running_shows_within_seconds(repo: Path, client: httpx.Client) -> None:
    before = client.get("/api/").json()["registry_version"]
    (repo / "later.yaml").write_text("kind: Entity\nname: added_later\njoin_keys: [later_id]\n")
    apply_repo(repo)
    deadline = time.monotonic() + 10
    seen = None
    while time.monotonic() < deadline:
        seen = client.get("/api/").json()["registry_version"]
        if seen == before + 1:
            break
        time.sleep(0.2)
    assert seen == before + 1
    assert client.get("/entities/added_later").status_code == 200
    # and deleted objects disappear
    (repo / "later.yaml").unlink()
    apply_repo(repo)
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline and client.get("/entities/added_later").status_code == 200:
        time.sleep(0.2)
    assert client.get("/entities/added_later").status_code == 404


def test_stops_cleanly_on_sigint_and_says_where_it_listens(repo: Path) -> None:
    running = start_ui(repo)
    code, stderr = running.stop(signal.SIGINT)
    assert code == 0, stderr
    assert f"at http://127.0.0.1:{running.port}; bound to loopback only" in stderr
    assert "read-only UI" in stderr and "Traceback" not in stderr and "UI stopped" in stderr


def test_warns_when_bound_beyond_loopback(repo: Path) -> None:
    running = start_ui(repo, "--host", "0.0.0.0")
    code, stderr = running.stop(signal.SIGTERM)
    assert code == 0, stderr
    assert "WARNING: bound to 0.0.0.0, reachable from other machines" in stderr

"""``fsctl ui`` in headless Chromium, as people use it: one real ``fsctl ui`` process for the
module over a copy of the example repo applied twice (so the history has a diff) and loaded
once by ``fsctl materialize-incremental`` (so views have a watermark, freshness and a last run).

A user's walk by clicking links (overview -> views -> driver_hourly_stats -> its source and
back -> a service reading it -> churn_classifier -> its lineage graph, whose nodes are links),
under the UI's real Content-Security-Policy; search and the history diff through their forms;
the skip link from the keyboard; the pages with JavaScript off; axe-core on the main pages (no
serious or critical violation); screenshots of the main pages (test-output/screenshots/)."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest
from playwright.sync_api import expect

from tests.cli.conftest import run_fsctl
from tests.support.browser import describe_violations, run_axe, screenshot
from tests.support.example import copy_example_repo
from tests.support.online_ports import apply_repo
from tests.web.ui_server import PAYLOADS_YAML, UIServer, start_ui

if TYPE_CHECKING:
    from playwright.sync_api import Page

pytestmark = pytest.mark.slow

LOADED = "2026-01-05T00:00:00Z"  # the example data ends on 2026-01-04


@pytest.fixture(scope="module")
def repo(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = copy_example_repo(tmp_path_factory.mktemp("ui_browser") / "example_repo")
    apply_repo(root)  # version 1
    (root / "evil.yaml").write_text(PAYLOADS_YAML)
    apply_repo(root)  # version 2: adds evil_entity
    loaded = run_fsctl("materialize-incremental", LOADED, cwd=root)
    assert loaded.returncode == 0, loaded.stderr
    return root


@pytest.fixture(scope="module")
def server(repo: Path) -> Iterator[UIServer]:
    running = start_ui(repo)
    yield running
    running.stop()


def main_link(page: Page, name: str) -> Any:
    """The first link in <main> whose accessible name is exactly ``name``."""
    return page.locator("main").get_by_role("link", name=name, exact=True).first


def h1(page: Page) -> Any:
    return page.locator("main h1")


def test_a_user_walks_from_the_overview_to_the_lineage_by_clicking_links(page: Page, server: UIServer) -> None:
    page.goto(server.url + "/")
    expect(h1(page)).to_have_text("Project driver_ranking")
    expect(page.locator("main")).to_contain_text("Freshness")

    page.get_by_role("navigation", name="Main").get_by_role("link", name="Feature views").click()
    expect(page).to_have_url(server.url + "/views")
    expect(h1(page)).to_have_text("Views")
    expect(page.locator("main table")).to_contain_text("Hourly conversion and acceptance rates of each driver")

    main_link(page, "driver_hourly_stats").click()
    expect(page).to_have_url(server.url + "/views/driver_hourly_stats")
    expect(h1(page)).to_have_text("FeatureView driver_hourly_stats")
    facts = page.locator("main dl.facts")
    expect(facts.nth(1)).to_contain_text("Watermark")
    expect(facts.nth(1)).to_contain_text(LOADED.replace("Z", "+00:00"))
    expect(page.locator("main .badge")).to_have_text("fresh")
    expect(page.locator("main table caption")).to_have_text("Last run")
    expect(page.locator("main table", has=page.locator("caption"))).to_contain_text("succeeded")
    expect(page.locator("main table").first).to_contain_text("conv_rate")

    main_link(page, "driver_stats_source").click()
    expect(page).to_have_url(server.url + "/sources/driver_stats_source")
    expect(h1(page)).to_have_text("FileSource driver_stats_source")
    expect(page.locator("main")).to_contain_text("data/driver_stats.parquet")

    main_link(page, "driver_hourly_stats").click()  # the source's "Feature views reading it"
    expect(page).to_have_url(server.url + "/views/driver_hourly_stats")

    main_link(page, "driver_activity_v1").click()  # "Feature services reading it"
    expect(page).to_have_url(server.url + "/services/driver_activity_v1")
    expect(h1(page)).to_have_text("FeatureService driver_activity_v1")
    expect(page.locator("main table")).to_contain_text("conv_rate, acc_rate, avg_daily_trips (the whole view)")

    main_link(page, "churn_classifier").click()  # "Models bound to it"
    expect(page).to_have_url(server.url + "/models/churn_classifier")
    expect(h1(page)).to_have_text("Model churn_classifier")
    expect(page.locator("main table.side")).to_contain_text("Production")
    expect(page.locator("main table.side")).to_contain_text("python://model_code.churn:v2")

    page.locator("main p.objnav").get_by_role("link", name="Lineage", exact=True).click()
    expect(page).to_have_url(server.url + "/lineage/models/churn_classifier")
    expect(h1(page)).to_have_text("Lineage of Model churn_classifier")
    graph = page.locator("main section.graph svg")
    expect(graph).to_be_visible()
    box = graph.bounding_box()
    assert box is not None and box["width"] > 300 and box["height"] > 100, box
    expect(graph.locator("title").first).to_have_text("Lineage of model churn_classifier")
    node = graph.locator('a[data-node="view:customer_profile"]')
    expect(node).to_be_visible()
    node.click()
    expect(page).to_have_url(server.url + "/views/customer_profile")
    expect(h1(page)).to_have_text("FeatureView customer_profile")


@pytest.mark.parametrize(
    ("query", "present", "absent"),
    [
        ("kind:views driver", ["driver_hourly_stats"], ["customer_profile", "churn_classifier", "driver"]),
        ("owner:ranking-team@example.com", ["churn_classifier", "driver_hourly_stats"], ["customer_profile"]),
    ],
)
def test_search_through_the_form(
    page: Page, server: UIServer, query: str, present: list[str], absent: list[str]
) -> None:
    page.goto(server.url + "/views")
    page.locator("#q").fill(query)
    page.locator("form.search").get_by_role("button", name="Search").click()
    expect(page).to_have_url(re.compile(re.escape(server.url) + r"/search\?q="))
    expect(h1(page)).to_have_text("Search")
    expect(page.locator("#q")).to_have_value(query)
    expect(page.locator("main")).to_contain_text(f"for {query}")
    results = page.locator("main tbody th[scope=row] a")
    names = results.all_inner_texts()
    assert names and all(name in names for name in present), names
    assert not any(name in names for name in absent), names
    if query.startswith("kind:views"):
        expect(page.locator("main tbody tr td").first).to_have_text("FeatureView")
    main_link(page, present[0]).click()
    expect(h1(page)).to_contain_text(present[0])


def test_history_diff_through_the_form(page: Page, server: UIServer) -> None:
    page.goto(server.url + "/history")
    expect(h1(page)).to_have_text("Registry history")
    expect(page.locator("main tbody tr")).to_have_count(2)
    page.locator("#a").fill("0")
    page.locator("#b").fill("2")
    page.get_by_role("button", name="Show the diff").click()
    expect(page).to_have_url(server.url + "/history/diff?a=0&b=2")
    expect(h1(page)).to_have_text("Registry diff: version 0 → 2")
    diff = page.locator("main pre")
    expect(diff).to_contain_text("Changes in project driver_ranking from registry version 0 to 2")
    expect(diff).to_contain_text("+ Entity evil_entity")
    expect(diff).to_contain_text("+ FeatureView driver_hourly_stats")
    expect(diff).to_contain_text("Changes: 15 to add, 0 to change, 0 to delete.")
    assert page.locator("main script, main img").count() == 0  # the payloads stay text


def test_the_skip_link_is_first_and_moves_focus_to_main(page: Page, server: UIServer) -> None:
    page.goto(server.url + "/views/driver_hourly_stats")
    skip = page.locator("a.skip")
    page.keyboard.press("Tab")
    expect(skip).to_be_focused()
    expect(skip).to_have_text("Skip to content")
    box = skip.bounding_box()
    assert box is not None and box["x"] >= 0 and box["y"] >= 0, f"the focused skip link is off screen: {box}"
    page.keyboard.press("Enter")
    expect(page.locator("main#main")).to_be_focused()
    page.keyboard.press("Tab")  # the next stop is inside main, past the header's links and search
    assert page.evaluate("() => document.activeElement.closest('main') !== null")
    expect(page.locator("main p.objnav a").first).to_be_focused()


def test_pages_work_with_javascript_off(no_js_page: Page, server: UIServer) -> None:
    page = no_js_page
    page.goto(server.url + "/")
    expect(h1(page)).to_have_text("Project driver_ranking")
    main_link(page, "driver_hourly_stats").click()
    expect(page).to_have_url(server.url + "/views/driver_hourly_stats")
    expect(h1(page)).to_have_text("FeatureView driver_hourly_stats")
    expect(page.locator("main table").first).to_contain_text("avg_daily_trips")
    page.locator("#q").fill("kind:views driver")
    page.locator("#q").press("Enter")
    expect(page).to_have_url(re.compile(re.escape(server.url) + r"/search\?q="))
    expect(main_link(page, "driver_hourly_stats")).to_be_visible()


AXE_PAGES = [
    "/",
    "/views/driver_hourly_stats",
    "/views/driver_hourly_stats/stats",
    "/models/churn_classifier",
    "/lineage/models/churn_classifier",
    "/history/diff?a=1&b=2",
    "/search?q=owner%3Aranking-team%40example.com",
]


@pytest.mark.parametrize("path", AXE_PAGES)
def test_axe_finds_no_serious_violation(axe_page: Page, server: UIServer, path: str) -> None:
    response = axe_page.goto(server.url + path)
    assert response is not None and response.status == 200
    violations = run_axe(axe_page)
    assert not violations, f"{path}:\n{describe_violations(violations)}"


SCREENSHOTS = {
    "ui-overview": "/",
    "ui-view": "/views/driver_hourly_stats",
    "ui-model": "/models/churn_classifier",
    "ui-lineage": "/lineage/models/churn_classifier",
    "ui-history-diff": "/history/diff?a=1&b=2",
}


@pytest.mark.parametrize(("name", "path"), SCREENSHOTS.items())
def test_screenshots_of_the_main_pages(page: Page, server: UIServer, name: str, path: str) -> None:
    page.goto(server.url + path)
    assert page.viewport_size == {"width": 1280, "height": 800}
    expect(h1(page)).to_be_visible()
    written = screenshot(page, name, full_page=False)  # the viewport: what a laptop shows first
    assert written.read_bytes().startswith(b"\x89PNG") and written.stat().st_size < 300_000

"""The browser-test machinery itself, on two tiny static pages served by a separate process
(started by the same helper as ``fsctl serve`` and ``fsctl ui``) with the strict
Content-Security-Policy the UI serves: Chromium opens them, screenshots are written, axe
finds a deliberate violation and nothing serious on the clean page, and pages work with
JavaScript disabled."""

from __future__ import annotations

import struct
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import write_files
from tests.support.browser import describe_violations, run_axe, screenshot
from tests.support.s3 import free_port
from tests.support.server import Server, start_command

CSP = "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; frame-ancestors 'none'"

# A static file server adding the CSP header to every answer: python -c SERVER ROOT PORT.
SERVER = f"""
import functools, http.server, sys
class Handler(http.server.SimpleHTTPRequestHandler):
    def end_headers(self):
        self.send_header("Content-Security-Policy", {CSP!r})
        super().end_headers()
    def log_message(self, *args):
        pass
handler = functools.partial(Handler, directory=sys.argv[1])
http.server.ThreadingHTTPServer(("127.0.0.1", int(sys.argv[2])), handler).serve_forever()
"""

PAGE = """<!doctype html>
<html lang="en">
<head><meta charset="utf-8"><title>{title}</title><link rel="stylesheet" href="/site.css"></head>
<body>
<a class="skip" href="#main">Skip to content</a>
<main id="main">
<h1>{title}</h1>
<p>Feature view <strong>driver_hourly_stats</strong>: fresh.</p>
<p id="js-status">JavaScript off</p>
{extra}
</main>
<script src="/app.js"></script>
</body>
</html>
"""
FILES = {
    "good.html": PAGE.format(title="A clean page", extra='<img src="/dot.svg" alt="A green dot">'),
    # the deliberate violation: an image without alt text (axe rule image-alt, critical)
    "bad.html": PAGE.format(title="A page with a problem", extra='<img src="/dot.svg">'),
    "site.css": "body { font-family: sans-serif; margin: 2rem; color: #111; background: #fff; }\n"
    ".skip { position: absolute; left: -999px; } .skip:focus { left: 0; }\n",
    "app.js": 'document.getElementById("js-status").textContent = "JavaScript on";\n',
    "dot.svg": '<svg xmlns="http://www.w3.org/2000/svg" width="20" height="20"><circle cx="10" cy="10" r="9" fill="green"/></svg>\n',
}


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    root = write_files(tmp_path_factory.mktemp("site"), FILES)
    port = free_port()
    server = start_command([sys.executable, "-c", SERVER, str(root), str(port)], port, "/good.html", timeout=20)
    yield server
    server.stop()


def png_size(path: Path) -> tuple[int, int]:
    data = path.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n", f"{path} is not a PNG"
    return struct.unpack(">II", data[16:24])


def test_chromium_renders_the_page_and_saves_a_screenshot(page: Any, site: Server) -> None:
    response = page.goto(f"{site.url}/good.html")
    assert response.status == 200
    assert response.headers["content-security-policy"] == CSP
    assert page.title() == "A clean page"
    assert page.locator("h1").inner_text() == "A clean page"
    # the page's own script ran under its CSP (script-src 'self')
    assert page.locator("#js-status").inner_text() == "JavaScript on"

    path = screenshot(page, "browser-infra-good")
    width, height = png_size(path)
    assert (width, height) >= (1280, 800)
    assert path.stat().st_size > 5_000, "a near-empty screenshot: did the page (and its text) render?"


def test_text_renders_with_real_glyphs(page: Any, site: Server) -> None:
    """A font is installed (fonts-dejavu-core, make sysdeps): text has width, not tofu or nothing."""
    page.goto(f"{site.url}/good.html")
    box = page.locator("h1").bounding_box()
    assert box is not None and box["width"] > 100 and box["height"] > 10
    widths = page.evaluate(
        "() => ['iiiiiiiiii', 'WWWWWWWWWW'].map(t => {"
        " const c = document.createElement('canvas').getContext('2d');"
        " c.font = '16px sans-serif'; return c.measureText(t).width; })"
    )
    assert widths[1] > widths[0] * 1.5, f"glyph widths {widths}: no proportional font?"


def test_axe_finds_the_missing_alt_text(axe_page: Any, site: Server) -> None:
    axe_page.goto(f"{site.url}/bad.html")
    violations = run_axe(axe_page)
    assert [v["id"] for v in violations] == ["image-alt"], describe_violations(violations)
    assert violations[0]["impact"] == "critical"
    assert violations[0]["nodes"][0]["target"] == ["img"]
    screenshot(axe_page, "browser-infra-bad")


def test_axe_finds_nothing_serious_on_the_clean_page(axe_page: Any, site: Server) -> None:
    axe_page.goto(f"{site.url}/good.html")
    violations = run_axe(axe_page)
    assert violations == [], describe_violations(violations)
    # bypass_csp only lets axe in: the page's own script still ran
    assert axe_page.locator("#js-status").inner_text() == "JavaScript on"


def test_axe_cannot_run_under_the_csp_without_bypass(page: Any, site: Server) -> None:
    """Why the axe_page fixture exists: script-src 'self' refuses axe's injected inline script."""
    page.goto(f"{site.url}/bad.html")
    with pytest.raises(AssertionError, match="bypass_csp=True") as caught:
        run_axe(page)
    assert "Content Security Policy directive 'script-src 'self''" in str(caught.value.__cause__)


def test_pages_work_with_javascript_disabled(no_js_page: Any, site: Server) -> None:
    no_js_page.goto(f"{site.url}/good.html")
    assert no_js_page.locator("h1").inner_text() == "A clean page"
    assert no_js_page.locator("#js-status").inner_text() == "JavaScript off"
    no_js_page.keyboard.press("Tab")
    assert no_js_page.evaluate("() => document.activeElement.textContent") == "Skip to content"

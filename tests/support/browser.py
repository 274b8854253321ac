"""Headless Chromium for the browser tests (tests/web), driven by Playwright's Python package.

The browser is Debian's ``chromium`` (/usr/bin/chromium), which ``make sysdeps`` (run by
``make test``) installs: Playwright gets it as ``executable_path`` and never downloads a
browser of its own (``playwright install`` is never run). Without it the fixtures fail,
naming ``make test``: a missing browser never turns into silently skipped tests.

Also here: :func:`run_axe` (the axe-core accessibility check, from the ``axe.min.js`` that
the axe-playwright-python package ships) and :func:`screenshot` (PNGs in
``test-output/screenshots/`` at the repo root, kept after the run for people to look at).
"""

from __future__ import annotations

import re
import shutil
from functools import cache
from importlib import resources
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from playwright.sync_api import Browser, Page, Playwright

REPO_ROOT = Path(__file__).resolve().parents[2]
SCREENSHOTS = REPO_ROOT / "test-output" / "screenshots"

# What Chromium needs on a machine with a closed network: without the background-networking
# flags it keeps trying Google's hosts (refused, many at a time). Playwright already passes some
# of these, and --headless and a new, empty, temporary --user-data-dir for every launch.
CHROMIUM_FLAGS = (
    "--headless",
    "--no-sandbox",  # the tests may run as root (CI), where Chromium's sandbox refuses to start
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
)
VIEWPORT = {"width": 1280, "height": 800}  # a laptop screen
SERIOUS = ("serious", "critical")


class BrowserMissing(RuntimeError):
    pass


def chromium_path() -> str:
    """The Chromium executable on PATH, or :class:`BrowserMissing` saying how to install it."""
    path = shutil.which("chromium")
    if path is None:
        raise BrowserMissing(
            "chromium is not installed: the browser tests (tests/web) need Debian's chromium package. "
            "Run `make test` (or `make sysdeps`), which installs it; Playwright never downloads a browser."
        )
    return path


def launch_chromium(playwright: Playwright) -> Browser:
    """Debian's Chromium, headless, with :data:`CHROMIUM_FLAGS`."""
    return playwright.chromium.launch(
        executable_path=chromium_path(), headless=True, args=list(CHROMIUM_FLAGS), timeout=30_000
    )


@cache
def axe_source() -> str:
    """axe-core's ``axe.min.js``, as shipped in the axe-playwright-python package (the ``dev``
    and ``ui-tests`` extras): no copy of it is kept in this repo."""
    return resources.files("axe_playwright_python").joinpath("axe.min.js").read_text(encoding="utf-8")


def run_axe(page: Page, impacts: tuple[str, ...] = SERIOUS, context: Any = None) -> list[dict[str, Any]]:
    """Run axe-core on the page as it is now; return its violations whose impact is in
    ``impacts`` (serious and critical by default), each axe's own dict (``id``, ``impact``,
    ``help``, ``nodes`` ...).

    axe is injected as a <script> element (``add_script_tag``). A page served with a strict
    Content-Security-Policy (``script-src 'self'``, as ``fsctl ui`` does) refuses that inline
    script, so such a page must be opened in a context made with ``bypass_csp=True`` (the
    ``axe_page`` fixture): the CSP is only bypassed where axe runs, and every other browser
    test sees the page under its real policy.
    """
    from playwright.sync_api import Error

    if not page.evaluate("() => typeof window.axe === 'object'"):
        try:
            page.add_script_tag(content=axe_source())
        except Error as exc:  # "Executing inline script violates the following Content Security Policy ..."
            if "Content Security Policy" not in exc.message:
                raise
            raise AssertionError(
                "axe-core cannot be injected: the page's Content-Security-Policy blocks inline scripts; "
                "open it in a context with bypass_csp=True (the axe_page fixture)"
            ) from exc
    result = page.evaluate(
        "async (context) => await axe.run(context || document, {resultTypes: ['violations']})", context
    )
    return [v for v in result["violations"] if v.get("impact") in impacts]


def describe_violations(violations: list[dict[str, Any]]) -> str:
    """One line per violation and failing element, for an assertion message."""
    lines = []
    for v in violations:
        for node in v["nodes"]:
            lines.append(f"{v['impact']} {v['id']}: {v['help']} — {', '.join(map(str, node['target']))}")
    return "\n".join(lines)


def screenshot(page: Page, name: str, full_page: bool = True) -> Path:
    """Save a PNG of the page as ``test-output/screenshots/NAME.png`` (repo root); return its path."""
    if not re.fullmatch(r"[A-Za-z0-9][A-Za-z0-9_.-]*", name):
        raise ValueError(f"screenshot name {name!r}: use letters, digits, '-', '_' and '.'")
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    path = SCREENSHOTS / f"{name}.png"
    page.screenshot(path=str(path), full_page=full_page)
    return path

"""Browser fixtures: one headless Chromium per test worker (session), a fresh context and
page per test. See tests/support/browser.py for the browser, axe and screenshots."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import pytest

from tests.support.browser import VIEWPORT, BrowserMissing, chromium_path, launch_chromium


@pytest.fixture(scope="session")
def browser() -> Iterator[Any]:
    """Debian's Chromium, headless, launched once per test worker; fails if it is not installed."""
    from playwright.sync_api import sync_playwright

    try:
        chromium_path()
    except BrowserMissing as exc:
        missing = str(exc)
    else:
        missing = ""
    if missing:
        pytest.fail(missing, pytrace=False)
    with sync_playwright() as playwright:
        browser = launch_chromium(playwright)
        yield browser
        browser.close()


@pytest.fixture
def new_page(browser: Any) -> Iterator[Callable[..., Any]]:
    """``new_page(**context_options)`` -> a page in a new browser context (a laptop-sized
    viewport unless given), closed after the test. E.g. ``java_script_enabled=False``."""
    contexts: list[Any] = []

    def make(**options: Any) -> Any:
        context = browser.new_context(**{"viewport": VIEWPORT, **options})
        context.set_default_timeout(10_000)
        contexts.append(context)
        return context.new_page()

    yield make
    for context in contexts:
        context.close()


@pytest.fixture
def page(new_page: Callable[..., Any]) -> Any:
    """A page that sees sites as users do (JavaScript on, Content-Security-Policy enforced)."""
    return new_page()


@pytest.fixture
def axe_page(new_page: Callable[..., Any]) -> Any:
    """A page for :func:`~tests.support.browser.run_axe`: its context bypasses the
    Content-Security-Policy, the only way axe's injected script runs on a page whose CSP
    allows only its own scripts (``script-src 'self'``). Use it only to run axe."""
    return new_page(bypass_csp=True)


@pytest.fixture
def no_js_page(new_page: Callable[..., Any]) -> Any:
    """A page with JavaScript disabled (the UI must work without it)."""
    return new_page(java_script_enabled=False)

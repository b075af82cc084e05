"""Fixtures for the browser tests: one Chromium for the session, a fresh context and page per
test, the app served by pytest-django's live server with the reference and demo data, every
request the page makes recorded, and a full-page screenshot of every page visited.

Chromium is the system's (/usr/bin/chromium): Playwright never downloads a browser here. When
it is missing the tests are skipped with the reason — unless CI is "true", where a missing
browser is an error, not a reason to pass.
"""

from __future__ import annotations

import os
from collections.abc import Iterator

import pytest

from .support import CHROMIUM, CHROMIUM_ARGS, DESKTOP, SCREENSHOTS, Visitor, open_visitor


def _unavailable(reason: str) -> None:
    if os.environ.get("CI") == "true":
        pytest.fail(f"{reason}; CI is 'true', so the browser tests must run.", pytrace=False)
    pytest.skip(reason)


@pytest.fixture(scope="session")
def browser() -> Iterator:
    if not CHROMIUM.exists():
        _unavailable(f"Chromium is not installed at {CHROMIUM}")
    from playwright.sync_api import sync_playwright

    # The screenshots are this run's: none left over from an earlier one.
    for old in SCREENSHOTS.glob("*.png"):
        old.unlink()
    # Playwright's sync API keeps an asyncio loop in this thread, which makes Django refuse
    # ORM calls from the tests ("You cannot call this from an async context"). The tests call
    # the ORM only between browser steps, never concurrently with it.
    with pytest.MonkeyPatch.context() as patch, sync_playwright() as playwright:
        patch.setenv("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
        chromium = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        yield chromium
        chromium.close()


class _WithoutCSP:
    """The session's browser, opening contexts that ignore the Content-Security-Policy."""

    def __init__(self, browser):
        self.browser = browser

    def new_context(self, **options):
        return self.browser.new_context(bypass_csp=True, **options)


@pytest.fixture
def server(live_server, committed_db) -> str:
    """The live server's base URL, with the reference data and the 17 demo projects committed."""
    return live_server.url


@pytest.fixture
def visitor_factory(browser, server) -> Iterator:
    """Open more pages in the same test: phone width, or JavaScript turned off."""
    opened = []

    def make(*, viewport=DESKTOP, javascript=True, suffix="", bypass_csp=False) -> Visitor:
        """`bypass_csp`: the page ignores the Content-Security-Policy, for tests of what the
        markup alone lets run (the policy would block an injected inline script anyway)."""
        opener = _WithoutCSP(browser) if bypass_csp else browser
        context, visitor = open_visitor(
            opener, server, viewport=viewport, javascript=javascript, suffix=suffix
        )
        opened.append((context, visitor))
        return visitor

    yield make
    for context, visitor in opened:
        try:
            visitor.snap_if_new()
        finally:
            context.close()
    # Every page any test visited: nothing from another host (unless the test already said so).
    for _, visitor in opened:
        if len(visitor.foreign_requests()) > visitor.reported:
            visitor.assert_no_foreign_requests()


@pytest.fixture
def visitor(visitor_factory) -> Visitor:
    """A fresh 1280x900 page with JavaScript."""
    return visitor_factory()

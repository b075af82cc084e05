"""Helpers for the browser tests: where Chromium is, the page wrapper that records requests,
dialogs and errors and takes screenshots, and axe-core's results."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING
from urllib.parse import parse_qsl, urlsplit

if TYPE_CHECKING:
    from playwright.sync_api import Browser, BrowserContext, Page, Response

ROOT = Path(__file__).resolve().parents[2]
CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
AXE = Path(__file__).resolve().parent / "vendor" / "axe-core-4.14.1" / "axe.min.js"
SCREENSHOTS = ROOT / "test-artifacts" / "screenshots"
DESKTOP = {"width": 1280, "height": 900}
PHONE = {"width": 390, "height": 844}
# Schemes a page may use without a network request to anyone.
LOCAL_SCHEMES = ("data:", "blob:", "about:")
SERIOUS = {"serious", "critical"}


def screenshot_name(url: str) -> str:
    """A file name for a URL: `/countries/pk/` -> `countries-pk`, `/` -> `home`,
    `/search/?q=huawei` -> `search-q-huawei`, `/documents/465/` -> `documents-detail` (ids
    change from run to run)."""
    parts = urlsplit(url)
    path = re.sub(r"/\d+(?=/|$)", "/detail", parts.path)
    filled = "-".join(f"{key}-{value}" for key, value in parse_qsl(parts.query))
    words = re.sub(r"[^a-z0-9]+", "-", f"{path}-{filled}".lower()).strip("-")
    return (words or "home")[:120]


@dataclass
class Visitor:
    """A fresh browser page on the live server that remembers what it requested and saw."""

    page: Page
    base_url: str
    suffix: str = ""
    requests: list[str] = field(default_factory=list)
    dialogs: list[str] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    snapped_url: str | None = None
    reported: int = 0

    def url(self, path: str) -> str:
        return self.base_url + path

    def goto(self, path: str) -> Response | None:
        """Open a path of the live server; returns the response (its status may be 4xx)."""
        self.snap_if_new()
        return self.page.goto(self.url(path))

    def snap(self, name: str | None = None) -> Path:
        """A full-page screenshot of what the page shows now."""
        SCREENSHOTS.mkdir(parents=True, exist_ok=True)
        path = SCREENSHOTS / f"{name or screenshot_name(self.page.url)}{self.suffix}.png"
        self.page.screenshot(path=path, full_page=True)
        self.snapped_url = self.page.url
        return path

    def snap_if_new(self) -> None:
        if self.page.url.startswith(self.base_url) and self.snapped_url != self.page.url:
            self.snap()

    def foreign_requests(self) -> list[str]:
        return [
            url
            for url in self.requests
            if not (url.startswith(self.base_url + "/") or url.startswith(LOCAL_SCHEMES))
        ]

    def assert_no_foreign_requests(self) -> None:
        foreign = self.foreign_requests()
        self.reported = len(foreign)
        assert not foreign, f"requests to another host than {self.base_url}:\n" + "\n".join(
            sorted(set(foreign))
        )

    def serious_axe_violations(self) -> list[dict]:
        # Evaluated rather than added as a <script>: the Content-Security-Policy refuses
        # inline scripts, but not what the test itself runs in the page.
        self.page.evaluate(f"{AXE.read_text()}\n;undefined")
        results = self.page.evaluate("async () => await axe.run()")
        return [v for v in results["violations"] if v.get("impact") in SERIOUS]


def describe_violations(violations: list[dict]) -> str:
    """One line per violation: rule, impact, help, and the first nodes' targets."""
    lines = []
    for violation in violations:
        nodes = violation["nodes"]
        targets = ", ".join(str(node["target"]) for node in nodes[:5])
        more = f" and {len(nodes) - 5} more" if len(nodes) > 5 else ""
        lines.append(
            f"- {violation['id']} ({violation['impact']}): {violation['help']}; "
            f"{len(nodes)} node(s): {targets}{more}"
        )
    return "\n".join(lines)


def open_visitor(
    browser: Browser, base_url: str, *, viewport=DESKTOP, javascript=True, suffix=""
) -> tuple[BrowserContext, Visitor]:
    context = browser.new_context(viewport=viewport, java_script_enabled=javascript)
    context.set_default_timeout(5_000)
    page = context.new_page()
    visitor = Visitor(page=page, base_url=base_url, suffix=suffix)
    context.on("request", lambda request: visitor.requests.append(request.url))
    # Nothing may leave the machine: a request to another host is recorded, then refused.
    context.route(
        lambda url: not url.startswith(base_url + "/") and not url.startswith(LOCAL_SCHEMES),
        lambda route: route.abort(),
    )

    def on_dialog(dialog) -> None:
        visitor.dialogs.append(f"{dialog.type}: {dialog.message}")
        dialog.dismiss()

    page.on("dialog", on_dialog)
    page.on("pageerror", lambda error: visitor.errors.append(str(error)))
    return context, visitor


def log_in_to_admin(visitor, username: str, password: str) -> None:
    """Through the admin's login form, as a person does."""
    from playwright.sync_api import expect

    visitor.goto("/admin/")
    page = visitor.page
    expect(page).to_have_url(re.compile(r"/admin/login/"))
    page.locator("#id_username").fill(username)
    page.locator("#id_password").fill(password)
    page.get_by_role("button", name="Log in").click()
    expect(page.locator("#user-tools")).to_contain_text(username)

"""A real browser for the dashboard's tests: Debian's Chromium (``/usr/bin/chromium``, installed by
``make browser``), driven by Playwright for Python with ``executable_path`` (Playwright's own browser
download is never used). axe-core comes from the dashboard's npm dev dependencies (``web/node_modules``).

Every console error and uncaught page error is collected; a test that expects the browser to log a refused
request (a 401 at sign-in, a 422 refusal) takes it out with ``console.expect``; anything left fails the test.
Screenshots go to ``.local/screenshots/``.
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import Browser, ConsoleMessage, Error, Page, Playwright, Response, sync_playwright

REPO_ROOT = Path(__file__).resolve().parents[2]
CHROMIUM = Path(os.environ.get("AGILETRACK_CHROMIUM", "/usr/bin/chromium"))
AXE = REPO_ROOT / "web" / "node_modules" / "axe-core" / "axe.min.js"
SCREENSHOTS = REPO_ROOT / ".local" / "screenshots"
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
SERIOUS = {"serious", "critical"}


@dataclass
class Console:
    """What the page logged as an error, in order."""

    errors: list[str] = field(default_factory=list)
    refused: list[str] = field(default_factory=list)
    """Every answer of 400 or more the page received (method, status, URL), to say which request failed."""

    def on_response(self, response: Response) -> None:
        if response.status >= 400:
            self.refused.append(f"{response.request.method} {response.status} {response.url} {response.text()[:300]}")

    def on_message(self, message: ConsoleMessage) -> None:
        if message.type == "error":
            self.errors.append(message.text)

    def on_page_error(self, error: Error) -> None:
        self.errors.append(f"uncaught: {error}")

    def expect(self, pattern: str) -> None:
        """Take out the errors matching ``pattern`` (at least one must be there)."""
        matching = [e for e in self.errors if re.search(pattern, e)]
        assert matching, f"expected a console error like {pattern!r}, got {self.errors}"
        self.errors = [e for e in self.errors if e not in matching]


@pytest.fixture(scope="session")
def playwright() -> Iterator[Playwright]:
    if not CHROMIUM.exists():
        pytest.fail(f"{CHROMIUM} is missing: run `make browser` (apt-get install chromium chromium-driver)")
    if not AXE.exists():
        pytest.fail(f"{AXE} is missing: run `make web-deps` (npm ci in web/)")
    with sync_playwright() as driver:
        yield driver


@pytest.fixture(scope="session")
def browser(playwright: Playwright) -> Iterator[Browser]:
    """Chromium with a new empty profile (Playwright makes one per launch and removes it after)."""
    launched = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS, headless=True)
    yield launched
    launched.close()


@pytest.fixture(scope="module")
def console() -> Console:
    return Console()


@pytest.fixture(scope="module")
def page(browser: Browser, console: Console) -> Iterator[Page]:
    """One tab for a module's tests, which follow one another as a user would. ``bypass_csp`` lets the
    tests inject axe-core; the app itself runs under its Content-Security-Policy everywhere else."""
    context = browser.new_context(viewport={"width": 1280, "height": 900}, bypass_csp=True)
    context.grant_permissions(["clipboard-read", "clipboard-write"])
    tab = context.new_page()
    tab.on("console", console.on_message)
    tab.on("pageerror", console.on_page_error)
    tab.on("response", console.on_response)
    yield tab
    context.close()


@pytest.fixture(autouse=True)
def no_console_errors(console: Console) -> Iterator[None]:
    yield
    left, console.errors = list(console.errors), []
    refused, console.refused = list(console.refused), []
    assert not left, f"the page logged errors: {left}; answers of 400 or more: {refused}"


def screenshot(page: Page, name: str, *, full_page: bool = True) -> Path:
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    path = SCREENSHOTS / f"{name}.png"
    page.screenshot(path=str(path), full_page=full_page)
    return path


def axe_violations(page: Page) -> list[dict[str, Any]]:
    """The serious and critical WCAG 2.x A/AA violations axe-core finds on the page as it is now."""
    if not page.evaluate("() => typeof window.axe !== 'undefined'"):
        page.add_script_tag(path=str(AXE))
    result = page.evaluate(
        """async () => {
            const r = await axe.run(document, {runOnly: {type: 'tag', values: ['wcag2a', 'wcag2aa', 'wcag21aa']}});
            return r.violations.map(v => ({id: v.id, impact: v.impact, help: v.help,
                                           nodes: v.nodes.map(n => n.target.join(' ')).slice(0, 5)}));
        }"""
    )
    return [v for v in result if v["impact"] in SERIOUS]

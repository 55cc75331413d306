"""Browser tests: Playwright (sync API) driving Debian's Chromium against pytest-django's
live server.

One browser for the whole session; a fresh context (cookies, storage) for every test. A test
fails if the page raises a JavaScript error, logs a console error (a CSP violation, a
failed resource load) or gets an HTTP error answer that the test did not announce with
``browser_errors.allow_http``.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING
from urllib.parse import urlsplit

import pytest
from playwright.sync_api import (
    Browser,
    ConsoleMessage,
    Error,
    Page,
    Playwright,
    Response,
    expect,
    sync_playwright,
)
from pytest_django.live_server_helper import LiveServer

from ..factories import PASSWORD

if TYPE_CHECKING:
    from apps.accounts.models import User

HERE = Path(__file__).resolve().parent

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]

# Waits are for htmx swaps on a local server: short, so a broken page fails fast.
expect.set_options(timeout=5_000)


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Mark every test of this folder (and only those) as a browser test."""
    for item in items:
        if HERE in item.path.parents:
            item.add_marker(pytest.mark.browser)


@pytest.fixture(scope="session")
def playwright() -> Iterator[Playwright]:
    with sync_playwright() as pw:
        yield pw


@pytest.fixture(scope="session")
def browser(playwright: Playwright) -> Iterator[Browser]:
    browser = playwright.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)
    yield browser
    browser.close()


@dataclass
class BrowserErrors:
    """What went wrong in one page: JavaScript errors, console errors (CSP violations among
    them) and HTTP error answers to any request the page made (documents, static files, the
    favicon, htmx calls), minus the ones the test announced with ``allow_http``."""

    errors: list[str] = field(default_factory=list)
    _allowed: set[tuple[str, int]] = field(default_factory=set)

    def allow_http(self, path: str, status: int) -> None:
        """The test expects ``path`` to answer ``status``: that answer, and Chromium's
        "Failed to load resource" console message about it, are not failures."""
        self._allowed.add((path, status))

    def _is_allowed(self, url: str, status: int) -> bool:
        return (urlsplit(url).path, status) in self._allowed

    def on_console(self, message: ConsoleMessage) -> None:
        if message.type != "error":
            return
        url = message.location.get("url", "")
        failed_load = re.match(r"Failed to load resource: the server responded with a status of (\d+)", message.text)
        if failed_load and self._is_allowed(url, int(failed_load.group(1))):
            return
        self.errors.append(f"console error at {url or '?'}: {message.text}")

    def on_page_error(self, error: Error) -> None:
        self.errors.append(f"JavaScript error: {error.message}\n{error.stack or ''}")

    def on_response(self, response: Response) -> None:
        if response.status >= 400 and not self._is_allowed(response.url, response.status):
            self.errors.append(f"HTTP {response.status} for {response.request.method} {response.url}")


@pytest.fixture
def browser_errors() -> BrowserErrors:
    return BrowserErrors()


@pytest.fixture
def page(browser: Browser, live_server: LiveServer, browser_errors: BrowserErrors) -> Iterator[Page]:
    context = browser.new_context(base_url=live_server.url, viewport={"width": 1280, "height": 900})
    context.set_default_timeout(10_000)
    page = context.new_page()
    page.on("console", browser_errors.on_console)
    page.on("pageerror", browser_errors.on_page_error)
    page.on("response", browser_errors.on_response)
    yield page
    context.close()
    if browser_errors.errors:
        pytest.fail("The browser reported errors:\n" + "\n".join(browser_errors.errors), pytrace=False)


def sign_in(page: Page, live_server: LiveServer, user: User, password: str = PASSWORD) -> None:
    """Sign in through the real sign-in form and wait until the portal lets the user in."""
    page.goto(f"{live_server.url}/accounts/login/")
    expect(page.get_by_role("heading", name="Sign in", level=1)).to_be_visible()
    page.get_by_label("Username").fill(user.username)
    page.get_by_label("Password").fill(password)
    page.get_by_role("button", name="Sign in").click()
    expect(page).not_to_have_url(re.compile(r"/accounts/login/"))
    expect(page.locator(".usernav__name")).to_have_text(user.display_name)

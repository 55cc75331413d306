"""Friendly error pages for people (the API answers JSON, tested elsewhere)."""

from __future__ import annotations

import pytest
from playwright.sync_api import Page, expect
from pytest_django.live_server_helper import LiveServer

from apps.accounts.models import User

from .conftest import BrowserErrors, sign_in


def expect_friendly_404(page: Page, lands_on: str) -> None:
    """The friendly 404 page; its home link leads to ``lands_on``."""
    expect(page).to_have_title("Page not found · CoE Portal")
    expect(page.get_by_role("heading", level=1)).to_have_text("Page not found")
    expect(page.locator(".error-page__code")).to_have_text("404")
    expect(page.locator("main")).to_contain_text("There is nothing at this address.")
    expect(page.locator("main")).not_to_contain_text("Traceback")
    home = page.get_by_role("link", name="Go to the home page")
    expect(home).to_have_attribute("href", "/")
    home.click()
    expect(page).to_have_url(lands_on)


@pytest.mark.parametrize(
    "path",
    ["/no-such-page/", "/accounts/teams/nope/", "/section/nope/"],
    ids=["unknown-url", "unknown-team", "unknown-section"],
)
def test_missing_page_shows_friendly_404_with_link_home(
    page: Page, live_server: LiveServer, team_member: User, browser_errors: BrowserErrors, path: str
) -> None:
    sign_in(page, live_server, team_member)
    browser_errors.allow_http(path, 404)

    response = page.goto(path)

    assert response is not None
    assert response.status == 404
    assert response.headers["content-type"].startswith("text/html")
    # Still inside the portal: the navigation is there to find the way.
    expect(page.get_by_role("navigation", name="Main").get_by_role("link", name="Teams")).to_be_visible()
    expect_friendly_404(page, lands_on=f"{live_server.url}/")
    expect(page.get_by_role("heading", level=1)).to_have_text("Welcome, Tina Member")


def test_anonymous_visitor_of_unknown_url_gets_friendly_404_not_sign_in(
    page: Page, live_server: LiveServer, anonymous: None, browser_errors: BrowserErrors
) -> None:
    browser_errors.allow_http("/no-such-page/", 404)

    response = page.goto("/no-such-page/")

    assert response is not None
    assert response.status == 404
    expect(page.get_by_role("navigation", name="Main")).to_have_count(0)
    # Home needs a signed-in user.
    expect_friendly_404(page, lands_on=f"{live_server.url}/accounts/login/?next=/")

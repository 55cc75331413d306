"""On a phone-sized screen the navigation folds behind a "Menu" toggle."""

from __future__ import annotations

from playwright.sync_api import Page, expect
from pytest_django.live_server_helper import LiveServer

from apps.accounts.models import User

from .conftest import sign_in

PHONE = {"width": 390, "height": 844}


def test_phone_viewport_hides_navigation_behind_menu_toggle_that_opens_it(
    page: Page, live_server: LiveServer, team_member: User
) -> None:
    page.set_viewport_size(PHONE)
    sign_in(page, live_server, team_member)
    expect(page.get_by_role("heading", level=1)).to_have_text("Welcome, Tina Member")

    menu = page.locator("label.nav-toggle__label")
    expect(menu).to_be_visible()
    expect(menu).to_have_text("☰ Menu")
    nav = page.get_by_role("navigation", name="Main")
    expect(nav).to_be_hidden()
    expect(page.get_by_role("button", name="Sign out")).to_be_visible()

    menu.click()

    expect(page.get_by_role("checkbox", name="Show navigation")).to_be_checked()
    expect(nav).to_be_visible()
    for label in ("Registry", "Policies", "Templates", "Feedback", "Dashboards", "Teams"):
        expect(nav.get_by_role("link", name=label, exact=True)).to_be_visible()
    # The links fit the screen: nothing is pushed off to the right.
    assert page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]

    nav.get_by_role("link", name="Teams", exact=True).click()
    expect(page).to_have_url(f"{live_server.url}/accounts/teams/")
    expect(page.get_by_role("heading", level=1)).to_have_text("Teams")
    expect(nav).to_be_hidden()  # a new page starts with the menu closed


def test_wide_viewport_shows_navigation_without_menu_toggle(
    page: Page, live_server: LiveServer, team_member: User
) -> None:
    sign_in(page, live_server, team_member)
    expect(page.locator("label.nav-toggle__label")).to_be_hidden()
    expect(page.get_by_role("navigation", name="Main").get_by_role("link", name="Registry")).to_be_visible()

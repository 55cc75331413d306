"""The teams page: the search box filters the table in place (htmx) and keeps the URL."""

from __future__ import annotations

import re

from playwright.sync_api import Page, expect
from pytest_django.live_server_helper import LiveServer

from apps.accounts.models import User

from .conftest import sign_in


def test_team_search_filters_table_in_place_and_puts_query_in_url(
    page: Page, live_server: LiveServer, team_member: User, other_team_member: User
) -> None:
    sign_in(page, live_server, team_member)
    page.get_by_role("navigation", name="Main").get_by_role("link", name="Teams", exact=True).click()
    expect(page).to_have_url(f"{live_server.url}/accounts/teams/")
    expect(page.get_by_role("heading", level=1)).to_have_text("Teams")
    table = page.locator("#team-table")
    expect(table.get_by_role("link", name="Claims Automation")).to_be_visible()
    expect(table.get_by_role("link", name="Customer Service AI")).to_be_visible()

    page.evaluate("window.__sameDocument = true")
    page.get_by_role("searchbox", name="Search teams").press_sequentially("claims")

    expect(table.get_by_role("link", name="Customer Service AI")).to_have_count(0)
    expect(table.get_by_role("link", name="Claims Automation")).to_be_visible()
    expect(table.get_by_role("row")).to_have_count(2)  # the header and one team
    expect(page).to_have_url(re.compile(r"/accounts/teams/\?q=claims$"))
    assert page.evaluate("window.__sameDocument") is True, "the page was reloaded, not updated"

    # The pushed URL is a real address: loading it gives the same result.
    page.reload()
    expect(page.get_by_role("searchbox", name="Search teams")).to_have_value("claims")
    expect(table.get_by_role("link", name="Customer Service AI")).to_have_count(0)
    expect(table.get_by_role("link", name="Claims Automation")).to_be_visible()


def test_team_search_with_no_match_says_so(page: Page, live_server: LiveServer, team_member: User) -> None:
    sign_in(page, live_server, team_member)
    page.goto("/accounts/teams/")

    page.get_by_role("searchbox", name="Search teams").fill("zzz")

    expect(page.locator("#team-table")).to_have_text("No team matches “zzz”.")
    expect(page.locator("#team-table").get_by_role("table")).to_have_count(0)
    expect(page).to_have_url(re.compile(r"\?q=zzz$"))


def test_back_and_forward_after_a_search_restore_the_whole_page(
    page: Page, live_server: LiveServer, team_member: User, other_team_member: User
) -> None:
    sign_in(page, live_server, team_member)
    page.goto(f"{live_server.url}/accounts/teams/")
    page.get_by_role("searchbox", name="Search teams").press_sequentially("claims")
    expect(page).to_have_url(re.compile(r"\?q=claims$"))
    page.go_back()
    expect(page).to_have_url(f"{live_server.url}/accounts/teams/")
    expect(page.get_by_role("heading", level=1)).to_have_text("Teams")
    expect(page.get_by_role("navigation", name="Main")).to_be_visible()
    expect(page.locator("#team-table").get_by_role("link", name="Customer Service AI")).to_be_visible()
    page.go_forward()
    expect(page.get_by_role("heading", level=1)).to_have_text("Teams")
    expect(page.locator("#team-table").get_by_role("link", name="Customer Service AI")).to_have_count(0)

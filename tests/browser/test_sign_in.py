"""Signing in and out through the real form, as each persona; what the home page shows them."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import Page, expect
from pytest_django.live_server_helper import LiveServer

from apps.accounts.models import User

from .conftest import sign_in

MAIN_NAV_LINKS = ("Registry", "Policies", "Templates", "Feedback", "Dashboards", "Teams")
ROLE_CARDS = ("Your teams", "CoE staff", "Portfolio")

# persona -> (display name, sees Admin, {card title: texts the card lists})
EXPECTED = {
    "team_member": ("Tina Member", False, {"Your teams": ["Claims Automation"]}),
    "other_team_member": ("Otto Other", False, {"Your teams": ["Customer Service AI"]}),
    "coe_staff": ("Cora Staff", True, {"CoE staff": ["Teams, people, roles and tokens are managed in the admin."]}),
    "leader": ("Lee Leader", False, {"Portfolio": ["No workloads report spend or value yet."]}),
}


@pytest.mark.parametrize("persona", list(EXPECTED), indirect=True)
def test_persona_signs_in_sees_navigation_and_own_cards_then_signs_out(
    page: Page, live_server: LiveServer, persona: User, request: pytest.FixtureRequest
) -> None:
    name = request.node.callspec.params["persona"]
    display_name, sees_admin, cards = EXPECTED[name]

    sign_in(page, live_server, persona)

    expect(page).to_have_url(f"{live_server.url}/")
    expect(page.get_by_role("heading", level=1)).to_have_text(f"Welcome, {display_name}")
    expect(page).to_have_title(re.compile(r"^Home · "))

    nav = page.get_by_role("navigation", name="Main")
    for label in MAIN_NAV_LINKS:
        expect(nav.get_by_role("link", name=label, exact=True)).to_be_visible()
    admin = nav.get_by_role("link", name="Admin", exact=True)
    if sees_admin:
        expect(admin).to_be_visible()
        expect(admin).to_have_attribute("href", "/admin/")
    else:
        expect(admin).to_have_count(0)

    for title in ROLE_CARDS:
        card = page.get_by_role("region", name=title, exact=True)
        if title in cards:
            expect(card).to_be_visible()
            for text in cards[title]:
                expect(card).to_contain_text(text)
        else:
            expect(card).to_have_count(0)

    page.get_by_role("button", name="Sign out").click()
    expect(page).to_have_url(f"{live_server.url}/accounts/login/")
    expect(page.get_by_role("heading", name="Sign in", level=1)).to_be_visible()
    expect(page.get_by_role("navigation", name="Main")).to_have_count(0)

    # The session is really over: the home page asks to sign in again.
    page.goto("/")
    expect(page).to_have_url(re.compile(r"/accounts/login/\?next=/$"))


def test_team_member_card_links_to_their_team_page(page: Page, live_server: LiveServer, team_member: User) -> None:
    sign_in(page, live_server, team_member)
    page.get_by_role("region", name="Your teams").get_by_role("link", name="Claims Automation").click()
    expect(page).to_have_url(f"{live_server.url}/accounts/teams/claims-automation/")
    expect(page.get_by_role("heading", level=1)).to_have_text("Claims Automation")
    expect(page.get_by_role("region", name="Members")).to_contain_text("Tina Member")


def test_anonymous_visitor_of_home_is_sent_to_sign_in_page(
    page: Page, live_server: LiveServer, anonymous: None
) -> None:
    page.goto("/")
    expect(page).to_have_url(f"{live_server.url}/accounts/login/?next=/")
    expect(page.get_by_role("heading", name="Sign in", level=1)).to_be_visible()
    expect(page.get_by_label("Username")).to_be_visible()
    expect(page.get_by_label("Password")).to_be_visible()
    expect(page.get_by_role("navigation", name="Main")).to_have_count(0)
    expect(page.get_by_role("button", name="Sign out")).to_have_count(0)


def test_wrong_password_shows_same_error_whether_or_not_the_user_exists(
    page: Page, live_server: LiveServer, team_member: User
) -> None:
    answers = []
    for username in (team_member.username, "nobody-by-this-name"):
        page.goto("/accounts/login/")
        page.get_by_label("Username").fill(username)
        page.get_by_label("Password").fill("not-the-password")
        page.get_by_role("button", name="Sign in").click()

        expect(page).to_have_url(f"{live_server.url}/accounts/login/")
        alert = page.get_by_role("alert")
        expect(alert).to_have_text("Your username and password did not match. Please try again.")
        expect(page.get_by_role("heading", name="Sign in", level=1)).to_be_visible()
        # The username is kept, the password is not sent back.
        expect(page.get_by_label("Username")).to_have_value(username)
        expect(page.get_by_label("Password")).to_have_value("")
        answers.append(page.locator("main").inner_text().replace(username, "<username>"))

    assert answers[0] == answers[1], "the page tells an existing account from an unknown one"
    assert not re.search(r"exist|unknown|no such|not found|locked", answers[0], re.IGNORECASE)

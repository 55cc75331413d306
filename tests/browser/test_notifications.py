"""Notifications: the header bell, the list, marking read in place (htmx)."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import Locator, Page, expect
from pytest_django.live_server_helper import LiveServer

from apps.accounts.models import User
from apps.core.services import notification_send

from .conftest import sign_in

FIRST = "Policy P-7 has a new version"
SECOND = "Your feedback got a reply"


@pytest.fixture
def two_notifications(team_member: User) -> None:
    notification_send(recipients=[team_member], title=FIRST, body="Read **what changed**.")
    notification_send(recipients=[team_member], title=SECOND)


def bell(page: Page) -> Locator:
    return page.get_by_role("link", name="Notifications")


def badge(page: Page) -> Locator:
    return bell(page).locator("[data-unread]")


def item(page: Page, title: str) -> Locator:
    return page.locator("#notification-table li").filter(has_text=title)


def test_bell_counts_unread_and_mark_read_updates_list_and_badge_in_place(
    page: Page, live_server: LiveServer, team_member: User, two_notifications: None
) -> None:
    sign_in(page, live_server, team_member)

    expect(badge(page)).to_have_attribute("data-unread", "2")
    expect(badge(page)).to_have_text("2 unread")
    expect(page.get_by_role("region", name="Notifications")).to_contain_text("You have 2 unread notifications.")

    bell(page).click()
    expect(page).to_have_url(f"{live_server.url}/notifications/")
    expect(page.get_by_role("heading", level=1)).to_have_text("Notifications")
    expect(page.locator("#notification-table li")).to_have_count(2)
    for title in (FIRST, SECOND):
        expect(item(page, title)).to_have_class(re.compile(r"\bnotification--unread\b"))
        expect(item(page, title).get_by_role("button", name="Mark read")).to_be_visible()
    expect(item(page, FIRST).locator("strong", has_text="what changed")).to_be_visible()  # Markdown

    # htmx: no navigation, so a marker set on this document survives the update.
    page.evaluate("window.__sameDocument = true")
    item(page, FIRST).get_by_role("button", name="Mark read").click()

    expect(badge(page)).to_have_attribute("data-unread", "1")
    expect(item(page, FIRST)).not_to_have_class(re.compile(r"\bnotification--unread\b"))
    expect(item(page, FIRST).get_by_role("button", name="Mark read")).to_have_count(0)
    expect(item(page, SECOND)).to_have_class(re.compile(r"\bnotification--unread\b"))
    expect(page.locator("#notification-table li")).to_have_count(2)
    assert page.evaluate("window.__sameDocument") is True
    expect(page).to_have_url(f"{live_server.url}/notifications/")

    page.get_by_role("button", name="Mark all read").click()

    expect(badge(page)).to_have_count(0)
    expect(page.get_by_role("button", name="Mark read")).to_have_count(0)
    expect(page.locator("#notification-table li.notification--unread")).to_have_count(0)
    expect(page.locator("#notification-table li")).to_have_count(2)
    assert page.evaluate("window.__sameDocument") is True

    # What the server now says agrees with what the page shows.
    page.get_by_role("navigation", name="Filter").get_by_role("link", name="Unread").click()
    expect(page).to_have_url(f"{live_server.url}/notifications/?show=unread")
    expect(page.locator("#notification-table")).to_have_text("No unread notifications.")
    page.goto("/")
    expect(badge(page)).to_have_count(0)
    expect(page.get_by_role("region", name="Notifications")).to_have_count(0)

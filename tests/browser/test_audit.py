"""The audit trail page: CoE staff filter by actor and period (the table updates in place and the
URL keeps the filters), follow the next page and download the CSV; a team member is refused."""

from __future__ import annotations

import csv
import io
import re
from datetime import timedelta
from pathlib import Path

import pytest
from django.utils import timezone
from playwright.sync_api import Page, expect
from pytest_django.live_server_helper import LiveServer

from apps.accounts.models import User
from tests.core.audit_helpers import entry

from .conftest import BrowserErrors, sign_in

FORMULA = '=HYPERLINK("http://evil.example/","Click")'


@pytest.fixture
def trail(team_member: User, other_team_member: User) -> None:
    now = timezone.now()
    for n in range(59):
        entry("workload.update", actor=team_member, target_repr=f"Workload {n}", at=now - timedelta(hours=n + 1))
    entry("workload.update", actor=team_member, target_repr=FORMULA, at=now - timedelta(days=5))
    for n in range(5):  # too old for "last 30 days"
        entry("token.create", actor=team_member, at=now - timedelta(days=45 + n))
    for n in range(7):  # someone else
        entry("workload.register", actor=other_team_member, at=now - timedelta(hours=n + 1))


def rows(page: Page):  # type: ignore[no-untyped-def]
    return page.locator("#audit-table tbody tr")


def test_coe_staff_filter_page_and_download_the_trail(
    page: Page, live_server: LiveServer, coe_staff: User, trail: None
) -> None:
    sign_in(page, live_server, coe_staff)
    page.get_by_role("navigation", name="Main").get_by_role("link", name="Audit trail").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Audit trail")
    expect(rows(page)).to_have_count(50)  # 72 entries and the staff member's sign-in

    page.evaluate("window.__sameDocument = true")
    page.get_by_label("Actor").fill("tina")
    page.get_by_label("Period").select_option(label="Last 30 days")
    expect(page).to_have_url(re.compile(r"actor=tina.*period=30d"))
    expect(rows(page)).to_have_count(50)
    for actor in rows(page).locator("td:nth-child(2)").all_inner_texts():
        assert actor == "tina"
    expect(page.get_by_role("link", name="← Newer")).to_have_count(0)
    assert page.evaluate("window.__sameDocument") is True  # htmx swapped the table, no navigation

    page.get_by_role("link", name="Older →").click()
    expect(page).to_have_url(re.compile(r"actor=tina.*period=30d.*after="))
    expect(rows(page)).to_have_count(10)
    expect(rows(page).last).to_contain_text(FORMULA)  # the oldest of the 60 comes last
    expect(page.get_by_role("link", name="Older →")).to_have_count(0)
    expect(page.get_by_role("link", name="← Newer")).to_be_visible()
    assert page.evaluate("window.__sameDocument") is True

    # The filtered URL, shared, opens the same page without JavaScript's help.
    page.reload()
    expect(page.get_by_label("Actor")).to_have_value("tina")
    expect(rows(page)).to_have_count(10)

    with page.expect_download() as download_info:
        page.get_by_role("link", name=re.compile("Download CSV")).click()
    download = download_info.value
    assert re.fullmatch(r"audit-trail-\d{4}-\d{2}-\d{2}\.csv", download.suggested_filename)
    table = list(csv.reader(io.StringIO(Path(download.path()).read_text())))
    assert table[0] == ["When", "Actor", "Action", "Object type", "Object id", "Object", "Changes", "IP address"]
    assert len(table) == 1 + 60  # every match, not the page shown
    assert {(row[1], row[2]) for row in table[1:]} == {("tina", "workload.update")}
    assert "'" + FORMULA in [row[5] for row in table[1:]]


def test_a_team_member_is_refused(
    page: Page, live_server: LiveServer, team_member: User, trail: None, browser_errors: BrowserErrors
) -> None:
    sign_in(page, live_server, team_member)
    expect(page.get_by_role("navigation", name="Main").get_by_role("link", name="Audit trail")).to_have_count(0)
    browser_errors.allow_http("/audit/", 403)
    response = page.goto("/audit/?actor=tina")
    assert response is not None
    assert response.status == 403
    expect(page.get_by_role("heading", level=1)).to_have_text("Not allowed")
    expect(page.locator("body")).not_to_contain_text("workload.update")

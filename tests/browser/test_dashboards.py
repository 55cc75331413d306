"""The portfolio in the browser, as the issue's leader does it: opens the portfolio, narrows to one
team and a quarter, follows a number to the workloads behind it, exports the CSV. Then every
dashboard on the demo data: charts drawn (no console error, CSP included), a screenshot of each
(kept in test-results/; with DASHBOARD_SCREENSHOTS=1 also in docs/screenshots/ for the README).
"""

from __future__ import annotations

import csv
import io
import os
import re
from datetime import timedelta
from decimal import Decimal
from io import StringIO
from pathlib import Path

import pytest
from django.core.management import call_command
from django.utils import timezone
from playwright.sync_api import Page, expect
from pytest_django.live_server_helper import LiveServer

from apps.accounts.models import Team, User
from apps.dashboards.filters import period_bounds
from apps.registry.models import Workload
from apps.telemetry.models import Scorecard
from apps.telemetry.money import weekly_money_refresh
from tests.registry.factories import WorkloadFactory

from .conftest import sign_in

pytestmark = pytest.mark.browser

ROOT = Path(__file__).resolve().parents[2]
RESULTS = ROOT / "test-results" / "dashboards"
SCREENSHOTS = ROOT / "docs" / "screenshots"


def expect_drawn(page: Page) -> None:
    """Every chart holder on the page has an SVG from Plotly (none left pending)."""
    holders = page.locator("[data-dashboard-chart]")
    expect(holders.first).to_be_visible()
    expect(page.locator("[data-dashboard-chart]:not([data-drawn='yes'])")).to_have_count(0)
    for i in range(holders.count()):
        expect(holders.nth(i).locator("svg.main-svg").first).to_be_attached()


def _cards(workload: Workload, days: range, cost: str, value: str) -> None:
    today = timezone.now().date()
    for n in days:
        Scorecard.objects.create(
            workload=workload, day=today - timedelta(days=n), computed_at=timezone.now(), complete=True,
            requests=100, cost=Decimal(cost), value=Decimal(value), currency="USD",
        )  # fmt: skip
    # As scoring does with every card it writes: the portfolio reads whole weeks from the summary.
    weekly_money_refresh(workload_id=workload.pk, days=[today - timedelta(days=n) for n in days])


def test_a_leader_narrows_the_portfolio_follows_a_number_and_exports_it(
    page: Page, live_server: LiveServer, leader: User, team: Team, other_team: Team
) -> None:
    claims = WorkloadFactory(name="Claims Triage", team=team, lifecycle_stage="production")
    letters = WorkloadFactory(name="Letter Drafts", team=team, lifecycle_stage="pilot")
    fraud = WorkloadFactory(name="Fraud Notes", team=other_team, lifecycle_stage="production")
    _cards(claims, range(0, 120), "10", "30")
    _cards(letters, range(0, 120), "5", "5")
    _cards(fraud, range(0, 120), "20", "10")

    sign_in(page, live_server, leader)
    page.get_by_role("navigation", name="Main").get_by_role("link", name="Dashboards").click()
    expect(page).to_have_url(f"{live_server.url}/dashboards/portfolio/")
    expect(page.get_by_role("heading", level=1)).to_have_text("Portfolio")
    expect_drawn(page)
    expect(page.locator("#table-workloads")).to_contain_text("Fraud Notes")

    # Narrow to one team and this quarter: htmx swaps the body, the URL keeps the filters.
    filters = page.get_by_role("search", name="Period and filters")
    filters.get_by_label("Team").select_option(label=team.name)
    expect(page).to_have_url(re.compile(rf"/dashboards/portfolio/\?.*team={team.slug}"))
    filters.get_by_label("Period").select_option(label="This quarter")
    expect(page).to_have_url(re.compile(rf"/dashboards/portfolio/\?period=qtd&.*team={team.slug}"))
    start, end = period_bounds("qtd", timezone.now().date())
    days = (end - start).days + 1
    spend = page.locator("#kpi-spend .kpi__value")
    expect(spend).to_have_text(f"{15 * days:,.2f} USD")  # a quarter is shorter than the 120 days of cards
    expect(page.locator("#table-workloads")).not_to_contain_text("Fraud Notes")
    expect_drawn(page)

    # The data behind a chart, without the chart.
    page.locator("#section-roi-workload summary").click()
    expect(page.locator("#table-roi-workload")).to_contain_text("Claims Triage")

    # The CSV of the workloads table, with the filters applied.
    with page.expect_download() as download_info:
        page.locator("#section-workloads").get_by_role("link", name="CSV").click()
    download = download_info.value
    assert download.suggested_filename.startswith("portfolio-workloads-")
    rows = list(csv.reader(io.StringIO(Path(download.path()).read_text())))
    assert rows[0][0] == "Workload"
    assert sorted(row[0] for row in rows[1:]) == ["Claims Triage", "Letter Drafts"]

    # A number leads to the workloads behind it: the registry, filtered the same way.
    spend.click()
    expect(page).to_have_url(f"{live_server.url}/registry/?team={team.slug}")
    expect(page.locator("#workload-table")).to_contain_text("Claims Triage")
    expect(page.locator("#workload-table")).not_to_contain_text("Fraud Notes")


@pytest.mark.usefixtures("transactional_db")
def test_every_dashboard_draws_on_the_demo_data(page: Page, live_server: LiveServer, settings) -> None:  # type: ignore[no-untyped-def]
    settings.DEMO_TELEMETRY_DAYS = 30
    call_command("seed_demo", stdout=StringIO())
    RESULTS.mkdir(parents=True, exist_ok=True)
    keep = os.environ.get("DASHBOARD_SCREENSHOTS") == "1"
    lead = User.objects.get(username="lead")
    sign_in(page, live_server, lead, password="demo-portal-2026")
    busy = Scorecard.objects.order_by("-requests").first().workload
    pages = {
        "portfolio": "/dashboards/portfolio/",
        "models": "/dashboards/models/",
        "compliance": "/dashboards/compliance/",
        "adoption": "/dashboards/adoption/",
        "operations": f"/dashboards/workloads/{busy.slug}/",
    }
    for name, path in pages.items():
        page.goto(f"{live_server.url}{path}")
        expect(page.get_by_role("heading", level=1)).to_be_visible()
        expect_drawn(page)
        if name == "portfolio":  # the demo stored the compliance counts, as beat does every five minutes
            expect(page.get_by_text("Risk × compliance as of")).to_be_visible()
        shot = page.screenshot(full_page=True)
        (RESULTS / f"dashboard-{name}.png").write_bytes(shot)
        if keep:  # the README's: the first screenful
            (SCREENSHOTS / f"dashboard-{name}.png").write_bytes(page.screenshot())

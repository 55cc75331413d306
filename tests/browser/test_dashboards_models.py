"""The model comparison in the browser: a team member opens it from the Dashboards tabs, sees every
model's figures across the organisation (other teams' telemetry included, no team named), narrows
it by risk tier and then by model with htmx (the URL keeps the filters) and the charts draw again
each time; the data behind a chart opens without the chart. The page fixture fails the test on any
console error, CSP violation included."""

from __future__ import annotations

import re
from decimal import Decimal

import pytest
from django.utils import timezone
from playwright.sync_api import Page, expect
from pytest_django.live_server_helper import LiveServer

from apps.accounts.models import Team, User
from apps.registry.models import AIModel
from apps.telemetry import rollups
from apps.telemetry.models import LATENCY_BUCKETS, MonthlyModelRollup, latency_bucket
from tests.registry.factories import AIModelFactory, WorkloadFactory

from .conftest import sign_in

pytestmark = pytest.mark.browser

CHARTS = ("cost", "latency", "errors", "quality", "by-category", "cost-quality")


def expect_drawn(page: Page) -> None:
    """Plotly drew an SVG into every chart of the page, none left pending."""
    for key in CHARTS:
        expect(page.locator(f"#chart-{key}[data-drawn='yes'] svg.main-svg").first).to_be_attached()
    expect(page.locator("[data-dashboard-chart]:not([data-drawn='yes'])")).to_have_count(0)


def _hist(ms: float, n: int) -> list[int]:
    hist = [0] * LATENCY_BUCKETS
    hist[latency_bucket(ms)] = n
    return hist


def test_a_team_member_compares_models_and_narrows_by_risk_tier_and_model(
    page: Page, live_server: LiveServer, team_member: User, team: Team, other_team: Team
) -> None:
    mini = AIModelFactory(provider="openai", model_id="gpt-4o-mini", display_name="GPT-4o mini")
    haiku = AIModelFactory(provider="anthropic", model_id="claude-haiku", display_name="Claude Haiku",
                           approval_status=AIModel.ApprovalStatus.CONDITIONAL, conditions="No PII.")  # fmt: skip
    ours = WorkloadFactory(name="Claims Triage", team=team, use_case_category="document_processing",
                           risk_tier="limited")  # fmt: skip
    theirs = WorkloadFactory(name="Fraud Notes", team=other_team, use_case_category="customer_support",
                             risk_tier="high")  # fmt: skip
    this_month = timezone.now().date().replace(day=1)
    for workload, model, requests, cost, quality, ms in (
        (ours, mini, 3000, "1.35", 2400.0, 700),  # $0.45 per 1,000, quality 0.8
        (theirs, mini, 1000, "0.45", 850.0, 900),
        (theirs, haiku, 1000, "3.00", 900.0, 1500),  # $3.00 per 1,000, quality 0.9
    ):
        MonthlyModelRollup.objects.create(
            workload=workload, month=this_month, model_name=model.model_id, ai_model=model, requests=requests,
            errors=requests // 100, cost=Decimal(cost), quality_sum=quality, quality_count=requests,
            latency_hist=_hist(ms, requests),
        )  # fmt: skip
    rollups.category_refresh()  # as the quarter-hourly beat task does

    sign_in(page, live_server, team_member)
    page.get_by_role("navigation", name="Main").get_by_role("link", name="Dashboards").click()
    page.get_by_role("navigation", name="Dashboards").get_by_role("link", name="Model comparison").click()
    expect(page).to_have_url(re.compile(r"/dashboards/models/\?period=30d$"))
    expect(page.get_by_role("heading", level=1)).to_have_text("Model comparison")
    expect(page.locator(".dashboard-note").first).to_contain_text("Read in whole calendar months")
    expect(page.locator(".dashboard-note").last).to_contain_text("Organisation-wide figures as of")
    expect_drawn(page)
    # Organisation-wide: the other team's telemetry counts, and no team or workload is named.
    expect(page.locator("#kpi-requests .kpi__value")).to_have_text("5,000")
    expect(page.locator("#kpi-models .kpi__value")).to_have_text("2")
    expect(page.locator("#kpi-cost-per-1k .kpi__value")).to_have_text("0.9600 USD")  # $4.80 / 5,000
    table = page.locator("#table-models")
    expect(table.locator("tbody tr")).to_have_count(3)
    expect(page.locator("#dashboard-body")).not_to_contain_text("Fraud Notes")
    expect(page.locator("#dashboard-body")).not_to_contain_text(other_team.name)
    expect(page.locator("#chart-cost-quality .scatterlayer .point")).to_have_count(2)
    expect(page.locator("#chart-cost-quality .legendtext")).to_have_text(["GPT-4o mini", "Claude Haiku"])

    # The data behind the heat map, without the chart.
    page.locator("#section-by-category summary").click()
    expect(page.locator("#table-by-category")).to_contain_text("Customer support")

    # Narrow by risk tier: only the high-risk workload's telemetry, charts drawn again.
    filters = page.get_by_role("search", name="Period and filters")
    filters.get_by_label("Risk tier").select_option(label="High")
    expect(page).to_have_url(re.compile(r"/dashboards/models/\?.*risk_tier=high"))
    expect(page.locator("#kpi-requests .kpi__value")).to_have_text("2,000")
    expect(table.locator("tbody tr")).to_have_count(2)
    expect_drawn(page)

    # Then by model: that model's telemetry only; its name leads to its catalogue entry.
    filters.get_by_label("Model", exact=True).select_option(label="Claude Haiku")
    expect(page).to_have_url(re.compile(r"/dashboards/models/\?.*risk_tier=high.*model=anthropic-claude-haiku"))
    expect(page.locator("#kpi-requests .kpi__value")).to_have_text("1,000")
    expect(page.locator("#kpi-cost-per-1k .kpi__value")).to_have_text("3.00 USD")
    expect(table.locator("tbody tr")).to_have_count(1)
    expect_drawn(page)
    expect(page.locator("#chart-cost-quality .scatterlayer .point")).to_have_count(1)  # one bubble: one model
    # The tabs carry the filters to the other dashboards.
    portfolio = page.get_by_role("navigation", name="Dashboards").get_by_role("link", name="Portfolio")
    expect(portfolio).to_have_attribute("href", re.compile(r"risk_tier=high.*model=anthropic-claude-haiku"))
    table.get_by_role("link", name="Claude Haiku").click()
    expect(page).to_have_url(f"{live_server.url}/registry/models/{haiku.slug}/")
    expect(page.get_by_role("heading", level=1)).to_contain_text("Claude Haiku")

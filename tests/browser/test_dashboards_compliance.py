"""The compliance posture dashboard in the browser: a CoE staff member opens it from the Dashboards
tabs, sees the charts drawn (Plotly's strict bundle under the CSP: the page fixture fails on any
console error), narrows to the high-risk workloads (htmx swaps the body, the URL keeps the filter)
and follows a failing control to the workload's Compliance tab. A team member is refused.

Policies, attestations and waivers go through governance's services; check results are written
directly, with the times they were evaluated.
"""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from django.utils import timezone
from playwright.sync_api import Page, expect
from pytest_django.live_server_helper import LiveServer

from apps.accounts.models import Team, User
from apps.governance import services as governance
from apps.governance.models import CheckResult, Control
from apps.registry.models import Workload
from tests.registry.factories import WorkloadFactory

from .conftest import BrowserErrors, sign_in

CHARTS = ("by-policy", "by-risk-tier", "by-team", "attestation-debt-by-team")


def check(workload: Workload, control: Control, state: str, days_ago: int, detail: str) -> None:
    result = CheckResult.objects.create(workload=workload, control=control, state=state, detail=detail)
    CheckResult.objects.filter(pk=result.pk).update(evaluated_at=timezone.now() - timedelta(days=days_ago))


@pytest.fixture
def posture(coe_staff: User, team: Team, other_team: Team) -> dict[str, Workload]:
    """Claims Triage (high risk) fails its latency check since two days ago and owes an attestation;
    Lunch Bot (minimal) fails its budget; Letter Drafts (limited) meets everything."""
    policy = governance.policy_create(actor=coe_staff, title="Human oversight", category="security_governance",
                                      summary="People stay in charge.")  # fmt: skip
    version = governance.policy_version_create(actor=coe_staff, policy=policy, number="1.0.0", body="People decide.")
    governance.control_add(actor=coe_staff, version=version, key="human-review", title="Human review",
                           statement="A person reviews every decision.", kind="attestation",
                           risk_tiers=["high"])  # fmt: skip
    governance.control_add(actor=coe_staff, version=version, key="budget", title="Within budget",
                           statement="Monthly cost stays within budget.", kind="automated", metric="monthly_cost",
                           operator="<=", threshold_source="monthly_budget")  # fmt: skip
    governance.control_add(actor=coe_staff, version=version, key="latency", title="Latency within objective",
                           statement="p95 latency meets the objective.", kind="automated", metric="p95_latency_ms",
                           operator="<=", threshold_source="objective_p95_latency_ms",
                           risk_tiers=["high", "limited"])  # fmt: skip
    governance.policy_version_publish(actor=coe_staff, version=version)
    budget, latency = version.controls.get(key="budget"), version.controls.get(key="latency")
    claims = WorkloadFactory(name="Claims Triage", team=team, risk_tier="high", lifecycle_stage="production")
    letters = WorkloadFactory(name="Letter Drafts", team=team, risk_tier="limited", lifecycle_stage="production")
    lunch = WorkloadFactory(name="Lunch Bot", team=other_team, risk_tier="minimal", lifecycle_stage="pilot")
    check(claims, latency, "failing", 2, "p95_latency_ms = 2600 (breaks <= 2000)")
    check(claims, latency, "failing", 1, "p95_latency_ms = 2400 (breaks <= 2000)")
    check(claims, budget, "passing", 1, "monthly_cost = 300 (meets <= 1000)")
    check(letters, latency, "passing", 1, "p95_latency_ms = 800 (meets <= 900)")
    check(letters, budget, "passing", 1, "monthly_cost = 100 (meets <= 1000)")
    check(lunch, budget, "failing", 1, "monthly_cost = 1200 (breaks <= 1000)")
    return {"claims": claims, "letters": letters, "lunch": lunch}


def expect_drawn(page: Page) -> None:
    expect(page.locator("[data-dashboard-chart]")).to_have_count(len(CHARTS))
    expect(page.locator('[data-dashboard-chart][data-drawn="yes"]')).to_have_count(len(CHARTS))
    for name in CHARTS:
        expect(page.locator(f"#chart-{name} svg.main-svg").first).to_be_attached()


def test_the_coe_narrows_to_high_risk_and_follows_a_failing_control(
    page: Page, live_server: LiveServer, coe_staff: User, posture: dict[str, Workload]
) -> None:
    sign_in(page, live_server, coe_staff)
    page.get_by_role("navigation", name="Main").get_by_role("link", name="Dashboards").click()
    expect(page).to_have_url(f"{live_server.url}/dashboards/portfolio/")
    tabs = page.get_by_role("navigation", name="Dashboards")
    tabs.get_by_role("link", name="Compliance posture").click()
    expect(page).to_have_url(re.compile(r"/dashboards/compliance/\?period=30d$"))
    expect(page.get_by_role("heading", level=1)).to_have_text("Compliance posture")
    expect(tabs.get_by_role("link", name="Compliance posture")).to_have_attribute("aria-current", "page")
    expect_drawn(page)
    expect(page.locator("#kpi-compliant .kpi__value")).to_have_text("33 %")
    expect(page.locator("#kpi-compliant")).to_contain_text("1 of 3 workloads under controls")
    expect(page.locator("#kpi-failing .kpi__value")).to_have_text("2")
    expect(page.locator("#kpi-attestation-debt .kpi__value")).to_have_text("1")
    failing = page.locator("#table-failing")
    expect(failing.locator("tbody tr")).to_have_count(2)

    # The data behind a chart, without the chart.
    page.locator("#section-by-risk-tier summary").click()
    expect(page.locator("#table-by-risk-tier tbody tr")).to_have_count(3)
    expect(page.locator("#table-by-risk-tier tbody tr").last).to_contain_text("High")

    # Narrow to high-risk workloads: htmx swaps the body, the URL keeps the filter, the charts redraw.
    filters = page.get_by_role("search", name="Period and filters")
    filters.get_by_label("Risk tier").select_option(label="High")
    expect(page).to_have_url(re.compile(r"/dashboards/compliance/\?.*risk_tier=high"))
    expect(page.locator("#kpi-compliant")).to_contain_text("0 of 1 workload under controls")
    expect(page.locator("#kpi-failing .kpi__value")).to_have_text("1")
    expect(failing.locator("tbody tr")).to_have_count(1)
    expect_drawn(page)
    expect(tabs.get_by_role("link", name="Compliance posture")).to_have_attribute("href", re.compile(r"risk_tier=high"))

    row = failing.locator("tbody tr").filter(has_text="Latency within objective")
    expect(row).to_contain_text("p95_latency_ms = 2400 (breaks <= 2000)")
    since = timezone.localdate() - timedelta(days=2)
    expect(row).to_contain_text(f"{since.day} {since:%b %Y}")  # as the portal writes dates
    row.get_by_role("link", name="Claims Triage").click()
    expect(page).to_have_url(f"{live_server.url}/governance/w/{posture['claims'].slug}/")
    expect(page.get_by_role("heading", level=1)).to_have_text("Claims Triage")
    latency = page.locator("#tab-panel table tbody tr").filter(
        has=page.get_by_role("rowheader", name=re.compile(r"^Latency within objective"))
    )
    expect(latency.locator("td").nth(1)).to_have_text("Failing")


def test_a_team_member_is_refused(
    page: Page, live_server: LiveServer, team_member: User, browser_errors: BrowserErrors,
    posture: dict[str, Workload],
) -> None:  # fmt: skip
    sign_in(page, live_server, team_member)
    page.goto(f"{live_server.url}/dashboards/portfolio/")
    expect(page.get_by_role("navigation", name="Dashboards").get_by_role("link", name="Compliance posture")
           ).to_have_count(0)  # fmt: skip
    browser_errors.allow_http("/dashboards/compliance/", 403)
    response = page.goto(f"{live_server.url}/dashboards/compliance/")
    assert response is not None
    assert response.status == 403

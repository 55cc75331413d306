"""The adoption dashboard in the browser: the CoE sees which adopters lag.

A team adopts a runbook at 1.0.0, then the CoE publishes 2.0.0 (both through the library and
registry services, as the pages would); a CoE staff member opens the adoption dashboard, sees the
charts drawn (Plotly's strict bundle under the CSP: the page fixture fails on any console error),
finds the workload in the table of adopters that lag and follows it to the workload's Templates tab,
where the upgrade waits. A team member is refused.
"""

from __future__ import annotations

import pytest
from playwright.sync_api import Page, expect
from pytest_django.live_server_helper import LiveServer

from apps.accounts.models import Team, User
from apps.feedback import services as feedback
from apps.governance import services as governance
from apps.library import services as library
from apps.library.models import Template
from apps.registry import services as registry
from apps.registry.adoption import adoption_set
from apps.registry.models import Workload
from tests.registry.factories import AIModelFactory

from .conftest import BrowserErrors, sign_in

PAGE = "/dashboards/adoption/"


@pytest.fixture
def lagging(coe_staff: User, team_member: User, team: Team) -> Workload:
    """Claims Assistant adopted the outage runbook at 1.0.0; 2.0.0 is out since. One policy and one
    rated thread, so every chart has something to draw."""
    workload = registry.workload_register(actor=team_member, team=team, name="Claims Assistant",
                                          ai_models=[AIModelFactory(model_id="gpt-4o-mini")])  # fmt: skip
    runbook = library.template_create(actor=coe_staff, title="Outage runbook", kind=Template.Kind.RUNBOOK,
                                      category="infrastructure", summary="Fail over.")  # fmt: skip
    first = library.version_create(actor=coe_staff, template=runbook, number="1.0.0", body="Step one.")
    library.version_publish(actor=coe_staff, version=first)
    adoption_set(actor=team_member, workload=workload, version=first)
    second = library.version_create(actor=coe_staff, template=runbook, number="2.0.0", body="Step one, then two.",
                                    changelog="Adds step two.")  # fmt: skip
    library.version_publish(actor=coe_staff, version=second)

    policy = governance.policy_create(actor=coe_staff, title="Human review", category="security_governance",
                                      summary="People check.")  # fmt: skip
    version = governance.policy_version_create(actor=coe_staff, policy=policy, number="1.0.0", body="Review.")
    governance.control_add(actor=coe_staff, version=version, title="Sampled review", statement="Sample 5 %.",
                           kind="attestation")  # fmt: skip
    governance.policy_version_publish(actor=coe_staff, version=version)
    feedback.thread_open(actor=team_member, title="Step one is unclear", body="Which region first?",
                         kind="problem", rating=3, template=runbook)  # fmt: skip
    return workload


def test_the_coe_sees_which_adopters_lag_and_follows_one(
    page: Page, live_server: LiveServer, coe_staff: User, lagging: Workload
) -> None:
    sign_in(page, live_server, coe_staff)
    page.goto(PAGE)  # straight there: the portfolio page behind the Dashboards menu is another test's business
    expect(page.get_by_role("navigation", name="Dashboards").get_by_role("link", name="Guidance adoption and feedback")
           ).to_have_attribute("aria-current", "page")  # fmt: skip
    expect(page.get_by_role("heading", level=1)).to_have_text("Guidance adoption and feedback")
    expect(page.locator("#kpi-behind .kpi__value")).to_have_text("1")
    expect(page.locator("#kpi-behind")).to_contain_text("100 % of 1 adoptions")

    charts = page.locator("[data-dashboard-chart]")
    expect(charts).to_have_count(5)
    expect(page.locator('[data-dashboard-chart][data-drawn="yes"]')).to_have_count(5)
    expect(page.locator("#chart-lag svg.main-svg").first).to_be_visible()

    table = page.locator("#table-lagging")
    row = table.get_by_role("row").filter(has_text="Claims Assistant")
    expect(row).to_have_count(1)
    for cell in ("Outage runbook", "1.0.0", "2.0.0", "1 major", "adopted"):
        expect(row).to_contain_text(cell)
    row.get_by_role("link", name="Claims Assistant").click()

    expect(page).to_have_url(f"{live_server.url}/registry/w/{lagging.slug}/templates/")
    expect(page.get_by_role("heading", level=1)).to_have_text("Claims Assistant")
    used = page.locator("#template-outage-runbook")
    expect(used).to_contain_text("Behind the current version (v2.0.0)")
    expect(used.get_by_role("link", name="Upgrade Outage runbook")).to_be_visible()


def test_a_team_member_is_refused(
    page: Page, live_server: LiveServer, team_member: User, lagging: Workload, browser_errors: BrowserErrors
) -> None:
    browser_errors.allow_http(PAGE, 403)
    sign_in(page, live_server, team_member)
    response = page.goto(PAGE)
    assert response is not None
    assert response.status == 403

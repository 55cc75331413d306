"""The compliance posture dashboard (apps/dashboards/compliance.py) and governance's ``failing_since``.

One world, built through governance's services (results of automated checks written directly, with
the times they were evaluated): two policies over six live workloads of two teams and a retired one,
with a valid, a missing and an expired attestation, passing and failing checks, a failing check
waived until soon and a waiver that ends later. Every figure is checked against it.
"""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass
from datetime import timedelta
from decimal import Decimal
from typing import Any

import pytest
from django.db import connection
from django.http import QueryDict
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from apps.accounts.models import Team, User
from apps.dashboards import compliance as dashboard
from apps.dashboards.filters import Filters
from apps.governance import services as governance
from apps.governance.models import Attestation, CheckResult, Control, Policy
from apps.registry.models import Workload
from tests.factories import TeamFactory
from tests.registry.factories import WorkloadFactory

pytestmark = pytest.mark.django_db

PAGE = "/dashboards/compliance/"
API = "/api/v1/dashboards/compliance/"
NOW = timezone.now()
TODAY = timezone.localdate(NOW)


# --- The world -----------------------------------------------------------------------------------


def publish(actor: User, title: str, controls: list[dict[str, Any]]) -> Policy:
    policy = governance.policy_create(actor=actor, title=title, category="security_governance", summary="Do it.")
    version = governance.policy_version_create(actor=actor, policy=policy, number="1.0.0", body=f"{title}.")
    for fields in controls:
        governance.control_add(actor=actor, version=version, **fields)
    governance.policy_version_publish(actor=actor, version=version)
    return policy


def check(workload: Workload, control: Control, state: str, *, days_ago: float, detail: str = "") -> CheckResult:
    result = CheckResult.objects.create(workload=workload, control=control, state=state, detail=detail or state)
    CheckResult.objects.filter(pk=result.pk).update(evaluated_at=NOW - timedelta(days=days_ago))
    return result


def waive(actor: User, workload: Workload, control: Control, days: int) -> None:
    waiver = governance.waiver_request(actor=actor, workload=workload, control=control, justification="For now.",
                                       ends_on=TODAY + timedelta(days=days))  # fmt: skip
    governance.waiver_decide(actor=actor, waiver=waiver, approve=True)


@dataclass
class World:
    workloads: dict[str, Workload]
    review: Control
    latency: Control
    budget: Control


@pytest.fixture
def world(coe_staff: User, team: Team, other_team: Team) -> World:
    oversight = publish(coe_staff, "Human oversight", [
        {"key": "human-review", "title": "Human review", "statement": "A person reviews.", "kind": "attestation",
         "risk_tiers": ["high"], "attestation_valid_days": 90},
        {"key": "latency", "title": "Latency within objective", "statement": "p95 meets the objective.",
         "kind": "automated", "metric": "p95_latency_ms", "operator": "<=",
         "threshold_source": "objective_p95_latency_ms", "risk_tiers": ["high", "limited"]},
    ])  # fmt: skip
    cost = publish(coe_staff, "Cost control", [
        {"key": "budget", "title": "Within budget", "statement": "Cost within budget.", "kind": "automated",
         "metric": "monthly_cost", "operator": "<=", "threshold_source": "monthly_budget"},
    ])  # fmt: skip
    review = oversight.versions.get().controls.get(key="human-review")
    latency = oversight.versions.get().controls.get(key="latency")
    budget = cost.versions.get().controls.get(key="budget")
    make = WorkloadFactory
    w = {
        "A": make(name="Claims Triage", team=team, risk_tier="high", lifecycle_stage="production"),
        "B": make(name="Fraud Screen", team=team, risk_tier="high", lifecycle_stage="pilot"),
        "C": make(name="Letter Drafts", team=other_team, risk_tier="limited", lifecycle_stage="production"),
        "D": make(name="Lunch Bot", team=other_team, risk_tier="minimal", lifecycle_stage="production"),
        "F": make(name="Idea Box", team=other_team, risk_tier="minimal", lifecycle_stage="proposed"),
        "G": make(name="Claims Chat", team=team, risk_tier="high", lifecycle_stage="development"),
        "retired": make(name="Old Bot", team=team, risk_tier="high", lifecycle_stage="retired"),
    }
    # A: attested, passing, passing (and a waiver that ends in 45 days on a passing check).
    governance.attest(actor=coe_staff, workload=w["A"], control=review, answer="Handlers review.")
    check(w["A"], latency, "passing", days_ago=1)
    check(w["A"], budget, "passing", days_ago=1)
    waive(coe_staff, w["A"], budget, 45)
    # B: never attested; latency passing 5 days ago, failing since 3 days ago; budget passing.
    check(w["B"], latency, "failing", days_ago=9)
    check(w["B"], latency, "passing", days_ago=5)
    check(w["B"], latency, "failing", days_ago=3)
    check(w["B"], latency, "failing", days_ago=1, detail="p95_latency_ms = 2400 (breaks <= 2000)")
    check(w["B"], budget, "passing", days_ago=1)
    # C: latency passing; budget failing, waived for 10 more days.
    check(w["C"], latency, "passing", days_ago=1)
    check(w["C"], budget, "failing", days_ago=1)
    waive(coe_staff, w["C"], budget, 10)
    # D: budget failing since 2 days ago (a detail a spreadsheet would run).
    check(w["D"], budget, "failing", days_ago=2)
    check(w["D"], budget, "failing", days_ago=1, detail="=1+1")
    # F: budget passing. G: attested, but the answer expired; passing checks.
    check(w["F"], budget, "passing", days_ago=1)
    expired = governance.attest(actor=coe_staff, workload=w["G"], control=review, answer="Once.")
    Attestation.objects.filter(pk=expired.pk).update(expires_at=NOW - timedelta(days=3))
    check(w["G"], latency, "passing", days_ago=1)
    check(w["G"], budget, "passing", days_ago=1)
    check(w["retired"], budget, "failing", days_ago=1)
    return World(w, review, latency, budget)


def build(user: User, query: str = "") -> Any:
    filters, _ = Filters.from_query(QueryDict(query))
    return dashboard.build(user=user, filters=filters, query=QueryDict(query))


def kpis(board: Any) -> dict[str, tuple[Any, str, str, str]]:
    return {k.key: (k.raw, k.value, k.detail, k.url) for k in board.kpis}


def tab(workload: Workload) -> str:
    return reverse("governance:workload-compliance", args=[workload.slug])


MATRIX = "/governance/compliance/"


# --- Numbers -----------------------------------------------------------------------------------


def test_kpis_count_compliant_workloads_failing_controls_debt_and_waivers(world: World, coe_staff: User) -> None:
    board = build(coe_staff)
    assert kpis(board) == {
        # A, C (waived) and F of the six live workloads meet every control.
        "compliant": (0.5, "50 %", "3 of 6 workloads under controls", MATRIX),
        "failing": (2, "2", "on 2 workloads", "#section-failing"),
        "attestation-debt": (2, "2", "on 2 workloads", "#section-attestation-debt"),
        "waivers-expiring": (1, "1", "of 2 waivers in force", "/governance/waivers/"),
    }
    assert [k.state for k in board.kpis] == ["bad", "bad", "bad", "bad"]
    assert {k: board.numbers[k] for k in ("workloads", "workloads_under_controls", "fully_compliant")} == {
        "workloads": 6, "workloads_under_controls": 6, "fully_compliant": 3,
    }  # fmt: skip


def test_workloads_no_control_applies_to_are_left_out_of_the_shares(world: World, coe_staff: User) -> None:
    WorkloadFactory(name="Quiet Bot", team=world.workloads["A"].team, risk_tier="minimal", monthly_budget=None)
    Control.objects.filter(key="budget").update(risk_tiers=["high", "limited"])  # D, F and Quiet Bot: none applies
    board = build(coe_staff)
    assert board.numbers["workloads"] == 7
    assert kpis(board)["compliant"][:3] == (0.5, "50 %", "2 of 4 workloads under controls")  # A and C
    assert board.notes[0].endswith("3 workloads that no control applies to are left out of the shares.")


def test_leadership_follows_the_waivers_to_the_table_not_the_coe_queue(world: World, leader: User) -> None:
    assert kpis(build(leader))["waivers-expiring"][3] == "#section-waivers-expiring"


def test_share_compliant_by_policy_risk_tier_and_team(world: World, coe_staff: User) -> None:
    board = build(coe_staff)
    by_policy = board.part("by-policy")
    assert by_policy.columns == ["Policy", "Workloads", "Fully compliant", "Share compliant (%)"]
    # Cost control: all six, D failing; human oversight: A, B, C, G, of which B and G owe an attestation.
    assert by_policy.rows == [["Cost control", 6, 5, 83.3], ["Human oversight", 4, 2, 50.0]]
    assert list(by_policy.figure["data"][0]["x"]) == [83.3, 50.0]  # horizontal bars: policies are long names
    assert list(by_policy.figure["data"][0]["y"]) == ["Cost control", "Human oversight"]
    assert list(board.part("by-risk-tier").figure["data"][0]["y"]) == [50.0, 100.0, 33.3]
    assert list(by_policy.figure["data"][0]["text"]) == ["83.3 %", "50 %"]
    assert board.part("by-risk-tier").rows == [["Minimal", 2, 1, 50.0], ["Limited", 1, 1, 100.0],
                                               ["High", 3, 1, 33.3]]  # fmt: skip
    assert board.part("by-risk-tier").links == [f"{MATRIX}?risk_tier={t}" for t in ("minimal", "limited", "high")]
    assert board.part("by-team").rows == [["Claims Automation", 3, 1, 33.3], ["Customer Service AI", 3, 2, 66.7]]
    assert board.part("by-team").links == [f"{MATRIX}?team=claims-automation", f"{MATRIX}?team=customer-service-ai"]


def test_attestation_debt_by_team_says_why(world: World, coe_staff: User) -> None:
    chart = build(coe_staff).part("attestation-debt-by-team")
    assert chart.columns == ["Team", "Not attested yet", "Control changed", "Attestation expired", "Attestations due"]
    assert chart.rows == [["Claims Automation", 1, 0, 1, 2], ["Customer Service AI", 0, 0, 0, 0]]
    assert [trace["name"] for trace in chart.figure["data"]] == ["Not attested yet", "Control changed",
                                                                 "Attestation expired"]  # fmt: skip
    assert chart.figure["layout"]["barmode"] == "stack"


def test_a_changed_control_is_debt_of_its_own_kind(world: World, coe_staff: User, team_member: User) -> None:
    policy = world.review.policy_version.policy
    draft = governance.policy_version_create(actor=coe_staff, policy=policy, number="2.0.0", body="Stricter.",
                                             copy_controls_from=world.review.policy_version)  # fmt: skip
    governance.control_update(actor=coe_staff, control=draft.controls.get(key="human-review"),
                              statement="A person reviews within a day.")  # fmt: skip
    governance.policy_version_publish(actor=coe_staff, version=draft)
    board = build(coe_staff)
    # A's and G's answers were to the old wording (G's had expired too): the change is what they owe.
    assert board.part("attestation-debt-by-team").rows[0] == ["Claims Automation", 1, 2, 0, 3]
    assert board.part("attestation-debt").rows[:2] == [
        ["Claims Chat", "Claims Automation", "Human oversight", "Human review",
         "The control changed in v2.0.0; attest again."],
        ["Claims Triage", "Claims Automation", "Human oversight", "Human review",
         "The control changed in v2.0.0; attest again."],
    ]  # fmt: skip


def test_an_expired_answer_says_when(world: World, coe_staff: User) -> None:
    assert build(coe_staff).part("attestation-debt").rows[0] == [
        "Claims Chat", "Claims Automation", "Human oversight", "Human review",
        f"The attestation expired on {governance._day(NOW - timedelta(days=3))}.",
    ]  # fmt: skip


def test_the_failing_controls_table_says_since_when_longest_first(world: World, coe_staff: User) -> None:
    table = build(coe_staff).part("failing")
    assert table.columns == ["Workload", "Team", "Policy", "Control", "Detail", "Failing since"]
    assert table.rows == [
        ["Fraud Screen", "Claims Automation", "Human oversight", "Latency within objective",
         "p95_latency_ms = 2400 (breaks <= 2000)", timezone.localdate(NOW - timedelta(days=3))],
        ["Lunch Bot", "Customer Service AI", "Cost control", "Within budget", "=1+1",
         timezone.localdate(NOW - timedelta(days=2))],
    ]  # fmt: skip
    assert table.links == [tab(world.workloads["B"]), tab(world.workloads["D"])]


def test_the_waivers_and_debt_tables(world: World, coe_staff: User) -> None:
    board = build(coe_staff)
    waivers = board.part("waivers-expiring")
    assert waivers.rows == [["Letter Drafts", "Customer Service AI", "Cost control", "Within budget",
                             TODAY + timedelta(days=10), 10, "Failing"]]  # fmt: skip
    assert waivers.links == [tab(world.workloads["C"])]
    debt = board.part("attestation-debt")
    assert [row[0] for row in debt.rows] == ["Claims Chat", "Fraud Screen"]
    assert debt.rows[1] == ["Fraud Screen", "Claims Automation", "Human oversight", "Human review",
                            "Not attested yet."]  # fmt: skip
    assert debt.links == [tab(world.workloads["G"]), tab(world.workloads["B"])]


def test_a_risk_tier_filter_narrows_every_number(world: World, coe_staff: User) -> None:
    board = build(coe_staff, "risk_tier=high")
    assert kpis(board) == {
        "compliant": (0.3333, "33 %", "1 of 3 workloads under controls", f"{MATRIX}?risk_tier=high"),
        "failing": (1, "1", "on 1 workload", "#section-failing"),
        "attestation-debt": (2, "2", "on 2 workloads", "#section-attestation-debt"),
        "waivers-expiring": (0, "0", "of 1 waiver in force", "/governance/waivers/"),
    }
    assert board.part("by-risk-tier").rows == [["High", 3, 1, 33.3]]
    assert board.part("by-policy").rows == [["Cost control", 3, 3, 100.0], ["Human oversight", 3, 1, 33.3]]
    assert board.part("waivers-expiring").rows == []


def test_a_passing_check_after_the_failing_ones_ends_the_run(world: World, coe_staff: User) -> None:
    check(world.workloads["D"], world.budget, "passing", days_ago=0.5)
    check(world.workloads["D"], world.budget, "failing", days_ago=0.25)
    statuses = governance.compliance(workload=world.workloads["D"]).statuses
    since = governance.failing_since(statuses=statuses)
    assert since == {statuses[0].result.pk: NOW - timedelta(days=0.25)}


def test_an_empty_portfolio_shows_empty_parts(coe_staff: User) -> None:
    board = build(coe_staff)
    assert kpis(board)["compliant"] == (None, "—", "0 of 0 workloads under controls", MATRIX)
    assert all(chart.is_empty for chart in board.charts)
    assert all(not table.rows for table in board.tables)


# --- Speed ---------------------------------------------------------------------------------------


def grow(n: int, world: World, coe_staff: User) -> None:
    """A team of ``n`` workloads with an attestation, failing and passing checks and a waiver each."""
    team = TeamFactory(name=f"Team of {n}", slug=f"team-of-{n}")
    for i in range(n):
        workload = WorkloadFactory(name=f"Grown {n}-{i}", team=team, risk_tier="high", lifecycle_stage="production",
                                   monthly_budget=Decimal(100))  # fmt: skip
        governance.attest(actor=coe_staff, workload=workload, control=world.review, answer="Yes.")
        check(workload, world.latency, "failing", days_ago=2)
        check(workload, world.latency, "passing" if i % 3 else "failing", days_ago=1)
        check(workload, world.budget, "failing", days_ago=1)
        waive(coe_staff, workload, world.budget, 5 + i)


def queries(user: User, query: str) -> int:
    with CaptureQueriesContext(connection) as captured:
        build(user, query)
    return len(captured)


def test_the_query_count_does_not_grow_with_the_workloads(world: World, coe_staff: User) -> None:
    grow(2, world, coe_staff)
    grow(10, world, coe_staff)
    two, ten = build(coe_staff, "team=team-of-2"), build(coe_staff, "team=team-of-10")
    assert (two.numbers["workloads"], two.numbers["failing_controls"], two.numbers["waivers_in_force"]) == (2, 1, 2)
    assert (ten.numbers["workloads"], ten.numbers["failing_controls"], ten.numbers["waivers_in_force"]) == (10, 4, 10)
    counted = queries(coe_staff, "team=team-of-2")
    assert counted == queries(coe_staff, "team=team-of-10")
    # The team (the filter form), the workloads, five for compliance_many, when the failing checks
    # began (one statement on PostgreSQL, two queries elsewhere), one for the waivers in force.
    assert counted == (9 if connection.vendor == "postgresql" else 10)
    assert queries(coe_staff, "") == counted - 1


# --- Page, CSV and API ---------------------------------------------------------------------------


def test_the_page_shows_the_posture_to_the_coe(world: World, coe_staff: User, client_for: Any) -> None:
    response = client_for(coe_staff).get(PAGE)
    assert response.status_code == 200
    body = response.content.decode()
    for chart in ("by-policy", "by-risk-tier", "by-team", "attestation-debt-by-team"):
        assert f'data-dashboard-chart="chart-{chart}-figure"' in body
    assert f'<a href="{tab(world.workloads["B"])}">Fraud Screen</a>' in body


def test_htmx_answers_with_the_dashboard_body(world: World, coe_staff: User, client_for: Any) -> None:
    response = client_for(coe_staff).get(PAGE + "?risk_tier=limited", HTTP_HX_REQUEST="true",
                                          HTTP_HX_TARGET="dashboard-body")  # fmt: skip
    body = response.content.decode()
    assert '<div id="dashboard-body"' in body
    assert "<html" not in body
    assert "1 of 1 workload under controls" in body


@pytest.mark.parametrize("who", ["team_member", "other_team_member"])
def test_team_members_are_refused_page_and_api(world: World, who: str, request: pytest.FixtureRequest,
                                               client_for: Any) -> None:  # fmt: skip
    client = client_for(request.getfixturevalue(who))
    assert client.get(PAGE).status_code == 403
    assert client.get(API).status_code == 403


def test_the_csv_export_of_failing_controls_is_escaped(world: World, coe_staff: User, client_for: Any) -> None:
    response = client_for(coe_staff).get(PAGE + "?export=failing")
    assert response.status_code == 200
    assert response["Content-Type"] == "text/csv; charset=utf-8"
    assert response["Content-Disposition"].startswith('attachment; filename="compliance-failing-')
    rows = list(csv.reader(io.StringIO(response.content.decode())))
    assert rows == [
        ["Workload", "Team", "Policy", "Control", "Detail", "Failing since"],
        ["Fraud Screen", "Claims Automation", "Human oversight", "Latency within objective",
         "p95_latency_ms = 2400 (breaks <= 2000)", timezone.localdate(NOW - timedelta(days=3)).isoformat()],
        ["Lunch Bot", "Customer Service AI", "Cost control", "Within budget", "'=1+1",
         timezone.localdate(NOW - timedelta(days=2)).isoformat()],
    ]  # fmt: skip


def test_the_csv_export_of_a_chart(world: World, coe_staff: User, client_for: Any) -> None:
    response = client_for(coe_staff).get(PAGE + "?export=by-team")
    assert response.content.decode().splitlines() == [
        "Team,Workloads,Fully compliant,Share compliant (%)",
        "Claims Automation,3,1,33.3",
        "Customer Service AI,3,2,66.7",
    ]


@pytest.mark.parametrize("who", ["coe_staff", "leader"])
def test_the_api_returns_the_numbers(world: World, who: str, request: pytest.FixtureRequest, client_for: Any) -> None:
    response = client_for(request.getfixturevalue(who)).get(API, {"risk_tier": "high"})
    assert response.status_code == 200
    data = response.json()
    assert set(data) >= {"dashboard", "filters", "currency", "kpis", "charts", "tables", "notes"}
    assert data["dashboard"] == "compliance"
    assert data["filters"]["risk_tier"] == "high"
    assert [(k["key"], k["value"]) for k in data["kpis"]] == [
        ("compliant", 0.3333), ("failing", 1), ("attestation-debt", 2), ("waivers-expiring", 0),
    ]  # fmt: skip
    assert set(data["charts"]) == {"by-policy", "by-risk-tier", "by-team", "attestation-debt-by-team"}
    assert data["charts"]["by-team"]["rows"] == [["Claims Automation", 3, 1, 33.3]]
    assert data["tables"]["failing"]["rows"] == [
        ["Fraud Screen", "Claims Automation", "Human oversight", "Latency within objective",
         "p95_latency_ms = 2400 (breaks <= 2000)", timezone.localdate(NOW - timedelta(days=3)).isoformat()],
    ]  # fmt: skip
    assert (data["workloads_under_controls"], data["fully_compliant"], data["as_of"]) == (3, 1, TODAY.isoformat())


def test_the_api_names_a_bad_filter(coe_staff: User, client_for: Any) -> None:
    response = client_for(coe_staff).get(API, {"risk_tier": "enormous"})
    assert response.status_code == 400
    assert "risk_tier" in response.json()

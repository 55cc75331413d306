"""The portfolio dashboard: totals in dollars, what team members see, filters, CSV, API, queries."""

from __future__ import annotations

import csv
import io
from datetime import date, timedelta
from decimal import Decimal

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone
from rest_framework.test import APIClient

from apps.dashboards import portfolio
from apps.dashboards.base import OTHER_TEAMS
from apps.dashboards.filters import Filters
from apps.governance import services as governance
from apps.registry.models import Workload
from apps.telemetry.models import MonthlyModelRollup, Scorecard, WeeklyMoney
from apps.telemetry.money import weekly_money_refresh
from tests.registry.factories import AIModelFactory, WorkloadFactory

pytestmark = pytest.mark.django_db

TODAY = timezone.now().date()


def card(workload: Workload, day: date, *, cost: str, value: str, requests: int = 100, errors: int = 0,
         usd_rate: str | None = None, **extra) -> Scorecard:  # type: ignore[no-untyped-def]  # fmt: skip
    made = Scorecard.objects.create(
        workload=workload, day=day, computed_at=timezone.now(), complete=True, requests=requests, errors=errors,
        cost=Decimal(cost), value=Decimal(value), currency=workload.currency,
        usd_rate=Decimal(usd_rate) if usd_rate else None, **extra,
    )  # fmt: skip
    weekly_money_refresh(workload_id=workload.pk, days=[day])  # as scoring does with every card it writes
    return made


@pytest.fixture
def portfolio_world(team, other_team):  # type: ignore[no-untyped-def]
    """Two workloads of the team (one in euros), one of another team; ten days of scorecards."""
    ours = WorkloadFactory(name="Claims Triage", team=team, lifecycle_stage="production", risk_tier="high",
                           target_roi=Decimal("2"))  # fmt: skip
    euros = WorkloadFactory(name="Letter Drafts", team=team, lifecycle_stage="pilot", currency="EUR")
    theirs = WorkloadFactory(name="Fraud Notes", team=other_team, lifecycle_stage="production")
    for n in range(10):
        day = TODAY - timedelta(days=n)
        card(ours, day, cost="10", value="40")  # ROI 3
        card(euros, day, cost="9", value="9", usd_rate="0.9")  # 10 USD cost, 10 USD value
        card(theirs, day, cost="5", value="5", requests=50)
    card(theirs, TODAY - timedelta(days=40), cost="500", value="0")  # the period before: a mover
    return ours, euros, theirs


def build(user, **params):  # type: ignore[no-untyped-def]
    filters, form = Filters.from_query(params)
    assert not form.errors, form.errors
    return portfolio.build(user=user, filters=filters, query=params)


def test_totals_are_in_dollars_and_the_leader_sees_every_workload(leader, portfolio_world):
    ours = portfolio_world[0]
    dashboard = build(leader)
    kpis = {k.key: k for k in dashboard.kpis}
    assert kpis["spend"].raw == Decimal(250)  # 10 days × (10 + 10 + 5)
    assert kpis["value"].raw == Decimal(550)  # 10 days × (40 + 10 + 5)
    assert kpis["roi"].raw == pytest.approx(1.2)  # (550 − 250) / 250
    assert kpis["requests"].raw == 2500
    assert kpis["active"].raw == 3
    assert "/registry/" in kpis["spend"].url
    workloads = dashboard.part("workloads")
    assert [row[0] for row in workloads.rows] == ["Claims Triage", "Letter Drafts", "Fraud Notes"]
    assert workloads.rows[0][5:8] == [Decimal("100.00"), Decimal("400.00"), 3.0]
    assert workloads.links[0] == f"/dashboards/workloads/{ours.slug}/"
    assert all(OTHER_TEAMS not in row for row in workloads.rows)


def test_a_team_member_sees_the_totals_and_only_their_team_by_name(team_member, portfolio_world):
    dashboard = build(team_member)
    assert {k.key: k.raw for k in dashboard.kpis}["spend"] == Decimal(250)
    names = [row[0] for row in dashboard.part("workloads").rows]
    assert names == ["Claims Triage", "Letter Drafts", f"{OTHER_TEAMS} (1 workload)"]
    assert "Fraud Notes" not in str(dashboard.as_api())
    teams = [row[0] for row in dashboard.part("roi-team").rows]
    assert OTHER_TEAMS in teams
    assert any("your team's workloads are named" in note for note in dashboard.notes)


def test_filters_narrow_to_a_team_and_a_custom_period(leader, portfolio_world, other_team):
    def spend(days_back: int) -> Decimal:
        start = (TODAY - timedelta(days=days_back)).isoformat()
        dashboard = build(leader, team=other_team.slug, period="custom", start=start, end=TODAY.isoformat())
        return {k.key: k.raw for k in dashboard.kpis}["spend"]

    assert spend(39) == Decimal(50)  # ten days × 5; the 500 forty days ago is outside
    assert spend(40) == Decimal(550)


def test_the_period_before_gives_the_movers(leader, portfolio_world):
    dashboard = build(leader, period="30d")
    movers = dashboard.part("movers")
    # Fraud Notes spent 500 forty days ago (the 30 days before this period) and 50 now.
    assert movers.rows[0][0] == "Fraud Notes"
    assert movers.rows[0][2:5] == [Decimal("500.00"), Decimal("50.00"), Decimal("-450.00")]
    assert movers.rows[0][5] == pytest.approx(-0.9)


def test_cost_by_model_reads_the_monthly_rollups(leader, portfolio_world):
    ours, _, theirs = portfolio_world
    mini = AIModelFactory(model_id="gpt-4o-mini", display_name="GPT-4o mini")
    month = TODAY.replace(day=1)
    MonthlyModelRollup.objects.create(workload=ours, month=month, model_name="gpt-4o-mini", ai_model=mini,
                                      requests=300, cost=Decimal("12.5"))  # fmt: skip
    MonthlyModelRollup.objects.create(workload=theirs, month=month, model_name="home-grown", requests=7,
                                      cost=Decimal("0"))  # fmt: skip
    rows = build(leader, period="mtd").part("cost-by-model").rows
    assert rows[0] == ["GPT-4o mini", "openai", 300, Decimal("12.50")]
    assert rows[1][:3] == ["home-grown", "not in the catalogue", 7]


def test_csv_export_escapes_formulas(client_for, leader, team):
    evil = WorkloadFactory(name="=HYPERLINK(1)", slug="evil", team=team)
    card(evil, TODAY, cost="1", value="2")
    response = client_for(leader).get("/dashboards/portfolio/?period=30d&export=workloads")
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/csv")
    assert "attachment" in response["Content-Disposition"]
    rows = list(csv.reader(io.StringIO(response.content.decode())))
    assert rows[0][:2] == ["Workload", "Team"]
    assert rows[1][0] == "'=HYPERLINK(1)"
    assert client_for(leader).get("/dashboards/portfolio/?export=nope").status_code == 404


def test_the_page_renders_and_htmx_gets_the_body(client_for, team_member, portfolio_world):
    page = client_for(team_member).get("/dashboards/portfolio/?period=90d")
    text = page.content.decode()
    assert page.status_code == 200
    assert 'id="chart-spend-value"' in text
    assert "Show the data" in text
    assert 'aria-current="page">Portfolio' in text
    assert "Compliance posture" not in text  # not a tab a team member may open
    body = client_for(team_member).get("/dashboards/portfolio/?period=90d", HTTP_HX_REQUEST="true",
                                       HTTP_HX_TARGET="dashboard-body")  # fmt: skip
    text = body.content.decode()
    assert '<div id="dashboard-body"' in text
    assert "<html" not in text
    assert 'id="dashboard-tabs" hx-swap-oob="true"' in text  # the tabs carry the new filters
    assert "/dashboards/models/?period=90d" in text


def test_an_invalid_filter_is_shown_on_the_page_and_refused_by_the_api(client_for, leader):
    page = client_for(leader).get("/dashboards/portfolio/?period=custom&start=2026-05-01")
    assert page.status_code == 200
    assert "Give the last day of the period." in page.content.decode()
    api = APIClient()
    api.force_authenticate(leader)
    response = api.get("/api/v1/dashboards/portfolio/", {"period": "custom", "start": "2026-05-01"})
    assert response.status_code == 400
    assert "end" in response.json()


def test_the_api_gives_the_numbers_behind_the_page(leader, team_member, portfolio_world):
    api = APIClient()
    api.force_authenticate(leader)
    body = api.get("/api/v1/dashboards/portfolio/", {"period": "30d"}).json()
    assert body["dashboard"] == "portfolio"
    assert body["currency"] == "USD"
    assert body["filters"]["period"] == "30d"
    assert Decimal(body["spend"]) == Decimal(250)
    assert {k["key"]: k["value"] for k in body["kpis"]}["active"] == 3
    assert body["tables"]["workloads"]["columns"][0] == "Workload"
    assert body["charts"]["spend-value"]["rows"]
    api.force_authenticate(team_member)
    theirs = api.get("/api/v1/dashboards/portfolio/", {"period": "30d"}).json()
    assert "Fraud Notes" not in str(theirs)
    assert Decimal(theirs["spend"]) == Decimal(body["spend"])


def test_the_number_of_queries_does_not_grow_with_the_workloads(leader, team):
    def count() -> int:
        with CaptureQueriesContext(connection) as queries:
            build(leader, period="90d")
        return len(queries)

    for n in range(2):
        w = WorkloadFactory(name=f"Small {n}", team=team, lifecycle_stage="production")
        card(w, TODAY, cost="1", value="1")
    count()  # the user's roles and teams, read once per request object
    few = count()
    for n in range(8):
        w = WorkloadFactory(name=f"More {n}", team=team, lifecycle_stage="production", risk_tier="high")
        for d in range(5):
            card(w, TODAY - timedelta(days=d), cost="2", value="3")
    assert count() == few


def exact(found):  # type: ignore[no-untyped-def]
    """Sums to 12 places: a rate's share divided out (1/0.9) is summed in whatever order the rows come, which
    moves the 28th significant digit."""
    if isinstance(found, Decimal):
        return found.quantize(Decimal("1e-12"))
    if isinstance(found, dict):
        return {key: exact(value) for key, value in found.items()}
    return [exact(value) for value in found] if isinstance(found, (list, tuple)) else found


@pytest.mark.skipif(connection.vendor != "postgresql", reason="the one-pass statement runs on PostgreSQL only")
@pytest.mark.parametrize("bucket", ["day", "week", "month"])
def test_the_one_pass_sums_agree_with_the_three_queries(bucket, portfolio_world, other_team):
    """On PostgreSQL both periods and the series come from one GROUPING SETS statement; elsewhere from
    three queries (which the other tests check on SQLite). Same answer, with a rate that changes, days
    no rate converted, a week and a month that straddle the period's start, and a filter."""
    _, euros, theirs = portfolio_world
    pounds = WorkloadFactory(name="Pound Notes", team=other_team, currency="GBP")
    start = TODAY - timedelta(days=45)  # rarely a Monday or the 1st: the first week and month are split
    for n in range(90):
        day = TODAY - timedelta(days=n)
        card(pounds, day, cost=f"{n}.25", value="3.5", requests=n, errors=n % 3,
             usd_rate=None if n % 7 == 0 else ("0.8" if n < 30 else "0.75"))  # fmt: skip
        if n >= 10:  # the euro workload's days before the fixture's ten
            card(euros, day, cost="1.5", value="2", usd_rate="0.9")
    every = Scorecard.objects.all()
    period = every.filter(day__gte=start, day__lte=TODAY)
    previous = every.filter(day__gte=start - timedelta(days=46), day__lt=start)
    both = every.filter(day__gte=start - timedelta(days=46), day__lte=TODAY)
    expected = (portfolio._sums(period), portfolio._sums(previous), portfolio._series(period, bucket))
    assert exact(portfolio._money_in_one_pass(both, start, bucket)) == exact(expected)
    assert expected[0][pounds.pk]["unconverted"] == 7  # days 0, 7, …, 42 had no rate
    narrowed = {"workload__in": Workload.objects.filter(team=other_team).values("pk")}
    period, previous, both = (qs.filter(**narrowed) for qs in (period, previous, both))
    expected = (portfolio._sums(period), portfolio._sums(previous), portfolio._series(period, bucket))
    assert exact(portfolio._money_in_one_pass(both, start, bucket)) == exact(expected)
    assert set(expected[0]) == {theirs.pk, pounds.pk}


def all_daily(start: date, end: date, bucket: str, **scope):  # type: ignore[no-untyped-def]
    """What ``_money`` answers, from the scorecards alone (no weekly summary)."""
    days = (end - start).days + 1
    every = Scorecard.objects.filter(**scope)
    period = every.filter(day__gte=start, day__lte=end)
    previous = every.filter(day__gte=start - timedelta(days=days), day__lt=start)
    return portfolio._sums(period), portfolio._sums(previous), portfolio._series(period, bucket)


@pytest.mark.parametrize("days_back", [6, 29, 45, 91, 200, 400, 700])
def test_whole_weeks_from_the_summary_and_the_rest_from_scorecards_give_the_same_sums(
    days_back, portfolio_world, other_team
):  # type: ignore[no-untyped-def]
    """Periods of every bucket (days, weeks, months) and length, starting any weekday: the summary's
    weeks and the days around them add up to what the scorecards alone give, whatever the rates."""
    *_, theirs = portfolio_world
    pounds = WorkloadFactory(name="Pound Notes", team=other_team, currency="GBP")
    for n in range(0, 900, 3):  # every third day over two and a half years, a rate changing each month
        day = TODAY - timedelta(days=n)
        card(pounds, day, cost=f"{n % 17}.25", value="3.5", requests=n, errors=n % 3,
             usd_rate=None if n % 7 == 0 else f"0.{70 + day.month}")  # fmt: skip
    start = TODAY - timedelta(days=days_back)
    filters, form = Filters.from_query({"period": "custom", "start": start.isoformat(), "end": TODAY.isoformat()})
    assert not form.errors
    found = portfolio._money(filters, {})
    assert exact(found) == exact(all_daily(start, TODAY, filters.bucket))
    assert found[0][pounds.pk]["requests"] > 0
    if filters.bucket != "day":
        assert portfolio._summary_weeks(start, TODAY, filters.bucket)  # the summary was read
    scope = {"workload__in": Workload.objects.filter(team=other_team).values("pk")}
    narrowed = portfolio._money(filters, scope)
    assert exact(narrowed) == exact(all_daily(start, TODAY, filters.bucket, **scope))
    assert set(narrowed[0]) == {theirs.pk, pounds.pk}


def test_summary_weeks_are_whole_and_inside_one_step() -> None:
    monday = date(2026, 6, 1)  # a Monday and the 1st
    assert portfolio._summary_weeks(monday, monday + timedelta(days=13), "week") == [(monday, monday + timedelta(14))]
    assert portfolio._summary_weeks(monday + timedelta(1), monday + timedelta(days=13), "week") == [
        (monday + timedelta(7), monday + timedelta(14))
    ]
    assert portfolio._summary_weeks(monday, monday + timedelta(days=5), "week") == []
    assert portfolio._summary_weeks(monday, monday + timedelta(days=90), "day") == []
    # Months: the week of 29 June - 5 July spans two months and is left to the scorecards.
    runs = portfolio._summary_weeks(monday, date(2026, 7, 31), "month")
    assert runs == [(monday, date(2026, 6, 29)), (date(2026, 7, 6), date(2026, 7, 27))]


def test_a_refresh_replaces_the_week(portfolio_world):  # type: ignore[no-untyped-def]
    ours = portfolio_world[0]
    monday = TODAY - timedelta(days=TODAY.weekday())
    week = WeeklyMoney.objects.get(workload=ours, week=monday)
    assert week.days == min(TODAY.weekday() + 1, 10)
    assert week.cost == Decimal(10) * week.days
    Scorecard.objects.filter(workload=ours, day=TODAY).update(cost=Decimal(110))
    weekly_money_refresh(workload_id=ours.pk, days=[TODAY])
    assert WeeklyMoney.objects.get(workload=ours, week=monday).cost == Decimal(10) * week.days + 100


def test_risk_times_compliance_counts_the_live_workloads_from_the_stored_counts(leader, coe_staff, portfolio_world):
    """Claims Triage (high risk) attests the one control and is fully compliant; Letter Drafts and Fraud Notes
    (minimal risk) have not. The heat map reads the counts the beat task stores, and says how old they are."""
    ours, euros, theirs = portfolio_world
    policy = governance.policy_create(actor=coe_staff, title="Ownership", category="security_governance",
                                      summary="Every workload has an owner.")  # fmt: skip
    version = governance.policy_version_create(actor=coe_staff, policy=policy, number="1.0.0", body="# Owner")
    owner = governance.control_add(actor=coe_staff, version=version, key="owner", title="Owner named",
                                   statement="Someone answers for it.", kind="attestation")  # fmt: skip
    governance.policy_version_publish(actor=coe_staff, version=version)
    governance.attest(actor=coe_staff, workload=ours, control=owner, answer="The claims lead.")
    Workload.objects.filter(pk=euros.pk).update(risk_tier="minimal")
    Workload.objects.filter(pk=theirs.pk).update(risk_tier="minimal")

    def heat_map() -> tuple[dict[str, list[int]], list[str]]:
        dashboard = build(leader)
        chart = dashboard.part("risk-compliance")
        return {row[0]: row[1:] for row in chart.rows}, [n for n in dashboard.notes if "Risk × compliance" in n]

    live, notes = heat_map()  # nothing stored yet: counted live, and no note
    assert live["High"] == [1, 0, 0, 0]
    assert live["Minimal"] == [0, 0, 2, 0]
    assert notes == []
    governance.compliance_scores_refresh()
    stored, notes = heat_map()
    assert stored == live
    assert len(notes) == 1
    assert "counted for every workload every five minutes" in notes[0]
    governance.attest(actor=coe_staff, workload=theirs, control=owner, answer="The fraud lead.")
    assert heat_map()[0]["Minimal"] == [0, 0, 2, 0]  # until the next refresh
    governance.compliance_scores_refresh()
    assert heat_map()[0]["Minimal"] == [1, 0, 1, 0]
    body = APIClient()
    body.force_authenticate(leader)
    assert body.get("/api/v1/dashboards/portfolio/").json()["compliance_as_of"]

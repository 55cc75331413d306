"""A workload's operations dashboard: the period's figures from known scorecards and rollups, the
series, release markers, two releases side by side, alerts, CSV, the API and its permissions, and a
number of queries that does not grow with days or releases."""

from __future__ import annotations

import calendar
import csv
import io
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal
from typing import Any

import pytest
from django.db import connection
from django.db.models import Q
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone
from rest_framework.test import APIClient

from apps.dashboards import charts, operations
from apps.dashboards.filters import Filters
from apps.registry import services as registry
from apps.registry.models import Release, ReleaseEvent, Workload
from apps.telemetry import rollups, stats
from apps.telemetry.models import (
    LATENCY_BUCKETS,
    Alert,
    DailyModelRollup,
    HourlyRollup,
    Scorecard,
    latency_bucket,
)
from tests.registry.factories import AIModelFactory

pytestmark = pytest.mark.django_db

TODAY = timezone.now().date()
TIME_CHARTS = ("traffic", "latency", "tokens", "cost", "quality", "safety", "drift")


def ago(days: int) -> date:
    return TODAY - timedelta(days=days)


def at(day: date, hour: int) -> datetime:
    return datetime.combine(day, time(hour), tzinfo=UTC)


def hist(*pairs: tuple[float, int]) -> list[int]:
    """A latency histogram with ``count`` requests at each ``ms``."""
    counts = [0] * LATENCY_BUCKETS
    for ms, count in pairs:
        counts[latency_bucket(ms)] += count
    return counts


# Per release, one day of telemetry: (errors, cost in USD, quality sum, flagged, latency histogram).
DAY = {
    "1.0.0": {"errors": 2, "cost": Decimal("4.00"), "quality_sum": 85.0, "flagged": 1,
              "hist": hist((400, 90), (1000, 10))},
    "2.0.0": {"errors": 10, "cost": Decimal("6.00"), "quality_sum": 60.0, "flagged": 3,
              "hist": hist((1500, 60), (3000, 40))},
}  # fmt: skip
# Per release, its day's scorecard (EUR): p50, p95, p99, quality, safety-flag rate.
CARD = {
    "1.0.0": {"latency_p50_ms": 400.0, "latency_p95_ms": 1000.0, "latency_p99_ms": 1100.0, "quality_score": 0.85,
              "safety_flag_rate": 0.01},
    "2.0.0": {"latency_p50_ms": 1500.0, "latency_p95_ms": 3100.0, "latency_p99_ms": 3200.0, "quality_score": 0.6,
              "safety_flag_rate": 0.03},
}  # fmt: skip


def label_of(days_ago: int) -> str:
    """1.0.0 for days 14–11, 2.0.0 (promoted day 10) for days 10–4, 1.0.0 again (rolled back day 3)."""
    return "2.0.0" if 4 <= days_ago <= 10 else "1.0.0"


def telemetry_day(workload: Workload, day: date, release: str, *, requests: int = 100, **card: Any) -> None:
    d = DAY[release]
    HourlyRollup.objects.create(
        workload=workload, hour=at(day, 10), model_name="gpt-4o-mini", release=release, requests=requests,
        errors=d["errors"], input_tokens=1000 * requests, output_tokens=500 * requests, cost=d["cost"],
        latency_hist=d["hist"], latency_sum_ms=0, quality_sum=d["quality_sum"], quality_count=requests,
        safety_flagged=d["flagged"],
    )  # fmt: skip
    Scorecard.objects.create(
        workload=workload, day=day, complete=True, requests=requests, errors=d["errors"],
        input_tokens=1000 * requests, output_tokens=500 * requests, currency=workload.currency,
        usd_rate=Decimal("0.9"), cost=Decimal("5.00"), error_rate=d["errors"] / requests,
        latency_objective_met=release == "1.0.0", computed_at=timezone.now(), **{**CARD[release], **card},
    )  # fmt: skip
    rollups.daily_refresh(workload_id=workload.pk, days=[day])  # as scoring does with the card


def release(workload: Workload, actor, version: str, when: datetime, model) -> Release:  # type: ignore[no-untyped-def]
    made = registry.release_create(actor=actor, workload=workload, version=version, ai_models=[model])
    made = registry.release_promote(actor=actor, release=made)
    ReleaseEvent.objects.filter(release=made, kind=ReleaseEvent.Kind.PROMOTED).update(at=when)
    Release.objects.filter(pk=made.pk).update(promoted_at=when)
    return made


def rollback(workload: Workload, actor, to: Release, when: datetime) -> None:  # type: ignore[no-untyped-def]
    registry.release_rollback(actor=actor, release=to, reason="Slower and more errors.")
    ReleaseEvent.objects.filter(release=to, kind=ReleaseEvent.Kind.ROLLED_BACK).update(at=when)


@pytest.fixture
def model(db):  # type: ignore[no-untyped-def]
    return AIModelFactory(provider="openai", model_id="gpt-4o-mini", display_name="GPT-4o mini")


@pytest.fixture
def workload(team, team_member, model) -> Workload:  # type: ignore[no-untyped-def]
    """Claims Assistant (EUR): 1.0.0 live from day 20, 2.0.0 promoted day 10 (worse), rolled back to
    1.0.0 on day 3; fourteen days of scorecards and rollups; alerts open, resolved and old."""
    workload = registry.workload_register(
        actor=team_member, team=team, name="Claims Assistant", ai_models=[model], risk_tier="limited",
        lifecycle_stage="production", currency="EUR", objective_p95_latency_ms=2000,
        objective_max_error_rate=Decimal("0.05"), objective_min_quality=Decimal("0.7"),
        monthly_budget=Decimal("310"),
    )  # fmt: skip
    first = release(workload, team_member, "1.0.0", at(ago(20), 8), model)
    release(workload, team_member, "2.0.0", at(ago(10), 8), model)
    rollback(workload, team_member, first, at(ago(3), 8))
    anomaly = {"metric": "latency_p95_ms", "label": "p95 latency", "value": 3000.0, "median": 1000.0, "z": 9.1,
               "direction": "up"}  # fmt: skip
    for n in range(14, 0, -1):
        extra: dict[str, Any] = {"drift_score": 0.05}
        if n == 9:
            extra.update(anomalies=[anomaly], drift_score=0.4)
        telemetry_day(workload, ago(n), label_of(n), **extra)
    Alert.objects.create(workload=workload, kind=Alert.Kind.ROLLBACK, severity=Alert.Severity.CRITICAL,
                         key="rollback:2.0.0", title="=2.0.0 is clearly worse than 1.0.0", day=ago(8))  # fmt: skip
    Alert.objects.create(workload=workload, kind=Alert.Kind.ANOMALY, key="anomaly:p95", title="p95 latency anomaly",
                         day=ago(9), resolved_at=timezone.now() - timedelta(days=2))  # fmt: skip
    Alert.objects.create(workload=workload, kind=Alert.Kind.BUDGET, key="budget:old", title="Old budget alert",
                         day=ago(90), resolved_at=timezone.now() - timedelta(days=80))  # fmt: skip
    return Workload.objects.select_related("team", "live_release").get(pk=workload.pk)


def build(user, workload: Workload, **params: str):  # type: ignore[no-untyped-def]
    filters, form = Filters.from_query(params)
    assert not form.errors, form.errors
    return operations.build(user=user, filters=filters, query=params, workload=workload)


def kpis(dashboard) -> dict[str, Any]:  # type: ignore[no-untyped-def]
    return {k.key: k for k in dashboard.kpis}


# --- The period's figures ----------------------------------------------------------------------------


def test_kpis_sum_the_scorecards_and_merge_the_rollups(team_member, workload):
    dashboard = build(team_member, workload)
    assert dashboard.name == "operations"
    assert dashboard.title == "Operations: Claims Assistant"
    k = kpis(dashboard)
    assert k["requests"].raw == 1400  # 14 days × 100
    assert k["error_rate"].raw == pytest.approx(84 / 1400)  # 7 × 2 + 7 × 10 errors
    assert k["error_rate"].state == "bad"  # above the 5 % objective
    assert k["tokens"].raw == 14 * 150_000
    assert k["tokens"].value == "2.10 M"
    assert k["cost"].raw == Decimal("70.00")  # 14 × 5 EUR, the scorecards' currency
    assert k["cost"].value == "70.00 EUR"
    # The days' p95, weighted by their requests (100 each): (7 × 1,000 + 7 × 3,100) / 14.
    assert k["latency_p95"].raw == 2050.0
    assert k["latency_p95"].state == "bad"  # above the 2,000 ms objective
    assert k["latency_p95"].detail == "objective ≤ 2,000 ms, met on 7 of 14 days"
    assert k["quality"].raw == pytest.approx((7 * 0.85 + 7 * 0.6) / 14)  # 0.725, above the 0.7 minimum
    assert k["quality"].state == "good"
    assert k["safety_flag_rate"].raw == pytest.approx((7 * 0.01 + 7 * 0.03) / 14)
    assert k["open_alerts"].raw == 1
    assert k["open_alerts"].url == reverse("telemetry:workload-telemetry", args=[workload.slug]) + "#telemetry-alerts"
    assert k["drift"].raw == 0.05  # the latest day's
    assert dashboard.numbers["currency"] == "EUR"


def test_the_series_are_the_days_scorecards(team_member, workload):
    dashboard = build(team_member, workload)
    traffic = dashboard.part("traffic")
    assert traffic.columns == ["Day", "Requests", "Errors", "Error rate (%)"]
    assert len(traffic.rows) == 14
    assert traffic.rows[0] == [ago(14), 100, 2, 2.0]
    assert traffic.rows[5] == [ago(9), 100, 10, 10.0]
    latency = dashboard.part("latency")
    assert latency.rows[5] == [ago(9), 1500.0, 3100.0, 3200.0, 2000]
    assert latency.rows[-1] == [ago(1), 400.0, 1000.0, 1100.0, 2000]
    cost = dashboard.part("cost")
    day = ago(1)
    pace = (Decimal(310) / calendar.monthrange(day.year, day.month)[1]).quantize(Decimal("0.01"))
    assert cost.rows[-1] == [day, Decimal("5.00"), pace]
    assert dashboard.part("tokens").rows[0] == [ago(14), 100_000, 50_000]
    assert dashboard.part("quality").rows[5] == [ago(9), 0.6, 0.7]
    assert dashboard.part("safety").rows[5] == [ago(9), 3.0]
    drift = dashboard.part("drift")
    assert drift.rows[5] == [ago(9), 0.4, 1, "p95 latency"]
    # The anomaly is a red cross on the latency chart, on its day.
    crosses = [t for t in dashboard.part("latency").figure["data"] if t.get("name") == "Anomaly"]
    assert len(crosses) == 1
    assert crosses[0]["x"] == [ago(9).isoformat()]
    assert crosses[0]["y"] == [3100.0]


def test_a_narrower_period_reads_only_its_days(team_member, workload):
    dashboard = build(team_member, workload, period="custom", start=ago(10).isoformat(), end=ago(4).isoformat())
    k = kpis(dashboard)
    assert k["requests"].raw == 700
    assert k["error_rate"].raw == pytest.approx(0.1)
    assert k["latency_p95"].raw == 3100.0
    assert [m["version"] for m in dashboard.numbers["releases"]] == ["2.0.0"]  # promoted day 10, rolled back day 3


def test_a_long_period_has_one_point_a_week(team_member, workload):
    dashboard = build(team_member, workload, period="12m")
    traffic = dashboard.part("traffic")
    assert traffic.columns[0] == "Week of"
    assert all(row[0].weekday() == 0 for row in traffic.rows)
    assert sum(row[1] for row in traffic.rows) == 1400
    assert sum(row[2] for row in traffic.rows) == 84
    weeks = {ago(n) - timedelta(days=ago(n).weekday()) for n in range(1, 15)}
    assert len(traffic.rows) == len(weeks)
    # A week's p95 is the request-weighted mean of its days' (each day 100 requests here).
    latency = {row[0]: row[2] for row in dashboard.part("latency").rows}
    for week in weeks:
        days = [n for n in range(1, 15) if ago(n) - timedelta(days=ago(n).weekday()) == week]
        expected = sum(CARD[label_of(n)]["latency_p95_ms"] for n in days) / len(days)
        assert latency[week] == pytest.approx(expected, abs=0.05)
    assert any("One point per week" in note for note in dashboard.notes)


# --- Releases ------------------------------------------------------------------------------------------


def test_every_time_chart_marks_the_promotions_and_the_rollback(team_member, workload):
    dashboard = build(team_member, workload)
    markers = dashboard.numbers["releases"]
    assert [(m["kind"], m["version"], m["previous"]) for m in markers] == [
        ("promoted", "1.0.0", None), ("promoted", "2.0.0", "1.0.0"), ("rolled_back", "1.0.0", "2.0.0"),
    ]  # fmt: skip
    for key in TIME_CHARTS:
        layout = dashboard.part(key).figure["layout"]
        shapes, notes = layout["shapes"], layout["annotations"]
        assert [a["text"] for a in notes] == ["▲ 1.0.0", "▲ 2.0.0", "↩ 1.0.0 (rollback)"], key
        promotion, rollback = shapes[1], shapes[2]
        assert promotion["x0"] == at(ago(10), 8).replace(tzinfo=None).isoformat()
        assert promotion["line"]["dash"] == "solid"
        assert rollback["x0"] == at(ago(3), 8).replace(tzinfo=None).isoformat()
        assert rollback["line"]["dash"] == "dash"
        assert rollback["line"]["color"] == charts.DANGER != promotion["line"]["color"]
        assert "Slower and more errors." in notes[2]["hovertext"]
    table = dashboard.part("releases")
    assert table.rows[0] == ["1.0.0", "Rolled back to", f"{at(ago(3), 8):%Y-%m-%d %H:%M}", "2.0.0",
                             "Slower and more errors."]  # fmt: skip
    assert table.links[0] == f"{page_url(workload)}?period=30d&release_a=2.0.0&release_b=1.0.0"  # compare them
    assert table.links[2] == ""  # the first release replaced nothing


def test_two_releases_side_by_side(team_member, workload):
    dashboard = build(team_member, workload, release_a="1.0.0", release_b="2.0.0")
    table = dashboard.part("release-comparison")
    assert table.columns == ["Measure", "1.0.0 (A)", "2.0.0 (B)", "Change (B − A)", "B against A"]
    rows = {row[0]: row[1:] for row in table.rows}
    assert rows["Requests"] == [700, 700, "no change", ""]
    assert rows["Error rate (%)"] == [2.0, 10.0, "up 8.00 pts", "worse"]
    p95_a = round(stats.percentile(DAY["1.0.0"]["hist"], 0.95), 1)
    p95_b = round(stats.percentile(DAY["2.0.0"]["hist"], 0.95), 1)
    assert rows["p95 latency (ms)"][:2] == [p95_a, p95_b]
    assert rows["p95 latency (ms)"][3] == "worse"
    assert rows["p50 latency (ms)"][:2] == [round(stats.percentile(DAY["1.0.0"]["hist"], 0.5), 1),
                                            round(stats.percentile(DAY["2.0.0"]["hist"], 0.5), 1)]  # fmt: skip
    assert rows["Quality (0–1)"] == [0.85, 0.6, "down 0.250", "worse"]
    assert rows["Token cost per request (USD)"] == [Decimal("0.040000"), Decimal("0.060000"), "up 50.0 %", "worse"]
    assert rows["Safety-flag rate (%)"] == [1.0, 3.0, "up 2.00 pts", "worse"]
    chart = dashboard.part("release-chart")
    assert chart.rows == [["1.0.0", 2.0, p95_a, 0.85, Decimal("0.040000"), 700],
                          ["2.0.0", 10.0, p95_b, 0.6, Decimal("0.060000"), 700]]  # fmt: skip
    numbers = dashboard.numbers["comparison"]
    assert (numbers["release_a"], numbers["release_b"]) == ("1.0.0", "2.0.0")
    assert numbers["releases"]["2.0.0"]["errors"] == 70
    assert numbers["releases"]["2.0.0"]["cost_usd"] == Decimal("42.00")
    assert dashboard.params == {"release_a": "1.0.0", "release_b": "2.0.0"}


def test_by_default_the_live_release_against_the_one_it_replaced(team_member, workload):
    dashboard = build(team_member, workload)  # 1.0.0 live again, after rolling back from 2.0.0
    assert dashboard.numbers["comparison"]["release_a"] == "2.0.0"
    assert dashboard.numbers["comparison"]["release_b"] == "1.0.0"
    assert dashboard.params == {}  # nothing asked: the links keep following the defaults
    rows = {row[0]: row[1:] for row in dashboard.part("release-comparison").rows}
    assert rows["Error rate (%)"] == [10.0, 2.0, "down 8.00 pts", "better"]


def test_a_promotion_compares_with_the_release_before(team, team_member, model):
    workload = registry.workload_register(actor=team_member, team=team, name="Letters", ai_models=[model])
    release(workload, team_member, "1.0.0", at(ago(9), 8), model)
    release(workload, team_member, "1.1.0", at(ago(5), 8), model)
    release(workload, team_member, "2.0.0", at(ago(2), 8), model)
    dashboard = build(team_member, Workload.objects.select_related("team").get(pk=workload.pk))
    assert (dashboard.numbers["comparison"]["release_a"], dashboard.numbers["comparison"]["release_b"]) == (
        "1.1.0", "2.0.0")  # fmt: skip
    # Neither has telemetry: said, not a crash.
    assert "No telemetry labelled 1.1.0 in this period." in dashboard.notes
    assert dashboard.part("release-comparison").rows == []
    assert dashboard.part("release-chart").rows == []


def test_an_unknown_version_is_a_note_not_a_crash(team_member, workload):
    dashboard = build(team_member, workload, release_a="9.9.9", release_b="2.0.0")
    assert "“9.9.9” is not a release of Claims Assistant: comparing 2.0.0 instead." in dashboard.notes
    assert dashboard.numbers["comparison"]["release_a"] == "2.0.0"
    assert dashboard.numbers["comparison"]["release_b"] == "2.0.0"
    assert dashboard.params == {"release_b": "2.0.0"}  # what the page's links keep


# --- Alerts ---------------------------------------------------------------------------------------------


def test_alerts_open_first_then_the_periods(team_member, workload, other_team, other_team_member, model):
    theirs = registry.workload_register(actor=other_team_member, team=other_team, name="Menu Bot", ai_models=[model])
    Alert.objects.create(workload=theirs, kind=Alert.Kind.BUDGET, key="b", title="Not ours", day=ago(2))
    table = build(team_member, workload).part("alerts")
    assert table.columns == ["Alert", "Kind", "Severity", "Day", "State"]
    resolved = Alert.objects.get(key="anomaly:p95").resolved_at
    assert table.rows == [
        ["=2.0.0 is clearly worse than 1.0.0", "Rollback recommended", "Critical", ago(8), "open"],
        ["p95 latency anomaly", "Anomaly", "Warning", ago(9), f"resolved {resolved:%Y-%m-%d}"],
    ]
    assert table.links[0].endswith("#telemetry-alerts")


# --- Page, CSV, API --------------------------------------------------------------------------------------


def page_url(workload: Workload) -> str:
    return reverse("dashboards:operations", args=[workload.slug])


def read_csv(response) -> list[list[str]]:  # type: ignore[no-untyped-def]
    assert response["Content-Type"].startswith("text/csv")
    return list(csv.reader(io.StringIO(response.content.decode())))


def test_the_page_and_its_htmx_body(client_for, team_member, workload):
    client = client_for(team_member)
    response = client.get(page_url(workload), {"release_a": "1.0.0", "release_b": "2.0.0"})
    assert response.status_code == 200
    html = response.content.decode()
    assert "Operations: Claims Assistant" in html
    for key in (*TIME_CHARTS, "release-chart"):
        assert f'id="chart-{key}"' in html
    assert 'id="table-release-comparison"' in html
    # The comparison's releases stay in the URL: kept by the period picker and the CSV links.
    assert '<input type="hidden" name="release_a" value="1.0.0">' in html
    assert "release_a=1.0.0&amp;release_b=2.0.0&amp;export=release-comparison" in html
    body = client.get(page_url(workload), {"period": "90d"}, HTTP_HX_REQUEST="true", HTTP_HX_TARGET="dashboard-body")
    assert body.status_code == 200
    assert body.content.decode().lstrip().startswith('<div id="dashboard-body"')


def test_csv_export_of_a_part(client_for, team_member, workload):
    client = client_for(team_member)
    rows = read_csv(client.get(page_url(workload), {"export": "release-comparison", "release_a": "1.0.0",
                                                    "release_b": "2.0.0"}))  # fmt: skip
    assert rows[0] == ["Measure", "1.0.0 (A)", "2.0.0 (B)", "Change (B − A)", "B against A"]
    assert rows[2] == ["Error rate (%)", "2.0", "10.0", "up 8.00 pts", "worse"]
    assert rows[6] == ["Token cost per request (USD)", "0.040000", "0.060000", "up 50.0 %", "worse"]
    traffic = read_csv(client.get(page_url(workload), {"export": "traffic"}))
    assert traffic[1] == [ago(14).isoformat(), "100", "2", "2.0"]
    alerts = read_csv(client.get(page_url(workload), {"export": "alerts"}))
    assert alerts[1][0] == "'=2.0.0 is clearly worse than 1.0.0"  # a formula-looking title stays text


def test_the_telemetry_tab_links_to_the_dashboard(client_for, team_member, workload):
    html = client_for(team_member).get(reverse("telemetry:workload-telemetry", args=[workload.slug])).content.decode()
    assert f'href="{page_url(workload)}"' in html


def api_url(slug: str) -> str:
    return f"/api/v1/dashboards/workloads/{slug}/"


def test_the_api_returns_the_numbers(team_member, workload):
    client = APIClient()
    client.force_authenticate(team_member)
    response = client.get(api_url(workload.slug), {"release_a": "1.0.0", "release_b": "2.0.0"})
    assert response.status_code == 200
    data = response.json()
    assert data["dashboard"] == "operations"
    assert data["currency"] == "EUR"
    assert data["filters"]["period"] == "30d"
    values = {k["key"]: k["value"] for k in data["kpis"]}
    assert values["requests"] == 1400
    assert values["cost"] == "70.00"
    assert values["open_alerts"] == 1
    assert set(data["charts"]) == {*TIME_CHARTS, "release-chart"}
    assert set(data["tables"]) == {"release-comparison", "releases", "alerts"}
    assert data["charts"]["traffic"]["rows"][0] == [ago(14).isoformat(), 100, 2, 2.0]
    assert data["tables"]["release-comparison"]["rows"][1] == ["Error rate (%)", 2.0, 10.0, "up 8.00 pts", "worse"]
    assert data["workload"] == {"slug": workload.slug, "name": "Claims Assistant", "team": "claims-automation"}
    assert data["objective_p95_latency_ms"] == 2000
    assert [r["version"] for r in data["releases"]] == ["1.0.0", "2.0.0", "1.0.0"]
    assert data["comparison"]["releases"]["2.0.0"]["error_rate"] == 0.1
    assert data["comparison"]["releases"]["1.0.0"]["requests"] == 700


@pytest.mark.parametrize("persona", ["coe_staff", "leader"])
def test_the_coe_and_leadership_read_the_api(request, persona, workload):
    client = APIClient()
    client.force_authenticate(request.getfixturevalue(persona))
    assert client.get(api_url(workload.slug)).status_code == 200


def test_the_api_refuses_another_teams_member_and_an_unknown_slug(other_team_member, team_member, workload):
    client = APIClient()
    client.force_authenticate(other_team_member)
    assert client.get(api_url(workload.slug)).status_code == 403
    client.force_authenticate(team_member)
    assert client.get(api_url("no-such-workload")).status_code == 404
    assert client.get(api_url(workload.slug), {"period": "someday"}).status_code == 400


def test_the_page_refuses_another_teams_member(client_for, other_team_member, workload):
    assert client_for(other_team_member).get(page_url(workload)).status_code == 403


def test_an_empty_workload_renders(client_for, team, team_member, model):
    workload = registry.workload_register(actor=team_member, team=team, name="Quiet One", ai_models=[model])
    response = client_for(team_member).get(page_url(workload))
    assert response.status_code == 200
    dashboard = build(team_member, Workload.objects.select_related("team").get(pk=workload.pk))
    assert kpis(dashboard)["requests"].raw == 0
    assert kpis(dashboard)["latency_p95"].raw is None
    assert all(chart.rows == [] for chart in dashboard.charts)


# --- Queries ----------------------------------------------------------------------------------------------


def test_the_number_of_queries_does_not_grow_with_days_or_releases(team, team_member, model, workload):
    small = workload  # 14 days, 2 releases, 3 events
    big = registry.workload_register(actor=team_member, team=team, name="Big One", ai_models=[model], currency="EUR",
                                     monthly_budget=Decimal("100"))  # fmt: skip
    for i in range(8):
        release(big, team_member, f"{i}.0.0", at(ago(60 - 7 * i), 8), model)
    for n in range(60, 0, -1):
        telemetry_day(big, ago(n), "1.0.0" if n % 2 else "2.0.0", anomalies=[{"metric": "requests", "label": "R",
                      "value": 1, "median": 2, "z": 4, "direction": "down"}])  # fmt: skip
        Alert.objects.create(workload=big, kind=Alert.Kind.ANOMALY, key=f"a{n}", title=f"A{n}", day=ago(n))
    big = Workload.objects.select_related("team", "live_release").get(pk=big.pk)

    def count(target: Workload) -> int:
        with CaptureQueriesContext(connection) as queries:
            build(team_member, target, period="90d", release_a="1.0.0", release_b="2.0.0")
        return len(queries)

    assert count(small) == count(big) == 6


def test_peoples_words_reach_plotly_as_text():
    marker = operations.Marker(at=datetime(2026, 1, 2, 8, tzinfo=UTC), kind=ReleaseEvent.Kind.ROLLED_BACK,
                               version="<i>1</i>", previous="2.0.0", reason='<a href="x">why</a>')  # fmt: skip
    assert marker.label == "↩ &lt;i&gt;1&lt;/i&gt; (rollback)"
    assert marker.hover == (
        'Rolled back to &lt;i&gt;1&lt;/i&gt; from 2.0.0, 2 Jan 2026 08:00 UTC: &lt;a href="x"&gt;why&lt;/a&gt;'
    )


# --- Long periods: whole months from the monthly rollups -------------------------------------------------


def _assert_sums_of_hours(
    dashboard, workload: Workload, start: datetime, end: datetime, *, quality: bool = False
) -> None:  # type: ignore[no-untyped-def]
    """Each compared release's figures are its hourly rollups' in [start, end), summed."""
    for version in ("1.0.0", "2.0.0"):
        hours = list(HourlyRollup.objects.filter(workload=workload, release=version, hour__gte=start, hour__lt=end))
        merged = [sum(column) for column in zip(*(h.latency_hist for h in hours), strict=True)]
        got = dashboard.numbers["comparison"]["releases"][version]
        assert got["requests"] == sum(h.requests for h in hours) > 0
        assert got["errors"] == sum(h.errors for h in hours)
        assert got["cost_usd"] == sum((h.cost for h in hours), Decimal(0))
        if quality:
            assert got["quality_score"] == round(
                sum(h.quality_sum for h in hours) / sum(h.quality_count for h in hours), 4
            )
        assert got["latency_p95_ms"] == round(stats.percentile(merged, 0.95), 1)


@pytest.mark.parametrize(
    "params",
    [
        {"period": "12m"},
        {"period": "last-quarter"},
        {"period": "last-month"},
        {
            "period": "custom",
            "start": (TODAY - timedelta(days=200)).isoformat(),
            "end": (TODAY - timedelta(days=40)).isoformat(),
        },
    ],
    ids=["12m", "last-quarter", "last-month", "custom-mid-month"],
)
def test_releases_compared_over_months_as_over_their_hours(team, team_member, model, params):
    """Over a year, the comparison reads whole months from the monthly rollups (as scoring refreshes
    them) and the days around them from the hourly ones: the same sums as all the hours."""
    big = registry.workload_register(actor=team_member, team=team, name="Year Long", ai_models=[model])
    release(big, team_member, "1.0.0", at(ago(420), 8), model)
    release(big, team_member, "2.0.0", at(ago(150), 8), model)
    months = set()
    for n in range(400, 0, -3):  # every third day, both releases, at two hours and on two models
        day = ago(n)
        months.add(day.replace(day=1))
        for version in ("1.0.0", "2.0.0"):
            for hour, name in ((1, "gpt-4o-mini"), (23, "other-model")):
                d = DAY[version]
                HourlyRollup.objects.create(
                    workload=big, hour=at(day, hour), model_name=name, release=version, requests=100 + n % 7,
                    errors=d["errors"] + n % 3, input_tokens=1000, output_tokens=500, cost=d["cost"] + n,
                    latency_hist=d["hist"], quality_sum=d["quality_sum"] + n % 5, quality_count=100,
                    safety_flagged=d["flagged"],
                )  # fmt: skip
    for month in months:
        rollups.monthly_refresh(workload_id=big.pk, month=month)
    big = Workload.objects.select_related("team", "live_release").get(pk=big.pk)

    dashboard = build(team_member, big, release_a="1.0.0", release_b="2.0.0", **params)
    filters = dashboard.filters
    start, end = at(filters.start, 0), at(filters.end + timedelta(days=1), 0)
    _assert_sums_of_hours(dashboard, big, start, end, quality=True)
    # The whole months came from the monthly rows: without their hours, the same answer.
    first, last = operations._whole_months(start, end)
    assert first < last  # every period here holds a whole month
    HourlyRollup.objects.filter(workload=big, hour__gte=at(first, 0), hour__lt=at(last, 0)).delete()
    again = build(team_member, big, release_a="1.0.0", release_b="2.0.0", **params)
    assert again.numbers["comparison"] == dashboard.numbers["comparison"]


def test_releases_compared_from_daily_rows_for_scored_days_and_hours_for_the_rest(team, team_member, model):
    """Over 20 days, the days scored complete come from their daily rollups (written with the card),
    today and days not scored from the hourly ones: the same sums as all the hours either way."""
    busy = registry.workload_register(actor=team_member, team=team, name="Busy", ai_models=[model])
    release(busy, team_member, "1.0.0", at(ago(60), 8), model)
    release(busy, team_member, "2.0.0", at(ago(20), 8), model)
    for n in range(0, 40):
        for version, hour in (("1.0.0", 2), ("2.0.0", 14), ("2.0.0", 15)):
            d = DAY[version]
            HourlyRollup.objects.create(
                workload=busy, hour=at(ago(n), hour), model_name="gpt-4o-mini", release=version, requests=50 + n,
                errors=d["errors"] + n % 4, input_tokens=1000, output_tokens=500, cost=d["cost"] + n,
                latency_hist=d["hist"], quality_sum=d["quality_sum"] + n % 5, quality_count=50, safety_flagged=n % 2,
            )  # fmt: skip
    unscored = {ago(0), ago(1), ago(7)}  # today, yesterday before the night's scoring, a day scoring missed
    for n in range(1, 40):
        if ago(n) not in unscored:
            Scorecard.objects.create(workload=busy, day=ago(n), complete=True, currency=busy.currency,
                                     computed_at=timezone.now())  # fmt: skip
    Scorecard.objects.create(workload=busy, day=ago(0), complete=False, currency=busy.currency,
                             computed_at=timezone.now())  # fmt: skip
    rollups.daily_refresh(workload_id=busy.pk, days=[ago(n) for n in range(0, 40)])
    busy = Workload.objects.select_related("team", "live_release").get(pk=busy.pk)
    params = {"period": "custom", "start": ago(19).isoformat(), "end": TODAY.isoformat()}  # no whole month

    sources = operations._sources(at(ago(19), 0), at(TODAY + timedelta(days=1), 0),
                                  {ago(n) for n in range(1, 40)} - unscored)  # fmt: skip
    assert sources.days == [ago(n) for n in range(19, 0, -1) if ago(n) not in unscored]
    assert sources.hours == [(at(ago(7), 0), at(ago(6), 0)), (at(ago(1), 0), at(TODAY + timedelta(days=1), 0))]

    dashboard = build(team_member, busy, release_a="1.0.0", release_b="2.0.0", **params)
    _assert_sums_of_hours(dashboard, busy, at(ago(19), 0), at(TODAY + timedelta(days=1), 0))
    # Scored days came from their daily rows: without their hours, the same answer. The others did
    # not: today's and the unscored days' daily rows (refreshed above, as the quarter-hourly scoring
    # leaves today's) are not read, so changing them changes nothing either.
    scored_hours = Q()
    for n in range(1, 20):
        if ago(n) not in unscored:
            scored_hours |= Q(hour__gte=at(ago(n), 0), hour__lt=at(ago(n - 1), 0))
    HourlyRollup.objects.filter(scored_hours, workload=busy).delete()
    DailyModelRollup.objects.filter(workload=busy, day__in=unscored).update(requests=0, errors=0)
    again = build(team_member, busy, release_a="1.0.0", release_b="2.0.0", **params)
    assert again.numbers["comparison"] == dashboard.numbers["comparison"]

"""The model comparison dashboard: per catalogue model and use-case category, from the monthly model
rollups of the months the period overlaps. Every figure is checked against numbers worked out by
hand from the rows below; the page, its CSV export and the API give the same numbers, to anyone
signed in, in a number of queries that does not grow with the workloads."""

from __future__ import annotations

import csv
import io
from datetime import date, timedelta
from decimal import Decimal

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from apps.dashboards import model_comparison
from apps.dashboards.filters import Filters
from apps.registry.models import AIModel
from apps.telemetry import rollups, stats, tasks
from apps.telemetry.models import (
    LATENCY_BUCKETS,
    HourlyRollup,
    MonthlyCategoryRollup,
    MonthlyModelRollup,
    latency_bucket,
)
from apps.telemetry.scoring import score_day
from tests.registry.factories import AIModelFactory, WorkloadFactory
from tests.telemetry.helpers import roll, send_day

pytestmark = pytest.mark.django_db

SEP, OCT = date(2026, 9, 1), date(2026, 10, 1)
PERIOD = {"period": "custom", "start": "2026-09-10", "end": "2026-10-05"}  # overlaps September and October
URL = reverse("dashboards:dashboard", kwargs={"name": "models"})
API = "/api/v1/dashboards/models/"
B800, B2000, B1300, B100, B4000 = (latency_bucket(ms) for ms in (800, 2100, 1300, 100, 4000))


def _hist(**counts: int) -> list[int]:
    hist = [0] * LATENCY_BUCKETS
    for bucket, count in counts.items():
        hist[int(bucket[1:])] += count
    return hist


def _row(workload, month, model, requests, *, name="", errors=0, cost="0", unpriced=0, quality=0.0, scored=0,
         flagged=0, hist=None):  # type: ignore[no-untyped-def]  # fmt: skip
    return MonthlyModelRollup.objects.create(
        workload=workload, month=month, ai_model=model, model_name=name or (model.model_id if model else ""),
        requests=requests, errors=errors, cost=Decimal(cost), unpriced_requests=unpriced, quality_sum=quality,
        quality_count=scored, safety_flagged=flagged, latency_hist=hist or _hist(),
    )  # fmt: skip


@pytest.fixture
def world(team, other_team):  # type: ignore[no-untyped-def]
    """Three catalogue models and a name the catalogue does not know, in three workloads.

    ==========  ==================  ======  =====  ========  =======  ========  =======
    model       category            wl      reqs   errors    cost $   quality   flags
    ==========  ==================  ======  =====  ========  =======  ========  =======
    mini        customer support    w1 Sep  1000   10        0.45     800/1000  5
    mini        customer support    w1 Oct  1000   30        0.45     700/1000  15
    mini        customer support    w2 Oct  2000   0         0.90     1700/2000 0
    mini        code assistance     w3 Oct  500    5         0.30     450/500   0
    haiku       code assistance     w3 Oct  500    25        1.50     450/500   0
    legacy      customer support    w2 Oct  400    40        0.20     240/400   8
    mystery     code assistance     w3 Sep  100    0         — (100 unpriced)
    ==========  ==================  ======  =====  ========  =======  ========  =======
    Rows of August and November (outside the months read) must not count.
    """
    mini = AIModelFactory(provider="openai", model_id="gpt-4o-mini", display_name="GPT-4o mini")
    haiku = AIModelFactory(provider="anthropic", model_id="claude-haiku", display_name="Claude Haiku",
                           approval_status=AIModel.ApprovalStatus.CONDITIONAL, conditions="No PII.")  # fmt: skip
    legacy = AIModelFactory(provider="acme", model_id="legacy-1", display_name="Legacy One",
                            approval_status=AIModel.ApprovalStatus.PROHIBITED)  # fmt: skip
    w1 = WorkloadFactory(name="Claims Assistant", team=team, use_case_category="customer_support",
                         risk_tier="limited", lifecycle_stage="production")  # fmt: skip
    w2 = WorkloadFactory(name="Chat Helper", team=other_team, use_case_category="customer_support",
                         risk_tier="high", lifecycle_stage="production")  # fmt: skip
    w3 = WorkloadFactory(name="Code Buddy", team=team, use_case_category="code_assistance", risk_tier="limited",
                         lifecycle_stage="pilot")  # fmt: skip
    w1.ai_models.set([mini])
    w2.ai_models.set([mini, legacy])
    w3.ai_models.set([mini, haiku])
    _row(
        w1,
        SEP,
        mini,
        1000,
        errors=10,
        cost="0.45",
        quality=800,
        scored=1000,
        flagged=5,
        hist=_hist(**{f"b{B800}": 1000}),
    )
    _row(
        w1,
        OCT,
        mini,
        1000,
        errors=30,
        cost="0.45",
        quality=700,
        scored=1000,
        flagged=15,
        hist=_hist(**{f"b{B800}": 900, f"b{B2000}": 100}),
    )
    _row(w2, OCT, mini, 2000, cost="0.90", quality=1700, scored=2000, hist=_hist(**{f"b{B800}": 2000}))
    _row(w3, OCT, mini, 500, errors=5, cost="0.30", quality=450, scored=500, hist=_hist(**{f"b{B800}": 500}))
    _row(w3, OCT, haiku, 500, errors=25, cost="1.50", quality=450, scored=500, hist=_hist(**{f"b{B1300}": 500}))
    _row(
        w2,
        OCT,
        legacy,
        400,
        errors=40,
        cost="0.20",
        quality=240,
        scored=400,
        flagged=8,
        hist=_hist(**{f"b{B4000}": 400}),
    )
    _row(w3, SEP, None, 100, name="mystery-model", unpriced=100, hist=_hist(**{f"b{B100}": 100}))
    _row(w1, date(2026, 8, 1), mini, 99_999, cost="999", hist=_hist(**{f"b{B100}": 99_999}))
    _row(w1, date(2026, 11, 1), legacy, 77_777, cost="777")
    rollups.category_refresh()  # as the beat task does: the organisation-wide rows
    return {"mini": mini, "haiku": haiku, "legacy": legacy, "w1": w1, "w2": w2, "w3": w3}


def _build(user, **params: str):  # type: ignore[no-untyped-def]
    filters, form = Filters.from_query({**PERIOD, **params})
    assert not form.errors
    return model_comparison.build(user=user, filters=filters, query={})


def _kpis(dashboard) -> dict:  # type: ignore[no-untyped-def]
    return {k.key: k for k in dashboard.kpis}


def _detail(slug: str) -> str:
    return reverse("registry:model-detail", args=[slug])


# --- The numbers -----------------------------------------------------------------------------


def test_key_figures_cover_every_model_in_the_months_the_period_overlaps(world, team_member):
    dashboard = _build(team_member)
    kpis = _kpis(dashboard)
    assert kpis["models"].raw == 3  # mini, haiku, legacy; the unknown name is not a catalogue model
    assert kpis["models"].detail == "and 100 requests on names not in the catalogue"
    assert kpis["requests"].raw == 5500
    assert kpis["requests"].value == "5,500"
    assert kpis["requests"].detail == "from 3 workloads"
    # $3.80 over the 5,400 priced requests: the 100 unpriced ones have no cost, not a zero one.
    assert kpis["cost-per-1k"].raw == Decimal("0.7037")
    assert kpis["cost-per-1k"].value == "0.7037 USD"
    assert kpis["cost-per-1k"].detail == "3.80 USD of token cost in all"
    # Approved (mini, 4,500) and approved with conditions (haiku, 500) of 5,500.
    assert kpis["approved-share"].raw == pytest.approx(0.9091)
    assert kpis["approved-share"].value == "90.9 %"
    assert kpis["approved-share"].detail == "400 on prohibited models"
    assert kpis["approved-share"].state == "bad"
    assert dashboard.notes[0] == "Read in whole calendar months: September 2026 to October 2026, the months the " \
        "period overlaps."  # fmt: skip
    assert dashboard.numbers["months"] == {"first": SEP, "last": OCT}


def test_charts_give_each_models_cost_latency_errors_and_quality(world, leader):
    dashboard = _build(leader)
    cost = dashboard.part("cost")
    assert cost.columns == ["Model", "Requests", "Cost per 1,000 requests (USD)"]
    # Busiest first; the unknown name has no price, so no bar.
    assert cost.rows == [
        ["GPT-4o mini", 4500, Decimal("0.4667")],  # $2.10 / 4,500
        ["Claude Haiku", 500, Decimal("3.0000")],  # $1.50 / 500
        ["Legacy One", 400, Decimal("0.5000")],  # $0.20 / 400
    ]
    assert cost.links == [_detail("openai-gpt-4o-mini"), _detail("anthropic-claude-haiku"), _detail("acme-legacy-1")]
    assert list(cost.figure["data"][0]["x"]) == ["GPT-4o mini", "Claude Haiku", "Legacy One"]
    assert list(cost.figure["data"][0]["y"]) == [0.4667, 3.0, 0.5]

    latency = {row[0]: row[2] for row in dashboard.part("latency").rows}
    mini_hist = _hist(**{f"b{B800}": 4400, f"b{B2000}": 100})  # the four rows of mini, merged
    assert latency["GPT-4o mini"] == round(stats.percentile(mini_hist, 0.95), 1)
    low, high = (2 ** ((B800 - 1) / 4), 2 ** (B800 / 4))
    assert low <= latency["GPT-4o mini"] <= high  # 95 % of 4,500 falls among the ~800 ms requests
    assert 2 ** ((B4000 - 1) / 4) <= latency["Legacy One"] <= 2 ** (B4000 / 4)
    assert 2 ** ((B100 - 1) / 4) <= latency[model_comparison.UNKNOWN] <= 2 ** (B100 / 4)

    errors = dashboard.part("errors").rows
    assert errors == [["GPT-4o mini", 4500, 1.0], ["Claude Haiku", 500, 5.0], ["Legacy One", 400, 10.0],
                      [model_comparison.UNKNOWN, 100, 0.0]]  # fmt: skip
    quality = dashboard.part("quality").rows
    assert quality == [["GPT-4o mini", 4500, 0.811], ["Claude Haiku", 500, 0.9], ["Legacy One", 400, 0.6]]

    scatter = dashboard.part("cost-quality")
    assert scatter.rows == [
        ["GPT-4o mini", 4500, Decimal("0.4667"), 0.811],
        ["Claude Haiku", 500, Decimal("3.0000"), 0.9],
        ["Legacy One", 400, Decimal("0.5000"), 0.6],
    ]
    sizes = [trace["marker"]["size"][0] for trace in scatter.figure["data"]]
    assert sizes == [4500, 500, 400]  # bubble area ∝ requests


def test_the_category_heat_map_compares_models_within_each_use_case(world, leader):
    chart = _build(leader).part("by-category")
    assert chart.columns == ["Model", "Use-case category", "Workloads", "Requests", "Cost per 1,000 requests (USD)"]
    assert chart.rows == [
        ["GPT-4o mini", "Customer support", 2, 4000, Decimal("0.4500")],  # $1.80 / 4,000
        ["GPT-4o mini", "Code assistance", 1, 500, Decimal("0.6000")],
        ["Claude Haiku", "Code assistance", 1, 500, Decimal("3.0000")],
        ["Legacy One", "Customer support", 1, 400, Decimal("0.5000")],
    ]
    heat = chart.figure["data"][0]
    assert heat["type"] == "heatmap"
    assert list(heat["x"]) == ["Customer support", "Code assistance"]
    assert list(heat["y"]) == ["GPT-4o mini", "Claude Haiku", "Legacy One"]
    assert [list(row) for row in heat["z"]] == [[0.45, 0.6], [None, 3.0], [0.5, None]]


def test_the_table_gives_each_model_in_each_category(world, team_member):
    table = _build(team_member).part("models")
    assert table.columns == [
        "Model", "Approval", "Use-case category", "Workloads", "Requests", "Cost per 1,000 requests (USD)",
        "p50 latency (ms)", "p95 latency (ms)", "Error rate (%)", "Quality score (0–1)", "Safety-flag rate (%)",
    ]  # fmt: skip
    support = _hist(**{f"b{B800}": 3900, f"b{B2000}": 100})  # w1 Sep + w1 Oct + w2 Oct
    assert table.rows[0] == [
        "GPT-4o mini", "Approved", "Customer support", 2, 4000, Decimal("0.4500"),
        round(stats.percentile(support, 0.5), 1), round(stats.percentile(support, 0.95), 1),
        1.0, 0.8, 0.5,  # 40 / 4,000 errors; 3,200 / 4,000 quality; 20 / 4,000 flagged
    ]  # fmt: skip
    code = _hist(**{f"b{B800}": 500})
    assert table.rows[1] == ["GPT-4o mini", "Approved", "Code assistance", 1, 500, Decimal("0.6000"),
                             round(stats.percentile(code, 0.5), 1), round(stats.percentile(code, 0.95), 1), 1.0,
                             0.9, 0.0]  # fmt: skip
    assert table.rows[2][:6] == ["Claude Haiku", "Approved with conditions", "Code assistance", 1, 500,
                                 Decimal("3.0000")]  # fmt: skip
    assert table.rows[3][:6] == ["Legacy One", "Prohibited", "Customer support", 1, 400, Decimal("0.5000")]
    assert table.rows[3][8:] == [10.0, 0.6, 2.0]  # 8 flagged of 400
    assert table.rows[4] == [model_comparison.UNKNOWN, "Not in the catalogue", "Code assistance", 1, 100, None,
                             table.rows[4][6], table.rows[4][7], 0.0, None, 0.0]  # fmt: skip
    assert table.links == [_detail("openai-gpt-4o-mini")] * 2 + [_detail("anthropic-claude-haiku"),
                                                                 _detail("acme-legacy-1"), ""]  # fmt: skip


def test_a_workload_behind_a_cell_alone_is_still_shown(world, team_member):
    """Organisation data: one workload behind a model × category is not a team's figure to hide."""
    rows = _build(team_member, risk_tier="high").part("models").rows
    assert [(r[0], r[2], r[3], r[4]) for r in rows] == [
        ("GPT-4o mini", "Customer support", 1, 2000), ("Legacy One", "Customer support", 1, 400),
    ]  # fmt: skip


def test_filters_narrow_the_workloads_and_the_model_filter_keeps_that_model(world, leader, team):
    by_team = _kpis(_build(leader, team=team.slug))
    assert by_team["requests"].raw == 1000 + 1000 + 500 + 500 + 100  # w1 and w3
    assert by_team["approved-share"].state == ""
    haiku = _build(leader, model="anthropic-claude-haiku")
    assert [row[0] for row in haiku.part("models").rows] == ["Claude Haiku"]  # not w3's other models
    assert _kpis(haiku)["approved-share"].raw == 1.0
    assert _kpis(haiku)["approved-share"].state == "good"
    assert "The model filter keeps that model's telemetry" in haiku.notes[1]
    production = _kpis(_build(leader, stage="pilot"))
    assert production["requests"].raw == 1100  # w3 only
    assert _kpis(_build(leader, team=team.slug, model="acme-legacy-1"))["requests"].raw == 0


def test_one_month_period_reads_that_month_only(world, leader):
    dashboard = _build(leader, start="2026-10-05", end="2026-10-20")
    assert _kpis(dashboard)["requests"].raw == 1000 + 2000 + 500 + 500 + 400
    assert dashboard.notes[0].startswith("Read in whole calendar months: October 2026, ")


def test_an_empty_period_says_so(world, leader):
    dashboard = _build(leader, start="2025-01-01", end="2025-01-31")
    kpis = _kpis(dashboard)
    assert (kpis["models"].raw, kpis["requests"].raw, kpis["cost-per-1k"].value, kpis["approved-share"].value) == (
        0, 0, "—", "—",
    )  # fmt: skip
    assert all(chart.is_empty for chart in dashboard.charts)
    assert dashboard.part("models").rows == []


def test_it_reads_what_scoring_wrote(team, team_member):
    """Through the real write path: events, hourly rollups, scoring (which refreshes the month)."""
    model = AIModelFactory(provider="openai", model_id="gpt-4o-mini", display_name="GPT-4o mini")
    model.prices.create(effective_from=timezone.now() - timedelta(days=400), input_per_million=Decimal("0.15"),
                        output_per_million=Decimal("0.60"))  # fmt: skip
    workload = WorkloadFactory(name="Claims Assistant", team=team, use_case_category="document_processing")
    yesterday = timezone.now().date() - timedelta(days=1)
    send_day(workload, yesterday, n=40, error_rate=0.25, flagged_rate=0.1)
    roll()
    score_day(workload=workload, day=yesterday, evaluate_controls=False)
    tasks.category_refresh_task()  # the quarter-hourly rebuild (this month and the last)
    filters, _ = Filters.from_query({"period": "30d"})
    rows = model_comparison.build(user=team_member, filters=filters, query={}).part("models").rows
    hours = HourlyRollup.objects.filter(workload=workload)
    quality = sum(h.quality_sum for h in hours) / sum(h.quality_count for h in hours)  # scores drawn around 0.8
    # 40 × (1,000 × 0.15 + 500 × 0.60) / 10⁶ = $0.018, i.e. $0.45 per 1,000; 10 errors, 4 flagged.
    assert [row[:6] + row[8:] for row in rows] == [
        ["GPT-4o mini", "Approved", "Document processing", 1, 40, Decimal("0.4500"), 25.0, round(quality, 3), 10.0]
    ]


# --- Pages, export, API, speed ------------------------------------------------------------------


@pytest.mark.parametrize("persona", ["team_member", "other_team_member", "coe_staff", "leader"])
def test_everyone_signed_in_sees_the_same_page(world, client_for, request, persona):
    response = client_for(request.getfixturevalue(persona)).get(URL, PERIOD)
    assert response.status_code == 200
    body = response.content.decode()
    assert "Model comparison" in body
    assert 'id="kpi-requests"' in body
    assert "5,500" in body
    assert f'href="{_detail("anthropic-claude-haiku")}"' in body
    for key in ("cost", "latency", "errors", "quality", "by-category", "cost-quality"):
        assert f'id="chart-{key}-figure"' in body  # the figure handed to the page


def test_an_htmx_filter_change_answers_the_body_only(world, client_for, team_member):
    response = client_for(team_member).get(URL, {**PERIOD, "risk_tier": "high"}, HTTP_HX_REQUEST="true",
                                           HTTP_HX_TARGET="dashboard-body")  # fmt: skip
    body = response.content.decode()
    assert '<div id="dashboard-body"' in body
    assert "<html" not in body
    assert "2,400" in body  # w2 only: 2,000 + 400


def test_the_csv_export_gives_the_tables_numbers_escaped(world, client_for, team_member):
    AIModel.objects.filter(pk=world["legacy"].pk).update(display_name="=HYPERLINK(1)")
    response = client_for(team_member).get(URL, {**PERIOD, "export": "models"})
    assert response.status_code == 200
    assert response["Content-Type"] == "text/csv; charset=utf-8"
    assert response["Content-Disposition"] == 'attachment; filename="models-models-20260910-20261005.csv"'
    rows = list(csv.reader(io.StringIO(response.content.decode())))
    assert rows[0][:6] == ["Model", "Approval", "Use-case category", "Workloads", "Requests",
                           "Cost per 1,000 requests (USD)"]  # fmt: skip
    assert rows[1][:6] == ["GPT-4o mini", "Approved", "Customer support", "2", "4000", "0.4500"]
    assert rows[4][:6] == ["'=HYPERLINK(1)", "Prohibited", "Customer support", "1", "400", "0.5000"]
    assert rows[5][5] == ""  # no price: an empty cell
    chart = client_for(team_member).get(URL, {**PERIOD, "export": "cost-quality"})
    assert list(csv.reader(io.StringIO(chart.content.decode())))[1] == ["GPT-4o mini", "4500", "0.4667", "0.811"]


def test_the_api_gives_the_numbers_behind_the_page(world, client_for, other_team_member):
    response = client_for(other_team_member).get(API, {**PERIOD, "risk_tier": "high"})
    assert response.status_code == 200
    data = response.json()
    assert data["dashboard"] == "models"
    assert data["currency"] == "USD"
    assert data["months"] == {"first": "2026-09-01", "last": "2026-10-01"}
    assert data["filters"]["risk_tier"] == "high"
    kpis = {k["key"]: k["value"] for k in data["kpis"]}
    assert kpis == {"models": 2, "requests": 2400, "cost-per-1k": "0.4583", "approved-share": 0.8333}  # $1.10/2,400
    assert set(data["charts"]) == {"cost", "latency", "errors", "quality", "by-category", "cost-quality"}
    assert data["charts"]["cost"]["rows"] == [["GPT-4o mini", 2000, "0.4500"], ["Legacy One", 400, "0.5000"]]
    table = data["tables"]["models"]
    assert table["rows"][1][:6] == ["Legacy One", "Prohibited", "Customer support", 1, 400, "0.5000"]
    assert table["rows"][1][8:] == [10.0, 0.6, 2.0]


def test_the_api_names_a_bad_filter(world, client_for, team_member):
    response = client_for(team_member).get(API, {"period": "custom", "start": "2026-10-05", "end": "2026-09-10"})
    assert response.status_code == 400
    assert response.json() == {"end": ["The last day comes after the first."]}


def _workloads(n: int, model: AIModel) -> None:
    for i in range(n):
        workload = WorkloadFactory(
            name=f"Load {n}-{i}", use_case_category=["agents", "analytics"][i % 2], lifecycle_stage="pilot"
        )
        for month in (SEP, OCT):
            _row(workload, month, model, 100 + i, cost="0.05", quality=80, scored=100, hist=_hist(**{f"b{B800}": 100}))
        _row(workload, OCT, None, 10, name=f"unknown-{i}", unpriced=10)


def test_the_number_of_queries_does_not_grow_with_the_workloads(client_for, leader):
    model = AIModelFactory(provider="openai", model_id="gpt-4o-mini", display_name="GPT-4o mini")
    client = client_for(leader)
    client.get(URL, PERIOD)  # the session, warmed
    counts = []
    for n in (2, 10):
        MonthlyModelRollup.objects.all().delete()
        _workloads(n, model)
        rollups.category_refresh()
        with CaptureQueriesContext(connection) as page:
            assert client.get(URL, {**PERIOD, "model": model.slug}).status_code == 200
        with CaptureQueriesContext(connection) as built:
            dashboard = _build(leader)
        with CaptureQueriesContext(connection) as narrowed:
            by_stage = _build(leader, stage="pilot")
        assert _kpis(dashboard)["requests"].raw == sum(2 * (100 + i) + 10 for i in range(n))
        assert _kpis(by_stage)["requests"].raw == _kpis(dashboard)["requests"].raw  # every one a pilot
        counts.append((len(page), len(built), len(narrowed)))
    assert counts[0] == counts[1]
    assert counts[0][1] == 1  # organisation-wide: the rows per month, model and category
    assert counts[0][2] == 2  # narrowed: the workloads' sums, and how many workloads


# --- Organisation-wide rows (rebuilt every quarter hour) ----------------------------------------------


def _figures(dashboard) -> list:  # type: ignore[no-untyped-def]
    return [dashboard.numbers[k] for k in sorted(dashboard.numbers) if k != "organisation_wide_as_of"] + [
        part.rows for part in [*dashboard.charts, *dashboard.tables]
    ]


@pytest.mark.parametrize(
    "params",
    [{}, {"model": "openai-gpt-4o-mini"}, {"start": "2026-10-05", "end": "2026-10-20"},
     {"start": "2026-08-01", "end": "2026-11-30"}, {"model": "acme-legacy-1", "start": "2026-11-01",
                                                     "end": "2026-11-02"}],
)  # fmt: skip
def test_organisation_wide_rows_give_what_the_workloads_rows_give(world, leader, params, monkeypatch):
    fast = _build(leader, **params)
    assert fast.numbers["organisation_wide_as_of"] is not None
    monkeypatch.setattr(model_comparison, "organisation_wide", lambda filters: False)
    slow = _build(leader, **params)
    assert slow.numbers["organisation_wide_as_of"] is None
    assert _figures(fast) == _figures(slow)
    assert _kpis(fast)["requests"].detail == _kpis(slow)["requests"].detail  # the workloads behind, counted once


def test_organisation_wide_rows_say_when_they_were_rebuilt_and_follow_a_category_change(world, leader):
    dashboard = _build(leader)
    rebuilt = MonthlyCategoryRollup.objects.order_by("refreshed_at").values_list("refreshed_at", flat=True)[0]
    assert dashboard.notes[-1] == (
        f"Organisation-wide figures as of {timezone.localtime(rebuilt):%-d %b %Y %H:%M}: rebuilt from the "
        "workloads' monthly rollups every quarter hour."
    )
    assert "Organisation-wide figures" not in " ".join(_build(leader, risk_tier="high").notes)
    world["w2"].use_case_category = "analytics"
    world["w2"].save()
    categories = {row[2] for row in _build(leader).part("models").rows}
    assert "Analytics and decision support" not in categories  # not before the rebuild (the note says when)
    tasks.category_refresh_task(every_month=True)  # the nightly rebuild
    rows = _build(leader).part("models").rows
    assert ("GPT-4o mini", "Analytics and decision support", 1, 2000) in [(r[0], r[2], r[3], r[4]) for r in rows]


def test_rebuilding_some_months_leaves_the_others(world):
    before = {row.month: row.refreshed_at for row in MonthlyCategoryRollup.objects.all()}
    assert set(before) == {date(2026, 8, 1), SEP, OCT, date(2026, 11, 1)}
    MonthlyModelRollup.objects.filter(month=date(2026, 8, 1)).delete()
    assert rollups.category_refresh(months=[OCT, date(2026, 8, 17)]) == 4  # mini in 2 categories, haiku, legacy
    after = {(row.month, row.ai_model_id, row.use_case_category): row for row in MonthlyCategoryRollup.objects.all()}
    assert {month for month, _, _ in after} == {SEP, OCT, date(2026, 11, 1)}  # August had no rows left
    assert all(row.refreshed_at == before[row.month] for row in after.values() if row.month != OCT)
    mini_support = after[OCT, world["mini"].pk, "customer_support"]
    assert (mini_support.requests, mini_support.errors, mini_support.cost, mini_support.workload_ids) == (
        3000,
        30,
        Decimal("1.350000"),
        sorted([world["w1"].pk, world["w2"].pk]),
    )
    assert mini_support.latency_hist[B800] == 2900
    assert mini_support.latency_hist[B2000] == 100


@pytest.mark.skipif(connection.vendor != "postgresql", reason="the PostgreSQL path")
def test_the_organisation_wide_rows_summed_by_the_database_are_those_summed_in_python(world):
    fields = [f.attname for f in MonthlyCategoryRollup._meta.concrete_fields if f.attname != "id"]
    now = timezone.now()

    def rows(made: list[MonthlyCategoryRollup]) -> list[tuple]:
        return sorted((tuple(getattr(row, name) for name in fields) for row in made), key=repr)

    in_sql = rows(rollups._category_rows(None, now))
    assert len(in_sql) == 8  # August 1, September 2, October 4, November 1
    assert in_sql == rows(rollups._category_rows_python(None, now))

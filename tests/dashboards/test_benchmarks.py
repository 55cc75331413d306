"""The dashboards benchmark's seeding, run small: the rows it writes agree with one another as the
workers' rows do (scorecards sum their day's hourly rollups, monthly rollups their month's). No
timings here: ``manage.py bench_dashboards`` measures."""

from __future__ import annotations

import calendar
from collections import defaultdict
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest
from django.db.models import Sum
from django.db.models.functions import TruncDate, TruncMonth

from apps.dashboards import benchmarks
from apps.governance import services as governance
from apps.governance.models import CheckResult, Control
from apps.registry.models import ExchangeRate, Release, ReleaseEvent, Workload
from apps.telemetry import rollups, stats
from apps.telemetry.models import (
    LATENCY_BUCKETS,
    DailyModelRollup,
    HourlyRollup,
    MonthlyModelRollup,
    Scorecard,
    WeeklyMoney,
)
from apps.telemetry.money import weekly_money_refresh

NOW = datetime(2026, 3, 10, 14, 30, tzinfo=UTC)
EVENTS = 600


@pytest.fixture
def seeded(db: None) -> benchmarks.SeedReport:
    return benchmarks.seed(events=EVENTS, workloads=3, teams=2, days=61, now=NOW, seed=5)


def _hours_by_day(workload_id: int) -> dict:
    rows = (
        HourlyRollup.objects.filter(workload_id=workload_id)
        .annotate(day=TruncDate("hour"))
        .values("day")
        .annotate(
            requests=Sum("requests"),
            errors=Sum("errors"),
            tokens_in=Sum("input_tokens"),
            tokens_out=Sum("output_tokens"),
            cost=Sum("cost"),
        )
    )
    return {row["day"]: row for row in rows}


def test_it_seeds_exactly_the_events_asked_for_over_the_window(seeded: benchmarks.SeedReport) -> None:
    assert HourlyRollup.objects.aggregate(n=Sum("requests"))["n"] == EVENTS
    assert Scorecard.objects.aggregate(n=Sum("requests"))["n"] == EVENTS
    assert MonthlyModelRollup.objects.aggregate(n=Sum("requests"))["n"] == EVENTS
    assert DailyModelRollup.objects.aggregate(n=Sum("requests"))["n"] == EVENTS
    assert seeded.daily_rows == DailyModelRollup.objects.count()
    assert seeded.hourly_rows == HourlyRollup.objects.count()
    assert seeded.scorecards == Scorecard.objects.count()
    first = HourlyRollup.objects.order_by("hour").values_list("hour", flat=True).first()
    last = HourlyRollup.objects.order_by("-hour").values_list("hour", flat=True).first()
    assert first >= datetime(2026, 1, 9, tzinfo=UTC)  # 61 days ending on 10 March
    assert last <= NOW
    assert Workload.objects.filter(slug__startswith=benchmarks.PREFIX).count() == 3


def test_each_scorecard_sums_its_days_hourly_rollups(seeded: benchmarks.SeedReport) -> None:
    cards = list(Scorecard.objects.all())
    assert cards
    for workload_id in {c.workload_id for c in cards}:
        by_day = _hours_by_day(workload_id)
        mine = [c for c in cards if c.workload_id == workload_id]
        assert {c.day for c in mine} == set(by_day)  # a scorecard for every day with traffic, and only those
        for card in mine:
            hours = by_day[card.day]
            assert (card.requests, card.errors) == (hours["requests"], hours["errors"])
            assert (card.input_tokens, card.output_tokens) == (hours["tokens_in"], hours["tokens_out"])
            rate = card.usd_rate if card.usd_rate is not None else Decimal(1)
            assert abs(card.token_cost - hours["cost"] * rate) <= Decimal("0.0001")
            assert abs(card.cost - (card.token_cost + card.fixed_cost)) <= Decimal("0.0001")  # each rounded
            assert card.complete == (card.day < NOW.date())


def test_scorecard_latency_percentiles_come_from_the_days_merged_histograms(seeded: benchmarks.SeedReport) -> None:
    card = Scorecard.objects.order_by("-requests").first()
    start = datetime(card.day.year, card.day.month, card.day.day, tzinfo=UTC)
    hists = HourlyRollup.objects.filter(
        workload_id=card.workload_id, hour__gte=start, hour__lt=start + timedelta(days=1)
    ).values_list("latency_hist", flat=True)
    merged = stats.merge(list(hists), LATENCY_BUCKETS)
    assert sum(merged) == card.requests
    assert card.latency_p95_ms == round(stats.percentile(merged, 0.95), 1)
    assert card.latency_p50_ms == round(stats.percentile(merged, 0.5), 1)


def test_month_to_date_cost_follows_the_rollups_and_the_days_rate(seeded: benchmarks.SeedReport) -> None:
    """The last scorecard of February: month to date is February's rollups plus the fixed cost."""
    card = Scorecard.objects.filter(day__month=2).order_by("-requests").first()
    workload = Workload.objects.get(pk=card.workload_id)
    month_cost = HourlyRollup.objects.filter(
        workload_id=card.workload_id,
        hour__gte=datetime(2026, 2, 1, tzinfo=UTC),
        hour__lt=datetime(2026, 2, card.day.day, tzinfo=UTC) + timedelta(days=1),
    ).aggregate(c=Sum("cost"))["c"]
    rate = card.usd_rate if card.usd_rate is not None else Decimal(1)
    days = calendar.monthrange(2026, 2)[1]
    expected = month_cost * rate + workload.fixed_monthly_run_cost * card.day.day / days
    assert abs(card.month_to_date_cost - expected) <= Decimal("0.0001")
    if workload.currency != "USD":
        assert (
            card.usd_rate
            == ExchangeRate.objects.filter(currency=workload.currency, effective_from__lte=card.day)
            .order_by("-effective_from")
            .values_list("per_usd", flat=True)[0]
        )


def test_monthly_rollups_sum_the_hourly_ones_per_model_and_release(seeded: benchmarks.SeedReport) -> None:
    hourly = defaultdict(lambda: [0, 0, 0, 0, Decimal(0), [0] * LATENCY_BUCKETS])
    for row in HourlyRollup.objects.annotate(month=TruncMonth("hour")).values(
        "workload_id",
        "month",
        "model_name",
        "release",
        "requests",
        "errors",
        "input_tokens",
        "output_tokens",
        "cost",
        "latency_hist",
    ):
        key = (row["workload_id"], row["month"], row["model_name"], row["release"])
        total = hourly[key]
        total[0] += row["requests"]
        total[1] += row["errors"]
        total[2] += row["input_tokens"]
        total[3] += row["output_tokens"]
        total[4] += row["cost"]
        total[5] = [a + b for a, b in zip(total[5], row["latency_hist"], strict=True)]
    monthly = {(m.workload_id, m.month, m.model_name, m.release): m for m in MonthlyModelRollup.objects.all()}
    assert len(monthly) == len(hourly) > 3
    for key, (requests, errors, tokens_in, tokens_out, cost, hist) in hourly.items():
        row = monthly[key[0], key[1].date() if isinstance(key[1], datetime) else key[1], key[2], key[3]]
        assert (row.requests, row.errors, row.input_tokens, row.output_tokens) == (
            requests,
            errors,
            tokens_in,
            tokens_out,
        )
        assert row.cost == cost
        assert row.latency_hist == hist


def test_releases_rows_carry_the_live_release_and_the_busiest_workload_rolled_back(
    seeded: benchmarks.SeedReport,
) -> None:
    busiest = Workload.objects.get(slug=seeded.busiest)
    assert busiest == benchmarks.busiest_workload()
    kinds = list(ReleaseEvent.objects.filter(workload=busiest).values_list("kind", flat=True))
    assert ReleaseEvent.Kind.ROLLED_BACK in kinds
    rolled_back = Release.objects.get(workload=busiest, status=Release.Status.ROLLED_BACK)
    event = ReleaseEvent.objects.get(workload=busiest, release=rolled_back, kind=ReleaseEvent.Kind.PROMOTED)
    back = ReleaseEvent.objects.get(workload=busiest, kind=ReleaseEvent.Kind.ROLLED_BACK)
    labelled = HourlyRollup.objects.filter(workload=busiest, release=rolled_back.version)
    assert labelled.exists()
    assert all(event.at <= hour < back.at for hour in labelled.values_list("hour", flat=True))
    assert busiest.live_release.version == HourlyRollup.objects.filter(workload=busiest).order_by("-hour")[0].release


def test_check_results_are_one_per_complete_scored_day_and_automated_control(seeded: benchmarks.SeedReport) -> None:
    controls = list(governance.current_controls())
    checked = 0
    for workload in Workload.objects.filter(slug__startswith=benchmarks.PREFIX):
        automated = [
            c for c in governance.applicable_controls(workload=workload, controls=controls)
            if c.kind == Control.Kind.AUTOMATED
        ]  # fmt: skip
        days = Scorecard.objects.filter(workload=workload, complete=True).count()
        results = CheckResult.objects.filter(workload=workload)
        assert results.count() == days * len(automated)
        checked += results.count()
    assert checked


def test_the_weekly_money_summary_is_what_scoring_would_write(seeded: benchmarks.SeedReport) -> None:
    fields = ("workload_id", "week", "currency", "usd_rate", "cost", "value", "requests", "errors", "days",
              "unconverted")  # fmt: skip
    seeded_rows = sorted(WeeklyMoney.objects.values_list(*fields), key=str)
    assert len(seeded_rows) > 10
    for workload_id in Workload.objects.values_list("pk", flat=True):
        days = Scorecard.objects.filter(workload_id=workload_id).values_list("day", flat=True)
        weekly_money_refresh(workload_id=workload_id, days=list(days))
    assert sorted(WeeklyMoney.objects.values_list(*fields), key=str) == seeded_rows


def test_daily_rollups_are_those_scoring_writes_from_the_hourly_ones(seeded: benchmarks.SeedReport) -> None:
    """Every scored day's daily rows, as seeded, are what ``rollups.daily_refresh`` writes from the
    day's hourly rows (the operations dashboard reads them for the days scored complete)."""
    exact = ("workload_id", "day", "model_name", "release", "ai_model_id", "requests", "errors", "input_tokens",
             "output_tokens", "cost", "latency_hist", "quality_count", "safety_flagged")  # fmt: skip

    def rows() -> list[tuple]:
        return sorted(DailyModelRollup.objects.values_list(*exact), key=repr)

    seeded_rows = rows()
    assert len(seeded_rows) == seeded.daily_rows > 3
    scored = set(Scorecard.objects.values_list("workload_id", "day"))
    assert {(row[0], row[1]) for row in seeded_rows} <= scored
    for workload_id in {row[0] for row in seeded_rows}:
        rollups.daily_refresh(workload_id=workload_id, days=[day for w, day in scored if w == workload_id])
    assert rows() == seeded_rows

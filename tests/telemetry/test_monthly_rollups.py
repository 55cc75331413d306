"""Monthly rollups per model and release (``rollups.monthly_refresh``): each (workload, month, model
name, release) row is the sum of the month's hourly rollups of that model and release, histograms
merged; recomputed idempotently; scoring refreshes the month of the day it scores, so a late hour
re-rolled and re-scored reaches the month; other months and other workloads are left alone."""

from __future__ import annotations

import threading
import time
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

import pytest
from django.db import connection, connections, transaction
from django.utils import timezone

from apps.telemetry import stats
from apps.telemetry.models import LATENCY_BUCKETS, HourlyRollup, MonthlyModelRollup, latency_bucket
from apps.telemetry.rollups import monthly_refresh
from apps.telemetry.scoring import score_day

from .helpers import roll, send

pytestmark = pytest.mark.django_db

SUMMED = ("requests", "errors", "input_tokens", "output_tokens", "cost", "unpriced_requests", "quality_count",
          "safety_flagged")  # fmt: skip


def _month_start(months_back: int) -> date:
    first = timezone.now().date().replace(day=1)
    for _ in range(months_back):
        first = (first - timedelta(days=1)).replace(day=1)
    return first


def _at(day: date, hour: int) -> datetime:
    return datetime(day.year, day.month, day.day, hour, tzinfo=UTC)


def _months(workload, release: str = "1.0.0") -> dict[tuple[date, str], dict]:  # type: ignore[no-untyped-def]
    rows = MonthlyModelRollup.objects.filter(workload=workload, release=release).values(
        "month", "model_name", "ai_model_id", *SUMMED, "latency_sum_ms", "latency_hist", "quality_sum"
    )
    return {(row["month"], row["model_name"]): row for row in rows}


def _hourly_sums(workload, month: date, model_name: str, release: str) -> dict:  # type: ignore[no-untyped-def]
    """The month's hourly rollups of one model and release, summed in Python: what the monthly row must hold."""
    end = (month + timedelta(days=32)).replace(day=1)
    rows = list(
        HourlyRollup.objects.filter(workload=workload, model_name=model_name, release=release,
                                    hour__gte=_at(month, 0), hour__lt=_at(end, 0))
    )  # fmt: skip
    sums = {name: sum((getattr(row, name) for row in rows), Decimal(0) if name == "cost" else 0) for name in SUMMED}
    sums["latency_sum_ms"] = sum(row.latency_sum_ms for row in rows)
    sums["quality_sum"] = sum(row.quality_sum for row in rows)
    sums["latency_hist"] = stats.merge([row.latency_hist for row in rows], LATENCY_BUCKETS)
    sums["hours"] = len(rows)
    return sums


def test_a_month_sums_its_hourly_rollups_per_model_and_release(workload, priced_model):
    month = _month_start(1)
    day = month + timedelta(days=9)
    # gpt-4o-mini: two hours, two releases (three hourly rows, two monthly rows); an unknown model.
    send(workload, at=_at(day, 9), n=40, latency=800, error_rate=0.25, flagged_rate=0.1, seed=1)
    send(workload, at=_at(day, 9), n=10, latency=3000, release="1.1.0", seed=2)
    send(workload, at=_at(day + timedelta(days=5), 14), n=30, latency=200, quality=None, seed=3)
    send(workload, at=_at(day, 10), n=5, model="mystery-model", seed=4)
    roll()

    assert monthly_refresh(workload_id=workload.pk, month=day) == 3  # rows written: two releases, two names
    months = _months(workload)
    assert set(months) == {(month, "gpt-4o-mini"), (month, "mystery-model")}
    assert set(_months(workload, "1.1.0")) == {(month, "gpt-4o-mini")}
    for release, hours in (("1.0.0", 2), ("1.1.0", 1)):
        row = _months(workload, release)[(month, "gpt-4o-mini")]
        expected = _hourly_sums(workload, month, "gpt-4o-mini", release)
        assert expected["hours"] == hours
        for name in (*SUMMED, "latency_hist"):
            assert row[name] == expected[name], name
        assert row["latency_sum_ms"] == pytest.approx(expected["latency_sum_ms"])
        assert row["quality_sum"] == pytest.approx(expected["quality_sum"])
    # The numbers themselves, from the events sent.
    mini, newer = months[(month, "gpt-4o-mini")], _months(workload, "1.1.0")[(month, "gpt-4o-mini")]
    assert (mini["requests"], mini["errors"], mini["safety_flagged"]) == (70, 10, 4)
    assert (newer["requests"], newer["errors"], newer["safety_flagged"]) == (10, 0, 0)
    assert (mini["input_tokens"] + newer["input_tokens"], mini["output_tokens"] + newer["output_tokens"]) == (
        80_000, 40_000,
    )  # fmt: skip
    assert mini["cost"] + newer["cost"] == Decimal("0.036")  # 80 × (1000 × 0.15 + 500 × 0.60) / 10⁶ dollars
    assert mini["quality_count"] == 40  # the 30 events without a score are not counted
    assert mini["ai_model_id"] == newer["ai_model_id"] == priced_model.pk
    assert len(mini["latency_hist"]) == LATENCY_BUCKETS
    assert sum(mini["latency_hist"]) == 70
    assert sum(mini["latency_hist"][latency_bucket(180) : latency_bucket(220) + 1]) == 30
    assert sum(newer["latency_hist"][latency_bucket(2700) : latency_bucket(3300) + 1]) == 10
    unknown = months[(month, "mystery-model")]
    assert (unknown["requests"], unknown["unpriced_requests"], unknown["cost"], unknown["ai_model_id"]) == (
        5, 5, Decimal(0), None,
    )  # fmt: skip


def test_refreshing_a_month_twice_changes_nothing(workload):
    month = _month_start(1)
    send(workload, at=_at(month, 8), n=12, seed=1)
    send(workload, at=_at(month + timedelta(days=3), 8), n=8, model="mystery-model", seed=2)
    roll()
    monthly_refresh(workload_id=workload.pk, month=month)
    first = _months(workload)
    assert monthly_refresh(workload_id=workload.pk, month=month + timedelta(days=20)) == 2  # any day of the month
    assert _months(workload) == first
    assert MonthlyModelRollup.objects.filter(workload=workload).count() == 2


def test_a_late_hour_re_rolled_and_re_scored_reaches_the_month(workload):
    month = _month_start(1)
    early, later = month + timedelta(days=2), month + timedelta(days=6)
    send(workload, at=_at(early, 9), n=20, seed=1)
    send(workload, at=_at(later, 9), n=10, seed=2)
    roll()
    score_day(workload=workload, day=later, evaluate_controls=False)  # scoring refreshes the day's month
    row = MonthlyModelRollup.objects.get(workload=workload, month=month, model_name="gpt-4o-mini")
    assert (row.requests, row.cost) == (30, Decimal("0.0135"))

    # Events for the early day's hour arrive late, and a model the month had not seen.
    send(workload, at=_at(early, 9), n=6, latency=5000, error_rate=0.5, seed=3)
    send(workload, at=_at(early, 11), n=4, model="mystery-model", seed=4)
    roll()
    assert MonthlyModelRollup.objects.get(pk=row.pk).requests == 30  # not until the day is scored again
    score_day(workload=workload, day=early, evaluate_controls=False)
    months = _months(workload)
    mini = months[(month, "gpt-4o-mini")]
    assert (mini["requests"], mini["errors"], mini["cost"]) == (36, 3, Decimal("0.0162"))
    assert sum(mini["latency_hist"]) == 36
    assert sum(mini["latency_hist"][latency_bucket(4500) : latency_bucket(5500) + 1]) == 6
    assert months[(month, "mystery-model")]["requests"] == 4


def test_a_model_gone_from_the_month_loses_its_row(workload):
    month = _month_start(1)
    send(workload, at=_at(month, 9), n=5, model="mystery-model")
    roll()
    monthly_refresh(workload_id=workload.pk, month=month)
    assert set(_months(workload)) == {(month, "mystery-model")}
    HourlyRollup.objects.filter(workload=workload).delete()  # e.g. the hour re-rolled with other events
    assert monthly_refresh(workload_id=workload.pk, month=month) == 0
    assert not MonthlyModelRollup.objects.filter(workload=workload).exists()


def test_other_months_and_other_workloads_are_untouched(workload, other_workload):
    month, before = _month_start(1), _month_start(2)
    # Rows that do not match any hourly rollup: a refresh of another month must leave them as they are.
    kept = [
        MonthlyModelRollup.objects.create(workload=workload, month=before, model_name="gpt-4o-mini", requests=999,
                                          cost=Decimal("9.5"), latency_hist=[1] * LATENCY_BUCKETS),
        MonthlyModelRollup.objects.create(workload=other_workload, month=month, model_name="gpt-4o-mini", requests=7),
    ]  # fmt: skip
    send(workload, at=_at(month, 9), n=3)
    send(workload, at=_at(before, 9), n=11, seed=2)  # hourly rows of the month before: not this refresh's
    roll()
    monthly_refresh(workload_id=workload.pk, month=month)
    for row in kept:
        fresh = MonthlyModelRollup.objects.get(pk=row.pk)
        assert (fresh.month, fresh.requests, fresh.cost, fresh.latency_hist) == (
            row.month, row.requests, row.cost, row.latency_hist,
        )  # fmt: skip
    assert MonthlyModelRollup.objects.get(workload=workload, month=month).requests == 3


def test_the_month_ends_at_midnight_utc_on_the_first_even_in_december(workload):
    december = date(timezone.now().year - 1, 12, 1)
    january = date(december.year + 1, 1, 1)
    send(workload, at=_at(december, 0), n=2, spread_seconds=0)  # the month's first hour
    send(workload, at=_at(date(december.year, 12, 31), 23), n=4, seed=2, spread_seconds=3599)  # its last
    send(workload, at=_at(january, 0), n=8, seed=3, spread_seconds=3599)  # the next month's first
    send(workload, at=_at(date(december.year, 11, 30), 23), n=16, seed=4, spread_seconds=3599)  # the month before
    roll()
    monthly_refresh(workload_id=workload.pk, month=december)
    monthly_refresh(workload_id=workload.pk, month=january)
    months = _months(workload)
    assert {key: row["requests"] for key, row in months.items()} == {
        (december, "gpt-4o-mini"): 6, (january, "gpt-4o-mini"): 8,
    }  # fmt: skip


@pytest.mark.skipif(connection.vendor != "postgresql", reason="concurrent transactions need PostgreSQL")
@pytest.mark.django_db(transaction=True)
def test_two_refreshes_of_one_month_at_once_both_succeed(workload):
    """Scoring may run twice at once for one workload (the quarter-hourly refresh and "Score now"):
    the second refresh waits for the first instead of failing on the unique key."""
    month = _month_start(1)
    send(workload, at=_at(month, 9), n=9)
    roll()
    first_done, let_first_commit = threading.Event(), threading.Event()
    errors: list[BaseException] = []

    def first() -> None:
        try:
            with transaction.atomic():  # held open after its refresh, as a slow scoring run would
                monthly_refresh(workload_id=workload.pk, month=month)
                first_done.set()
                let_first_commit.wait(10)
        except BaseException as error:  # reported by the test
            errors.append(error)
            first_done.set()
        finally:
            connections.close_all()

    def second() -> None:
        try:
            monthly_refresh(workload_id=workload.pk, month=month)
        except BaseException as error:
            errors.append(error)
        finally:
            connections.close_all()

    one, two = threading.Thread(target=first), threading.Thread(target=second)
    one.start()
    assert first_done.wait(10)
    two.start()
    time.sleep(0.5)
    assert two.is_alive()  # waiting for the first refresh's transaction
    let_first_commit.set()
    one.join(10)
    two.join(10)
    assert errors == []
    assert list(MonthlyModelRollup.objects.filter(workload=workload).values_list("month", "requests")) == [(month, 9)]

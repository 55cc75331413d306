"""Hourly rollups: sums and histograms per workload, hour, model and release; idempotent; late events
re-roll their hour; a window re-marked while it is rolled up stays marked."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import pytest
from django.utils import timezone

from apps.telemetry import rollups, stats
from apps.telemetry.ingest import pending_mark
from apps.telemetry.models import LATENCY_BUCKETS, Event, HourlyRollup, RollupPending, latency_bucket

from .helpers import roll, send

pytestmark = pytest.mark.django_db


def _hour(offset: int = 0):  # type: ignore[no-untyped-def]
    return (timezone.now() - timedelta(hours=3 + offset)).replace(minute=0, second=0, microsecond=0)


def _rows(workload):  # type: ignore[no-untyped-def]
    return list(
        HourlyRollup.objects.filter(workload=workload)
        .order_by("hour", "model_name", "release")
        .values("hour", "model_name", "release", "requests", "errors", "input_tokens", "cost", "latency_hist",
                "quality_count", "ratings_count", "safety_flagged", "unpriced_requests")
    )  # fmt: skip


def test_rollups_sum_each_hour_model_and_release(workload):
    hour = _hour()
    send(workload, at=hour, n=40, error_rate=0.25, flagged_rate=0.1, spread_seconds=3000)
    send(workload, at=hour, n=10, release="1.1.0", seed=2, spread_seconds=3000)
    send(workload, at=hour, n=5, model="mystery-model", seed=3, spread_seconds=3000)
    send(workload, at=hour + timedelta(hours=1), n=7, seed=4, spread_seconds=3000)
    assert roll() == 2  # two (workload, hour) windows
    rows = {(r["hour"], r["model_name"], r["release"]): r for r in _rows(workload)}
    assert len(rows) == 4
    main = rows[(hour, "gpt-4o-mini", "1.0.0")]
    assert (main["requests"], main["errors"], main["safety_flagged"]) == (40, 10, 4)
    assert main["input_tokens"] == 40_000
    assert main["cost"] == Decimal("0.018")  # 40 × 0.00045
    assert sum(main["latency_hist"]) == 40
    assert len(main["latency_hist"]) == LATENCY_BUCKETS
    assert main["quality_count"] == 40
    assert main["ratings_count"] == 40
    unknown = rows[(hour, "mystery-model", "1.0.0")]
    assert unknown["unpriced_requests"] == 5
    assert unknown["cost"] == 0
    assert not RollupPending.objects.exists()


def test_running_the_rollup_twice_gives_the_same_rows(workload):
    send(workload, at=_hour(), n=30)
    roll()
    first = _rows(workload)
    rollups.rollup_hours(workload_id=workload.pk, hours=[_hour()])
    assert _rows(workload) == first
    assert roll() == 0


def test_a_late_event_re_rolls_its_hour(workload):
    hour = _hour(5)
    send(workload, at=hour, n=10)
    send(workload, at=_hour(), n=3, seed=9)
    roll()
    send(workload, at=hour, n=2, seed=11)  # arrives late, for an hour already rolled up
    assert list(RollupPending.objects.values_list("hour", flat=True)) == [hour]
    roll()
    assert HourlyRollup.objects.get(workload=workload, hour=hour).requests == 12
    assert HourlyRollup.objects.get(workload=workload, hour=_hour()).requests == 3


def test_a_window_marked_again_during_its_rollup_stays_marked(workload, monkeypatch):
    """Events committed while the rollup runs bump the pending row's version: the rollup then leaves
    the row for the next run instead of deleting it, so nothing is lost."""
    hour = _hour()
    send(workload, at=hour, n=5)
    original = rollups.rollup_hours

    def with_concurrent_ingest(*, workload_id, hours):  # type: ignore[no-untyped-def]
        count = original(workload_id=workload_id, hours=hours)
        send(workload, at=hour, n=4, seed=5)  # a batch that commits meanwhile
        return count

    monkeypatch.setattr(rollups, "rollup_hours", with_concurrent_ingest)
    roll()
    assert RollupPending.objects.filter(workload=workload, hour=hour).exists()
    monkeypatch.setattr(rollups, "rollup_hours", original)
    roll()
    assert HourlyRollup.objects.get(workload=workload, hour=hour).requests == 9
    assert not RollupPending.objects.exists()


def test_pending_marks_bump_the_version(workload):
    hour = _hour()
    pending_mark(workload_id=workload.pk, hours=[hour])
    pending_mark(workload_id=workload.pk, hours=[hour])
    assert RollupPending.objects.get(workload=workload, hour=hour).version == 2


def test_percentiles_merge_across_hours(workload):
    """The fixed buckets make hours add up: the p95 of merged hourly histograms is the p95 of the
    histogram of all events, and within a bucket's width of the exact value."""
    send(workload, at=_hour(2), n=200, latency=300, jitter=0.5, seed=1)
    send(workload, at=_hour(1), n=200, latency=2000, jitter=0.5, seed=2)
    roll()
    merged = stats.merge([r.latency_hist for r in HourlyRollup.objects.filter(workload=workload)], LATENCY_BUCKETS)
    latencies = sorted(Event.objects.filter(workload=workload).values_list("latency_ms", flat=True))
    direct = [0] * LATENCY_BUCKETS
    for ms in latencies:
        direct[latency_bucket(ms)] += 1
    assert merged == direct
    exact = latencies[int(0.95 * len(latencies)) - 1]
    assert stats.percentile(merged, 0.95) == pytest.approx(exact, rel=0.2)

"""Retention: raw events past TELEMETRY_RETENTION_DAYS go; rollups, scorecards and any hour still
waiting for its rollup stay."""

from __future__ import annotations

from datetime import datetime, timedelta
from decimal import Decimal

import pytest
from django.utils import timezone

from apps.telemetry import retention, rollups, tasks
from apps.telemetry.models import Event, HourlyRollup, RollupPending, Scorecard, Source

pytestmark = pytest.mark.django_db

NOW = timezone.now().replace(minute=30, second=0, microsecond=0)


@pytest.fixture(autouse=True)
def _ninety_days(settings):  # type: ignore[no-untyped-def]
    settings.TELEMETRY_RETENTION_DAYS = 90


def hour_of(moment: datetime) -> datetime:
    return moment.replace(minute=0, second=0, microsecond=0)


def store(workload, *ages: timedelta, prefix: str = "e") -> list[Event]:  # type: ignore[no-untyped-def]
    """Events written straight to the table (ingestion refuses timestamps past retention)."""
    rows = [
        Event(
            workload=workload,
            event_key=f"{prefix}-{n}",
            timestamp=NOW - age,
            hour=hour_of(NOW - age),
            received_at=NOW - age,
            source=Source.NATIVE,
            model_name="gpt-4o-mini",
            input_tokens=10,
            output_tokens=5,
            cost=Decimal("0.00001"),
        )
        for n, age in enumerate(ages)
    ]
    return Event.objects.bulk_create(rows)


def keys(workload) -> set[str]:  # type: ignore[no-untyped-def]
    return set(Event.objects.filter(workload=workload).values_list("event_key", flat=True))


def test_events_past_retention_are_deleted_and_newer_ones_kept(workload, other_workload):
    days = timedelta(days=1)
    store(workload, 400 * days, 120 * days, 91 * days, 89 * days, timedelta(hours=1), timedelta(0))
    store(other_workload, 100 * days, 10 * days, prefix="o")

    assert retention.events_purge(now=NOW) == 4

    assert keys(workload) == {"e-3", "e-4", "e-5"}
    assert keys(other_workload) == {"o-1"}


def test_the_cutoff_is_an_hour_boundary(workload):
    """The hour that holds the cutoff stays whole, so an hour is never half deleted."""
    just_past = timedelta(days=90, minutes=10)  # older than 90 days, but in the cutoff's own hour
    an_hour_older = timedelta(days=90, minutes=40)  # NOW is at :30, so this is the hour before
    store(workload, just_past, an_hour_older)
    cutoff = hour_of(NOW - timedelta(days=90))
    assert hour_of(NOW - just_past) == cutoff > hour_of(NOW - an_hour_older)

    assert retention.events_purge(now=NOW) == 1

    assert keys(workload) == {"e-0"}


def test_rollups_and_scorecards_stay(workload):
    old = NOW - timedelta(days=120)
    store(workload, timedelta(days=120), timedelta(days=120, minutes=5))
    RollupPending.objects.create(workload=workload, hour=hour_of(old))
    assert rollups.rollup_pending() == 1
    Scorecard.objects.create(workload=workload, day=old.date(), complete=True, requests=2, computed_at=old)

    assert retention.events_purge(now=NOW) == 2

    assert not Event.objects.exists()
    rollup = HourlyRollup.objects.get(workload=workload)
    assert (rollup.hour, rollup.requests, rollup.input_tokens) == (hour_of(old), 2, 20)
    assert Scorecard.objects.get(workload=workload).requests == 2


def test_an_hour_still_pending_its_rollup_keeps_its_events(workload):
    days = timedelta(days=1)
    store(workload, 200 * days, 150 * days, 149 * days, 100 * days, 10 * days)
    pending_hour = hour_of(NOW - 150 * days)
    RollupPending.objects.create(workload=workload, hour=pending_hour)

    # Older than the pending hour: gone; the pending hour and everything after it: kept.
    assert retention.events_purge(now=NOW) == 1
    assert keys(workload) == {"e-1", "e-2", "e-3", "e-4"}

    rollups.rollup_pending()
    assert HourlyRollup.objects.get(workload=workload, hour=pending_hour).requests == 1
    assert retention.events_purge(now=NOW) == 3
    assert keys(workload) == {"e-4"}
    assert HourlyRollup.objects.get(workload=workload, hour=pending_hour).requests == 1


def test_another_workloads_pending_hour_does_not_hold_back_this_one(workload, other_workload):
    store(workload, timedelta(days=150), prefix="w")
    store(other_workload, timedelta(days=150), prefix="o")
    RollupPending.objects.create(workload=other_workload, hour=hour_of(NOW - timedelta(days=150)))

    assert retention.events_purge(now=NOW) == 1

    assert keys(workload) == set()
    assert keys(other_workload) == {"o-0"}


def test_deleting_goes_in_chunks(workload, monkeypatch):
    monkeypatch.setattr(retention, "CHUNK", 3)
    store(workload, *[timedelta(days=100, minutes=n) for n in range(10)], timedelta(days=1))

    assert retention.events_purge(now=NOW) == 10

    assert keys(workload) == {"e-10"}


def test_the_retention_setting_is_read_at_run_time(workload, settings):
    store(workload, timedelta(days=40), timedelta(days=20))
    assert retention.events_purge(now=NOW) == 0

    settings.TELEMETRY_RETENTION_DAYS = 30
    assert retention.events_purge(now=NOW) == 1
    assert keys(workload) == {"e-1"}


def test_the_retention_task_purges_and_running_it_twice_changes_nothing(workload):
    store(workload, timedelta(days=95), timedelta(days=5))

    assert tasks.retention_task.run() == 1
    assert tasks.retention_task.run() == 0
    assert keys(workload) == {"e-1"}

"""Celery tasks. Ids go in as arguments; every task is idempotent and acknowledged late, so a
worker that dies mid-task leaves its message to be redone; only transient errors (the database or
broker going away) are retried."""

from __future__ import annotations

from datetime import date, timedelta

from celery import shared_task
from django.db import InterfaceError, OperationalError
from django.utils import timezone

from apps.registry.models import Workload

from . import pull, retention, rollups, scoring

TRANSIENT = (OperationalError, InterfaceError, ConnectionError, TimeoutError)
OPTIONS = {
    "acks_late": True,
    "reject_on_worker_lost": True,
    "autoretry_for": TRANSIENT,
    "retry_backoff": True,
    "retry_backoff_max": 300,
    "max_retries": 5,
    "ignore_result": True,
}


@shared_task(queue="ingest", **OPTIONS)
def rollup_task() -> int:
    """Beat, every minute: roll up every (workload, hour) that ingestion marked."""
    return rollups.rollup_pending()


@shared_task(queue="ingest", **OPTIONS)
def pull_sources_dispatch_task() -> int:
    """Beat, every minute: queue a fetch for each pull source that is due."""
    due = pull.sources_due()
    for source_id in due:
        source_fetch_task.delay(source_id)
    return len(due)


@shared_task(queue="ingest", **OPTIONS)
def source_fetch_task(source_id: int) -> int:
    return pull.source_fetch(source_id=source_id)


@shared_task(queue="scoring", **OPTIONS)
def score_workload_day_task(workload_id: int, day: str, evaluate_controls: bool = True) -> None:
    workload = Workload.objects.filter(pk=workload_id).first()
    if workload is not None:
        scoring.score_day(workload=workload, day=date.fromisoformat(day), evaluate_controls=evaluate_controls)


@shared_task(queue="scoring", **OPTIONS)
def score_workload_days_task(workload_id: int, days: list[str], evaluate_controls: bool = True) -> int:
    """A workload's days in one pass, oldest first (a backfill, a catch-up after an outage):
    controls evaluated on the complete days. Returns the number of scorecards."""
    workload = Workload.objects.filter(pk=workload_id).first()
    if workload is None:
        return 0
    days_ = [date.fromisoformat(day) for day in days]
    return len(scoring.score_days(workload=workload, days=days_, evaluate_controls=evaluate_controls))


@shared_task(queue="scoring", **OPTIONS)
def score_today_task() -> int:
    """Beat, every 15 minutes: refresh today's scorecards (controls are evaluated daily); and
    finalise yesterday where the daily run was lost (``scoring.unfinished_yesterday``: Redis keeps
    nothing on disk, so a broker restart around 00:20 would otherwise leave yesterday unfinished)."""
    rollups.rollup_pending()
    now = timezone.now()
    today = now.date()
    start, end = scoring.day_bounds(today)
    ids = scoring.workloads_with_telemetry(start=start, end=end)
    for workload_id in ids:
        score_workload_day_task.delay(workload_id, today.isoformat(), False)
    yesterday = (today - timedelta(days=1)).isoformat()
    for workload_id in scoring.unfinished_yesterday(now=now):
        score_workload_day_task.delay(workload_id, yesterday, True)
    return len(ids)


@shared_task(queue="scoring", **OPTIONS)
def score_daily_task() -> int:
    """Beat, daily after midnight UTC: the final scorecard of yesterday for every workload with
    telemetry in the last two days, with governance's controls evaluated."""
    rollups.rollup_pending()
    yesterday = timezone.now().date() - timedelta(days=1)
    start, _ = scoring.day_bounds(yesterday)
    ids = scoring.workloads_with_telemetry(start=start, end=start + timedelta(days=2))
    for workload_id in ids:
        score_workload_day_task.delay(workload_id, yesterday.isoformat(), True)
    return len(ids)


@shared_task(queue="scoring", **OPTIONS)
def category_refresh_task(every_month: bool = False) -> int:
    """Beat: the organisation-wide rows per month, model and use-case category
    (``rollups.category_refresh``), rebuilt from the monthly rollups scoring refreshed: the current
    and previous months every quarter hour; with ``every_month``, nightly, all of them (a workload's
    use-case category may have changed since)."""
    if every_month:
        return rollups.category_refresh()
    this_month = timezone.now().date().replace(day=1)
    return rollups.category_refresh(months=[this_month, (this_month - timedelta(days=1)).replace(day=1)])


@shared_task(queue="scoring", **OPTIONS)
def score_now_task(workload_id: int) -> None:
    """On demand (the panel's "Score now", the API): roll up, then score today with controls."""
    rollups.rollup_pending()
    workload = Workload.objects.filter(pk=workload_id).first()
    if workload is not None:
        scoring.score_day(workload=workload, day=timezone.now().date(), evaluate_controls=True)


@shared_task(queue="default", **OPTIONS)
def retention_task() -> int:
    """Beat, daily: delete raw events past the retention age."""
    return retention.events_purge()

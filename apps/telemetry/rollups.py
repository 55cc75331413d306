"""Hourly rollups: per workload, hour, model and release. Recomputed from raw events for every
(workload, hour) that ingestion marked, so late events re-roll their hour and running the task
twice gives the same rows."""

from __future__ import annotations

import io
import json
from collections import defaultdict
from collections.abc import Iterable
from contextvars import ContextVar
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal
from itertools import groupby

from django.db import connection, transaction
from django.db.models import Count, Max, Q, Sum
from django.utils import timezone

from apps.core import locks
from apps.registry.models import Workload

from .ingest import _copy_value
from .models import (
    LATENCY_BUCKETS,
    QUALITY_BUCKETS,
    DailyModelRollup,
    Event,
    HourlyRollup,
    ModelRollup,
    MonthlyCategoryRollup,
    MonthlyModelRollup,
    RollupPending,
)

HOURS_PER_QUERY = 200


def rollup_pending(*, limit: int = 20_000) -> int:
    """Roll up what ingestion marked, oldest first; return the number of (workload, hour) windows
    done. A window re-marked while it was being rolled up stays marked for the next run."""
    pending = list(
        RollupPending.objects.order_by("workload_id", "hour").values_list("workload_id", "hour", "version")[:limit]
    )
    staged = None
    if connection.vendor == "postgresql" and len(pending) >= STAGE_MIN_WINDOWS:
        staged = _aggregate_windows(pending)
    token = _STAGED.set(staged)
    try:
        for workload_id, rows in groupby(pending, key=lambda row: row[0]):
            marks = [(hour, version) for _, hour, version in rows]
            for start in range(0, len(marks), HOURS_PER_QUERY):
                chunk = marks[start : start + HOURS_PER_QUERY]
                with transaction.atomic():
                    # Runs of one workload take turns (rollup_task and the score_* tasks all roll up, on
                    # different queues): two that both replaced an hour's rows would collide on the unique key.
                    _workload_lock(workload_id)
                    rollup_hours(workload_id=workload_id, hours=[hour for hour, _ in chunk])
                    _unmark(workload_id, chunk)
    finally:
        _STAGED.reset(token)
    return len(pending)


def _workload_lock(workload_id: int) -> None:
    """Lock the workload's row ``FOR NO KEY UPDATE`` until the transaction ends, as monthly_refresh
    does: ingestion's foreign-key checks do not wait for it, another rollup of the workload does."""
    list(Workload.objects.select_for_update(no_key=True).filter(pk=workload_id).values_list("pk"))


def _unmark(workload_id: int, marks: list[tuple[datetime, int]]) -> None:
    """Delete the pending rows of these windows that still have the version rolled up."""
    if connection.vendor == "postgresql":  # one statement, not one per hour
        with connection.cursor() as cursor:
            cursor.execute(
                "DELETE FROM telemetry_rolluppending AS p "
                "USING unnest(%s::timestamptz[], %s::bigint[]) AS d(hour, version) "
                "WHERE p.workload_id = %s AND p.hour = d.hour AND p.version = d.version",
                [[hour for hour, _ in marks], [version for _, version in marks], workload_id],
            )
        return
    for hour, version in marks:
        RollupPending.objects.filter(workload_id=workload_id, hour=hour, version=version).delete()


@transaction.atomic
def rollup_hours(*, workload_id: int, hours: list[datetime]) -> int:
    """Recompute the rollup rows of these hours of one workload from its raw events."""
    if connection.vendor == "postgresql":
        staged = _STAGED.get()
        if staged is not None and workload_id in staged:
            wanted = set(hours)
            rows = [row for row in staged[workload_id] if row[1] in wanted]
        else:
            rows = _aggregate(_ONE_WORKLOAD, {"workload": workload_id, "hours": list(hours)}).get(workload_id, [])
        HourlyRollup.objects.filter(workload_id=workload_id, hour__in=hours).delete()
        return _copy_rows(rows)
    events = Event.objects.filter(workload_id=workload_id, hour__in=hours)
    groups = ("hour", "model_name", "release")
    totals = events.values(*groups).annotate(
        model_id=Max("ai_model_id"),
        n=Count("id"),
        n_errors=Count("id", filter=Q(is_error=True)),
        tokens_in=Sum("input_tokens"),
        tokens_out=Sum("output_tokens"),
        total_cost=Sum("cost"),
        n_unpriced=Count("id", filter=Q(cost__isnull=True)),
        latency_total=Sum("latency_ms"),
        quality_total=Sum("quality_score"),
        n_quality=Count("quality_score"),
        n_up=Count("id", filter=Q(user_rating=1)),
        n_down=Count("id", filter=Q(user_rating=-1)),
        n_ratings=Count("user_rating"),
        n_flagged=Count("id", filter=Q(safety_flagged=True)),
    )
    latency: dict[tuple, list[int]] = defaultdict(lambda: [0] * LATENCY_BUCKETS)
    for row in events.filter(latency_bucket__isnull=False).values(*groups, "latency_bucket").annotate(n=Count("id")):
        latency[(row["hour"], row["model_name"], row["release"])][row["latency_bucket"]] = row["n"]
    quality: dict[tuple, list[int]] = defaultdict(lambda: [0] * QUALITY_BUCKETS)
    for row in events.filter(quality_bucket__isnull=False).values(*groups, "quality_bucket").annotate(n=Count("id")):
        quality[(row["hour"], row["model_name"], row["release"])][row["quality_bucket"]] = row["n"]
    rows = []
    for t in totals:
        key = (t["hour"], t["model_name"], t["release"])
        rows.append(
            HourlyRollup(
                workload_id=workload_id,
                hour=t["hour"],
                model_name=t["model_name"],
                release=t["release"],
                ai_model_id=t["model_id"],
                requests=t["n"],
                errors=t["n_errors"],
                input_tokens=t["tokens_in"] or 0,
                output_tokens=t["tokens_out"] or 0,
                cost=t["total_cost"] or Decimal(0),
                unpriced_requests=t["n_unpriced"],
                latency_sum_ms=t["latency_total"] or 0.0,
                latency_hist=latency.get(key, [0] * LATENCY_BUCKETS),
                quality_sum=t["quality_total"] or 0.0,
                quality_count=t["n_quality"],
                quality_hist=quality.get(key, [0] * QUALITY_BUCKETS),
                ratings_up=t["n_up"],
                ratings_down=t["n_down"],
                ratings_count=t["n_ratings"],
                safety_flagged=t["n_flagged"],
            )
        )
    HourlyRollup.objects.filter(workload_id=workload_id, hour__in=hours).delete()
    HourlyRollup.objects.bulk_create(rows, batch_size=500)
    return len(rows)


# PostgreSQL: the same rows from one aggregate instead of three queries, written with COPY instead
# of bulk_create. The totals are the same aggregates over the same events (each group's events in
# the same order, so the same float sums); each histogram comes back as the buckets of its rows and
# is counted in Python, instead of one result row per (rollup row, bucket). Same values, same
# defaults, stored as bulk_create stores them.
#
# rollup_pending goes further when it has a backlog (STAGE_MIN_WINDOWS windows or more, e.g. after
# an outage or an import): before the per-workload transactions it computes the rows of every
# window in one sequential pass over the events, and rollup_hours takes each workload's rows from
# there. Reading the windows one workload at a time would visit nearly every page of the table once
# per workload, as a workload's events are spread over the pages among everyone else's. A window
# re-marked after the pass keeps its pending row (its version changed) and is rolled up again next
# time, as before.
STAGE_MIN_WINDOWS = 2000
_STAGED: ContextVar[dict[int, list[tuple]] | None] = ContextVar("rollup_staged", default=None)
_COLUMNS = (
    "workload_id", "hour", "model_name", "release", "ai_model_id", "requests", "errors", "input_tokens",
    "output_tokens", "cost", "unpriced_requests", "latency_sum_ms", "latency_hist", "quality_sum", "quality_count",
    "quality_hist", "ratings_up", "ratings_down", "ratings_count", "safety_flagged",
)  # fmt: skip
_EVENT_COLUMNS = (
    "e.id, e.workload_id, e.hour, e.model_name, e.release, e.ai_model_id, e.is_error, e.input_tokens, "
    "e.output_tokens, e.cost, e.latency_ms, e.latency_bucket, e.quality_score, e.quality_bucket, e.user_rating, "
    "e.safety_flagged"
)
_ONE_WORKLOAD = (
    f"SELECT {_EVENT_COLUMNS} FROM telemetry_event AS e "  # noqa: S608 (constants)
    "WHERE e.workload_id = %(workload)s AND e.hour = ANY(%(hours)s::timestamptz[])"
)
# The semi-join hashes the windows and streams the events past them in table order.
_WINDOWS = (
    f"SELECT {_EVENT_COLUMNS} FROM telemetry_event AS e WHERE (e.workload_id, e.hour) IN "  # noqa: S608
    "(SELECT * FROM unnest(%(workloads)s::bigint[], %(hours)s::timestamptz[]))"
)
_AGGREGATE = """
SELECT workload_id, hour, model_name, release, max(ai_model_id), count(id), count(id) FILTER (WHERE is_error),
       sum(input_tokens), sum(output_tokens), sum(cost), count(id) FILTER (WHERE cost IS NULL), sum(latency_ms),
       sum(quality_score), count(quality_score), count(id) FILTER (WHERE user_rating = 1),
       count(id) FILTER (WHERE user_rating = -1), count(user_rating), count(id) FILTER (WHERE safety_flagged),
       array_agg(latency_bucket) FILTER (WHERE latency_bucket IS NOT NULL),
       array_agg(quality_bucket) FILTER (WHERE quality_bucket IS NOT NULL)
FROM ({events} ORDER BY e.workload_id, e.hour, e.model_name, e.release, e.ctid) AS e
GROUP BY workload_id, hour, model_name, release
"""


def _histogram(buckets: list[int] | None, size: int) -> list[int]:
    hist = [0] * size
    for bucket in buckets or ():
        hist[bucket] += 1
    return hist


def _aggregate(events: str, params: dict) -> dict[int, list[tuple]]:
    """The rollup rows of the events ``events`` selects, per workload: the values rollup_hours
    gives the model above (the same ``or 0`` defaults), in _COLUMNS order. One aggregate over the
    events; each histogram comes back as its rows' buckets, counted here."""
    rows: dict[int, list[tuple]] = defaultdict(list)
    with connection.cursor() as cursor:
        cursor.execute(_AGGREGATE.format(events=events), params)
        for (workload_id, hour, model_name, release, model_id, n, n_errors, tokens_in, tokens_out, total_cost,
             n_unpriced, latency_total, quality_total, n_quality, n_up, n_down, n_ratings, n_flagged, latency_buckets,
             quality_buckets) in cursor.fetchall():  # fmt: skip
            rows[workload_id].append((
                workload_id, hour, model_name, release, model_id, n, n_errors, tokens_in or 0, tokens_out or 0,
                total_cost or Decimal(0), n_unpriced, latency_total or 0.0,
                _histogram(latency_buckets, LATENCY_BUCKETS), quality_total or 0.0, n_quality,
                _histogram(quality_buckets, QUALITY_BUCKETS), n_up, n_down, n_ratings, n_flagged,
            ))  # fmt: skip
    return rows


def _aggregate_windows(pending: list[tuple[int, datetime, int]]) -> dict[int, list[tuple]]:
    with transaction.atomic(), connection.cursor() as cursor:
        # A backlog's events and groups fit in memory rather than spill to disk (this transaction only).
        cursor.execute("SET LOCAL work_mem = '64MB'")
        return _aggregate(_WINDOWS, {"workloads": [w for w, _, _ in pending], "hours": [h for _, h, _ in pending]})


def _copy_rows(rows: list[tuple]) -> int:
    """COPY rollup rows in: what bulk_create would store (the values adapted the same way)."""
    if rows:
        text = "".join("\t".join(map(_copy_field, row)) + "\n" for row in rows)
        with connection.cursor() as cursor:
            columns = ", ".join(_COLUMNS)
            cursor.cursor.copy_expert(f"COPY telemetry_hourlyrollup ({columns}) FROM STDIN", io.StringIO(text))
    return len(rows)


def _copy_field(value: object) -> str:
    """``ingest._copy_value`` with the rollup's common types first: counts, and histograms (lists
    of counts, written as json.dumps writes them)."""
    if type(value) is int:
        return str(value)
    if type(value) is list:
        return "[" + ",".join(map(str, value)) + "]"
    return _copy_value(value)


# --- Monthly and daily rollups per model ---------------------------------------------------------


def monthly_refresh(*, workload_id: int, month: date) -> int:
    """Recompute a workload's month per model and release from its hourly rollups (idempotent: the month's rows
    are replaced). Returns the number of rows written.

    Refreshes of one workload take turns (its row locked ``FOR NO KEY UPDATE``, which rollups'
    foreign-key checks do not wait for): two scoring runs at once would otherwise both replace the
    month and the second insert would hit the unique key."""
    month = month.replace(day=1)
    start = datetime(month.year, month.month, 1, tzinfo=UTC)
    end = datetime(month.year + month.month // 12, month.month % 12 + 1, 1, tzinfo=UTC)
    return _refresh(MonthlyModelRollup, workload_id, start, end, {month})


def daily_refresh(*, workload_id: int, days: Iterable[date]) -> int:
    """Recompute a workload's days per model and release from its hourly rollups, as
    ``monthly_refresh`` does its month (the days' rows replaced, the workload locked), in one read
    of the hourly rows from the first day to the last. Returns the number of rows written."""
    days = set(days)
    if not days:
        return 0
    start = datetime.combine(min(days), time.min, tzinfo=UTC)
    end = datetime.combine(max(days), time.min, tzinfo=UTC) + timedelta(days=1)
    return _refresh(DailyModelRollup, workload_id, start, end, days)


def _refresh(model: type[ModelRollup], workload_id: int, start: datetime, end: datetime, periods: set[date]) -> int:
    """Replace the rows of ``periods`` (months or days, as ``model`` keeps them) with the sums of
    the hourly rollups in [start, end)."""
    key = _period_field(model)
    with transaction.atomic():
        list(Workload.objects.select_for_update(no_key=True).filter(pk=workload_id).values_list("pk"))
        if connection.vendor == "postgresql":
            made = _period_rows(model, workload_id, start, end)
        else:
            made = _period_rows_python(model, workload_id, start, end)
        made = [row for row in made if getattr(row, key) in periods]
        model.objects.filter(workload_id=workload_id, **{f"{key}__in": periods}).delete()
        model.objects.bulk_create(made, batch_size=1000)
    return len(made)


def _period_field(model: type[ModelRollup]) -> str:
    return "month" if model is MonthlyModelRollup else "day"


def _period_of(model: type[ModelRollup], hour: datetime) -> date:
    day = hour.astimezone(UTC).date()
    return day.replace(day=1) if model is MonthlyModelRollup else day


def _period_rows_python(model: type[ModelRollup], workload_id: int, start: datetime, end: datetime) -> list:
    hours = (
        HourlyRollup.objects.filter(workload_id=workload_id, hour__gte=start, hour__lt=end)
        .order_by("hour", "id")
        .values_list("hour", "model_name", "release", "ai_model_id", "requests", "errors", "input_tokens",
                     "output_tokens", "cost", "unpriced_requests", "latency_sum_ms", "latency_hist", "quality_sum",
                     "quality_count", "safety_flagged")
    )  # fmt: skip
    key = _period_field(model)
    periods: dict[tuple[date, str, str], ModelRollup] = {}
    for (hour, name, release, model_id, requests, errors, tokens_in, tokens_out, cost, unpriced, latency_sum, hist,
         quality_sum, quality_count, flagged) in hours.iterator(chunk_size=2000):  # fmt: skip
        period = _period_of(model, hour)
        row = periods.get((period, name, release))
        if row is None:
            row = periods[period, name, release] = model(
                workload_id=workload_id, model_name=name, release=release, ai_model_id=model_id,
                cost=Decimal(0), latency_hist=[0] * LATENCY_BUCKETS, **{key: period},
            )  # fmt: skip
        row.ai_model_id = row.ai_model_id or model_id
        row.requests += requests
        row.errors += errors
        row.input_tokens += tokens_in
        row.output_tokens += tokens_out
        row.cost += cost
        row.unpriced_requests += unpriced
        row.latency_sum_ms += latency_sum
        _merge_hist(row.latency_hist, hist)
        row.quality_sum += quality_sum
        row.quality_count += quality_count
        row.safety_flagged += flagged
    return [periods[k] for k in sorted(periods)]


def _merged_json(hists: str | None) -> list[int]:
    """The latency histograms of a JSON list of them (``string_agg`` of a group's), merged."""
    merged = [0] * LATENCY_BUCKETS
    found = json.loads(hists) if hists is not None else []
    if all(type(hist) is list and len(hist) >= LATENCY_BUCKETS for hist in found):
        return [sum(column) for column in zip(*found, strict=False)][:LATENCY_BUCKETS] or merged
    for hist in found:
        _merge_hist(merged, hist)
    return merged


def _merge_hist(merged: list[int], hist: list[int] | None) -> None:
    for index, count in enumerate((hist or ())[:LATENCY_BUCKETS]):
        if count:
            merged[index] += count


# PostgreSQL: the same rows from one aggregate per period, model and release. Counts, tokens and
# costs are exact in any order; the two float sums are added in the order the rows above come in
# (by hour, then id), as sum(... ORDER BY ...) does; the model is the first one set in that order;
# the histograms come back as one JSON list of the group's lists and are merged as above.
_PERIODS = """
SELECT date_trunc(%s, hour AT TIME ZONE 'UTC')::date AS period, model_name, release,
       (array_agg(ai_model_id ORDER BY hour, id) FILTER (WHERE ai_model_id IS NOT NULL))[1],
       sum(requests), sum(errors), sum(input_tokens), sum(output_tokens), sum(cost), sum(unpriced_requests),
       sum(latency_sum_ms ORDER BY hour, id), '[' || string_agg(latency_hist::text, ',') || ']',
       sum(quality_sum ORDER BY hour, id), sum(quality_count), sum(safety_flagged)
FROM telemetry_hourlyrollup WHERE workload_id = %s AND hour >= %s AND hour < %s
GROUP BY period, model_name, release ORDER BY period, model_name, release
"""


def _period_rows(model: type[ModelRollup], workload_id: int, start: datetime, end: datetime) -> list:
    key = _period_field(model)
    with connection.cursor() as cursor:
        cursor.execute(_PERIODS, [key, workload_id, start, end])
        found = cursor.fetchall()
    rows = []
    for (period, name, release, model_id, requests, errors, tokens_in, tokens_out, cost, unpriced, latency_sum, hists,
         quality_sum, quality_count, flagged) in found:  # fmt: skip
        merged = _merged_json(hists)
        rows.append(model(
            workload_id=workload_id, model_name=name, release=release, ai_model_id=model_id,
            requests=int(requests),
            errors=int(errors), input_tokens=int(tokens_in), output_tokens=int(tokens_out), cost=Decimal(0) + cost,
            unpriced_requests=int(unpriced), latency_sum_ms=0 + latency_sum, latency_hist=merged,
            quality_sum=0 + quality_sum, quality_count=int(quality_count), safety_flagged=int(flagged),
            **{key: period},
        ))  # fmt: skip
    return rows


# --- Across workloads: per month, catalogue model and use-case category ------------------------------


def category_refresh(*, months: Iterable[date] | None = None) -> int:
    """Rebuild the organisation-wide rows (``MonthlyCategoryRollup``) of ``months`` (first days;
    every month with monthly rollups when None) from the monthly model rollups and each workload's
    current use-case category, in one transaction. Returns the number of rows written."""
    months = None if months is None else sorted({month.replace(day=1) for month in months})
    now = timezone.now()
    with transaction.atomic():
        if connection.vendor == "postgresql":
            locks.hold("telemetry.category-rollups")  # two rebuilds at once take turns
            made = _category_rows(months, now)
        else:
            made = _category_rows_python(months, now)
        stale = MonthlyCategoryRollup.objects.all()
        if months is not None:
            stale = stale.filter(month__in=months)
        stale.delete()
        MonthlyCategoryRollup.objects.bulk_create(made, batch_size=1000)
    return len(made)


def _category_rows_python(months: list[date] | None, now: datetime) -> list[MonthlyCategoryRollup]:
    rows = MonthlyModelRollup.objects.order_by("month", "workload_id", "model_name", "release")
    if months is not None:
        rows = rows.filter(month__in=months)
    found: dict[tuple[date, int | None, str], MonthlyCategoryRollup] = {}
    ids: dict[tuple[date, int | None, str], set[int]] = defaultdict(set)
    for (month, workload_id, category, model_id, requests, errors, cost, unpriced, hist, quality_sum, quality_count,
         flagged) in rows.values_list(
            "month", "workload_id", "workload__use_case_category", "ai_model_id", "requests", "errors", "cost",
            "unpriced_requests", "latency_hist", "quality_sum", "quality_count", "safety_flagged",
         ).iterator(chunk_size=2000):  # fmt: skip
        key = (month, model_id, category)
        row = found.get(key)
        if row is None:
            row = found[key] = MonthlyCategoryRollup(
                month=month, ai_model_id=model_id, use_case_category=category, cost=Decimal(0),
                latency_hist=[0] * LATENCY_BUCKETS, refreshed_at=now,
            )  # fmt: skip
        ids[key].add(workload_id)
        row.requests += requests
        row.errors += errors
        row.cost += cost
        row.unpriced_requests += unpriced
        _merge_hist(row.latency_hist, hist)
        row.quality_sum += quality_sum
        row.quality_count += quality_count
        row.safety_flagged += flagged
    for key, row in found.items():
        row.workload_ids = sorted(ids[key])
    return list(found.values())


# PostgreSQL: one aggregate; the histograms come back as one JSON list of the group's lists.
_CATEGORIES = """
SELECT m.month, m.ai_model_id, w.use_case_category, array_agg(DISTINCT m.workload_id ORDER BY m.workload_id),
       sum(m.requests), sum(m.errors), sum(m.cost), sum(m.unpriced_requests),
       '[' || string_agg(m.latency_hist::text, ',') || ']', sum(m.quality_sum), sum(m.quality_count),
       sum(m.safety_flagged)
FROM telemetry_monthlymodelrollup AS m JOIN registry_workload AS w ON w.id = m.workload_id
{where}
GROUP BY m.month, m.ai_model_id, w.use_case_category
"""


def _category_rows(months: list[date] | None, now: datetime) -> list[MonthlyCategoryRollup]:
    where, params = ("", []) if months is None else ("WHERE m.month = ANY(%s::date[])", [months])
    with connection.cursor() as cursor:
        cursor.execute(_CATEGORIES.format(where=where), params)
        found = cursor.fetchall()
    rows = []
    for (month, model_id, category, workload_ids, requests, errors, cost, unpriced, hists, quality_sum, quality_count,
         flagged) in found:  # fmt: skip
        merged = _merged_json(hists)
        rows.append(MonthlyCategoryRollup(
            month=month, ai_model_id=model_id, use_case_category=category, workload_ids=list(workload_ids),
            requests=int(requests), errors=int(errors), cost=Decimal(0) + cost, unpriced_requests=int(unpriced),
            latency_hist=merged, quality_sum=float(quality_sum), quality_count=int(quality_count),
            safety_flagged=int(flagged), refreshed_at=now,
        ))  # fmt: skip
    return rows

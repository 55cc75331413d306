"""Hourly rollups: per workload, hour, model and release. Recomputed from raw events for every
(workload, hour) that ingestion marked, so late events re-roll their hour and running the task
twice gives the same rows."""

from __future__ import annotations

from collections import defaultdict
from datetime import datetime
from decimal import Decimal
from itertools import groupby

from django.db import transaction
from django.db.models import Count, Max, Q, Sum

from .models import (
    LATENCY_BUCKETS,
    QUALITY_BUCKETS,
    Event,
    HourlyRollup,
    RollupPending,
)

HOURS_PER_QUERY = 200


def rollup_pending(*, limit: int = 20_000) -> int:
    """Roll up what ingestion marked, oldest first; return the number of (workload, hour) windows
    done. A window re-marked while it was being rolled up stays marked for the next run."""
    pending = list(
        RollupPending.objects.order_by("workload_id", "hour").values_list("workload_id", "hour", "version")[:limit]
    )
    for workload_id, rows in groupby(pending, key=lambda row: row[0]):
        marks = [(hour, version) for _, hour, version in rows]
        for start in range(0, len(marks), HOURS_PER_QUERY):
            chunk = marks[start : start + HOURS_PER_QUERY]
            with transaction.atomic():
                rollup_hours(workload_id=workload_id, hours=[hour for hour, _ in chunk])
                for hour, version in chunk:
                    RollupPending.objects.filter(workload_id=workload_id, hour=hour, version=version).delete()
    return len(pending)


@transaction.atomic
def rollup_hours(*, workload_id: int, hours: list[datetime]) -> int:
    """Recompute the rollup rows of these hours of one workload from its raw events."""
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

"""Feedback reads: threads a person may see, the triage queue, and the metrics dashboards use."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from statistics import median
from typing import Any

from django.db.models import Avg, Count, Exists, F, OuterRef, Q, QuerySet
from django.db.models.functions import TruncWeek
from django.utils import timezone

from apps.accounts.models import User
from apps.core.models import VersionState
from apps.governance.models import PolicyVersion
from apps.library.models import TemplateVersion

from .models import Lesson, Subject, Thread

READABLE = (VersionState.PUBLISHED, VersionState.DEPRECATED)


def threads_visible(*, user: User) -> QuerySet[Thread]:
    """The threads ``user`` may read (the same rule as ``feedback.view_thread``, as a query)."""
    qs = Thread.objects.select_related("author", "owner", "policy", "template", "workload__team", "ai_model")
    if user.is_coe_staff:
        return qs
    published_template = Exists(TemplateVersion.objects.filter(template=OuterRef("template"), state__in=READABLE))
    published_policy = Exists(PolicyVersion.objects.filter(policy=OuterRef("policy"), state__in=READABLE))
    workload_rule = Q(workload__isnull=False) if user.is_leadership else Q(workload__team__in=user.team_ids)
    return qs.filter(
        Q(subject__in=[Subject.GENERAL, Subject.MODEL])
        | Q(subject=Subject.TEMPLATE) & published_template
        | Q(subject=Subject.POLICY) & published_policy
        | Q(subject=Subject.WORKLOAD) & workload_rule
    )


def thread_filter(qs: QuerySet[Thread], filters: dict[str, Any]) -> QuerySet[Thread]:
    if status := filters.get("status"):
        qs = qs.filter(status__in=Thread.OPEN_STATUSES) if status == "open" else qs.filter(status=status)
    for name in ("kind", "subject", "guidance_area"):
        if value := filters.get(name):
            qs = qs.filter(**{name: value})
    if owner := filters.get("owner"):
        qs = qs.filter(owner__isnull=True) if owner == "none" else qs.filter(owner__username=owner)
    if age := filters.get("older_than_days"):
        qs = qs.filter(created_at__lt=timezone.now() - timedelta(days=int(age)))
    if q := (filters.get("q") or "").strip():
        qs = qs.filter(Q(title__icontains=q) | Q(posts__body__icontains=q)).distinct()
    for name, field in (("template", "template__slug"), ("policy", "policy__slug"), ("workload", "workload__slug"),
                        ("model", "ai_model__slug")):  # fmt: skip
        if value := filters.get(name):
            qs = qs.filter(**{field: value})
    return qs


# Open first, oldest first within open. nulls_first: PostgreSQL sorts NULLs last ascending, which would
# put the open threads last.
TRIAGE_ORDER = (F("closed_at").asc(nulls_first=True), "created_at", "id")


def triage_queue(*, filters: dict[str, Any] | None = None) -> QuerySet[Thread]:
    """Everything, open first, oldest first within open: the CoE works from the longest wait."""
    qs = Thread.objects.select_related("author", "owner", "policy", "template", "workload", "ai_model").annotate(
        post_count=Count("posts")
    )
    qs = thread_filter(qs, filters or {"status": "open"})
    return qs.order_by(*TRIAGE_ORDER)


def threads_awaiting_response(*, limit: int) -> list[Thread]:
    """The first ``limit`` open threads the CoE has not answered yet, in the triage queue's order (the
    longest wait first), with what they are about and their owner (dashboards). Without the queue's
    post counts, whose GROUP BY over six joined tables takes PostgreSQL longer to plan than to run."""
    qs = Thread.objects.select_related("owner", "policy", "template", "workload", "ai_model")
    qs = thread_filter(qs, {"status": "open"}).filter(first_response_at__isnull=True)
    return list(qs.order_by(*TRIAGE_ORDER)[:limit])


def my_threads(*, user: User) -> QuerySet[Thread]:
    return threads_visible(user=user).filter(Q(author=user) | Q(followers=user)).distinct()


def lessons_published() -> QuerySet[Lesson]:
    return Lesson.objects.filter(published_at__isnull=False).select_related("template", "policy", "ai_model")


# --- Metrics (dashboards) ------------------------------------------------------------------------


@dataclass
class ResponseTimes:
    threads: int
    answered: int
    closed: int
    median_first_response_hours: float | None
    median_time_to_addressed_hours: float | None


def _hours(deltas: list[timedelta]) -> float | None:
    return round(median(d.total_seconds() for d in deltas) / 3600, 1) if deltas else None


def response_times(*, start: datetime | None = None, end: datetime | None = None) -> ResponseTimes:
    """Time to the CoE's first response and to "addressed", over threads opened in the period."""
    qs = Thread.objects.all()
    if start:
        qs = qs.filter(created_at__gte=start)
    if end:
        qs = qs.filter(created_at__lt=end)
    rows = list(qs.values_list("created_at", "first_response_at", "closed_at", "status"))
    first = [r[1] - r[0] for r in rows if r[1]]
    addressed = [r[2] - r[0] for r in rows if r[2] and r[3] == Thread.Status.ADDRESSED]
    return ResponseTimes(
        threads=len(rows), answered=len(first), closed=sum(1 for r in rows if r[2]),
        median_first_response_hours=_hours(first), median_time_to_addressed_hours=_hours(addressed),
    )  # fmt: skip


def _opened(qs: QuerySet[Thread], start: datetime | None, end: datetime | None) -> QuerySet[Thread]:
    if start:
        qs = qs.filter(created_at__gte=start)
    if end:
        qs = qs.filter(created_at__lt=end)
    return qs


def per_guidance_item(*, start: datetime | None = None, end: datetime | None = None) -> list[dict[str, Any]]:
    """Threads and average effectiveness rating per policy and per template (over the threads
    opened from ``start`` to before ``end``, if given)."""
    rows = []
    for subject, key, label in ((Subject.TEMPLATE, "template", "template__title"),
                                (Subject.POLICY, "policy", "policy__title")):  # fmt: skip
        for row in (
            _opened(Thread.objects.filter(subject=subject), start, end)
            .values(key, label, f"{key}__slug")
            .annotate(
                threads=Count("id"),
                open=Count("id", filter=Q(status__in=Thread.OPEN_STATUSES)),
                ratings=Count("rating"),
                average_rating=Avg("rating"),
            )
            .order_by("-threads")
        ):
            rows.append({
                "kind": subject, "id": row[key], "title": row[label], "slug": row[f"{key}__slug"],
                "threads": row["threads"], "open": row["open"], "ratings": row["ratings"],
                "average_rating": round(row["average_rating"], 2) if row["average_rating"] is not None else None,
            })  # fmt: skip
    return rows


def threads_per_week(*, start: datetime, end: datetime) -> list[dict[str, Any]]:
    """Threads opened from ``start`` to before ``end``, per week (Monday, UTC) and kind:
    ``{"week": date, "kind": str, "threads": int}``, oldest week first."""
    rows = (
        _opened(Thread.objects.all(), start, end)
        .annotate(week=TruncWeek("created_at", tzinfo=UTC))
        .values("week", "kind")
        .annotate(threads=Count("id"))
        .order_by("week", "kind")
    )
    return [{"week": row["week"].date(), "kind": row["kind"], "threads": row["threads"]} for row in rows]


def rating_summary(*, start: datetime | None = None, end: datetime | None = None) -> tuple[int, float | None]:
    """How many threads opened in the period rated the guidance, and their average rating (1–5)."""
    found = _opened(Thread.objects.filter(rating__isnull=False), start, end).aggregate(
        ratings=Count("id"), average=Avg("rating")
    )
    return found["ratings"], float(found["average"]) if found["average"] is not None else None

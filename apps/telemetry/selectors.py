"""Telemetry reads for the workload's Telemetry tab. The caller has checked
``telemetry.view_telemetry`` on the workload; every read is scoped to that workload.

Pages read scorecards, rollups and alerts; raw events only for the short "latest events" list
(DESIGN.md "The telemetry path", step 7).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta

from django.db.models import Max, QuerySet, Sum
from django.utils import timezone

from apps.registry.models import AIModel, Workload
from apps.registry.selectors import model_resolve

from .models import Alert, Event, HourlyRollup, IngestionKey, PullSource, Scorecard

SERIES_DAYS = 30
LATEST_EVENTS = 20
UNPRICED_DAYS = 7
RESOLVED_DAYS = 30
RESOLVED_LIMIT = 20


def scorecard_latest(*, workload: Workload) -> Scorecard | None:
    return Scorecard.objects.filter(workload=workload).order_by("-day").first()


def scorecard_series(*, workload: Workload, days: int = SERIES_DAYS, today: date | None = None) -> list[Scorecard]:
    """The scorecards of the last ``days`` days, oldest first (days without one are absent)."""
    today = today or timezone.now().date()
    return list(
        Scorecard.objects.filter(workload=workload, day__gt=today - timedelta(days=days), day__lte=today).order_by(
            "day"
        )
    )


def alert_open_list(*, workload: Workload) -> QuerySet[Alert]:
    """Open alerts, critical first, newest first within a severity."""
    return Alert.objects.filter(workload=workload, resolved_at__isnull=True).order_by(
        "severity", "-created_at", "-id"
    )  # "critical" sorts before "warning"


def alert_resolved_list(*, workload: Workload, days: int = RESOLVED_DAYS, limit: int = RESOLVED_LIMIT) -> list[Alert]:
    since = timezone.now() - timedelta(days=days)
    return list(
        Alert.objects.filter(workload=workload, resolved_at__gte=since)
        .select_related("resolved_by")
        .order_by("-resolved_at", "-id")[:limit]
    )


def alert_get(*, workload: Workload, pk: int) -> Alert:
    """An alert of this workload; ``Alert.DoesNotExist`` for another workload's."""
    return Alert.objects.get(workload=workload, pk=pk)


def key_list(*, workload: Workload) -> list[IngestionKey]:
    """Active keys first (newest first), then revoked ones."""
    keys = list(IngestionKey.objects.filter(workload=workload).select_related("created_by", "revoked_by"))
    return sorted(keys, key=lambda key: key.revoked_at is not None)


def key_get(*, workload: Workload, pk: int) -> IngestionKey:
    return IngestionKey.objects.get(workload=workload, pk=pk)


def source_list(*, workload: Workload) -> QuerySet[PullSource]:
    return PullSource.objects.filter(workload=workload).order_by("name", "id")


def source_get(*, workload: Workload, pk: int) -> PullSource:
    return PullSource.objects.get(workload=workload, pk=pk)


def event_latest(*, workload: Workload, limit: int = LATEST_EVENTS) -> list[Event]:
    """The newest raw events, by the (workload, hour) index, then by time within the hour;
    on a tie, the last stored first."""
    return list(Event.objects.filter(workload=workload).order_by("-hour", "-timestamp", "-id")[:limit])


def event_exists(*, workload: Workload) -> bool:
    return Event.objects.filter(workload=workload).exists()


@dataclass(frozen=True)
class UnpricedModel:
    model_name: str
    requests: int
    last_seen: datetime
    in_catalogue: bool = False  # known, but no price (or no exchange rate for its price) was in force


def unpriced_models(*, workload: Workload, days: int = UNPRICED_DAYS) -> list[UnpricedModel]:
    """Model names telemetry reported that the catalogue could not price, from the rollups of the
    last ``days`` days, most requests first: what the CoE should add to the catalogue."""
    since = (timezone.now() - timedelta(days=days)).replace(minute=0, second=0, microsecond=0)
    rows = (
        HourlyRollup.objects.filter(workload=workload, hour__gte=since, unpriced_requests__gt=0)
        .values("model_name")
        .annotate(requests=Sum("unpriced_requests"), last_seen=Max("hour"))
        .order_by("-requests", "model_name")
    )
    rows = list(rows)
    catalogue = list(AIModel.objects.only("id", "provider", "model_id", "aliases", "match_pattern")) if rows else []
    return [
        UnpricedModel(row["model_name"] or "", row["requests"], row["last_seen"],
                      in_catalogue=bool(row["model_name"]) and model_resolve(name=row["model_name"],
                                                                             catalogue=catalogue) is not None)
        for row in rows
    ]  # fmt: skip

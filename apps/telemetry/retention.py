"""Raw events older than TELEMETRY_RETENTION_DAYS are deleted; rollups and scorecards stay.

Deleting goes workload by workload, hour range by hour range, through the (workload, hour) index,
in chunks, so it never holds a long lock on the table. (On PostgreSQL, monthly partitions of the
events table would make this a DROP; DESIGN.md "Growing past one machine".)"""

from __future__ import annotations

from datetime import timedelta

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from apps.registry.models import Workload

from .models import Event, RollupPending

CHUNK = 5000


def events_purge(*, now=None) -> int:  # type: ignore[no-untyped-def]
    now = now or timezone.now()
    cutoff = (now - timedelta(days=settings.TELEMETRY_RETENTION_DAYS)).replace(minute=0, second=0, microsecond=0)
    deleted = 0
    for workload_id in Workload.objects.values_list("pk", flat=True):
        # An hour still waiting for its rollup keeps its events until it is rolled up.
        pending = RollupPending.objects.filter(workload_id=workload_id, hour__lt=cutoff).order_by("hour").first()
        limit = min(cutoff, pending.hour) if pending else cutoff
        while True:
            ids = list(
                Event.objects.filter(workload_id=workload_id, hour__lt=limit).values_list("pk", flat=True)[:CHUNK]
            )
            if not ids:
                break
            with transaction.atomic():
                deleted += Event.objects.filter(pk__in=ids).delete()[0]
    return deleted

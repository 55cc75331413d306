"""Every read of the core app, scoped to the person asking."""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from django.conf import settings
from django.db import connection
from django.db.models import QuerySet
from django.utils import timezone

from .models import AuditEvent, Heartbeat, Notification

if TYPE_CHECKING:
    from apps.accounts.models import User


def notification_list(*, user: User, unread_only: bool = False) -> QuerySet[Notification]:
    qs = Notification.objects.filter(recipient=user)
    if unread_only:
        qs = qs.filter(read_at__isnull=True)
    return qs


def notification_unread_count(*, user: User) -> int:
    if not user.is_authenticated:
        return 0
    return Notification.objects.filter(recipient=user, read_at__isnull=True).count()


def audit_event_list(*, filters: dict[str, Any] | None = None) -> QuerySet[AuditEvent]:
    filters = filters or {}
    qs = AuditEvent.objects.select_related("actor", "target_type")
    if filters.get("action"):
        qs = qs.filter(action__startswith=filters["action"])
    if filters.get("actor"):
        qs = qs.filter(actor_repr=filters["actor"])
    if filters.get("since"):
        qs = qs.filter(created_at__gte=filters["since"])
    if filters.get("until"):
        qs = qs.filter(created_at__lt=filters["until"])
    return qs


@dataclass
class CheckResult:
    ok: bool
    detail: str = ""
    extra: dict[str, Any] = field(default_factory=dict)

    def as_dict(self) -> dict[str, Any]:
        return {"ok": self.ok, "detail": self.detail, **self.extra}


def _check_database() -> CheckResult:
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
            cursor.fetchone()
    except Exception as exc:
        return CheckResult(False, f"database unreachable: {exc.__class__.__name__}")
    return CheckResult(True, connection.vendor)


def _check_broker() -> CheckResult:
    from coe_portal.celery import app

    broker_url: str = settings.CELERY_BROKER_URL
    if broker_url.startswith("filesystem://"):
        folder = Path(settings.CELERY_BROKER_TRANSPORT_OPTIONS["data_folder_in"])
        if folder.is_dir() and os.access(folder, os.W_OK):
            return CheckResult(True, "filesystem")
        return CheckResult(False, f"queue folder {folder} is missing or not writable")
    try:
        with app.connection_for_write() as conn:
            conn.ensure_connection(max_retries=1, interval_start=0, interval_step=0, timeout=2)
    except Exception as exc:
        return CheckResult(False, f"broker unreachable: {exc.__class__.__name__}")
    return CheckResult(True, "redis")


def _check_worker() -> CheckResult:
    heartbeat = Heartbeat.objects.filter(name="worker").first()
    if heartbeat is None:
        return CheckResult(False, "no worker heartbeat yet", {"last_seen": None})
    age = (timezone.now() - heartbeat.seen_at).total_seconds()
    max_age = settings.HEALTH_HEARTBEAT_MAX_AGE.total_seconds()
    extra = {"last_seen": heartbeat.seen_at.isoformat(), "age_seconds": round(age, 1)}
    if age > max_age:
        return CheckResult(False, f"last heartbeat {age:.0f}s ago (limit {max_age:.0f}s)", extra)
    return CheckResult(True, "recent heartbeat", extra)


def health_check() -> dict[str, CheckResult]:
    database = _check_database()
    return {
        "database": database,
        "broker": _check_broker(),
        "worker": _check_worker() if database.ok else CheckResult(False, "database unreachable"),
    }

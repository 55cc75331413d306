"""Every write of the core app: audit trail, notifications, heartbeats."""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING, Any

from axes.helpers import get_client_ip_address
from django.contrib.contenttypes.models import ContentType
from django.db import models
from django.http import HttpRequest
from django.utils import timezone

from .models import AuditEvent, Heartbeat, Notification

if TYPE_CHECKING:
    from apps.accounts.models import User


def _client_ip(request: HttpRequest | None) -> str | None:
    if request is None:
        return None
    # The same reading of X-Forwarded-For as the login lockout (settings: BEHIND_TLS_PROXY).
    return get_client_ip_address(request) or None


def audit_record(
    *,
    actor: User | None,
    action: str,
    target: models.Model | None = None,
    changes: dict[str, Any] | None = None,
    request: HttpRequest | None = None,
    actor_repr: str = "system",
) -> AuditEvent:
    """Write one entry to the audit trail. Call it inside the transaction of the change.
    ``actor_repr`` names a non-user actor ("system" for the portal's own jobs, "anonymous")."""
    actor = actor if actor is not None and actor.is_authenticated else None
    return AuditEvent.objects.create(
        actor=actor,
        actor_repr=actor.get_username() if actor else actor_repr,
        action=action,
        target_type=ContentType.objects.get_for_model(target) if target is not None else None,
        target_id=str(target.pk) if target is not None else "",
        target_repr=str(target)[:300] if target is not None else "",
        changes=changes or {},
        ip_address=_client_ip(request),
    )


def notification_send(*, recipients: Iterable[User], title: str, body: str = "", url: str = "") -> list[Notification]:
    """Tell each recipient once, however often they appear in ``recipients``."""
    unique = {user.pk: user for user in recipients if user.is_active}
    return Notification.objects.bulk_create(
        Notification(recipient=user, title=title[:200], body=body, url=url) for user in unique.values()
    )


def notification_mark_read(*, user: User, notification_ids: Iterable[int] | None = None) -> int:
    """Mark some (or, with no ids, all) of the user's unread notifications read."""
    qs = Notification.objects.filter(recipient=user, read_at__isnull=True)
    if notification_ids is not None:
        qs = qs.filter(pk__in=list(notification_ids))
    return qs.update(read_at=timezone.now())


def heartbeat_record(*, name: str = "worker") -> Heartbeat:
    heartbeat, _ = Heartbeat.objects.update_or_create(name=name, defaults={"seen_at": timezone.now()})
    return heartbeat

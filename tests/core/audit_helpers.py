"""Audit entries for tests, placed in time: ``created_at`` is set by the database clock
(``auto_now_add``) and the model refuses changes, so tests move it through the base manager,
which is what the refusal leaves to the database's owner (and to tests)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from django.db import models

from apps.accounts.models import User
from apps.core.models import AuditEvent
from apps.core.services import audit_record


def entry(
    action: str,
    *,
    actor: User | None = None,
    target: models.Model | None = None,
    changes: dict[str, Any] | None = None,
    at: datetime | None = None,
    ip: str | None = None,
    **fields: Any,
) -> AuditEvent:
    event = audit_record(actor=actor, action=action, target=target, changes=changes)
    updates: dict[str, Any] = dict(fields)
    if at is not None:
        updates["created_at"] = at
    if ip is not None:
        updates["ip_address"] = ip
    if updates:
        AuditEvent._base_manager.filter(pk=event.pk).update(**updates)
    return AuditEvent.objects.get(pk=event.pk)


def many(count: int, action: str, *, at: datetime | None = None, actor_repr: str = "system") -> list[int]:
    """``count`` entries in one insert, all at ``at`` when given (ties that only the id orders)."""
    AuditEvent.objects.bulk_create(AuditEvent(action=action, actor_repr=actor_repr) for _ in range(count))
    qs = AuditEvent._base_manager.filter(action=action, actor_repr=actor_repr)
    if at is not None:
        qs.update(created_at=at)
    return list(qs.order_by("-created_at", "-id").values_list("pk", flat=True))

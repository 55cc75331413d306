"""Reads behind the audit trail page and its CSV export (the list itself: ``selectors.audit_event_list``
filtered by ``filters.AuditEventFilter``)."""

from __future__ import annotations

import json
from collections import defaultdict
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any

from django.contrib.contenttypes.models import ContentType
from django.core.exceptions import ValidationError
from django.db import connection
from django.db.models import QuerySet
from django.urls import NoReverseMatch, reverse
from django.utils import timezone

from .filters import content_type_label
from .models import AuditEvent

# Where an object is shown, for models without ``get_absolute_url``: the URL name, its one
# keyword and the field (path) that fills it. A model added here needs no change of its own.
OBJECT_PAGES: dict[str, tuple[str, str, str]] = {
    "accounts.team": ("accounts:team-detail", "slug", "slug"),
    "registry.workload": ("registry:workload-detail", "slug", "slug"),
    "registry.release": ("registry:release-list", "slug", "workload__slug"),
    "registry.aimodel": ("registry:model-detail", "slug", "slug"),
    "governance.policy": ("governance:policy-detail", "slug", "slug"),
    "library.template": ("library:template-detail", "slug", "slug"),
    "feedback.thread": ("feedback:thread-detail", "pk", "pk"),
    "feedback.post": ("feedback:thread-detail", "pk", "thread_id"),
    "feedback.lesson": ("feedback:lesson-detail", "slug", "slug"),
    "telemetry.ingestionkey": ("telemetry:workload-telemetry", "slug", "workload__slug"),
    "telemetry.pullsource": ("telemetry:workload-telemetry", "slug", "workload__slug"),
    "telemetry.alert": ("telemetry:workload-telemetry", "slug", "workload__slug"),
}


@dataclass
class AuditRow:
    """One entry as the page shows it."""

    event: AuditEvent
    type_label: str = ""  # "registry.workload"
    type_name: str = ""  # "workload"
    url: str = ""  # the object's page, when it still exists and has one
    changes: list[tuple[str, str]] = field(default_factory=list)

    @property
    def changes_summary(self) -> str:
        keys = [key for key, _ in self.changes if key]
        return ", ".join(keys) if keys else "details"


def _distinct(column: str) -> list[Any]:
    """The distinct non-null values of an indexed column of the audit table, found with one index
    probe per value (a "loose index scan" as a recursive query) rather than by reading every row:
    the list of actions stays instant however long the trail grows. Works on PostgreSQL and SQLite."""
    table = connection.ops.quote_name(AuditEvent._meta.db_table)
    col = connection.ops.quote_name(column)
    sql = (
        f"WITH RECURSIVE t(v) AS ("  # noqa: S608 — table and column names are the model's own, quoted
        f" SELECT (SELECT MIN({col}) FROM {table})"
        f" UNION ALL SELECT (SELECT MIN({col}) FROM {table} WHERE {col} > t.v) FROM t WHERE t.v IS NOT NULL"
        f") SELECT v FROM t WHERE v IS NOT NULL"
    )
    with connection.cursor() as cursor:
        cursor.execute(sql)
        return [row[0] for row in cursor.fetchall()]


def audit_actions() -> list[str]:
    """Every action in the trail, each family (``workload.``) before its members."""
    actions = _distinct(AuditEvent._meta.get_field("action").column)
    families = sorted({action.split(".", 1)[0] + "." for action in actions if "." in action})
    return sorted(families + actions)


def audit_target_types() -> list[tuple[str, str]]:
    """``(label, name)`` of every object type in the trail: ``("registry.workload", "workload")``."""
    ids = _distinct(AuditEvent._meta.get_field("target_type").column)
    types = [ContentType.objects.get_for_id(pk) for pk in ids]
    return sorted((content_type_label(ct), str(ct.name)) for ct in types)


def _changes(value: Any) -> list[tuple[str, str]]:
    if not value:
        return []
    if isinstance(value, dict):
        return [(str(k), json.dumps(v, ensure_ascii=False, default=str)) for k, v in value.items()]
    return [("", json.dumps(value, ensure_ascii=False, default=str))]


def _object_urls(events: Iterable[AuditEvent]) -> dict[tuple[int, str], str]:
    """The page of each event's object: one query per object type on the page, not per row."""
    wanted: dict[int, set[str]] = defaultdict(set)
    for event in events:
        if event.target_type_id and event.target_id:
            wanted[event.target_type_id].add(event.target_id)
    urls: dict[tuple[int, str], str] = {}
    for type_id, raw_ids in wanted.items():
        content_type = ContentType.objects.get_for_id(type_id)
        model = content_type.model_class()
        if model is None:
            continue
        ids = []
        for raw in raw_ids:
            try:
                ids.append(model._meta.pk.to_python(raw))
            except ValidationError:
                continue
        if hasattr(model, "get_absolute_url"):
            for pk, obj in model._default_manager.in_bulk(ids).items():
                urls[(type_id, str(pk))] = obj.get_absolute_url()
            continue
        page = OBJECT_PAGES.get(content_type_label(content_type))
        if page is None:
            continue
        url_name, kwarg, path = page
        for pk, value in model._default_manager.filter(pk__in=ids).values_list("pk", path):
            if value is None:
                continue
            try:
                urls[(type_id, str(pk))] = reverse(url_name, kwargs={kwarg: value})
            except NoReverseMatch:
                continue
    return urls


def audit_rows(events: list[AuditEvent]) -> list[AuditRow]:
    urls = _object_urls(events)
    rows = []
    for event in events:
        content_type = ContentType.objects.get_for_id(event.target_type_id) if event.target_type_id else None
        rows.append(
            AuditRow(
                event=event,
                type_label=content_type_label(content_type),
                type_name=str(content_type.name) if content_type else "",
                url=urls.get((event.target_type_id, event.target_id), "") if event.target_type_id else "",
                changes=_changes(event.changes),
            )
        )
    return rows


EXPORT_COLUMNS = ["When", "Actor", "Action", "Object type", "Object id", "Object", "Changes", "IP address"]


def audit_export_rows(queryset: QuerySet[AuditEvent]) -> Iterator[list[Any]]:
    """Every matching entry, newest first, read in chunks (a server-side cursor on PostgreSQL) so
    memory stays flat. Times in the portal's time zone, with their offset."""
    fields = [
        "created_at",
        "actor_repr",
        "action",
        "target_type_id",
        "target_id",
        "target_repr",
        "changes",
        "ip_address",
    ]
    rows = queryset.order_by("-created_at", "-id").values_list(*fields)
    for created_at, actor, action, type_id, target_id, target, changes, ip in rows.iterator(chunk_size=2000):
        content_type = ContentType.objects.get_for_id(type_id) if type_id else None
        yield [
            timezone.localtime(created_at).isoformat(timespec="seconds"),
            actor,
            action,
            content_type_label(content_type),
            target_id,
            target,
            json.dumps(changes, ensure_ascii=False, sort_keys=True, default=str) if changes else "",
            ip or "",
        ]

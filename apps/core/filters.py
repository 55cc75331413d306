"""The audit trail's filters: one FilterSet for the page, its CSV export and ``/api/v1/audit/``,
so a link copied from the page and an API query with the same parameters find the same entries."""

from __future__ import annotations

from datetime import date, datetime, time, timedelta
from typing import Any

import django_filters
from django import forms
from django.contrib.contenttypes.models import ContentType
from django.db.models import QuerySet
from django.utils import timezone

from .models import AuditEvent

PERIODS = [("7d", "Last 7 days"), ("30d", "Last 30 days"), ("90d", "Last 90 days")]
PERIOD_DAYS = {"7d": 7, "30d": 30, "90d": 90}


def _day_start(day: date) -> datetime:
    """Midnight at the start of ``day`` in the portal's time zone (``TIME_ZONE``)."""
    return timezone.make_aware(datetime.combine(day, time.min))


def content_type_label(content_type: ContentType | None) -> str:
    """``registry.workload``: how the page, the CSV and the API name an object's type."""
    return f"{content_type.app_label}.{content_type.model}" if content_type else ""


class AuditEventFilter(django_filters.FilterSet):
    """Every filter is optional and they combine with AND. Dates are days in the portal's time zone
    (``end`` included); ``since``/``until`` take exact ISO 8601 moments, for programs."""

    actor = django_filters.CharFilter(
        field_name="actor_repr",
        lookup_expr="icontains",
        label="Actor",
        help_text="Username or part of it (case-insensitive); `system` for automatic actions.",
    )
    action = django_filters.CharFilter(
        field_name="action",
        lookup_expr="startswith",
        label="Action",
        help_text="An action (`token.create`) or the start of one (`token.`, `workload.`).",
    )
    target_type = django_filters.CharFilter(
        method="filter_target_type",
        label="Object type",
        help_text="`app_label.model`, e.g. `registry.workload`.",
    )
    target_id = django_filters.CharFilter(field_name="target_id", label="Object id", help_text="The object's id.")
    target = django_filters.CharFilter(
        field_name="target_repr",
        lookup_expr="icontains",
        label="Object",
        help_text="Words in the object's name as it was recorded (case-insensitive).",
    )
    period = django_filters.ChoiceFilter(
        choices=PERIODS,
        method="filter_period",
        label="Period",
        empty_label="Any time",
        widget=forms.Select(attrs={"class": "audit-choice"}),
        help_text="The last 7, 30 or 90 days, up to now.",
    )
    start = django_filters.DateFilter(
        method="filter_start",
        label="From",
        widget=forms.DateInput(attrs={"type": "date", "class": "audit-choice"}),
        help_text="First day (YYYY-MM-DD), in the portal's time zone.",
    )
    end = django_filters.DateFilter(
        method="filter_end",
        label="To",
        widget=forms.DateInput(attrs={"type": "date", "class": "audit-choice"}),
        help_text="Last day, included (YYYY-MM-DD).",
    )
    since = django_filters.IsoDateTimeFilter(
        field_name="created_at", lookup_expr="gte", help_text="From this moment on (ISO 8601)."
    )
    until = django_filters.IsoDateTimeFilter(
        field_name="created_at", lookup_expr="lt", help_text="Before this moment (ISO 8601)."
    )

    class Meta:
        model = AuditEvent
        fields: list[str] = []

    def filter_target_type(self, queryset: QuerySet[AuditEvent], name: str, value: str) -> QuerySet[AuditEvent]:
        app_label, _, model = value.strip().lower().partition(".")
        try:
            content_type = ContentType.objects.get_by_natural_key(app_label, model)
        except ContentType.DoesNotExist:
            return queryset.none()
        return queryset.filter(target_type=content_type)

    def filter_period(self, queryset: QuerySet[AuditEvent], name: str, value: str) -> QuerySet[AuditEvent]:
        return queryset.filter(created_at__gte=timezone.now() - timedelta(days=PERIOD_DAYS[value]))

    def filter_start(self, queryset: QuerySet[AuditEvent], name: str, value: date) -> QuerySet[AuditEvent]:
        return queryset.filter(created_at__gte=_day_start(value))

    def filter_end(self, queryset: QuerySet[AuditEvent], name: str, value: date) -> QuerySet[AuditEvent]:
        return queryset.filter(created_at__lt=_day_start(value + timedelta(days=1)))

    @property
    def active(self) -> bool:
        """Whether any filter narrows the list (an invalid value narrows nothing)."""
        self.form.is_valid()
        data: dict[str, Any] = getattr(self.form, "cleaned_data", {})
        return any(value not in (None, "") for value in data.values())

from __future__ import annotations

import django_filters
from django.db.models import QuerySet
from rest_framework import mixins, viewsets
from rest_framework.permissions import IsAuthenticated

from apps.core import selectors
from apps.core.api.permissions import ActionPermission
from apps.core.api.serializers import AuditEventOutput
from apps.core.models import AuditEvent


class AuditEventFilter(django_filters.FilterSet):
    action = django_filters.CharFilter(lookup_expr="startswith")
    actor = django_filters.CharFilter(field_name="actor_repr")
    since = django_filters.IsoDateTimeFilter(field_name="created_at", lookup_expr="gte")
    until = django_filters.IsoDateTimeFilter(field_name="created_at", lookup_expr="lt")

    class Meta:
        model = AuditEvent
        fields = ["action", "actor", "since", "until", "target_id"]


class AuditEventViewSet(mixins.ListModelMixin, viewsets.GenericViewSet):
    """The audit trail: read-only, for CoE staff and leadership."""

    serializer_class = AuditEventOutput
    permission_classes = [IsAuthenticated, ActionPermission]
    action_perms = {"list": "core.view_auditevent"}
    filterset_class = AuditEventFilter
    search_fields = ["target_repr", "action", "actor_repr"]
    ordering_fields = ["created_at"]

    def get_queryset(self) -> QuerySet[AuditEvent]:
        return selectors.audit_event_list()

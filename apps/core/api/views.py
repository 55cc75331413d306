from __future__ import annotations

from django.db.models import QuerySet
from django_filters.rest_framework import DjangoFilterBackend
from rest_framework import mixins, viewsets
from rest_framework.permissions import IsAuthenticated

from apps.core import selectors
from apps.core.api.pagination import AuditCursorPagination
from apps.core.api.permissions import ActionPermission
from apps.core.api.serializers import AuditEventOutput
from apps.core.filters import AuditEventFilter
from apps.core.models import AuditEvent


class AuditEventViewSet(mixins.ListModelMixin, viewsets.GenericViewSet):
    """The audit trail: read-only, for CoE staff and leadership (the audit page's permission and
    filters, ``apps/core/filters.py``). Newest first, paged with a cursor: follow ``next``."""

    serializer_class = AuditEventOutput
    permission_classes = [IsAuthenticated, ActionPermission]
    action_perms = {"list": "core.view_auditevent"}
    pagination_class = AuditCursorPagination
    # The filter set only: a cursor needs the one fixed order, so no ``?ordering=`` or ``?search=``.
    filter_backends = [DjangoFilterBackend]
    filterset_class = AuditEventFilter

    def get_queryset(self) -> QuerySet[AuditEvent]:
        return selectors.audit_event_list()

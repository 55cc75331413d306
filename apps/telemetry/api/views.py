"""A workload's telemetry over the API: its ingestion keys, daily scorecards, pull sources and alerts.

Every permission here is about the workload (``telemetry.*`` rules take it as the object), so the
workload is looked up first (404 when there is none) and the action's permission checked on it
(403) before any key, source or alert is looked up. A key, source or alert of another workload is
404. Ingestion itself (keys, not people) is ``ingest.py`` and ``views_ingest.py``.
"""

from __future__ import annotations

from typing import Any

from django.db.models import QuerySet
from django.shortcuts import get_object_or_404
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import status, viewsets
from rest_framework.permissions import IsAuthenticated
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from apps.core.api.pagination import CursorPagination
from apps.core.api.permissions import ActionPermission
from apps.registry.models import Workload
from apps.telemetry import services
from apps.telemetry.models import Alert, IngestionKey, PullSource, Scorecard

from .serializers import (
    AlertFilterInput,
    AlertOutput,
    IngestionKeyCreatedOutput,
    IngestionKeyCreateInput,
    IngestionKeyOutput,
    PullSourceCreateInput,
    PullSourceOutput,
    PullSourceUpdateInput,
    ScorecardFilterInput,
    ScorecardOutput,
    ScoreQueuedOutput,
)

ERRORS = {
    400: OpenApiResponse(description="Invalid input: the body names every failing field."),
    401: OpenApiResponse(description="No or bad credentials."),
    403: OpenApiResponse(description="Signed in, but not allowed."),
    404: OpenApiResponse(description="Not there, or not yours to see."),
}
VIEW = "telemetry.view_telemetry"


class WorkloadActionPermission(ActionPermission):
    """``action_perms[action]`` checked on the workload named in the URL, for list and detail
    routes alike: the rules are the workload's, not the key's or the source's."""

    def has_permission(self, request: Request, view: APIView) -> bool:
        perm = self._perm(view)
        return perm is None or request.user.has_perm(perm, view.get_workload())  # type: ignore[attr-defined]

    def has_object_permission(self, request: Request, view: APIView, obj: Any) -> bool:
        return True


class _WorkloadScoped(viewsets.GenericViewSet):
    permission_classes = [IsAuthenticated, WorkloadActionPermission]
    filter_backends: list[Any] = []

    def get_workload(self) -> Workload:
        if not hasattr(self, "_workload"):
            self._workload = get_object_or_404(Workload.objects.select_related("team"), slug=self.kwargs["slug"])
        return self._workload


# --- Ingestion keys ----------------------------------------------------------------------------


@extend_schema(responses={**ERRORS}, tags=["telemetry"])
class IngestionKeyViewSet(_WorkloadScoped):
    """A workload's ingestion keys. Its team, the CoE and leadership see them (names and first
    characters only); its team creates them; its team and the CoE revoke them."""

    serializer_class = IngestionKeyOutput
    action_perms = {"list": VIEW, "create": "telemetry.add_ingestionkey", "destroy": "telemetry.revoke_ingestionkey"}

    def get_queryset(self) -> QuerySet[IngestionKey]:
        return IngestionKey.objects.filter(workload=self.get_workload()).select_related("created_by")

    @extend_schema(
        responses={200: IngestionKeyOutput(many=True), **ERRORS},
        description="Every key of the workload, revoked ones included, newest first.",
    )
    def list(self, request: Request, slug: str) -> Response:
        page = self.paginate_queryset(self.get_queryset())
        return self.get_paginated_response(IngestionKeyOutput(page, many=True).data)

    @extend_schema(
        request=IngestionKeyCreateInput,
        responses={201: IngestionKeyCreatedOutput, **ERRORS},
        description="A new key. The answer carries the key itself in `key`, this once: it is stored hashed and "
        "cannot be shown again. Send it as `Authorization: Bearer <key>` to the ingestion endpoints.",
    )
    def create(self, request: Request, slug: str) -> Response:
        data = IngestionKeyCreateInput(data=request.data)
        data.is_valid(raise_exception=True)
        key, raw = services.key_create(
            workload=self.get_workload(), name=data.validated_data["name"], actor=request.user,
            request=request._request,
        )  # fmt: skip
        key.key = raw  # type: ignore[attr-defined]
        return Response(IngestionKeyCreatedOutput(key).data, status=status.HTTP_201_CREATED)

    @extend_schema(
        responses={204: None, **ERRORS},
        description="Revoke the key: the ingestion endpoints refuse it (401) from now on. The key stays listed, "
        "with revoked_at. Revoking a revoked key changes nothing.",
    )
    def destroy(self, request: Request, slug: str, pk: str) -> Response:
        services.key_revoke(key=self.get_object(), actor=request.user, request=request._request)
        return Response(status=status.HTTP_204_NO_CONTENT)


# --- Scorecards --------------------------------------------------------------------------------


@extend_schema(responses={**ERRORS}, tags=["telemetry"])
class ScorecardViewSet(_WorkloadScoped):
    """A workload's daily scorecards, for its team, the CoE and leadership."""

    serializer_class = ScorecardOutput
    action_perms = {"list": VIEW, "score": "telemetry.score_workload"}

    def get_queryset(self) -> QuerySet[Scorecard]:
        params = ScorecardFilterInput(data=self.request.query_params)
        params.is_valid(raise_exception=True)
        qs = Scorecard.objects.filter(workload=self.get_workload())
        if start := params.validated_data.get("start"):
            qs = qs.filter(day__gte=start)
        if end := params.validated_data.get("end"):
            qs = qs.filter(day__lte=end)
        return qs.order_by("-day")

    @extend_schema(
        parameters=[ScorecardFilterInput],
        responses={200: ScorecardOutput(many=True), **ERRORS},
        description="Scorecards newest first, optionally from `start` to `end` (both days included). Today's "
        "is incomplete (complete=false) until the day is over.",
    )
    def list(self, request: Request, slug: str) -> Response:
        page = self.paginate_queryset(self.get_queryset())
        return self.get_paginated_response(ScorecardOutput(page, many=True).data)

    @extend_schema(
        request=None,
        responses={202: ScoreQueuedOutput, **ERRORS},
        description="Roll up what has arrived and score today now, then check the controls, in the background. "
        "The workload's team and the CoE.",
    )
    def score(self, request: Request, slug: str) -> Response:
        services.score_request(workload=self.get_workload(), actor=request.user)
        return Response({"detail": "Scoring queued."}, status=status.HTTP_202_ACCEPTED)


# --- Pull sources --------------------------------------------------------------------------------


@extend_schema(responses={**ERRORS}, tags=["telemetry"])
class PullSourceViewSet(_WorkloadScoped):
    """Endpoints of the workload's that the portal fetches events from on a schedule. Its team, the
    CoE and leadership see them; its team adds them; its team and the CoE change, pause or remove
    them. The Authorization header sent to a source is write-only."""

    serializer_class = PullSourceOutput
    action_perms = {
        "list": VIEW, "retrieve": VIEW, "create": "telemetry.add_pullsource",
        "partial_update": "telemetry.change_pullsource", "destroy": "telemetry.change_pullsource",
    }  # fmt: skip

    def get_queryset(self) -> QuerySet[PullSource]:
        return PullSource.objects.filter(workload=self.get_workload()).select_related("created_by")

    @extend_schema(
        responses={200: PullSourceOutput(many=True), **ERRORS},
        description="The workload's pull sources and their health, by name.",
    )
    def list(self, request: Request, slug: str) -> Response:
        page = self.paginate_queryset(self.get_queryset())
        return self.get_paginated_response(PullSourceOutput(page, many=True).data)

    @extend_schema(
        request=PullSourceCreateInput,
        responses={201: PullSourceOutput, **ERRORS},
        description="Register a source; the first fetch is due at once. The URL must be https (plain http only "
        "where the portal allows it).",
    )
    def create(self, request: Request, slug: str) -> Response:
        data = PullSourceCreateInput(data=request.data)
        data.is_valid(raise_exception=True)
        source = services.source_create(
            workload=self.get_workload(), actor=request.user, request=request._request, **data.validated_data
        )
        return Response(PullSourceOutput(source).data, status=status.HTTP_201_CREATED)

    @extend_schema(responses={200: PullSourceOutput, **ERRORS})
    def retrieve(self, request: Request, slug: str, pk: str) -> Response:
        return Response(PullSourceOutput(self.get_object()).data)

    @extend_schema(
        request=PullSourceUpdateInput,
        responses={200: PullSourceOutput, **ERRORS},
        description="Change the URL, interval or header, or pause (enabled=false) and resume (enabled=true: "
        "fetched at once, failures forgotten). The name and health fields are not writable (400 naming them).",
    )
    def partial_update(self, request: Request, slug: str, pk: str) -> Response:
        source = self.get_object()
        data = PullSourceUpdateInput(data=request.data, partial=True)
        data.is_valid(raise_exception=True)
        source = services.source_update(
            source=source, actor=request.user, request=request._request, **data.validated_data
        )
        return Response(PullSourceOutput(self.get_queryset().get(pk=source.pk)).data)

    @extend_schema(responses={204: None, **ERRORS}, description="Remove the source; what it brought in stays.")
    def destroy(self, request: Request, slug: str, pk: str) -> Response:
        services.source_delete(source=self.get_object(), actor=request.user, request=request._request)
        return Response(status=status.HTTP_204_NO_CONTENT)


# --- Alerts ------------------------------------------------------------------------------------


@extend_schema(responses={**ERRORS}, tags=["telemetry"])
class AlertViewSet(_WorkloadScoped):
    """What scoring raised for the workload: failing controls, anomalies, budget, drift, rollbacks,
    failing sources. Its team, the CoE and leadership see them; its team and the CoE resolve them."""

    serializer_class = AlertOutput
    action_perms = {"list": VIEW, "resolve": "telemetry.resolve_alert"}
    pagination_class = CursorPagination  # scoring raises them every day and resolved ones stay: no count

    def get_queryset(self) -> QuerySet[Alert]:
        return Alert.objects.filter(workload=self.get_workload()).select_related("resolved_by")

    @extend_schema(
        parameters=[AlertFilterInput],
        responses={200: AlertOutput(many=True), **ERRORS},
        description="Alerts newest first, by cursor (follow `next`; no `count`: the list grows without bound).",
    )
    def list(self, request: Request, slug: str) -> Response:
        params = AlertFilterInput(data=request.query_params)
        params.is_valid(raise_exception=True)
        qs = self.get_queryset()
        if params.validated_data.get("open") is not None:
            qs = qs.filter(resolved_at__isnull=params.validated_data["open"])
        if kind := params.validated_data.get("kind"):
            qs = qs.filter(kind=kind)
        page = self.paginate_queryset(qs)
        return self.get_paginated_response(AlertOutput(page, many=True).data)

    @extend_schema(
        request=None,
        responses={200: AlertOutput, **ERRORS},
        description="Mark the alert resolved. Resolving a resolved alert changes nothing. If the cause is still "
        "there, the next scoring raises it again.",
    )
    def resolve(self, request: Request, slug: str, pk: str) -> Response:
        alert = services.alert_resolve(alert=self.get_object(), actor=request.user, request=request._request)
        return Response(AlertOutput(self.get_queryset().get(pk=alert.pk)).data)

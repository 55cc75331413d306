"""``/api/v1/dashboards/…``: the numbers behind each dashboard page, in one shape (``DashboardOutput``),
with the page's filters as query parameters. An invalid filter is a 400 naming it."""

from __future__ import annotations

from django.shortcuts import get_object_or_404
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework import serializers
from rest_framework.exceptions import PermissionDenied, ValidationError
from rest_framework.permissions import IsAuthenticated
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from apps.registry.models import Workload

from ..filters import PERIODS, FilterForm
from ..views import DASHBOARDS, build

ERRORS = {
    400: OpenApiResponse(description="Invalid filter: the body names it."),
    401: OpenApiResponse(description="No or bad credentials."),
    403: OpenApiResponse(description="Signed in, but not allowed."),
    404: OpenApiResponse(description="Not there."),
}

FILTERS = [
    OpenApiParameter("period", str, enum=[p for p, _ in PERIODS], description="A preset, or custom (start, end)."),
    OpenApiParameter("start", str, description="First day (YYYY-MM-DD), with period=custom."),
    OpenApiParameter("end", str, description="Last day, included (YYYY-MM-DD), with period=custom."),
    OpenApiParameter("team", str, description="Team slug."),
    OpenApiParameter("risk_tier", str),
    OpenApiParameter("stage", str, description="Lifecycle stage."),
    OpenApiParameter("model", str, description="Catalogue model slug: workloads that use it."),
]


class KpiOutput(serializers.Serializer):
    key = serializers.CharField()
    label = serializers.CharField()
    value = serializers.JSONField(help_text="A number (money as a decimal string), or null.")
    detail = serializers.CharField()


class PartOutput(serializers.Serializer):
    title = serializers.CharField()
    columns = serializers.ListField(child=serializers.CharField())
    rows = serializers.ListField(child=serializers.ListField(child=serializers.JSONField()))


class DashboardOutput(serializers.Serializer):
    dashboard = serializers.CharField()
    filters = serializers.DictField(help_text="The filters applied: period, start, end, team, risk_tier, stage, model.")
    currency = serializers.CharField(help_text="Of every money figure.")
    kpis = KpiOutput(many=True)
    charts = serializers.DictField(child=PartOutput(), help_text="The data behind each chart, by key.")
    tables = serializers.DictField(child=PartOutput(), help_text="Each table, by key.")
    notes = serializers.ListField(child=serializers.CharField(), help_text="What is aggregated or approximate.")


def _checked(request: Request) -> None:
    form = FilterForm(request.query_params)
    if not form.is_valid():
        raise ValidationError({field: [str(e) for e in errors] for field, errors in form.errors.items()})


class _DashboardView(APIView):
    permission_classes = [IsAuthenticated]
    name = ""

    def get(self, request: Request) -> Response:
        perm = DASHBOARDS[self.name][0]
        if not request.user.has_perm(perm):
            raise PermissionDenied("This dashboard is for CoE staff and leadership.")
        _checked(request)
        dashboard, _ = build(self.name, user=request.user, query=request.query_params)
        return Response(dashboard.as_api())


def _view(name: str, description: str) -> type[APIView]:
    def get(self: _DashboardView, request: Request) -> Response:
        return _DashboardView.get(self, request)

    get = extend_schema(
        operation_id=f"dashboards_{name}", parameters=FILTERS, responses={200: DashboardOutput, **ERRORS},
        description=description, tags=["dashboards"],
    )(get)  # fmt: skip
    return type(f"{name.title()}DashboardView", (_DashboardView,), {"name": name, "get": get})


PortfolioView = _view("portfolio", "The leadership dashboard: spend, value, ROI, forecasts and risk (everyone signed "
                      "in; team members see other teams' workloads summed as “Other teams”).")  # fmt: skip
ModelsView = _view("models", "Each model's cost per request, latency, error rate and quality, per use-case category.")
ComplianceView = _view("compliance", "Compliance posture: by policy, risk tier and team (CoE staff and leadership).")
AdoptionView = _view("adoption", "Guidance adoption and the feedback loop (CoE staff and leadership).")


RELEASES = [
    OpenApiParameter("release_a", str, description="Release version to compare (A); default: the one the live "
                     "release replaced. An unknown version falls back to the default, with a note."),
    OpenApiParameter("release_b", str, description="Release version to compare (B); default: the live release."),
]  # fmt: skip


class OperationsView(APIView):
    permission_classes = [IsAuthenticated]

    @extend_schema(
        operation_id="dashboards_operations", parameters=[*FILTERS[:3], *RELEASES], responses={200: DashboardOutput,
        **ERRORS},
        description="One workload's operations: traffic, latency against its objective, cost, quality and safety "
        "over time, with its releases (the team, CoE staff and leadership).", tags=["dashboards"],
    )  # fmt: skip
    def get(self, request: Request, slug: str) -> Response:
        workload = get_object_or_404(Workload.objects.select_related("team", "live_release"), slug=slug)
        if not request.user.has_perm("dashboards.view_operations", workload):
            raise PermissionDenied("A workload's operations are for its team, CoE staff and leadership.")
        _checked(request)
        dashboard, _ = build("operations", user=request.user, query=request.query_params, workload=workload)
        return Response(dashboard.as_api())

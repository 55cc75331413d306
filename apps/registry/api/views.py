from __future__ import annotations

from typing import Any

from django.db.models import QuerySet
from django.http import Http404
from django.shortcuts import get_object_or_404
from django.utils import timezone
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework import mixins, serializers, status, viewsets
from rest_framework.decorators import action
from rest_framework.exceptions import PermissionDenied
from rest_framework.permissions import IsAuthenticated
from rest_framework.request import Request
from rest_framework.response import Response

from apps.core.api.permissions import ActionPermission
from apps.registry import selectors, services
from apps.registry.models import AIModel, ExchangeRate, Release, Workload

from .serializers import (
    AIModelCreateInput,
    AIModelOutput,
    AIModelUpdateInput,
    ExchangeRateCreateInput,
    ExchangeRateOutput,
    ModelPriceCreateInput,
    ModelPriceOutput,
    ReleaseCreateInput,
    ReleaseOutput,
    RollbackInput,
    WorkloadCreateInput,
    WorkloadFilterInput,
    WorkloadOutput,
    WorkloadUpdateInput,
)

ERRORS = {
    400: OpenApiResponse(description="Invalid input: the body names every failing field."),
    401: OpenApiResponse(description="No or bad credentials."),
    403: OpenApiResponse(description="Signed in, but not allowed."),
    404: OpenApiResponse(description="Not there, or not yours to see."),
}


@extend_schema(responses={**ERRORS})
class WorkloadViewSet(
    mixins.ListModelMixin, mixins.RetrieveModelMixin, mixins.DestroyModelMixin, viewsets.GenericViewSet
):
    """The workload registry. Everyone signed in reads; team members change their own team's
    workloads; CoE staff change any; leadership reads only."""

    lookup_field = "slug"
    serializer_class = WorkloadOutput
    permission_classes = [IsAuthenticated, ActionPermission]
    action_perms = {
        "create": "registry.add_workload",
        "partial_update": "registry.change_workload",
        "destroy": "registry.delete_workload",
    }
    http_method_names = ["get", "post", "patch", "delete", "head", "options"]
    filter_backends: list[Any] = []  # filtering is the selector's, with WorkloadFilterInput

    def get_queryset(self) -> QuerySet[Workload]:
        if self.action == "list":
            params = WorkloadFilterInput(data=self.request.query_params)
            params.is_valid(raise_exception=True)
            return selectors.workload_list(user=self.request.user, filters=params.validated_data)
        return selectors.workload_list(user=self.request.user)

    @extend_schema(parameters=[WorkloadFilterInput])
    def list(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        return super().list(request, *args, **kwargs)

    @extend_schema(request=WorkloadCreateInput, responses={201: WorkloadOutput, **ERRORS})
    def create(self, request: Request) -> Response:
        data = WorkloadCreateInput(data=request.data)
        data.is_valid(raise_exception=True)
        fields = dict(data.validated_data)
        team = fields.pop("team")
        if not request.user.has_perm("registry.add_workload_for_team", team):
            raise PermissionDenied("You can register workloads for your own teams only.")
        workload = services.workload_register(actor=request.user, team=team, request=request._request, **fields)
        return Response(self._output(workload), status=status.HTTP_201_CREATED)

    @extend_schema(request=WorkloadUpdateInput, responses={200: WorkloadOutput, **ERRORS})
    def partial_update(self, request: Request, slug: str) -> Response:
        workload = self.get_object()
        data = WorkloadUpdateInput(data=request.data, partial=True)
        data.is_valid(raise_exception=True)
        services.workload_update(actor=request.user, workload=workload, request=request._request, **data.validated_data)
        return Response(self._output(workload))

    @extend_schema(
        description="Deletes a workload with no history; one with releases (or telemetry) is retired instead "
        "and returned with 200.",
        responses={200: WorkloadOutput, 204: None, **ERRORS},
    )
    def destroy(self, request: Request, slug: str) -> Response:
        workload = self.get_object()
        if services.workload_remove(actor=request.user, workload=workload, request=request._request):
            return Response(status=status.HTTP_204_NO_CONTENT)
        return Response(self._output(workload))

    def _output(self, workload: Workload) -> dict[str, Any]:
        fresh = selectors.workload_get(user=self.request.user, slug=workload.slug)
        return WorkloadOutput(fresh, context=self.get_serializer_context()).data


@extend_schema(responses={**ERRORS})
class ReleaseViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet):
    """A workload's releases. Drafts are visible to its team, the CoE and leadership only."""

    serializer_class = ReleaseOutput
    permission_classes = [IsAuthenticated]
    filter_backends: list[Any] = []

    def get_workload(self) -> Workload:
        if not hasattr(self, "_workload"):
            self._workload = get_object_or_404(Workload, slug=self.kwargs["workload_slug"])
        return self._workload

    def get_queryset(self) -> QuerySet[Release]:
        return selectors.release_list(user=self.request.user, workload=self.get_workload())

    def _require(self, perm: str) -> Workload:
        workload = self.get_workload()
        if not self.request.user.has_perm(perm, workload):
            raise PermissionDenied("Only the workload's team and CoE staff can change its releases.")
        return workload

    @extend_schema(request=ReleaseCreateInput, responses={201: ReleaseOutput, **ERRORS})
    def create(self, request: Request, workload_slug: str) -> Response:
        workload = self._require("registry.add_release")
        data = ReleaseCreateInput(data=request.data)
        data.is_valid(raise_exception=True)
        release = services.release_create(
            actor=request.user, workload=workload, request=request._request, **data.validated_data
        )
        return Response(ReleaseOutput(release).data, status=status.HTTP_201_CREATED)

    @extend_schema(
        request=None,
        responses={200: ReleaseOutput, **ERRORS},
        description="Make a draft release live. Release gates must pass; the refusal (400) lists what is missing.",
    )
    @action(detail=True, methods=["post"])
    def promote(self, request: Request, workload_slug: str, pk: str) -> Response:
        self._require("registry.promote_release")
        release = services.release_promote(actor=request.user, release=self.get_object(), request=request._request)
        return Response(ReleaseOutput(release).data)

    @extend_schema(
        request=RollbackInput,
        responses={200: ReleaseOutput, **ERRORS},
        description="Make this earlier release (one that has been live) live again, with a reason.",
    )
    @action(detail=True, methods=["post"])
    def rollback(self, request: Request, workload_slug: str, pk: str) -> Response:
        self._require("registry.promote_release")
        data = RollbackInput(data=request.data)
        data.is_valid(raise_exception=True)
        release = services.release_rollback(
            actor=request.user,
            release=self.get_object(),
            reason=data.validated_data["reason"],
            request=request._request,
        )
        return Response(ReleaseOutput(release).data)


class PriceAtInput(serializers.Serializer):
    at = serializers.DateTimeField(required=False, help_text="ISO 8601; defaults to now.")


@extend_schema(responses={**ERRORS})
class AIModelViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet):
    """The model catalogue: everyone signed in reads; CoE staff add and change entries and prices."""

    lookup_field = "slug"
    serializer_class = AIModelOutput
    permission_classes = [IsAuthenticated, ActionPermission]
    action_perms = {
        "create": "registry.add_aimodel",
        "partial_update": "registry.change_aimodel",
    }
    http_method_names = ["get", "post", "patch", "head", "options"]
    search_fields = ["display_name", "model_id", "provider"]
    filterset_fields = ["provider", "approval_status", "max_data_classification", "modality"]
    ordering_fields = ["display_name", "provider", "created_at"]

    def get_queryset(self) -> QuerySet[AIModel]:
        return selectors.model_list(user=self.request.user)

    @extend_schema(request=AIModelCreateInput, responses={201: AIModelOutput, **ERRORS})
    def create(self, request: Request) -> Response:
        data = AIModelCreateInput(data=request.data)
        data.is_valid(raise_exception=True)
        model = services.model_create(actor=request.user, request=request._request, **data.validated_data)
        return Response(self._output(model), status=status.HTTP_201_CREATED)

    @extend_schema(request=AIModelUpdateInput, responses={200: AIModelOutput, **ERRORS})
    def partial_update(self, request: Request, slug: str) -> Response:
        model = self.get_object()
        data = AIModelUpdateInput(data=request.data, partial=True)
        data.is_valid(raise_exception=True)
        services.model_update(actor=request.user, model=model, request=request._request, **data.validated_data)
        return Response(self._output(model))

    def _output(self, model: AIModel) -> dict[str, Any]:
        return AIModelOutput(selectors.model_get(user=self.request.user, slug=model.slug)).data

    @extend_schema(methods=["get"], responses={200: ModelPriceOutput(many=True), **ERRORS})
    @extend_schema(methods=["post"], request=ModelPriceCreateInput, responses={201: ModelPriceOutput, **ERRORS})
    @action(detail=True, methods=["get", "post"], filter_backends=[], pagination_class=None)
    def prices(self, request: Request, slug: str) -> Response:
        model = self.get_object()
        if request.method == "GET":
            return Response(ModelPriceOutput(model.prices.order_by("-effective_from"), many=True).data)
        if not request.user.has_perm("registry.add_modelprice", model):
            raise PermissionDenied("Only CoE staff set prices.")
        data = ModelPriceCreateInput(data=request.data)
        data.is_valid(raise_exception=True)
        price = services.model_price_add(
            actor=request.user, model=model, request=request._request, **data.validated_data
        )
        return Response(ModelPriceOutput(price).data, status=status.HTTP_201_CREATED)

    @extend_schema(
        parameters=[OpenApiParameter("at", str, description="ISO 8601 date-time; defaults to now.")],
        responses={200: ModelPriceOutput, **ERRORS},
        description="The price in force at a moment. 404 when no price had taken effect by then.",
    )
    @action(detail=True, methods=["get"], url_path="price-at", filter_backends=[], pagination_class=None)
    def price_at(self, request: Request, slug: str) -> Response:
        model = self.get_object()
        params = PriceAtInput(data=request.query_params)
        params.is_valid(raise_exception=True)
        at = params.validated_data.get("at") or timezone.now()
        price = selectors.model_price_at(model=model, at=at)
        if price is None:
            raise Http404("No price had taken effect by then.")
        return Response(ModelPriceOutput(price).data)


@extend_schema(responses={**ERRORS})
class ExchangeRateViewSet(mixins.ListModelMixin, viewsets.GenericViewSet):
    """Exchange rates against the US dollar (catalogue prices and stored costs are in dollars;
    scorecards in each workload's currency): everyone signed in reads; CoE staff add rates."""

    serializer_class = ExchangeRateOutput
    permission_classes = [IsAuthenticated, ActionPermission]
    action_perms = {"create": "registry.add_exchangerate"}
    http_method_names = ["get", "post", "head", "options"]
    filterset_fields = ["currency"]
    ordering_fields = ["currency", "effective_from"]

    def get_queryset(self) -> QuerySet[ExchangeRate]:
        return selectors.exchange_rate_list()

    @extend_schema(request=ExchangeRateCreateInput, responses={201: ExchangeRateOutput, **ERRORS})
    def create(self, request: Request) -> Response:
        data = ExchangeRateCreateInput(data=request.data)
        data.is_valid(raise_exception=True)
        rate = services.exchange_rate_add(actor=request.user, request=request._request, **data.validated_data)
        return Response(ExchangeRateOutput(rate).data, status=status.HTTP_201_CREATED)

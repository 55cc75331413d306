from __future__ import annotations

from django.db.models import QuerySet
from drf_spectacular.utils import extend_schema
from rest_framework import mixins, viewsets
from rest_framework.permissions import IsAuthenticated
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from apps.accounts import selectors, services
from apps.accounts.models import Team
from apps.core.api.permissions import ActionPermission

from .serializers import MeOutput, TeamCreateInput, TeamOutput


class MeView(APIView):
    """The person calling: their roles and teams."""

    permission_classes = [IsAuthenticated]

    @extend_schema(responses=MeOutput)
    def get(self, request: Request) -> Response:
        return Response(MeOutput(request.user).data)


class TeamViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet):
    """Teams and their members. Everyone signed in reads; CoE staff create."""

    lookup_field = "slug"
    serializer_class = TeamOutput
    permission_classes = [IsAuthenticated, ActionPermission]
    action_perms = {"create": "accounts.add_team"}
    search_fields = ["name", "description"]
    ordering_fields = ["name", "created_at"]
    filterset_fields = ["slug"]

    def get_queryset(self) -> QuerySet[Team]:
        return selectors.team_list(user=self.request.user)

    @extend_schema(request=TeamCreateInput, responses={201: TeamOutput})
    def create(self, request: Request) -> Response:
        data = TeamCreateInput(data=request.data)
        data.is_valid(raise_exception=True)
        team = services.team_create(actor=request.user, request=request._request, **data.validated_data)
        return Response(TeamOutput(selectors.team_get(user=request.user, slug=team.slug)).data, status=201)

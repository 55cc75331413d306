from __future__ import annotations

from typing import Any

from django.db.models import QuerySet
from django.shortcuts import get_object_or_404
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import mixins, status, viewsets
from rest_framework.decorators import action
from rest_framework.permissions import IsAuthenticated
from rest_framework.request import Request
from rest_framework.response import Response

from apps.accounts.models import User
from apps.core.api.permissions import ActionPermission
from apps.core.exceptions import ApplicationError
from apps.core.versioning import version_unified_diff
from apps.library import selectors, services
from apps.library.models import Template, TemplateVersion

from .serializers import (
    TemplateCreateInput,
    TemplateDiffInput,
    TemplateDiffOutput,
    TemplateFilterInput,
    TemplateOutput,
    TemplateTryInput,
    TemplateTryOutput,
    TemplateUpdateInput,
    TemplateVersionCreateInput,
    TemplateVersionOutput,
    TemplateVersionUpdateInput,
)

ERRORS = {
    400: OpenApiResponse(description="Invalid input: the body names every failing field."),
    401: OpenApiResponse(description="No or bad credentials."),
    403: OpenApiResponse(description="Signed in, but not allowed."),
    404: OpenApiResponse(description="Not there, or not yours to see."),
}


@extend_schema(responses={**ERRORS})
class TemplateViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet):
    """The template library. Everyone signed in reads what is published; CoE staff write, and
    alone see templates that have nothing published yet."""

    lookup_field = "slug"
    serializer_class = TemplateOutput
    permission_classes = [IsAuthenticated, ActionPermission]
    action_perms = {
        "create": "library.add_template",
        "partial_update": "library.change_template",
    }
    http_method_names = ["get", "post", "patch", "head", "options"]
    filter_backends: list[Any] = []  # filtering is the selector's, with TemplateFilterInput

    def get_queryset(self) -> QuerySet[Template]:
        if self.action == "list":
            params = TemplateFilterInput(data=self.request.query_params)
            params.is_valid(raise_exception=True)
            return selectors.template_list(user=self.request.user, filters=params.validated_data)
        return selectors.template_list(user=self.request.user)

    @extend_schema(parameters=[TemplateFilterInput])
    def list(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        return super().list(request, *args, **kwargs)

    @extend_schema(request=TemplateCreateInput, responses={201: TemplateOutput, **ERRORS})
    def create(self, request: Request) -> Response:
        data = TemplateCreateInput(data=request.data)
        data.is_valid(raise_exception=True)
        template = services.template_create(actor=request.user, request=request._request, **data.validated_data)
        return Response(self._output(template), status=status.HTTP_201_CREATED)

    @extend_schema(request=TemplateUpdateInput, responses={200: TemplateOutput, **ERRORS})
    def partial_update(self, request: Request, slug: str) -> Response:
        template = self.get_object()
        data = TemplateUpdateInput(data=request.data, partial=True)
        data.is_valid(raise_exception=True)
        services.template_update(actor=request.user, template=template, request=request._request, **data.validated_data)
        return Response(self._output(template))

    @extend_schema(
        parameters=[TemplateDiffInput],
        responses={200: TemplateDiffOutput, **ERRORS},
        description="A unified diff of two versions' bodies: by default the current version against the one "
        "before it. Drafts are for CoE staff only.",
    )
    @action(detail=True, methods=["get"], filter_backends=[], pagination_class=None)
    def diff(self, request: Request, slug: str) -> Response:
        template = self.get_object()
        params = TemplateDiffInput(data=request.query_params)
        params.is_valid(raise_exception=True)
        visible = list(selectors.version_list(user=request.user, template=template))  # highest first
        by_number = {v.number: v for v in visible}
        asked = {field: (params.validated_data.get(field) or "").strip() for field in ("from", "to")}
        missing = {
            field: [f"No version {number}."] for field, number in asked.items() if number and number not in by_number
        }
        if missing:
            raise ApplicationError(f"{template.title} has no such version.", field_errors=missing)
        new = by_number.get(asked["to"]) or next((v for v in visible if v.is_current), None)
        new = new or (visible[0] if visible else None)
        if new is None:
            raise ApplicationError(
                f"{template.title} has no versions to compare.", field_errors={"to": ["No versions."]}
            )
        key = (new.major, new.minor, new.patch)
        old = by_number.get(asked["from"]) or next((v for v in visible if (v.major, v.minor, v.patch) < key), None)
        if old is None:
            raise ApplicationError(
                f"Version {new.number} is the first; there is nothing before it.",
                field_errors={"from": [f"Name a version to compare with {new.number}."]},
            )
        return Response({"from": old.number, "to": new.number, "unified": version_unified_diff(old, new)})

    def _output(self, template: Template) -> dict[str, Any]:
        return TemplateOutput(selectors.template_get(user=self.request.user, slug=template.slug)).data


@extend_schema(responses={**ERRORS})
class TemplateVersionViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet):
    """A template's versions. Everyone signed in reads published and deprecated versions; drafts
    and versions in review are the CoE's, who alone write."""

    lookup_field = "number"
    serializer_class = TemplateVersionOutput
    permission_classes = [IsAuthenticated, ActionPermission]
    # Checked before the version is looked up, so a write by anyone else is 403, never 404.
    action_perms = {
        "create": "library.add_templateversion",
        "partial_update": "library.add_templateversion",
        "submit": "library.add_templateversion",
        "publish": "library.publish_templateversion",
        "deprecate": "library.publish_templateversion",
    }
    filter_backends: list[Any] = []

    def get_template(self) -> Template:
        if not hasattr(self, "_template"):
            user: User = self.request.user
            self._template = get_object_or_404(selectors.template_list(user=user), slug=self.kwargs["slug"])
        return self._template

    def get_queryset(self) -> QuerySet[TemplateVersion]:
        return selectors.version_list(user=self.request.user, template=self.get_template())

    @extend_schema(request=TemplateVersionCreateInput, responses={201: TemplateVersionOutput, **ERRORS})
    def create(self, request: Request, slug: str) -> Response:
        template = self.get_template()
        data = TemplateVersionCreateInput(data=request.data)
        data.is_valid(raise_exception=True)
        version = services.version_create(
            actor=request.user, template=template, request=request._request, **data.validated_data
        )
        return Response(TemplateVersionOutput(version).data, status=status.HTTP_201_CREATED)

    @extend_schema(
        request=TemplateVersionUpdateInput,
        responses={200: TemplateVersionOutput, **ERRORS},
        description="Change a draft or a version in review. A published version never changes (400): "
        "create a new version instead.",
    )
    def partial_update(self, request: Request, slug: str, number: str) -> Response:
        version = self.get_object()
        data = TemplateVersionUpdateInput(data=request.data, partial=True)
        data.is_valid(raise_exception=True)
        version = services.version_update(
            actor=request.user, version=version, request=request._request, **data.validated_data
        )
        return Response(TemplateVersionOutput(version).data)

    @extend_schema(request=None, responses={200: TemplateVersionOutput, **ERRORS}, description="Draft → in review.")
    def submit(self, request: Request, slug: str, number: str) -> Response:
        version = services.version_submit(actor=request.user, version=self.get_object(), request=request._request)
        return Response(TemplateVersionOutput(version).data)

    @extend_schema(
        request=None,
        responses={200: TemplateVersionOutput, **ERRORS},
        description="Publish and make current; adopters are told. A prompt's placeholders must match its "
        "declared variables, and a later version needs a changelog (400 on `body` otherwise).",
    )
    def publish(self, request: Request, slug: str, number: str) -> Response:
        version = services.version_publish(actor=request.user, version=self.get_object(), request=request._request)
        return Response(TemplateVersionOutput(version).data)

    @extend_schema(
        request=None,
        responses={200: TemplateVersionOutput, **ERRORS},
        description="Published → deprecated. If it was current, the highest remaining published version "
        "becomes current.",
    )
    def deprecate(self, request: Request, slug: str, number: str) -> Response:
        version = services.version_deprecate(actor=request.user, version=self.get_object(), request=request._request)
        return Response(TemplateVersionOutput(version).data)

    @extend_schema(
        request=TemplateTryInput,
        responses={200: TemplateTryOutput, **ERRORS},
        description="Fill a prompt version's variables and see the text (no model is called). Prompt templates only.",
    )
    def try_(self, request: Request, slug: str, number: str) -> Response:
        version = self.get_object()
        if version.template.kind != Template.Kind.PROMPT:
            raise ApplicationError(f"{version.template.title} is not a prompt template; there is nothing to try.")
        data = TemplateTryInput(data=request.data)
        data.is_valid(raise_exception=True)
        rendered = selectors.version_try(version=version, values=data.validated_data["values"])
        return Response(
            {"text": rendered.text, "missing": rendered.missing, "unknown": rendered.unknown, "ok": rendered.ok}
        )

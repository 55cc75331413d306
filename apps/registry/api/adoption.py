"""Which workloads use which library template versions, over the API. The registry owns
adoption (apps/registry/adoption.py); the library only names the template and its versions."""

from __future__ import annotations

from typing import Any

from django.core.exceptions import ObjectDoesNotExist
from django.http import Http404
from django.shortcuts import get_object_or_404
from drf_spectacular.utils import PolymorphicProxySerializer, extend_schema
from rest_framework import serializers, status, viewsets
from rest_framework.exceptions import PermissionDenied
from rest_framework.permissions import IsAuthenticated
from rest_framework.request import Request
from rest_framework.response import Response

from apps.core.exceptions import ApplicationError
from apps.library import selectors as library_selectors
from apps.library.models import Template, TemplateVersion
from apps.registry import adoption
from apps.registry.models import Adoption, Release, Workload

from .views import ERRORS

# --- Serializers ---------------------------------------------------------------------------


class TemplateAdopterOutput(serializers.Serializer):
    """One workload's use of the template (``adoption.Adopter``)."""

    workload = serializers.CharField(source="workload.slug", help_text="Workload slug.")
    team = serializers.CharField(source="workload.team.slug", help_text="Team slug.")
    version = serializers.CharField(source="version.number")
    via = serializers.ChoiceField(
        choices=["release", "explicit"], help_text="release: its live release is built on it; explicit: adopted."
    )
    is_current = serializers.BooleanField(source="version.is_current", help_text="False: a newer version is out.")


class TemplateAdoptionInput(serializers.Serializer):
    workload = serializers.SlugField(max_length=120, help_text="Slug of one of your team's workloads.")
    version = serializers.CharField(max_length=20, help_text="A published version number, e.g. 1.1.0.")
    note = serializers.CharField(max_length=300, required=False, allow_blank=True, default="",
                                 help_text="How the workload uses it.")  # fmt: skip


class TemplateUpgradeInput(serializers.Serializer):
    workload = serializers.SlugField(max_length=120, help_text="Slug of one of your team's workloads.")


class TemplateUpgradedAdoptionOutput(serializers.Serializer):
    kind = serializers.CharField(help_text="adoption")
    version = serializers.CharField(help_text="The version the explicit adoption now names.")


class TemplateUpgradeReleaseOutput(serializers.ModelSerializer):
    class Meta:
        model = Release
        fields = ["id", "version", "status"]
        read_only_fields = fields


class TemplateUpgradedReleaseOutput(serializers.Serializer):
    kind = serializers.CharField(help_text="release")
    release = TemplateUpgradeReleaseOutput(
        help_text="The new draft release, a copy of the live one with the new version."
    )


TemplateUpgradeOutput = PolymorphicProxySerializer(
    component_name="TemplateUpgradeResult",
    serializers={"adoption": TemplateUpgradedAdoptionOutput, "release": TemplateUpgradedReleaseOutput},
    resource_type_field_name="kind",
)


# --- Views ---------------------------------------------------------------------------------


@extend_schema(responses={**ERRORS})
class AdoptionViewSet(viewsets.GenericViewSet):
    """Adopters of a library template. Everyone signed in reads; a workload's team (and CoE staff)
    adopt, upgrade and drop templates for that workload."""

    serializer_class = TemplateAdopterOutput
    permission_classes = [IsAuthenticated]
    filter_backends: list[Any] = []

    def get_template(self) -> Template:
        if not hasattr(self, "_template"):
            self._template = get_object_or_404(
                library_selectors.template_list(user=self.request.user), slug=self.kwargs["template_slug"]
            )
        return self._template

    def _workload(self, slug: str, *, field: str | None = "workload") -> Workload:
        """The workload the caller runs: 400 (naming ``field``) or 404 when there is none, 403 when
        it is another team's."""
        try:
            workload = Workload.objects.select_related("team").get(slug=slug)
        except Workload.DoesNotExist:
            if field is None:
                raise Http404 from None
            raise ApplicationError(
                f"There is no workload {slug}.", field_errors={field: [f"No workload “{slug}”."]}
            ) from None
        if not self.request.user.has_perm("registry.change_workload", workload):
            raise PermissionDenied("Teams adopt templates for their own workloads only.")
        return workload

    def _version(self, template: Template, number: str) -> TemplateVersion:
        try:
            return library_selectors.version_get(user=self.request.user, template=template, number=number.strip())
        except ObjectDoesNotExist:
            raise ApplicationError(
                f"{template.title} has no version {number}.", field_errors={"version": [f"No version {number}."]}
            ) from None

    @extend_schema(description="Every workload using the template (retired ones aside), with the version it uses.")
    def list(self, request: Request, template_slug: str) -> Response:
        adopters = adoption.adopter_list(template=self.get_template())
        page = self.paginate_queryset(adopters)
        return self.get_paginated_response(TemplateAdopterOutput(page, many=True).data)

    @extend_schema(
        request=TemplateAdoptionInput,
        responses={200: TemplateAdopterOutput, 201: TemplateAdopterOutput, **ERRORS},
        description="Adopt a published version for one of your team's workloads (201), or move its adoption "
        "to another version (200). 403 for another team's workload.",
    )
    def create(self, request: Request, template_slug: str) -> Response:
        template = self.get_template()
        data = TemplateAdoptionInput(data=request.data)
        data.is_valid(raise_exception=True)
        workload = self._workload(data.validated_data["workload"])
        version = self._version(template, data.validated_data["version"])
        existed = Adoption.objects.filter(workload=workload, template=template).exists()
        try:
            adoption.adoption_set(
                actor=request.user, workload=workload, version=version, note=data.validated_data["note"],
                request=request._request,
            )  # fmt: skip
        except ApplicationError as exc:
            # check_usable names the release's field; here the version is one field of its own.
            if "template_versions" in exc.field_errors:
                exc.field_errors = {"version": exc.field_errors.pop("template_versions"), **exc.field_errors}
            raise
        adopter = adoption.Adopter(workload, version, "explicit")
        return Response(
            TemplateAdopterOutput(adopter).data, status=status.HTTP_200_OK if existed else status.HTTP_201_CREATED
        )

    @extend_schema(
        request=TemplateUpgradeInput,
        responses={200: TemplateUpgradeOutput, **ERRORS},
        description="Move one of your team's workloads to the template's current version in one step: an "
        "explicit adoption moves to it (kind adoption); a workload whose live release uses an older version "
        "gets a new draft release with the current one, ready to promote (kind release).",
    )
    def upgrade(self, request: Request, template_slug: str) -> Response:
        template = self.get_template()
        data = TemplateUpgradeInput(data=request.data)
        data.is_valid(raise_exception=True)
        workload = self._workload(data.validated_data["workload"])
        result = adoption.template_upgrade(
            actor=request.user, workload=workload, template=template, request=request._request
        )
        if isinstance(result, Release):
            return Response({"kind": "release", "release": TemplateUpgradeReleaseOutput(result).data})
        return Response({"kind": "adoption", "version": result.version.number})

    @extend_schema(
        request=None,
        responses={204: None, **ERRORS},
        description="Drop the workload's explicit adoption (404 if it has none; a template used through the "
        "live release goes with a new release instead).",
    )
    def destroy(self, request: Request, template_slug: str, workload_slug: str) -> Response:
        template = self.get_template()
        workload = self._workload(workload_slug, field=None)
        found = get_object_or_404(Adoption.objects.select_related("template", "version"), workload=workload,
                                  template=template)  # fmt: skip
        adoption.adoption_remove(actor=request.user, adoption=found, request=request._request)
        return Response(status=status.HTTP_204_NO_CONTENT)

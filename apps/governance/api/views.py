from __future__ import annotations

from typing import Any

from django.db.models import Exists, OuterRef, Prefetch, Q, QuerySet
from django.http import Http404
from django.shortcuts import get_object_or_404
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import mixins, status, viewsets
from rest_framework.exceptions import PermissionDenied
from rest_framework.permissions import IsAuthenticated
from rest_framework.request import Request
from rest_framework.response import Response

from apps.accounts.models import User
from apps.core.api.permissions import ActionPermission
from apps.core.exceptions import ApplicationError
from apps.core.models import VersionState
from apps.governance import services
from apps.governance.models import Attestation, Control, Policy, PolicyVersion, Waiver
from apps.registry.models import Release, Workload

from .serializers import (
    AttestationCreateInput,
    AttestationOutput,
    ComplianceOutput,
    ControlCreateInput,
    ControlOutput,
    ControlUpdateInput,
    PolicyCreateInput,
    PolicyFilterInput,
    PolicyOutput,
    PolicyVersionCreateInput,
    PolicyVersionOutput,
    ReleaseApprovalOutput,
    ReleaseApproveInput,
    WaiverDecisionInput,
    WaiverFilterInput,
    WaiverOutput,
    WaiverRequestInput,
)

ERRORS = {
    400: OpenApiResponse(description="Invalid input: the body names every failing field."),
    401: OpenApiResponse(description="No or bad credentials."),
    403: OpenApiResponse(description="Signed in, but not allowed."),
    404: OpenApiResponse(description="Not there, or not yours to see."),
}

VISIBLE_STATES = (VersionState.PUBLISHED, VersionState.DEPRECATED)
# Policies are the CoE's: whoever may write them also sees their drafts.
DRAFTS_PERM = "governance.add_policy"


# --- Reads scoped to the person asking ------------------------------------------------------


def policy_list(*, user: User, filters: dict[str, Any] | None = None) -> QuerySet[Policy]:
    """Policies with their current version prefetched (``current_versions``). People who may not
    see drafts see only policies with something published."""
    filters = filters or {}
    qs = Policy.objects.select_related("owner").prefetch_related(
        "tags",
        Prefetch("versions", queryset=PolicyVersion.objects.filter(is_current=True), to_attr="current_versions"),
    )
    if not user.has_perm(DRAFTS_PERM):
        qs = qs.filter(Exists(PolicyVersion.objects.filter(policy=OuterRef("pk"), state__in=VISIBLE_STATES)))
    if q := (filters.get("q") or "").strip():
        in_body = PolicyVersion.objects.filter(policy=OuterRef("pk"), is_current=True, body__icontains=q)
        qs = qs.filter(Q(title__icontains=q) | Q(summary__icontains=q) | Exists(in_body))
    if filters.get("category"):
        qs = qs.filter(category=filters["category"])
    return qs.order_by("title", "pk")


def version_list(*, user: User, policy: Policy) -> QuerySet[PolicyVersion]:
    qs = policy.versions.select_related("published_by").prefetch_related("controls")
    if not user.has_perm(DRAFTS_PERM):
        qs = qs.filter(state__in=VISIBLE_STATES)
    return qs.order_by("-major", "-minor", "-patch")


def waiver_list(*, user: User, filters: dict[str, Any] | None = None) -> QuerySet[Waiver]:
    """CoE staff and leadership see every waiver; team members their teams' workloads'."""
    filters = filters or {}
    qs = Waiver.objects.select_related("workload", "policy", "requested_by", "decided_by")
    # Without an object, view_compliance answers for CoE staff and leadership only.
    if not user.has_perm("governance.view_compliance"):
        qs = qs.filter(workload__team_id__in=user.team_ids)
    if filters.get("status"):
        qs = qs.filter(status=filters["status"])
    if filters.get("workload"):
        qs = qs.filter(workload__slug=filters["workload"])
    return qs.order_by("-requested_at", "-id")


def _current_control(*, policy_slug: str, key: str) -> Control:
    """The control ``key`` in the current version of the policy; 400 naming the field otherwise."""
    policy = Policy.objects.filter(slug=policy_slug).first()
    if policy is None:
        raise ApplicationError(f"There is no policy {policy_slug}.",
                               field_errors={"policy": [f"No policy “{policy_slug}”."]})  # fmt: skip
    current = policy.versions.filter(is_current=True).first()
    if current is None:
        raise ApplicationError(f"{policy.title} has no published version.",
                               field_errors={"policy": ["Nothing is published in this policy yet."]})  # fmt: skip
    control = current.controls.select_related("policy_version__policy").filter(key=key).first()
    if control is None:
        raise ApplicationError(
            f"{policy.title} v{current.number} has no control {key}.",
            field_errors={"control": [f"No control “{key}” in v{current.number}."]},
        )
    return control


def _workload_for(user: User, slug: str, perm: str, *, field: str | None = None) -> Workload:
    """The workload, then the permission on it: 404 (or 400 naming ``field``) when there is no
    such workload, 403 when the person may not."""
    workload = Workload.objects.select_related("team").filter(slug=slug).first()
    if workload is None:
        if field is None:
            raise Http404("No such workload.")
        raise ApplicationError(f"There is no workload {slug}.", field_errors={field: [f"No workload “{slug}”."]})
    if not user.has_perm(perm, workload):
        raise PermissionDenied("Only the workload's team may do this.")
    return workload


# --- Policies -----------------------------------------------------------------------------


@extend_schema(responses={**ERRORS})
class PolicyViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet):
    """Governance policies. Everyone signed in reads what is published; CoE staff write, and alone
    see policies that have nothing published yet."""

    lookup_field = "slug"
    serializer_class = PolicyOutput
    permission_classes = [IsAuthenticated, ActionPermission]
    action_perms = {"create": "governance.add_policy"}
    http_method_names = ["get", "post", "head", "options"]
    filter_backends: list[Any] = []  # filtering is policy_list's, with PolicyFilterInput

    def get_queryset(self) -> QuerySet[Policy]:
        if self.action == "list":
            params = PolicyFilterInput(data=self.request.query_params)
            params.is_valid(raise_exception=True)
            return policy_list(user=self.request.user, filters=params.validated_data)
        return policy_list(user=self.request.user)

    @extend_schema(parameters=[PolicyFilterInput])
    def list(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        return super().list(request, *args, **kwargs)

    @extend_schema(
        request=PolicyCreateInput,
        responses={201: PolicyOutput, **ERRORS},
        description="A new policy (no versions yet: add one, with its controls, and publish it).",
    )
    def create(self, request: Request) -> Response:
        data = PolicyCreateInput(data=request.data)
        data.is_valid(raise_exception=True)
        policy = services.policy_create(actor=request.user, request=request._request, **data.validated_data)
        return Response(PolicyOutput(policy_list(user=request.user).get(pk=policy.pk)).data,
                        status=status.HTTP_201_CREATED)  # fmt: skip


class _PolicyScoped(viewsets.GenericViewSet):
    permission_classes = [IsAuthenticated, ActionPermission]
    filter_backends: list[Any] = []

    def get_policy(self) -> Policy:
        if not hasattr(self, "_policy"):
            self._policy = get_object_or_404(policy_list(user=self.request.user), slug=self.kwargs["slug"])
        return self._policy

    def get_version(self) -> PolicyVersion:
        if not hasattr(self, "_version"):
            versions = version_list(user=self.request.user, policy=self.get_policy())
            self._version = get_object_or_404(versions, number=self.kwargs["number"])
        return self._version


@extend_schema(responses={**ERRORS})
class PolicyVersionViewSet(mixins.ListModelMixin, _PolicyScoped):
    """A policy's versions, each with its controls. Everyone signed in reads published and
    deprecated versions; drafts are the CoE's, who alone write."""

    serializer_class = PolicyVersionOutput
    # Checked before the version is looked up, so a write by anyone else is 403, never 404.
    action_perms = {"create": "governance.add_policy", "publish": "governance.publish_policyversion"}

    def get_queryset(self) -> QuerySet[PolicyVersion]:
        return version_list(user=self.request.user, policy=self.get_policy())

    @extend_schema(
        request=PolicyVersionCreateInput,
        responses={201: PolicyVersionOutput, **ERRORS},
        description="A new draft. With copy_controls, it starts with the current version's controls (400 on "
        "copy_controls when nothing is published yet).",
    )
    def create(self, request: Request, slug: str) -> Response:
        policy = self.get_policy()
        data = PolicyVersionCreateInput(data=request.data)
        data.is_valid(raise_exception=True)
        fields = dict(data.validated_data)
        copy_from = None
        if fields.pop("copy_controls"):
            copy_from = policy.versions.filter(is_current=True).first()
            if copy_from is None:
                raise ApplicationError(f"{policy.title} has no current version to copy controls from.",
                                       field_errors={"copy_controls": ["Nothing is published yet."]})  # fmt: skip
        version = services.policy_version_create(
            actor=request.user, policy=policy, copy_controls_from=copy_from, request=request._request, **fields
        )
        return Response(PolicyVersionOutput(version).data, status=status.HTTP_201_CREATED)

    @extend_schema(responses={200: PolicyVersionOutput, **ERRORS}, description="One version with its controls.")
    def retrieve(self, request: Request, slug: str, number: str) -> Response:
        return Response(PolicyVersionOutput(self.get_version()).data)

    @extend_schema(
        request=None,
        responses={200: PolicyVersionOutput, **ERRORS},
        description="Publish and make current; the teams of the workloads it applies to are told what to "
        "(re-)attest. It needs a body and at least one control (400 on `body` otherwise).",
    )
    def publish(self, request: Request, slug: str, number: str) -> Response:
        version = services.policy_version_publish(
            actor=request.user, version=self.get_version(), request=request._request
        )
        return Response(PolicyVersionOutput(version_list(user=request.user, policy=self.get_policy())
                                            .get(pk=version.pk)).data)  # fmt: skip


@extend_schema(responses={**ERRORS})
class ControlViewSet(mixins.ListModelMixin, _PolicyScoped):
    """The controls of one policy version. A published version's controls never change: CoE staff
    change them in a new version."""

    serializer_class = ControlOutput
    action_perms = {"create": "governance.add_policy", "partial_update": "governance.add_policy"}

    def get_queryset(self) -> QuerySet[Control]:
        return self.get_version().controls.order_by("key")

    def get_object(self) -> Control:
        return get_object_or_404(self.get_queryset(), key=self.kwargs["key"])

    @extend_schema(
        request=ControlCreateInput,
        responses={201: ControlOutput, **ERRORS},
        description="Add a control to a draft. An automated check names its metric, operator and threshold "
        "(or a threshold source); an attestation is answered by the teams.",
    )
    def create(self, request: Request, slug: str, number: str) -> Response:
        version = self.get_version()
        data = ControlCreateInput(data=request.data)
        data.is_valid(raise_exception=True)
        control = services.control_add(
            actor=request.user, version=version, request=request._request, **data.validated_data
        )
        return Response(ControlOutput(control).data, status=status.HTTP_201_CREATED)

    @extend_schema(responses={200: ControlOutput, **ERRORS})
    def retrieve(self, request: Request, slug: str, number: str, key: str) -> Response:
        return Response(ControlOutput(self.get_object()).data)

    @extend_schema(
        request=ControlUpdateInput,
        responses={200: ControlOutput, **ERRORS},
        description="Change a draft's control (its key stays). A published version's controls are refused (400).",
    )
    def partial_update(self, request: Request, slug: str, number: str, key: str) -> Response:
        control = self.get_object()
        data = ControlUpdateInput(data=request.data, partial=True)
        data.is_valid(raise_exception=True)
        control = services.control_update(
            actor=request.user, control=control, request=request._request, **data.validated_data
        )
        return Response(ControlOutput(control).data)


# --- Compliance and attestations ------------------------------------------------------------


@extend_schema(responses={**ERRORS})
class ComplianceViewSet(viewsets.GenericViewSet):
    """A workload's compliance: its team, CoE staff and leadership read it; its team attests."""

    serializer_class = ComplianceOutput
    permission_classes = [IsAuthenticated]
    filter_backends: list[Any] = []

    def _workload(self, perm: str) -> Workload:
        return _workload_for(self.request.user, self.kwargs["slug"], perm)

    @extend_schema(
        responses={200: ComplianceOutput, **ERRORS},
        description="Every control that applies to the workload (current policy versions), its state and the "
        "evidence: the latest attestation, check result or approved waiver. For the workload's team, CoE "
        "staff and leadership (403 otherwise).",
    )
    def compliance(self, request: Request, slug: str) -> Response:
        workload = self._workload("governance.view_compliance")
        return Response(ComplianceOutput(services.compliance(workload=workload)).data)

    @extend_schema(
        responses={200: AttestationOutput(many=True), **ERRORS},
        description="The workload's attestations, newest first, across policy versions.",
    )
    def attestations(self, request: Request, slug: str) -> Response:
        workload = self._workload("governance.view_compliance")
        qs = Attestation.objects.filter(workload=workload).select_related(
            "workload", "control__policy_version__policy", "attested_by"
        )
        page = self.paginate_queryset(qs.order_by("-attested_at", "-id"))
        return self.get_paginated_response(AttestationOutput(page, many=True).data)

    @extend_schema(
        request=AttestationCreateInput,
        responses={201: AttestationOutput, **ERRORS},
        description="Attest an attestation control of the policy's current version for the workload. The "
        "workload's team only (403 otherwise; CoE staff do not attest for teams).",
    )
    def attest(self, request: Request, slug: str) -> Response:
        workload = self._workload("governance.add_attestation")
        data = AttestationCreateInput(data=request.data)
        data.is_valid(raise_exception=True)
        fields = dict(data.validated_data)
        control = _current_control(policy_slug=fields.pop("policy"), key=fields.pop("control"))
        attestation = services.attest(
            actor=request.user, workload=workload, control=control, request=request._request, **fields
        )
        return Response(AttestationOutput(attestation).data, status=status.HTTP_201_CREATED)


# --- Waivers ------------------------------------------------------------------------------


@extend_schema(responses={**ERRORS})
class WaiverViewSet(mixins.ListModelMixin, viewsets.GenericViewSet):
    """Waiver requests and decisions. CoE staff and leadership see every waiver, team members their
    teams' workloads'; a workload's team requests, CoE staff decide."""

    serializer_class = WaiverOutput
    permission_classes = [IsAuthenticated, ActionPermission]
    # Checked before the waiver is looked up, so a decision by anyone else is 403, never 404.
    action_perms = {"partial_update": "governance.decide_waiver"}
    filter_backends: list[Any] = []

    def get_queryset(self) -> QuerySet[Waiver]:
        if self.action == "list":
            params = WaiverFilterInput(data=self.request.query_params)
            params.is_valid(raise_exception=True)
            return waiver_list(user=self.request.user, filters=params.validated_data)
        return waiver_list(user=self.request.user)

    def get_object(self) -> Waiver:
        return get_object_or_404(self.get_queryset(), pk=self.kwargs["pk"])

    @extend_schema(parameters=[WaiverFilterInput])
    def list(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        return super().list(request, *args, **kwargs)

    @extend_schema(
        request=WaiverRequestInput,
        responses={201: WaiverOutput, **ERRORS},
        description="Ask CoE staff to waive a control of the policy's current version for one of your team's "
        "workloads until a date (403 for another team's workload).",
    )
    def create(self, request: Request) -> Response:
        data = WaiverRequestInput(data=request.data)
        data.is_valid(raise_exception=True)
        fields = dict(data.validated_data)
        workload = _workload_for(request.user, fields.pop("workload"), "governance.request_waiver", field="workload")
        control = _current_control(policy_slug=fields.pop("policy"), key=fields.pop("control"))
        waiver = services.waiver_request(
            actor=request.user, workload=workload, control=control, request=request._request, **fields
        )
        return Response(WaiverOutput(waiver).data, status=status.HTTP_201_CREATED)

    @extend_schema(responses={200: WaiverOutput, **ERRORS})
    def retrieve(self, request: Request, pk: str) -> Response:
        return Response(WaiverOutput(self.get_object()).data)

    @extend_schema(
        request=WaiverDecisionInput,
        responses={200: WaiverOutput, **ERRORS},
        description="Approve or reject a requested waiver (CoE staff). A rejection needs a comment. Only "
        "decision and comment are writable: any other field is a 400 naming it.",
    )
    def partial_update(self, request: Request, pk: str) -> Response:
        waiver = self.get_object()
        data = WaiverDecisionInput(data=request.data)
        data.is_valid(raise_exception=True)
        waiver = services.waiver_decide(
            actor=request.user, waiver=waiver, approve=data.validated_data["decision"] == "approve",
            comment=data.validated_data["comment"], request=request._request,
        )  # fmt: skip
        return Response(WaiverOutput(waiver).data)


# --- Release approval ---------------------------------------------------------------------


@extend_schema(responses={**ERRORS})
class ReleaseApprovalViewSet(viewsets.GenericViewSet):
    """CoE staff approve a draft release of a workload: the high-risk gate asks for it."""

    serializer_class = ReleaseApprovalOutput
    permission_classes = [IsAuthenticated, ActionPermission]
    action_perms = {"approve": "governance.approve_release"}
    filter_backends: list[Any] = []

    @extend_schema(
        request=ReleaseApproveInput,
        responses={200: ReleaseApprovalOutput, **ERRORS},
        description="Approve a draft release (CoE staff). Approving again returns the first approval. "
        "Promotion still needs every applicable control passing, attested or waived.",
    )
    def approve(self, request: Request, workload_slug: str, pk: str) -> Response:
        release = get_object_or_404(Release.objects.select_related("workload"), pk=pk, workload__slug=workload_slug)
        data = ReleaseApproveInput(data=request.data)
        data.is_valid(raise_exception=True)
        approval = services.release_approve(
            actor=request.user, release=release, comment=data.validated_data["comment"], request=request._request
        )
        return Response(ReleaseApprovalOutput(approval).data)

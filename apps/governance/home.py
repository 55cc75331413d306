"""Governance's cards on the home page: waivers and high-risk releases for the CoE to decide,
controls for teams to attest."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from django.http import HttpRequest
from django.urls import reverse
from django.utils import timezone

from apps.core.attention import AttentionCard, AttentionItem
from apps.registry import selectors as registry_selectors
from apps.registry.models import LifecycleStage, Release, RiskTier, Workload

from . import services
from .models import Attestation, Control, Waiver

SHOWN = 5


def waivers_card(request: HttpRequest) -> AttentionCard | None:
    if not request.user.has_perm("governance.decide_waiver"):
        return None
    queue = reverse("governance:waiver-queue")
    waiting = Waiver.objects.filter(status=Waiver.Status.REQUESTED).select_related("workload").order_by("requested_at")
    count = waiting.count()
    shown = list(waiting[:SHOWN])
    titles = {
        (c.policy_version.policy_id, c.key): c.title
        for c in services.current_controls().filter(key__in={w.control_key for w in shown})
    }
    items = [
        AttentionItem(
            f"{w.workload.name}: {titles.get((w.policy_id, w.control_key), w.control_key)}",
            f"{queue}#waiver-{w.pk}",
            f"requested {timezone.localtime(w.requested_at):%d %b}",
        )
        for w in shown
    ]
    return AttentionCard(
        title="Waivers to decide",
        items=items,
        empty_text="No waiver waits for a decision.",
        link_url=queue,
        link_text=f"Decide {count} waiver{'s' if count != 1 else ''}" if count else "Open the waiver queue",
        order=30,
    )


def approvals_card(request: HttpRequest) -> AttentionCard | None:
    if not request.user.has_perm("governance.approve_release"):
        return None
    queue = reverse("governance:approval-queue")
    waiting = (
        Release.objects.filter(
            status=Release.Status.DRAFT, workload__risk_tier=RiskTier.HIGH, governance_approval__isnull=True
        )
        .exclude(workload__lifecycle_stage=LifecycleStage.RETIRED)
        .select_related("workload")
        .order_by("created_at", "id")
    )
    count = waiting.count()
    items = [
        AttentionItem(
            f"{r.workload.name} {r.version}",
            f"{queue}#release-{r.pk}",
            f"draft since {timezone.localtime(r.created_at):%d %b}",
        )
        for r in waiting[:SHOWN]
    ]
    return AttentionCard(
        title="High-risk releases awaiting approval",
        items=items,
        empty_text="No high-risk release waits for approval.",
        link_url=queue,
        link_text=f"Review {count} release{'s' if count != 1 else ''}" if count else "Open the approval queue",
        order=31,
    )


def attestations_card(request: HttpRequest) -> AttentionCard | None:
    """The person's workloads with attestations due, for the teams they are in."""
    user = request.user
    if not user.is_authenticated or not user.team_ids:
        return None
    workloads = list(
        registry_selectors.workload_list_for_user(user=user).exclude(lifecycle_stage=LifecycleStage.RETIRED)
    )
    if not workloads:
        return None
    due = attestations_due(workloads)
    listed = [w for w in workloads if due.get(w.pk)]
    items = [
        AttentionItem(
            w.name,
            reverse("governance:workload-compliance", args=[w.slug]),
            f"{due[w.pk]} control{'s' if due[w.pk] != 1 else ''} to attest",
        )
        for w in listed[:SHOWN]
    ]
    more = len(listed) - SHOWN
    return AttentionCard(
        title="Controls to attest",
        items=items,
        empty_text="Every attestation of your workloads holds.",
        link_url=f"{reverse('registry:workload-list')}?mine=on" if more > 0 else "",
        link_text=f"{more} more workload{'s' if more != 1 else ''} of your teams" if more > 0 else "",
        order=25,
    )


def compliance_card(request: HttpRequest) -> AttentionCard | None:
    """For CoE staff and leadership: the way to the portfolio's compliance matrix."""
    if not request.user.has_perm("governance.view_compliance"):
        return None
    return AttentionCard(
        title="Compliance",
        empty_text="Which controls every workload meets, policy by policy.",
        link_url=reverse("governance:compliance-matrix"),
        link_text="Open the compliance matrix",
        order=8,
    )


def attestations_due(workloads: Sequence[Workload], now: datetime | None = None) -> dict[int, int]:
    """How many attestation controls are due per workload, in four queries whatever the number of
    workloads: the same rules as ``services.compliance`` (no attestation, the control changed since,
    or it expired; an approved waiver covers it), without its queries per control."""
    now = now or timezone.now()
    today = timezone.localdate(now)
    controls = [c for c in services.current_controls() if c.kind == Control.Kind.ATTESTATION]
    if not controls or not workloads:
        return {}
    hashes = {c.pk: c.content_hash for c in controls}
    latest: dict[tuple[int, int, str], tuple[str, datetime | None]] = {}
    attestations = (
        Attestation.objects.filter(
            workload__in=workloads,
            control__key__in={c.key for c in controls},
            control__policy_version__policy__in={c.policy_version.policy_id for c in controls},
        )
        .order_by("-attested_at", "-id")
        .values_list("workload_id", "control__policy_version__policy_id", "control__key", "content_hash", "expires_at")
    )
    for workload_id, policy_id, key, content_hash, expires_at in attestations:
        latest.setdefault((workload_id, policy_id, key), (content_hash, expires_at))
    waived = set(
        Waiver.objects.filter(workload__in=workloads, status=Waiver.Status.APPROVED, ends_on__gte=today).values_list(
            "workload_id", "policy_id", "control_key"
        )
    )
    due: dict[int, int] = {}
    for workload in workloads:
        for control in services.applicable_controls(workload=workload, controls=controls):
            key = (workload.pk, control.policy_version.policy_id, control.key)
            if key in waived:
                continue
            found = latest.get(key)
            if found is None or found[0] != hashes[control.pk] or (found[1] is not None and found[1] <= now):
                due[workload.pk] = due.get(workload.pk, 0) + 1
    return due

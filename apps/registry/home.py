"""The registry's card on the home page."""

from __future__ import annotations

from django.http import HttpRequest
from django.urls import reverse

from apps.core.attention import AttentionCard, AttentionItem

from . import selectors


def workloads_card(request: HttpRequest) -> AttentionCard | None:
    workloads = list(selectors.workload_list_for_user(user=request.user)[:10])
    if not workloads and (request.user.is_coe_staff or request.user.is_leadership):
        return None
    items = [
        AttentionItem(
            w.name,
            reverse("registry:workload-detail", args=[w.slug]),
            f"{w.get_lifecycle_stage_display()} · {w.live_release.version if w.live_release else 'no live release'}",
        )
        for w in workloads
    ]
    return AttentionCard(
        title="Your workloads",
        items=items,
        empty_text="Your teams have no workloads registered yet.",
        link_url=reverse("registry:workload-create"),
        link_text="Register a workload",
        order=20,
    )

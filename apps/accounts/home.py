"""This app's cards on the home page (registered in apps.py)."""

from __future__ import annotations

from django.http import HttpRequest
from django.urls import reverse

from apps.core.attention import AttentionCard, AttentionItem

from . import selectors


def teams_card(request: HttpRequest) -> AttentionCard | None:
    memberships = list(selectors.membership_list_for(user=request.user))
    if not memberships and (request.user.is_coe_staff or request.user.is_leadership):
        return None
    return AttentionCard(
        title="Your teams",
        items=[
            AttentionItem(m.team.name, reverse("accounts:team-detail", args=[m.team.slug]), m.get_role_display())
            for m in memberships
        ],
        empty_text="You are not in a team yet. Ask the CoE team to add you to yours.",
        link_url=reverse("accounts:team-list"),
        link_text="All teams",
        order=10,
    )


def role_card(request: HttpRequest) -> AttentionCard | None:
    user = request.user
    if user.is_coe_staff:
        return AttentionCard(
            title="CoE staff",
            empty_text="Teams, people, roles and tokens are managed in the admin.",
            link_url=reverse("admin:index"),
            link_text="Open admin",
            order=5,
        )
    if user.is_leadership:
        return AttentionCard(
            title="Portfolio",
            empty_text="No workloads report spend or value yet. ROI, risk and adoption figures "
            "will appear here as teams register workloads.",
            link_url=reverse("dashboards:index"),
            link_text="Dashboards",
            order=5,
        )
    return None

"""Every read of the library, scoped to the person asking: drafts are the CoE's."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from django.db.models import Exists, OuterRef, Prefetch, Q, QuerySet

from apps.accounts.models import User
from apps.core.models import VersionState

from . import prompts
from .models import Template, TemplateVersion

VISIBLE_STATES = (VersionState.PUBLISHED, VersionState.DEPRECATED)


def version_list(*, user: User, template: Template) -> QuerySet[TemplateVersion]:
    qs = template.versions.select_related("created_by", "published_by")
    if not user.has_perm("library.view_draft_versions"):
        qs = qs.filter(state__in=VISIBLE_STATES)
    return qs.order_by("-major", "-minor", "-patch")


def version_get(*, user: User, template: Template, number: str) -> TemplateVersion:
    return version_list(user=user, template=template).get(number=number)


def version_current(*, template: Template) -> TemplateVersion | None:
    return template.versions.filter(is_current=True).first()


def versions_published(*, template_ids: Iterable[int]) -> QuerySet[TemplateVersion]:
    """Every version of these templates that was ever published (deprecated ones included), oldest
    first: what adopters are measured against, in one query."""
    return TemplateVersion.objects.filter(template_id__in=list(template_ids), published_at__isnull=False).order_by(
        "template_id", "major", "minor", "patch"
    )


def template_list(*, user: User, filters: dict[str, Any] | None = None) -> QuerySet[Template]:
    """Templates with their current version prefetched (``current_versions``). People who may not
    see drafts see only templates with something published."""
    filters = filters or {}
    qs = Template.objects.prefetch_related(
        "tags",
        Prefetch("versions", queryset=TemplateVersion.objects.filter(is_current=True), to_attr="current_versions"),
    )
    if not user.has_perm("library.view_draft_versions"):
        qs = qs.filter(Exists(TemplateVersion.objects.filter(template=OuterRef("pk"), state__in=VISIBLE_STATES)))
    if q := (filters.get("q") or "").strip():
        in_body = TemplateVersion.objects.filter(template=OuterRef("pk"), is_current=True, body__icontains=q)
        qs = qs.filter(Q(title__icontains=q) | Q(summary__icontains=q) | Exists(in_body))
    if filters.get("kind"):
        qs = qs.filter(kind=filters["kind"])
    if filters.get("category"):
        qs = qs.filter(category=filters["category"])
    if filters.get("tag"):
        qs = qs.filter(tags__name=filters["tag"])
    ordering = {"title": ("title",), "updated": ("-updated_at", "title")}.get(filters.get("ordering") or "title")
    return qs.order_by(*(ordering or ("title",)), "pk")


def template_get(*, user: User, slug: str) -> Template:
    return template_list(user=user).get(slug=slug)


def template_recently_updated(*, user: User, limit: int = 5) -> list[TemplateVersion]:
    """The latest publications, newest first."""
    return list(
        TemplateVersion.objects.filter(state=VersionState.PUBLISHED)
        .select_related("template")
        .order_by("-published_at")[:limit]
    )


def version_try(*, version: TemplateVersion, values: dict[str, str]) -> prompts.Rendered:
    """Render a prompt version with the given values (server-side, no model call)."""
    return prompts.render(version.body, version.variables, values)

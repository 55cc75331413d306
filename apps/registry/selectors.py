"""Every read of the registry, scoped to the person asking."""

from __future__ import annotations

import re
from bisect import bisect_right
from collections.abc import Iterable
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from django.contrib.contenttypes.models import ContentType
from django.db.models import Count, Exists, OuterRef, Prefetch, Q, QuerySet

from apps.accounts.models import Membership, User
from apps.core.models import AuditEvent

from .models import BASE_CURRENCY, AIModel, ExchangeRate, LifecycleStage, ModelPrice, Release, ReleaseEvent, Workload

WORKLOAD_ORDERINGS = {
    "name": ("name",),
    "-name": ("-name",),
    "team": ("team__name", "name"),
    "stage": ("lifecycle_stage", "name"),
    "risk": ("-risk_rank", "name"),
    "updated": ("-updated_at", "name"),
    "created": ("-created_at", "name"),
}


def workload_list(*, user: User, filters: dict[str, Any] | None = None) -> QuerySet[Workload]:
    """The registry, filtered. Everyone signed in sees every workload (DESIGN.md)."""
    from django.db.models import Case, IntegerField, Value, When

    filters = filters or {}
    qs = Workload.objects.select_related("team", "live_release").prefetch_related("ai_models", "tags")
    if q := (filters.get("q") or "").strip():
        qs = qs.filter(
            Q(name__icontains=q) | Q(slug__icontains=q) | Q(description__icontains=q) | Q(team__name__icontains=q)
        )
    if filters.get("team"):
        qs = qs.filter(team__slug=filters["team"])
    if filters.get("lifecycle_stage"):
        qs = qs.filter(lifecycle_stage=filters["lifecycle_stage"])
    elif not filters.get("include_retired", True):
        qs = qs.exclude(lifecycle_stage=LifecycleStage.RETIRED)
    if filters.get("risk_tier"):
        qs = qs.filter(risk_tier=filters["risk_tier"])
    if filters.get("data_classification"):
        qs = qs.filter(data_classification=filters["data_classification"])
    if filters.get("use_case_category"):
        qs = qs.filter(use_case_category=filters["use_case_category"])
    if filters.get("model"):
        qs = qs.filter(
            Exists(Workload.ai_models.through.objects.filter(workload=OuterRef("pk"), aimodel__slug=filters["model"]))
        )
    if filters.get("tag"):
        qs = qs.filter(Exists(Workload.tags.through.objects.filter(workload=OuterRef("pk"), tag__name=filters["tag"])))
    if filters.get("mine") and user.is_authenticated:
        qs = qs.filter(team__in=Membership.objects.filter(user=user).values("team"))
    ordering = WORKLOAD_ORDERINGS.get(filters.get("ordering") or "name", WORKLOAD_ORDERINGS["name"])
    if "-risk_rank" in ordering:
        qs = qs.annotate(
            risk_rank=Case(
                When(risk_tier="unacceptable", then=Value(3)),
                When(risk_tier="high", then=Value(2)),
                When(risk_tier="limited", then=Value(1)),
                default=Value(0),
                output_field=IntegerField(),
            )
        )
    return qs.order_by(*ordering, "pk")


def workload_get(*, user: User, slug: str) -> Workload:
    return (
        Workload.objects.select_related("team", "live_release", "created_by")
        .prefetch_related("ai_models", "tags")
        .get(slug=slug)
    )


def workload_list_for_user(*, user: User) -> QuerySet[Workload]:
    """The workloads of the teams the user is in."""
    return (
        Workload.objects.filter(team__memberships__user=user)
        .select_related("team", "live_release")
        .order_by("team__name", "name")
        .distinct()
    )


def release_list(*, user: User, workload: Workload) -> QuerySet[Release]:
    """A workload's releases, newest first. Drafts only for its team, the CoE and leadership."""
    qs = workload.releases.select_related("created_by").prefetch_related("ai_models")
    if not user.has_perm("registry.view_draft_releases", workload):
        qs = qs.exclude(status=Release.Status.DRAFT)
    return qs.order_by("-created_at", "-id")


def release_get(*, user: User, workload: Workload, pk: int) -> Release:
    return release_list(user=user, workload=workload).get(pk=pk)


def release_timeline(*, user: User, workload: Workload) -> QuerySet[ReleaseEvent]:
    qs = workload.release_events.select_related("release", "previous", "actor")
    if not user.has_perm("registry.view_draft_releases", workload):
        qs = qs.exclude(kind=ReleaseEvent.Kind.CREATED, release__status=Release.Status.DRAFT)
    return qs


def workload_history(*, workload: Workload) -> QuerySet[AuditEvent]:
    """Every audited change to the workload and its releases."""
    release_ids = [str(pk) for pk in workload.releases.values_list("pk", flat=True)]
    return AuditEvent.objects.filter(
        Q(target_type=ContentType.objects.get_for_model(Workload), target_id=str(workload.pk))
        | Q(target_type=ContentType.objects.get_for_model(Release), target_id__in=release_ids)
    ).select_related("actor")


# --- Model catalogue ----------------------------------------------------------------------


def model_list(*, user: User, filters: dict[str, Any] | None = None) -> QuerySet[AIModel]:
    filters = filters or {}
    qs = AIModel.objects.annotate(
        workload_count=Count("workloads", filter=~Q(workloads__lifecycle_stage=LifecycleStage.RETIRED), distinct=True)
    )
    if q := (filters.get("q") or "").strip():
        qs = qs.filter(Q(display_name__icontains=q) | Q(model_id__icontains=q) | Q(provider__icontains=q))
    if filters.get("provider"):
        qs = qs.filter(provider=filters["provider"])
    if filters.get("approval_status"):
        qs = qs.filter(approval_status=filters["approval_status"])
    if filters.get("max_data_classification"):
        qs = qs.filter(max_data_classification=filters["max_data_classification"])
    return qs.prefetch_related(Prefetch("prices", queryset=ModelPrice.objects.order_by("-effective_from"))).order_by(
        "provider", "display_name"
    )


def model_get(*, user: User, slug: str) -> AIModel:
    return model_list(user=user).get(slug=slug)


def model_usable_for(*, data_classification: str) -> QuerySet[AIModel]:
    """Models a workload of this classification may pick (approved, cleared)."""
    from .models import DataClassification

    allowed = DataClassification.values[DataClassification.rank(data_classification) :]
    return AIModel.objects.filter(
        approval_status__in=[AIModel.ApprovalStatus.APPROVED, AIModel.ApprovalStatus.CONDITIONAL],
        max_data_classification__in=allowed,
    )


def model_price_at(*, model: AIModel, at: datetime) -> ModelPrice | None:
    return model.price_at(at)


def model_resolve(*, name: str, provider: str = "", catalogue: Iterable[AIModel] | None = None) -> AIModel | None:
    """The catalogue entry for a model name as telemetry reports it: by id, alias, then pattern.

    The catalogue holds dozens of entries, not thousands: matching in Python is simpler than SQL
    over JSON and regular expressions. A caller resolving many names (telemetry ingestion) passes
    the ``catalogue`` it read once, in the model's ordering, and it is matched the same way.
    """
    if catalogue is None:
        candidates = list(AIModel.objects.filter(provider=provider.lower()) if provider else AIModel.objects.all())
    else:
        wanted = provider.lower()
        candidates = [m for m in catalogue if m.provider == wanted] if provider else list(catalogue)
    for test in (
        lambda m: m.model_id == name,
        lambda m: name in (m.aliases or []),
        lambda m: bool(m.match_pattern) and _fullmatch(m.match_pattern, name),
    ):
        for model in candidates:
            if test(model):
                return model
    return None


def _fullmatch(pattern: str, name: str) -> bool:
    try:
        return re.fullmatch(pattern, name) is not None
    except re.error:
        return False


def workloads_using_model(*, model: AIModel) -> QuerySet[Workload]:
    return model.workloads.select_related("team").order_by("name")


# --- Exchange rates ---------------------------------------------------------------------------


def exchange_rate_list(*, currency: str = "") -> QuerySet[ExchangeRate]:
    qs = ExchangeRate.objects.select_related("created_by")
    return qs.filter(currency=currency.upper()) if currency else qs


class Rates:
    """Exchange rates read once for many conversions (there are dozens of rates, not thousands):
    the rate in force on a day is the latest whose ``effective_from`` is on or before it."""

    def __init__(self) -> None:
        self._by_currency: dict[str, tuple[list[date], list[Decimal]]] | None = None

    def per_usd(self, currency: str, day: date) -> Decimal | None:
        """Units of ``currency`` for one US dollar on ``day``; None when no rate had taken effect."""
        currency = currency.upper()
        if currency == BASE_CURRENCY:
            return Decimal(1)
        if self._by_currency is None:
            self._by_currency = {}
            for rate in ExchangeRate.objects.order_by("currency", "effective_from"):
                days, values = self._by_currency.setdefault(rate.currency, ([], []))
                days.append(rate.effective_from)
                values.append(rate.per_usd)
        days, values = self._by_currency.get(currency, ((), ()))
        index = bisect_right(days, day)  # type: ignore[arg-type]
        return values[index - 1] if index else None

    def convert(self, amount: Decimal, *, source: str, target: str, day: date) -> Decimal | None:
        """``amount`` in ``source`` currency, in ``target`` currency on ``day``; None without a rate."""
        if source.upper() == target.upper():
            return amount
        source_rate, target_rate = self.per_usd(source, day), self.per_usd(target, day)
        if source_rate is None or target_rate is None:
            return None
        return amount / source_rate * target_rate


def exchange_rate_on(*, currency: str, day: date) -> Decimal | None:
    return Rates().per_usd(currency, day)

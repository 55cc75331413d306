"""Every write of the registry. Pages, API and tasks call these; each audits what it changes."""

from __future__ import annotations

import json
from collections.abc import Iterable
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.db.models import Model
from django.http import HttpRequest
from django.urls import reverse
from django.utils import timezone
from django.utils.text import slugify

from apps.accounts.models import Team, User
from apps.core.exceptions import ApplicationError
from apps.core.services import audit_record, notification_send
from apps.library.models import TemplateVersion

from . import adoption, gates
from .models import (
    AIModel,
    DataClassification,
    ExchangeRate,
    LifecycleStage,
    ModelPrice,
    Release,
    ReleaseEvent,
    RiskTier,
    Tag,
    Workload,
)

MAX_CONFIG_BYTES = 64 * 1024

WORKLOAD_FIELDS = {
    "name", "description", "business_owner", "business_owner_email", "lifecycle_stage", "risk_tier",
    "data_classification", "use_case_category", "repository_url", "runbook_url", "dashboard_url", "currency",
    "value_per_request", "minutes_saved_per_request", "loaded_hourly_rate", "fixed_monthly_value",
    "fixed_monthly_run_cost", "monthly_budget", "target_roi", "objective_p95_latency_ms", "objective_min_quality",
    "objective_max_error_rate",
}  # fmt: skip
MODEL_FIELDS = {
    "display_name", "description", "aliases", "match_pattern", "modality", "context_window", "approval_status",
    "conditions", "max_data_classification",
}  # fmt: skip


# --- Helpers ---------------------------------------------------------------------------


def _full_clean(instance: Model, *, exclude: Iterable[str] = ()) -> None:
    """Model validation as one ApplicationError naming every failing field."""
    try:
        instance.full_clean(exclude=list(exclude), validate_unique=False, validate_constraints=True)
    except ValidationError as exc:
        errors = {
            ("non_field_errors" if field == "__all__" else field): [str(m) for m in messages]
            for field, messages in exc.message_dict.items()
        }
        first = next(iter(errors.values()))[0]
        raise ApplicationError(f"Please correct the highlighted fields: {first}", field_errors=errors) from exc


def _jsonable(value: Any) -> Any:
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, datetime):
        return value.isoformat()
    return value


def _diff(before: dict[str, Any], after: dict[str, Any]) -> dict[str, list[Any]]:
    return {k: [_jsonable(before.get(k)), _jsonable(after[k])] for k in after if before.get(k) != after[k]}


def _snapshot(instance: Model, fields: Iterable[str]) -> dict[str, Any]:
    return {field: getattr(instance, field) for field in fields}


def model_guard_problems(*, ai_models: Iterable[AIModel], data_classification: str) -> list[str]:
    """Why these models may not be used with data of this classification (empty: they may)."""
    label = DataClassification(data_classification).label.lower()
    problems = []
    for model in ai_models:
        if model.approval_status == AIModel.ApprovalStatus.PROHIBITED:
            problems.append(f"{model.display_name} is prohibited by the CoE and may not be used.")
        elif not model.clears(data_classification):
            problems.append(
                f"{model.display_name} is cleared for {model.get_max_data_classification_display().lower()} data "
                f"at most, and this workload handles {label} data."
            )
    return problems


def _guard_models(ai_models: list[AIModel], data_classification: str, field: str = "models") -> None:
    problems = model_guard_problems(ai_models=ai_models, data_classification=data_classification)
    if problems:
        raise ApplicationError(" ".join(problems), field_errors={field: problems})


def _tags(names: Iterable[str]) -> list[Tag]:
    tags = []
    for raw in names:
        name = slugify(raw)[:50]
        if name:
            tags.append(Tag.objects.get_or_create(name=name)[0])
    return tags


# Words that stand in URLs beside a slug (e.g. /api/v1/templates/{slug}/adoptions/upgrade/).
RESERVED_SLUGS = {"new", "upgrade", "export", "edit", "history"}


def _unique_slug(base: str, model: type[Model], exclude_pk: int | None = None) -> str:
    slug = slugify(base)[:110] or "workload"
    if slug in RESERVED_SLUGS:
        slug = f"{slug}-{model._meta.model_name}"
    candidate, n = slug, 2
    qs = model.objects.exclude(pk=exclude_pk) if exclude_pk else model.objects.all()
    while qs.filter(slug=candidate).exists():
        candidate, n = f"{slug}-{n}", n + 1
    return candidate


# --- Workloads ---------------------------------------------------------------------------


@transaction.atomic
def workload_register(
    *,
    actor: User | None,
    team: Team,
    name: str,
    slug: str = "",
    ai_models: Iterable[AIModel] = (),
    tags: Iterable[str] = (),
    request: HttpRequest | None = None,
    **fields: Any,
) -> Workload:
    unknown = set(fields) - WORKLOAD_FIELDS
    if unknown:
        raise ApplicationError(f"Unknown fields: {', '.join(sorted(unknown))}.")
    if slug and slugify(slug) in RESERVED_SLUGS:
        raise ApplicationError(f"“{slug}” is reserved.", field_errors={"slug": ["Choose another slug."]})
    if slug and Workload.objects.filter(slug=slugify(slug)).exists():
        raise ApplicationError("A workload with this slug exists.", field_errors={"slug": ["Choose another slug."]})
    workload = Workload(
        team=team, name=name.strip(), slug=slugify(slug) if slug else _unique_slug(name, Workload), created_by=actor
    )
    for field, value in fields.items():
        setattr(workload, field, value)
    if workload.lifecycle_stage == LifecycleStage.RETIRED:
        raise ApplicationError(
            "A new workload cannot start retired.", field_errors={"lifecycle_stage": ["Choose another stage."]}
        )
    _full_clean(workload, exclude=["live_release", "retired_at"])
    ai_models = list(ai_models)
    _guard_models(ai_models, workload.data_classification)
    workload.save()
    workload.ai_models.set(ai_models)
    workload.tags.set(_tags(tags))
    audit_record(
        actor=actor,
        action="workload.register",
        target=workload,
        changes={"team": team.slug, "models": [m.slug for m in ai_models]},
        request=request,
    )
    return workload


RISK_ORDER = [RiskTier.MINIMAL, RiskTier.LIMITED, RiskTier.HIGH, RiskTier.UNACCEPTABLE]


def _guard_risk_tier(actor: User | None, workload: Workload, new: str | None) -> None:
    """A team may raise its workload's risk tier, not lower it: the tier decides which controls apply
    and whether releases need the CoE's approval, so lowering it is the CoE's call (actor None: the
    system, e.g. a data migration)."""
    if new is None or new not in RISK_ORDER or workload.risk_tier not in RISK_ORDER:
        return
    lowered = RISK_ORDER.index(new) < RISK_ORDER.index(workload.risk_tier)
    if lowered and actor is not None and not actor.is_coe_staff:
        raise ApplicationError(
            f"Only CoE staff can lower a workload's risk tier (from {RiskTier(workload.risk_tier).label} to "
            f"{RiskTier(new).label}): it decides which controls apply and whether releases need approval. "
            "Ask the CoE, or open a feedback thread about the workload."
        )


@transaction.atomic
def workload_update(
    *,
    actor: User | None,
    workload: Workload,
    ai_models: Iterable[AIModel] | None = None,
    tags: Iterable[str] | None = None,
    request: HttpRequest | None = None,
    **fields: Any,
) -> Workload:
    unknown = set(fields) - WORKLOAD_FIELDS
    if unknown:
        raise ApplicationError(f"These fields cannot be changed here: {', '.join(sorted(unknown))}.")
    workload = Workload.objects.select_for_update().get(pk=workload.pk)
    if workload.is_retired and fields.get("lifecycle_stage", LifecycleStage.RETIRED) != LifecycleStage.RETIRED:
        raise ApplicationError("A retired workload cannot come back; register a new one.")
    _guard_risk_tier(actor, workload, fields.get("risk_tier"))
    before = _snapshot(workload, fields)
    for field, value in fields.items():
        setattr(workload, field, value)
    _full_clean(workload, exclude=["live_release", "retired_at", "team"])
    models_before = sorted(workload.ai_models.values_list("slug", flat=True))
    new_models = list(ai_models) if ai_models is not None else list(workload.ai_models.all())
    # Re-check the models whenever either they or the data classification change.
    _guard_models(new_models, workload.data_classification)
    if fields.get("lifecycle_stage") == LifecycleStage.RETIRED and workload.retired_at is None:
        workload.retired_at = timezone.now()
    workload.save()
    changes = _diff(before, _snapshot(workload, fields))
    if ai_models is not None:
        workload.ai_models.set(new_models)
        models_after = sorted(m.slug for m in new_models)
        if models_after != models_before:
            changes["models"] = [models_before, models_after]
    if tags is not None:
        tags_before = sorted(workload.tags.values_list("name", flat=True))
        workload.tags.set(_tags(tags))
        tags_after = sorted(workload.tags.values_list("name", flat=True))
        if tags_after != tags_before:
            changes["tags"] = [tags_before, tags_after]
    if changes:
        audit_record(actor=actor, action="workload.update", target=workload, changes=changes, request=request)
    return workload


@transaction.atomic
def workload_retire(
    *, actor: User | None, workload: Workload, reason: str = "", request: HttpRequest | None = None
) -> Workload:
    workload = Workload.objects.select_for_update().get(pk=workload.pk)
    if workload.is_retired:
        return workload
    before = workload.lifecycle_stage
    workload.lifecycle_stage = LifecycleStage.RETIRED
    workload.retired_at = timezone.now()
    workload.save(update_fields=["lifecycle_stage", "retired_at", "updated_at"])
    audit_record(
        actor=actor,
        action="workload.retire",
        target=workload,
        changes={"lifecycle_stage": [before, LifecycleStage.RETIRED], "reason": reason},
        request=request,
    )
    return workload


def workload_has_history(*, workload: Workload) -> bool:
    """Releases (and, later, telemetry) make a workload part of the record: retire, don't delete."""
    return workload.releases.exists()


@transaction.atomic
def workload_remove(*, actor: User | None, workload: Workload, request: HttpRequest | None = None) -> bool:
    """Delete a workload that has no history; retire one that has. True when deleted."""
    if workload_has_history(workload=workload):
        workload_retire(
            actor=actor, workload=workload, reason="Removed; kept as retired for its history.", request=request
        )
        return False
    audit_record(
        actor=actor, action="workload.delete", target=workload, changes={"slug": workload.slug}, request=request
    )
    workload.delete()
    return True


# --- Releases ----------------------------------------------------------------------------


def _check_config(config: Any) -> dict[str, Any]:
    if config is None:
        return {}
    if not isinstance(config, dict):
        raise ApplicationError("Config must be a JSON object.", field_errors={"config": ["Give a JSON object, {…}."]})
    if len(json.dumps(config)) > MAX_CONFIG_BYTES:
        raise ApplicationError(
            "Config is too large.", field_errors={"config": [f"Keep it under {MAX_CONFIG_BYTES // 1024} KB."]}
        )
    return config


@transaction.atomic
def release_create(
    *,
    actor: User | None,
    workload: Workload,
    version: str,
    ai_models: Iterable[AIModel],
    changelog: str = "",
    config: Any = None,
    template_versions: Iterable[TemplateVersion] = (),
    request: HttpRequest | None = None,
) -> Release:
    # Lock the workload: its current state decides, and concurrent creations queue up.
    workload = Workload.objects.select_for_update().get(pk=workload.pk)
    if workload.is_retired:
        raise ApplicationError("This workload is retired; it takes no new releases.")
    version = version.strip()
    if not version:
        raise ApplicationError("Give the release a version.", field_errors={"version": ["This field is required."]})
    if workload.releases.filter(version=version).exists():
        raise ApplicationError(
            f"Version {version} exists for this workload.", field_errors={"version": ["Choose a new version label."]}
        )
    ai_models = list(ai_models)
    if not ai_models:
        raise ApplicationError("A release names the models it uses.", field_errors={"models": ["Choose at least one."]})
    _guard_models(ai_models, workload.data_classification)
    # Their state now, not as the caller last saw them.
    template_versions = list(
        TemplateVersion.objects.select_related("template").filter(pk__in=[v.pk for v in template_versions])
    )
    adoption.check_usable(template_versions)
    release = Release(
        workload=workload, version=version, changelog=changelog, config=_check_config(config), created_by=actor
    )
    _full_clean(release, exclude=["workload"])
    try:
        with transaction.atomic():
            release.save()
    except IntegrityError as exc:  # a concurrent request took the version
        raise ApplicationError(
            f"Version {version} exists for this workload.", field_errors={"version": ["Choose a new version label."]}
        ) from exc
    release.ai_models.set(ai_models)
    release.template_versions.set(template_versions)
    ReleaseEvent.objects.create(workload=workload, release=release, kind=ReleaseEvent.Kind.CREATED, actor=actor)
    audit_record(
        actor=actor,
        action="release.create",
        target=release,
        changes={
            "version": version,
            "models": [m.slug for m in ai_models],
            "templates": [f"{v.template.slug}@{v.number}" for v in template_versions],
        },
        request=request,
    )
    return release


def _make_live(*, release: Release, actor: User | None, kind: str, reason: str, request: HttpRequest | None) -> Release:
    workload = Workload.objects.select_for_update().get(pk=release.workload_id)
    release = Release.objects.select_for_update().get(pk=release.pk)
    if workload.is_retired:
        raise ApplicationError("This workload is retired; none of its releases can go live.")
    blocked = gates.problems(release, actor)
    if blocked:
        raise ApplicationError(
            f"Release {release.version} cannot go live: " + " ".join(blocked), field_errors={"gates": blocked}
        )
    previous = workload.live_release
    if previous is not None:
        previous.status = (
            Release.Status.ROLLED_BACK if kind == ReleaseEvent.Kind.ROLLED_BACK else Release.Status.SUPERSEDED
        )
        previous.save(update_fields=["status"])
    release.status = Release.Status.LIVE
    release.promoted_at = release.promoted_at or timezone.now()
    release.save(update_fields=["status", "promoted_at"])
    workload.live_release = release
    workload.save(update_fields=["live_release", "updated_at"])
    ReleaseEvent.objects.create(
        workload=workload, release=release, previous=previous, kind=kind, reason=reason, actor=actor
    )
    audit_record(
        actor=actor,
        action=f"release.{'promote' if kind == ReleaseEvent.Kind.PROMOTED else 'rollback'}",
        target=release,
        changes={"from": previous.version if previous else None, "to": release.version, "reason": reason},
        request=request,
    )
    return release


@transaction.atomic
def release_promote(*, actor: User | None, release: Release, request: HttpRequest | None = None) -> Release:
    """Make a draft release live. Gates (registry's and other apps') must pass."""
    current = Release.objects.get(pk=release.pk)
    if current.status != Release.Status.DRAFT:
        raise ApplicationError(
            f"Release {current.version} is {current.get_status_display().lower()}; only a draft can be promoted. "
            "To bring back an earlier release, roll back to it."
        )
    return _make_live(release=current, actor=actor, kind=ReleaseEvent.Kind.PROMOTED, reason="", request=request)


@transaction.atomic
def release_rollback(
    *, actor: User | None, release: Release, reason: str, request: HttpRequest | None = None
) -> Release:
    """Make an earlier release (one that has been live) live again, with a reason."""
    current = Release.objects.get(pk=release.pk)
    if not reason.strip():
        raise ApplicationError("Say why you roll back.", field_errors={"reason": ["This field is required."]})
    if current.status == Release.Status.LIVE:
        raise ApplicationError(f"Release {current.version} is already live.")
    if not current.has_been_live:
        raise ApplicationError(
            f"Release {current.version} has never been live; promote it instead of rolling back to it."
        )
    return _make_live(
        release=current, actor=actor, kind=ReleaseEvent.Kind.ROLLED_BACK, reason=reason.strip(), request=request
    )


# --- Model catalogue ----------------------------------------------------------------------


def _check_aliases(aliases: Any) -> list[str]:
    if aliases is None:
        return []
    if not isinstance(aliases, list) or not all(isinstance(a, str) for a in aliases):
        raise ApplicationError("Aliases must be a list of names.", field_errors={"aliases": ["Give a list of names."]})
    return [a.strip() for a in aliases if a.strip()]


@transaction.atomic
def model_create(
    *,
    actor: User | None,
    provider: str,
    model_id: str,
    display_name: str = "",
    request: HttpRequest | None = None,
    **fields: Any,
) -> AIModel:
    unknown = set(fields) - MODEL_FIELDS
    if unknown:
        raise ApplicationError(f"Unknown fields: {', '.join(sorted(unknown))}.")
    provider, model_id = provider.strip().lower(), model_id.strip()
    if AIModel.objects.filter(provider=provider, model_id=model_id).exists():
        raise ApplicationError(
            f"{provider}/{model_id} is in the catalogue already.",
            field_errors={"model_id": ["This provider already has a model with this id."]},
        )
    fields["aliases"] = _check_aliases(fields.get("aliases"))
    model = AIModel(
        provider=provider,
        model_id=model_id,
        display_name=display_name.strip() or model_id,
        # Dots matter in model ids (gpt-4.1 is not gpt-41): keep them apart in the slug.
        slug=_unique_slug(f"{provider}-{model_id}".replace(".", "-"), AIModel),
        **fields,
    )
    _full_clean(model)
    model.save()
    audit_record(
        actor=actor,
        action="model.create",
        target=model,
        changes={"approval_status": model.approval_status, "max_data_classification": model.max_data_classification},
        request=request,
    )
    return model


@transaction.atomic
def model_update(*, actor: User | None, model: AIModel, request: HttpRequest | None = None, **fields: Any) -> AIModel:
    unknown = set(fields) - MODEL_FIELDS
    if unknown:
        raise ApplicationError(f"These fields cannot be changed here: {', '.join(sorted(unknown))}.")
    model = AIModel.objects.select_for_update().get(pk=model.pk)
    if "aliases" in fields:
        fields["aliases"] = _check_aliases(fields["aliases"])
    before = _snapshot(model, fields)
    for field, value in fields.items():
        setattr(model, field, value)
    _full_clean(model)
    model.save()
    changes = _diff(before, _snapshot(model, fields))
    if not changes:
        return model
    audit_record(actor=actor, action="model.update", target=model, changes=changes, request=request)
    if "approval_status" in changes or "max_data_classification" in changes:
        _notify_model_users(model=model, changes=changes)
    return model


def _notify_model_users(*, model: AIModel, changes: dict[str, list[Any]]) -> None:
    """Tell the teams whose live workloads use the model that its standing changed."""
    workloads = list(
        Workload.objects.filter(ai_models=model).exclude(lifecycle_stage=LifecycleStage.RETIRED).select_related("team")
    )
    if not workloads:
        return
    recipients = User.objects.filter(memberships__team__workloads__in=workloads, is_active=True).distinct()
    status = model.get_approval_status_display().lower()
    lines = [f"- **{w.name}** ({w.team.name})" for w in workloads]
    body = f"The CoE changed **{model.display_name}** in the model catalogue: it is now *{status}*"
    body += f", cleared for {model.get_max_data_classification_display().lower()} data at most."
    if model.conditions and model.approval_status == AIModel.ApprovalStatus.CONDITIONAL:
        body += f"\n\nConditions: {model.conditions}"
    if model.approval_status == AIModel.ApprovalStatus.PROHIBITED:
        body += "\n\nWorkloads using it must move to another model; releases using it can no longer be promoted."
    body += "\n\nYour workloads that use it:\n\n" + "\n".join(lines)
    notification_send(
        recipients=recipients,
        title=f"{model.display_name} is now {status}",
        body=body,
        url=reverse("registry:model-detail", args=[model.slug]),
    )


@transaction.atomic
def exchange_rate_add(
    *, actor: User | None, currency: str, effective_from: date, per_usd: Decimal, note: str = "",
    request: HttpRequest | None = None,
) -> ExchangeRate:  # fmt: skip
    """A rate from a day on. Rates are not edited: a correction is a new rate from the same day
    after deleting the wrong one in the admin, so what scorecards used stays traceable."""
    currency = (currency or "").strip().upper()
    if ExchangeRate.objects.filter(currency=currency, effective_from=effective_from).exists():
        raise ApplicationError(
            "A rate for that currency already takes effect that day.",
            field_errors={"effective_from": ["Choose another day."]},
        )
    rate = ExchangeRate(currency=currency, effective_from=effective_from, per_usd=per_usd, note=note,
                        created_by=actor)  # fmt: skip
    _full_clean(rate, exclude=["created_by"])
    rate.save()
    audit_record(actor=actor, action="exchange_rate.add", target=rate,
                 changes={"currency": currency, "effective_from": str(effective_from), "per_usd": str(per_usd)},
                 request=request)  # fmt: skip
    return rate


def model_price_add(
    *,
    actor: User | None,
    model: AIModel,
    effective_from: datetime,
    input_per_million: Decimal,
    output_per_million: Decimal,
    currency: str = "USD",
    note: str = "",
    request: HttpRequest | None = None,
) -> ModelPrice:
    if model.prices.filter(effective_from=effective_from).exists():
        raise ApplicationError(
            "A price already takes effect at that moment.",
            field_errors={"effective_from": ["Choose another date and time, or correct that price."]},
        )
    price = ModelPrice(
        model=model,
        effective_from=effective_from,
        input_per_million=input_per_million,
        output_per_million=output_per_million,
        currency=currency.upper(),
        note=note,
        created_by=actor,
    )
    _full_clean(price, exclude=["model", "created_by"])
    price.save()
    audit_record(
        actor=actor,
        action="model.price_add",
        target=model,
        changes={
            "effective_from": effective_from.isoformat(),
            "input_per_million": str(input_per_million),
            "output_per_million": str(output_per_million),
            "currency": price.currency,
        },
        request=request,
    )
    return price

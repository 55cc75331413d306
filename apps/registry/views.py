"""The registry's pages: parse the request, check permission, call a selector or a service, render.

Workload pages share a header and tabs (registry/_workload_page.html). A tab link fetches its
page with htmx and swaps just the tabs (nav and panel); the same URL is a full page without JS.
"""

from __future__ import annotations

import copy
import json
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.db.models import QuerySet
from django.forms import BaseForm
from django.http import Http404, HttpRequest, HttpResponse, StreamingHttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.http import require_GET, require_http_methods, require_POST
from django.views.decorators.vary import vary_on_headers

from apps.accounts import selectors as account_selectors
from apps.accounts.models import Team, User
from apps.core.csv_export import csv_stream_response
from apps.core.exceptions import ApplicationError
from apps.core.models import AuditEvent
from apps.core.pages import add_service_errors
from apps.core.pages import is_partial as _partial
from apps.core.pages import redirect_after_change as _redirect
from apps.core.pages import require_perm as _require
from apps.core.views import paginate

from . import selectors, services
from .forms import (
    AIModelCreateForm,
    AIModelForm,
    ModelFilterForm,
    ModelPriceForm,
    PriceAtForm,
    ReleaseForm,
    RetireForm,
    RollbackForm,
    WorkloadCreateForm,
    WorkloadFilterForm,
    WorkloadForm,
)
from .models import AIModel, ModelPrice, Release, Workload

HTMX_VARY = ("HX-Request", "HX-History-Restore-Request")
# Services name a few fields differently from the forms; "gates" and "non_field_errors" go on top.
SERVICE_FIELD_NAMES = {"models": "ai_models"}


# --- Helpers ---------------------------------------------------------------------------


def _workload(request: HttpRequest, slug: str) -> Workload:
    try:
        return selectors.workload_get(user=request.user, slug=slug)
    except Workload.DoesNotExist:
        raise Http404("No such workload.") from None


def _release(request: HttpRequest, workload: Workload, pk: int) -> Release:
    try:
        return selectors.release_get(user=request.user, workload=workload, pk=pk)
    except Release.DoesNotExist:
        raise Http404("No such release.") from None


def _model(request: HttpRequest, slug: str) -> AIModel:
    try:
        return selectors.model_get(user=request.user, slug=slug)
    except AIModel.DoesNotExist:
        raise Http404("No such model.") from None


def _query_without_page(request: HttpRequest) -> str:
    query = request.GET.copy()
    query.pop("page", None)
    return query.urlencode()


# --- The registry ---------------------------------------------------------------------------


@require_GET
@login_required
@vary_on_headers(*HTMX_VARY)
def workload_list(request: HttpRequest) -> HttpResponse:
    form = WorkloadFilterForm(request.GET, user=request.user)
    workloads = selectors.workload_list(user=request.user, filters=form.filters())
    template = "registry/workload_list.html"
    if _partial(request):
        template += "#workload-table"
    context = {
        "form": form,
        "page": paginate(request, workloads),
        "filtered": form.has_filters(),
        "query": _query_without_page(request),
        "can_add": request.user.has_perm("registry.add_workload"),
    }
    return render(request, template, context)


EXPORT_COLUMNS = [
    "Slug", "Name", "Team", "Lifecycle stage", "Risk tier", "Data classification", "Use case", "Models",
    "Live release", "Business owner", "Business owner email", "Description", "Updated",
]  # fmt: skip
EXPORT_FINANCIAL_COLUMNS = [
    "Currency", "Value per request", "Minutes saved per request", "Loaded hourly rate", "Fixed monthly value",
    "Fixed monthly run cost", "Monthly budget", "Target ROI",
]  # fmt: skip


def _export_rows(workloads: QuerySet[Workload], *, financials: bool) -> Iterator[list[Any]]:
    for w in workloads.iterator(chunk_size=500):
        row = [
            w.slug, w.name, w.team.name, w.get_lifecycle_stage_display(), w.get_risk_tier_display(),
            w.get_data_classification_display(), w.get_use_case_category_display(),
            "; ".join(m.display_name for m in w.ai_models.all()), w.live_release.version if w.live_release else "",
            w.business_owner, w.business_owner_email, w.description,
            timezone.localtime(w.updated_at).strftime("%Y-%m-%d %H:%M"),
        ]  # fmt: skip
        if financials:
            row += [
                w.currency, w.value_per_request, w.minutes_saved_per_request, w.loaded_hourly_rate,
                w.fixed_monthly_value, w.fixed_monthly_run_cost, w.monthly_budget, w.target_roi,
            ]  # fmt: skip
        yield row


@require_GET
@login_required
def workload_export(request: HttpRequest) -> StreamingHttpResponse:
    form = WorkloadFilterForm(request.GET, user=request.user)
    workloads = selectors.workload_list(user=request.user, filters=form.filters())
    # Financial columns for CoE staff and leadership only: a team member may see only their own
    # teams' money (registry.view_financials per row), and a CSV's rows must share one shape.
    financials = request.user.is_coe_staff or request.user.is_leadership
    return csv_stream_response(  # cells that look like formulas escaped there
        filename=f"workloads-{timezone.localdate():%Y-%m-%d}.csv",
        columns=EXPORT_COLUMNS + (EXPORT_FINANCIAL_COLUMNS if financials else []),
        rows=_export_rows(workloads, financials=financials),
    )


# --- Registering and changing a workload ------------------------------------------------


def _registrable_teams(user: User) -> QuerySet[Team]:
    """The teams the person may register a workload for."""
    if user.is_coe_staff:
        candidates: Iterable[Team] = account_selectors.team_list(user=user)
    else:
        candidates = [m.team for m in account_selectors.membership_list_for(user=user)]
    allowed = [team.pk for team in candidates if user.has_perm("registry.add_workload_for_team", team)]
    return account_selectors.team_list(user=user).filter(pk__in=allowed)


@require_http_methods(["GET", "POST"])
@login_required
def workload_create(request: HttpRequest) -> HttpResponse:
    _require(request, "registry.add_workload")
    form = WorkloadCreateForm(
        request.POST if request.method == "POST" else None, teams=_registrable_teams(request.user)
    )
    if request.method == "POST" and form.is_valid():
        fields = form.service_kwargs()
        team = fields.pop("team")
        _require(request, "registry.add_workload_for_team", team)
        try:
            workload = services.workload_register(actor=request.user, team=team, request=request, **fields)
        except ApplicationError as exc:
            _add_service_errors(form, exc)
        else:
            messages.success(request, f"“{workload.name}” is registered.")
            return redirect("registry:workload-detail", slug=workload.slug)
    return render(request, "registry/workload_form.html", {"form": form, "workload": None})


@require_http_methods(["GET", "POST"])
@login_required
def workload_edit(request: HttpRequest, slug: str) -> HttpResponse:
    workload = _workload(request, slug)
    _require(request, "registry.change_workload", workload)
    if workload.is_retired:
        status = 409 if request.method == "POST" else 200
        return render(request, "registry/workload_form.html", {"workload": workload, "retired": True}, status=status)
    # The form writes the input onto its instance while validating: give it a copy, so the page
    # header keeps the stored values when the service refuses.
    form = WorkloadForm(request.POST if request.method == "POST" else None, instance=copy.copy(workload))
    if request.method == "POST" and form.is_valid():
        try:
            updated = services.workload_update(
                actor=request.user, workload=workload, request=request, **form.service_kwargs()
            )
        except ApplicationError as exc:
            _add_service_errors(form, exc)
        else:
            messages.success(request, f"Changes to “{updated.name}” saved.")
            return redirect("registry:workload-detail", slug=workload.slug)
    return render(request, "registry/workload_form.html", {"form": form, "workload": workload})


@require_POST
@login_required
def workload_retire(request: HttpRequest, slug: str) -> HttpResponse:
    workload = _workload(request, slug)
    _require(request, "registry.change_workload", workload)
    url = reverse("registry:workload-detail", args=[workload.slug])
    form = RetireForm(request.POST)
    if not form.is_valid():
        messages.error(request, "The reason is too long: keep it under 2,000 characters. Nothing changed.")
        return _redirect(request, url)
    if workload.is_retired:
        messages.info(request, f"“{workload.name}” was already retired.")
        return _redirect(request, url)
    services.workload_retire(actor=request.user, workload=workload, reason=form.cleaned_data["reason"], request=request)
    messages.success(request, f"“{workload.name}” is retired. It stays in the registry with its history.")
    return _redirect(request, url)


# --- The workload page and its tabs ------------------------------------------------------

DETAIL_TABS = ("overview",)
# Tabs that are other apps' pages (DESIGN.md: pages compose upward); ``?tab=`` links lead there.
# Each: the URL name and the arguments before the workload's slug.
TAB_PAGES: dict[str, tuple[str, tuple[str, ...]]] = {
    "telemetry": ("telemetry:workload-telemetry", ()),
    "feedback": ("feedback:panel", ("workload",)),
}


def _workload_context(request: HttpRequest, workload: Workload, tab: str) -> dict[str, Any]:
    user = request.user
    can = {
        "change": user.has_perm("registry.change_workload", workload) and not workload.is_retired,
        "add_release": user.has_perm("registry.add_release", workload) and not workload.is_retired,
        "promote": user.has_perm("registry.promote_release", workload) and not workload.is_retired,
        "view_financials": user.has_perm("registry.view_financials", workload),
        "view_history": user.has_perm("registry.view_history", workload),
    }
    return {"workload": workload, "tab": tab, "can": can, "retire_form": RetireForm()}


@require_GET
@login_required
@vary_on_headers(*HTMX_VARY)
def workload_detail(request: HttpRequest, slug: str) -> HttpResponse:
    workload = _workload(request, slug)
    tab = request.GET.get("tab", "overview")
    if tab in TAB_PAGES:
        name, args = TAB_PAGES[tab]
        return _redirect(request, reverse(name, args=[*args, workload.slug]))
    context = _workload_context(request, workload, tab if tab in DETAIL_TABS else "overview")
    template = "registry/workload_detail.html"
    if _partial(request):
        template += "#workload-tabs"
    return render(request, template, context)


@dataclass(frozen=True)
class ReleaseRow:
    release: Release
    config: str  # pretty-printed JSON


@require_GET
@login_required
@vary_on_headers(*HTMX_VARY)
def release_list(request: HttpRequest, slug: str) -> HttpResponse:
    workload = _workload(request, slug)
    releases = [
        ReleaseRow(release, json.dumps(release.config, indent=2, sort_keys=True, ensure_ascii=False))
        for release in selectors.release_list(user=request.user, workload=workload).prefetch_related(
            "template_versions__template"
        )
    ]
    context = {
        **_workload_context(request, workload, "releases"),
        "releases": releases,
        "events": selectors.release_timeline(user=request.user, workload=workload),
    }
    template = "registry/release_list.html"
    if _partial(request):
        template += "#workload-tabs"
    return render(request, template, context)


ACTION_LABELS = {
    "workload.register": "Registered",
    "workload.update": "Changed",
    "workload.retire": "Retired",
    "workload.delete": "Deleted",
    "release.create": "Release created",
    "release.promote": "Release promoted",
    "release.rollback": "Rolled back",
}


@dataclass(frozen=True)
class Change:
    field: str
    value: str = ""
    before: str | None = None
    after: str | None = None


@dataclass(frozen=True)
class HistoryEntry:
    event: AuditEvent
    label: str
    changes: list[Change]


def _readable(value: Any) -> str:
    if value is None:
        return "none"
    if isinstance(value, list):
        return ", ".join(_readable(v) for v in value) or "none"
    if value == "":
        return "(blank)"
    return str(value)


def _changes(action: str, changes: Any) -> list[Change]:
    """The audit record's ``changes`` as lines a person reads: "field: before → after"."""
    if not isinstance(changes, dict):
        return [Change("", value=_readable(changes))] if changes else []
    rows = []
    changes = dict(changes)
    if "from" in changes and "to" in changes:
        rows.append(Change("release", before=_readable(changes.pop("from")), after=_readable(changes.pop("to"))))
    for field, value in changes.items():
        label = field.replace("_", " ")
        # Updates record [before, after] pairs; other actions record plain values.
        is_pair = action.endswith(".update") or (action == "workload.retire" and field == "lifecycle_stage")
        if is_pair and isinstance(value, list) and len(value) == 2:
            rows.append(Change(label, before=_readable(value[0]), after=_readable(value[1])))
        elif value not in ("", None, []):
            rows.append(Change(label, value=_readable(value)))
    return rows


@require_GET
@login_required
@vary_on_headers(*HTMX_VARY)
def workload_history(request: HttpRequest, slug: str) -> HttpResponse:
    workload = _workload(request, slug)
    _require(request, "registry.view_history", workload)
    page = paginate(request, selectors.workload_history(workload=workload))
    entries = [HistoryEntry(e, ACTION_LABELS.get(e.action, e.action), _changes(e.action, e.changes)) for e in page]
    context = {**_workload_context(request, workload, "history"), "page": page, "entries": entries}
    template = "registry/workload_history.html"
    if _partial(request):
        template += "#workload-tabs"
    return render(request, template, context)


# --- Releases ------------------------------------------------------------------------------


@require_http_methods(["GET", "POST"])
@login_required
def release_create(request: HttpRequest, slug: str) -> HttpResponse:
    workload = _workload(request, slug)
    _require(request, "registry.add_release", workload)
    if workload.is_retired:
        status = 409 if request.method == "POST" else 200
        return render(request, "registry/release_form.html", {"workload": workload, "retired": True}, status=status)
    live = workload.live_release
    initial = {
        "ai_models": list(workload.ai_models.all()),
        "template_versions": list(live.template_versions.all()) if live else [],
    }
    form = ReleaseForm(request.POST if request.method == "POST" else None, initial=initial)
    if request.method == "POST" and form.is_valid():
        try:
            release = services.release_create(
                actor=request.user, workload=workload, request=request, **form.service_kwargs()
            )
        except ApplicationError as exc:
            _add_service_errors(form, exc)
        else:
            messages.success(request, f"Release {release.version} is created as a draft. Promote it when it is ready.")
            return redirect("registry:release-list", slug=workload.slug)
    return render(request, "registry/release_form.html", {"workload": workload, "form": form})


@require_POST
@login_required
def release_promote(request: HttpRequest, slug: str, pk: int) -> HttpResponse:
    workload = _workload(request, slug)
    _require(request, "registry.promote_release", workload)
    release = _release(request, workload, pk)
    try:
        services.release_promote(actor=request.user, release=release, request=request)
    except ApplicationError as exc:
        messages.error(request, exc.message)
    else:
        messages.success(request, f"Release {release.version} is live.")
    return _redirect(request, reverse("registry:release-list", args=[workload.slug]))


@require_POST
@login_required
def release_rollback(request: HttpRequest, slug: str, pk: int) -> HttpResponse:
    workload = _workload(request, slug)
    _require(request, "registry.promote_release", workload)
    release = _release(request, workload, pk)
    url = reverse("registry:release-list", args=[workload.slug])
    form = RollbackForm(request.POST)
    if not form.is_valid():
        messages.error(request, f"Say why you roll back to {release.version}: the reason is required. Nothing changed.")
        return _redirect(request, url)
    try:
        services.release_rollback(
            actor=request.user, release=release, reason=form.cleaned_data["reason"], request=request
        )
    except ApplicationError as exc:
        messages.error(request, exc.message)
    else:
        messages.success(request, f"Rolled back: release {release.version} is live again.")
    return _redirect(request, url)


# --- Model catalogue ----------------------------------------------------------------------


def _current_price(model: AIModel, now: datetime) -> ModelPrice | None:
    """The price in force now, from the selector's prefetched prices (newest first)."""
    return next((price for price in model.prices.all() if price.effective_from <= now), None)


@require_GET
@login_required
@vary_on_headers(*HTMX_VARY)
def model_list(request: HttpRequest) -> HttpResponse:
    form = ModelFilterForm(request.GET)
    page = paginate(request, selectors.model_list(user=request.user, filters=form.filters()))
    now = timezone.now()
    context = {
        "form": form,
        "page": page,
        "rows": [(model, _current_price(model, now)) for model in page],
        "filtered": form.has_filters(),
        "can_add": request.user.has_perm("registry.add_aimodel"),
    }
    template = "registry/model_list.html"
    if _partial(request):
        template += "#model-table"
    return render(request, template, context)


def _model_context(request: HttpRequest, model: AIModel, **extra: Any) -> dict[str, Any]:
    can = {
        "change": request.user.has_perm("registry.change_aimodel", model),
        "add_price": request.user.has_perm("registry.add_modelprice", model),
    }
    at_form = extra.pop("at_form", None) or PriceAtForm()
    price_at = None
    if at_form.is_bound and at_form.is_valid():
        price_at = selectors.model_price_at(model=model, at=at_form.cleaned_data["at"])
    return {
        "model": model,
        "can": can,
        "prices": list(model.prices.all()),
        "current_price": _current_price(model, timezone.now()),
        "workloads": selectors.workloads_using_model(model=model),
        "at_form": at_form,
        "price_at": price_at,
        "price_form": ModelPriceForm() if can["add_price"] else None,
        **extra,
    }


@require_GET
@login_required
@vary_on_headers(*HTMX_VARY)
def model_detail(request: HttpRequest, slug: str) -> HttpResponse:
    model = _model(request, slug)
    at_form = PriceAtForm(request.GET if "at" in request.GET else None)
    template = "registry/model_detail.html"
    if _partial(request):  # the "Price at…" form is the page's only htmx request
        template += "#price-at"
    return render(request, template, _model_context(request, model, at_form=at_form))


@require_http_methods(["GET", "POST"])
@login_required
def model_create(request: HttpRequest) -> HttpResponse:
    _require(request, "registry.add_aimodel")
    form = AIModelCreateForm(request.POST if request.method == "POST" else None)
    if request.method == "POST" and form.is_valid():
        try:
            model = services.model_create(actor=request.user, request=request, **form.service_kwargs())
        except ApplicationError as exc:
            _add_service_errors(form, exc)
        else:
            messages.success(request, f"{model.display_name} is in the catalogue. Add its price below.")
            return redirect("registry:model-detail", slug=model.slug)
    return render(request, "registry/model_form.html", {"form": form, "model": None})


@require_http_methods(["GET", "POST"])
@login_required
def model_edit(request: HttpRequest, slug: str) -> HttpResponse:
    model = _model(request, slug)
    _require(request, "registry.change_aimodel", model)
    form = AIModelForm(request.POST if request.method == "POST" else None, instance=copy.copy(model))
    if request.method == "POST" and form.is_valid():
        try:
            updated = services.model_update(actor=request.user, model=model, request=request, **form.service_kwargs())
        except ApplicationError as exc:
            _add_service_errors(form, exc)
        else:
            messages.success(request, f"Changes to {updated.display_name} saved.")
            return redirect("registry:model-detail", slug=model.slug)
    return render(request, "registry/model_form.html", {"form": form, "model": model})


@require_POST
@login_required
def model_price_add(request: HttpRequest, slug: str) -> HttpResponse:
    model = _model(request, slug)
    _require(request, "registry.add_modelprice", model)
    form = ModelPriceForm(request.POST)
    if form.is_valid():
        try:
            price = services.model_price_add(actor=request.user, model=model, request=request, **form.service_kwargs())
        except ApplicationError as exc:
            _add_service_errors(form, exc)
        else:
            when = timezone.localtime(price.effective_from)
            messages.success(request, f"New price for {model.display_name} from {when:%d %b %Y %H:%M} added.")
            return redirect("registry:model-detail", slug=model.slug)
    # Show the page again with the person's input and what is wrong with it.
    return render(request, "registry/model_detail.html", _model_context(request, model, price_form=form))


def _add_service_errors(form: BaseForm, exc: ApplicationError) -> None:
    add_service_errors(form, exc, SERVICE_FIELD_NAMES)

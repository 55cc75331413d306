"""The workload's Telemetry tab: what its team looks at every day (the latest scorecard, 30 days
of charts, alerts, anomalies, drift and the post-release check, the latest events) and what it
wires (ingestion keys, pull sources).

The tab is a page of telemetry that the registry's workload page links to (DESIGN.md: pages
compose upward), like governance's Compliance tab: with htmx it answers with the tabs only,
without it a full workload page. Its sections (alerts, keys, sources) are partials that their
own forms swap in place.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any
from urllib.parse import urlsplit

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.http import require_GET, require_POST
from django.views.decorators.vary import vary_on_headers

from apps.core.exceptions import ApplicationError
from apps.core.pages import add_service_errors, is_partial, redirect_after_change, require_perm
from apps.registry.models import Workload
from apps.registry.views import HTMX_VARY, _workload, _workload_context

from . import charts, selectors, services
from .forms import KeyCreateForm, SourceCreateForm, SourceToggleForm
from .models import Alert, IngestionKey, PullSource, Scorecard
from .stats import PSI_SIGNIFICANT

TEMPLATE = "telemetry/workload_telemetry.html"
PSI_MODERATE = 0.1  # below: stable; up to PSI_SIGNIFICANT: worth watching


def _tab_url(workload: Workload, section: str = "") -> str:
    url = reverse("telemetry:workload-telemetry", args=[workload.slug])
    return f"{url}#{section}" if section else url


def _allowed(request: HttpRequest, workload: Workload) -> dict[str, bool]:
    """What the person may do here; nothing new is wired to a retired workload."""
    user, open_ = request.user, not workload.is_retired
    return {
        "add_key": user.has_perm("telemetry.add_ingestionkey", workload) and open_,
        "revoke_key": user.has_perm("telemetry.revoke_ingestionkey", workload),
        "add_source": user.has_perm("telemetry.add_pullsource", workload) and open_,
        "change_source": user.has_perm("telemetry.change_pullsource", workload),
        "resolve_alert": user.has_perm("telemetry.resolve_alert", workload),
        "score": user.has_perm("telemetry.score_workload", workload) and open_,
        "add_model": user.has_perm("registry.add_aimodel"),
    }


# --- Numbers as people read them ----------------------------------------------------------------


def _money(value: Decimal | float | None, currency: str) -> str:
    return "—" if value is None else f"{Decimal(value):,.2f} {currency}"


def _pct(rate: float | None) -> str:
    """0.0123 → "1.23 %": two decimals under 1 %, one under 10 %, none above."""
    if rate is None:
        return "—"
    value = rate * 100
    places = 2 if abs(value) < 1 else (1 if abs(value) < 10 else 0)
    text = f"{value:,.{places}f}"
    if places:
        text = text.rstrip("0").rstrip(".")
    return f"{text} %"


def _ms(value: float | None) -> str:
    return "—" if value is None else f"{value:,.0f} ms"


@dataclass(frozen=True)
class Kpi:
    key: str
    label: str
    value: str
    detail: str = ""
    state: str = ""  # "ok", "warn", "bad" or "" (nothing to judge against)


def _kpis(card: Scorecard, workload: Workload, now: datetime) -> list[Kpi]:
    currency = workload.currency
    kpis = []

    error_state = ""
    error_detail = f"{card.errors:,} of {card.requests:,} requests"
    if workload.objective_max_error_rate is not None and card.error_rate is not None:
        error_state = "ok" if card.error_rate <= float(workload.objective_max_error_rate) else "bad"
        error_detail += f" · objective ≤ {_pct(float(workload.objective_max_error_rate))}"
    kpis.append(Kpi("requests", "Requests", f"{card.requests:,}", f"{card.errors:,} errors"))
    kpis.append(Kpi("error-rate", "Error rate", _pct(card.error_rate), error_detail, error_state))

    objective = workload.objective_p95_latency_ms
    latency_detail = f"p50 {_ms(card.latency_p50_ms)} · p99 {_ms(card.latency_p99_ms)}"
    latency_state = ""
    if objective:
        met = card.latency_objective_met
        latency_detail += f" · objective {objective:,} ms"
        if met is not None:
            latency_detail += " (met)" if met else " (missed)"
            latency_state = "ok" if met else "bad"
    kpis.append(Kpi("latency", "p95 latency", _ms(card.latency_p95_ms), latency_detail, latency_state))

    day_label = "today" if card.day == now.date() else f"on {card.day.day} {card.day:%b}"
    cost_detail = f"tokens {_money(card.token_cost, currency)}"
    if card.fixed_cost:
        cost_detail += f" + fixed {_money(card.fixed_cost, currency)}"
    kpis.append(Kpi("cost", f"Cost {day_label}", _money(card.cost, currency), cost_detail))
    kpis.append(Kpi("cost-mtd", "Cost month to date", _money(card.month_to_date_cost, currency),
                    f"since 1 {card.day:%b}"))  # fmt: skip

    budget = workload.monthly_budget
    if budget:
        forecast_share = float(card.month_end_forecast / budget)
        forecast_state = "bad" if forecast_share > 1 else ("warn" if forecast_share > 0.8 else "ok")
        kpis.append(Kpi("forecast", "Month-end forecast", _money(card.month_end_forecast, currency),
                        f"{_pct(forecast_share)} of the budget", forecast_state))  # fmt: skip
        burn = card.budget_burn
        burn_state = "" if burn is None else ("bad" if burn >= 1 else ("warn" if burn >= 0.8 else "ok"))
        kpis.append(Kpi("budget-burn", "Budget burn", _pct(burn),
                        f"of {_money(budget, currency)} this month", burn_state))  # fmt: skip
    else:
        kpis.append(Kpi("forecast", "Month-end forecast", _money(card.month_end_forecast, currency),
                        "no monthly budget set"))  # fmt: skip

    kpis.append(Kpi("value", "Value month to date", _money(card.month_to_date_value, currency),
                    f"{_money(card.value, currency)} {day_label}"))  # fmt: skip
    roi_mtd = (card.metrics or {}).get("roi")
    roi_detail = f"month to date {_pct(roi_mtd)}" if roi_mtd is not None else "no cost yet"
    roi_state = ""
    if workload.target_roi is not None and roi_mtd is not None:
        roi_detail += f" · target {_pct(float(workload.target_roi))}"
        roi_state = "ok" if roi_mtd >= float(workload.target_roi) else "warn"
    kpis.append(Kpi("roi", f"ROI {day_label}", _pct(card.roi), roi_detail, roi_state))

    quality = "—" if card.quality_score is None else f"{card.quality_score:.2f}"
    quality_detail = f"positive ratings {_pct(card.satisfaction)}"
    quality_state = ""
    if workload.objective_min_quality is not None and card.quality_score is not None:
        quality_detail += f" · minimum {workload.objective_min_quality:.2f}"
        quality_state = "ok" if card.quality_score >= float(workload.objective_min_quality) else "bad"
    kpis.append(Kpi("quality", "Quality", quality, quality_detail, quality_state))
    flagged = round((card.safety_flag_rate or 0) * card.requests)
    kpis.append(Kpi("safety", "Safety-flag rate", _pct(card.safety_flag_rate), f"{flagged:,} requests flagged"))
    if card.unpriced_requests:
        kpis.append(Kpi("unpriced", "Unpriced requests", f"{card.unpriced_requests:,}",
                        "their models are not in the catalogue: not in the cost", "warn"))  # fmt: skip
    return kpis


# --- Anomalies, drift and the post-release check --------------------------------------------------


@dataclass(frozen=True)
class DayAnomalies:
    day: date
    anomalies: list[dict[str, Any]]


def _drift_view(drift: dict[str, Any]) -> dict[str, Any]:
    """The drift JSON with a verdict a person can read."""
    score = drift.get("score")
    if score is None:
        return {**drift, "verdict": "", "css": "off"}
    if score >= PSI_SIGNIFICANT:
        verdict, css = "Significant shift", "bad"
    elif score >= PSI_MODERATE:
        verdict, css = "Moderate shift", "warn"
    else:
        verdict, css = "Stable", "ok"
    return {**drift, "verdict": verdict, "css": css}


def _since(value: str | None) -> datetime | None:
    if not value:
        return None
    try:
        return datetime.fromisoformat(value)
    except ValueError:
        return None


# --- The sections ------------------------------------------------------------------------------


def _endpoints(request: HttpRequest, workload: Workload) -> dict[str, Any]:
    """Where senders point, for the "connect" instructions."""
    model = next(iter(workload.ai_models.all()), None)
    return {
        "otlp_url": request.build_absolute_uri(reverse("otlp-traces")),
        "events_url": request.build_absolute_uri(reverse("api:telemetry-events")),
        "example_model": model.model_id if model else "gpt-4o-mini",
        "example_provider": model.provider if model else "openai",
        "example_release": workload.live_release.version if workload.live_release else "1.0.0",
        "example_time": timezone.now().replace(microsecond=0).astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
    }


def _or_blank(form: Any, form_class: type) -> Any:
    return form_class() if form is None else form


def _keys_context(request: HttpRequest, workload: Workload, **extra: Any) -> dict[str, Any]:
    return {
        "keys": selectors.key_list(workload=workload),
        "key_form": _or_blank(extra.pop("key_form", None), KeyCreateForm),
        **_endpoints(request, workload),
        **extra,
    }


def _shown_url(url: str) -> str:
    """A source's URL without credentials or query string, which may hold secrets (as in the audit trail)."""
    parts = urlsplit(url)
    port = f":{parts.port}" if parts.port else ""
    hidden = " (query hidden)" if parts.query else ""
    return f"{parts.scheme}://{parts.hostname or ''}{port}{parts.path}{hidden}"


def _sources_context(workload: Workload, **extra: Any) -> dict[str, Any]:
    sources = list(selectors.source_list(workload=workload))
    for source in sources:
        source.shown_url = _shown_url(source.url)  # type: ignore[attr-defined]
    return {
        "sources": sources,
        "source_form": _or_blank(extra.pop("source_form", None), SourceCreateForm),
        **extra,
    }


def _alerts_context(workload: Workload, **extra: Any) -> dict[str, Any]:
    return {
        "open_alerts": list(selectors.alert_open_list(workload=workload)),
        "resolved_alerts": selectors.alert_resolved_list(workload=workload),
        "resolved_days": selectors.RESOLVED_DAYS,
        **extra,
    }


def _summary_context(workload: Workload) -> dict[str, Any]:
    now = timezone.now()
    series = selectors.scorecard_series(workload=workload, today=now.date())
    latest = series[-1] if series else selectors.scorecard_latest(workload=workload)
    events = selectors.event_latest(workload=workload)
    context: dict[str, Any] = {
        "card": latest,
        "series": series,
        "series_days": selectors.SERIES_DAYS,
        "events": events,
        "unpriced_models": selectors.unpriced_models(workload=workload),
        "unpriced_days": selectors.UNPRICED_DAYS,
    }
    if latest is None:
        return context
    regression = dict(latest.regression or {})
    regression["since_at"] = _since(regression.get("since"))
    context.update(
        kpis=_kpis(latest, workload, now),
        charts=charts.telemetry_charts(series, workload) if series else None,
        anomaly_days=[DayAnomalies(card.day, card.anomalies) for card in reversed(series) if card.anomalies],
        drift=_drift_view(latest.drift or {}),
        regression=regression,
        psi_significant=PSI_SIGNIFICANT,
        psi_moderate=PSI_MODERATE,
    )
    return context


def _page_context(request: HttpRequest, workload: Workload, **extra: Any) -> dict[str, Any]:
    context = _workload_context(request, workload, "telemetry")
    context.update(
        allowed=_allowed(request, workload),
        tab_url=_tab_url(workload),
        **_summary_context(workload),
        **_alerts_context(workload, **extra.pop("alerts", {})),
        **_keys_context(request, workload, **extra.pop("keys", {})),
        **_sources_context(workload, **extra.pop("sources", {})),
        **extra,
    )
    return context


def _section(request: HttpRequest, workload: Workload, section: str, **extra: Any) -> HttpResponse:
    """After a change in one section: htmx swaps that section, a plain form post gets the page."""
    if is_partial(request):
        builders = {
            "keys": lambda: _keys_context(request, workload, **extra),
            "sources": lambda: _sources_context(workload, **extra),
            "alerts": lambda: _alerts_context(workload, **extra),
        }
        context = {"workload": workload, "allowed": _allowed(request, workload), **builders[section]()}
        return render(request, f"{TEMPLATE}#{section}", context)
    return render(request, TEMPLATE, _page_context(request, workload, **{section: extra}))


def _after_change(request: HttpRequest, workload: Workload, section: str, note: str) -> HttpResponse:
    """htmx: the section again, with the note on top; otherwise a message and back to the tab."""
    if is_partial(request):
        return _section(request, workload, section, note=note)
    messages.success(request, note)
    return redirect(_tab_url(workload, f"telemetry-{section}"))


def _refuse_retired(request: HttpRequest, workload: Workload) -> HttpResponse:
    messages.error(request, f"“{workload.name}” is retired: it takes no new telemetry. Nothing changed.")
    return redirect_after_change(request, _tab_url(workload))


def _key(workload: Workload, pk: int) -> IngestionKey:
    try:
        return selectors.key_get(workload=workload, pk=pk)
    except IngestionKey.DoesNotExist:
        raise Http404("No such key.") from None


def _source(workload: Workload, pk: int) -> PullSource:
    try:
        return selectors.source_get(workload=workload, pk=pk)
    except PullSource.DoesNotExist:
        raise Http404("No such pull source.") from None


def _alert(workload: Workload, pk: int) -> Alert:
    try:
        return selectors.alert_get(workload=workload, pk=pk)
    except Alert.DoesNotExist:
        raise Http404("No such alert.") from None


# --- The tab -------------------------------------------------------------------------------------


@require_GET
@login_required
@vary_on_headers(*HTMX_VARY)
def workload_telemetry(request: HttpRequest, slug: str) -> HttpResponse:
    workload = _workload(request, slug)
    require_perm(request, "telemetry.view_telemetry", workload)
    page = TEMPLATE
    if is_partial(request):
        page += "#workload-tabs"
    return render(request, page, _page_context(request, workload))


@require_POST
@login_required
def score_now(request: HttpRequest, slug: str) -> HttpResponse:
    workload = _workload(request, slug)
    require_perm(request, "telemetry.score_workload", workload)
    services.score_request(workload=workload, actor=request.user)
    messages.success(
        request,
        "Scoring asked for: today's scorecard, alerts and control results appear in a minute or so. "
        "Reload to see them.",
    )
    return redirect_after_change(request, _tab_url(workload))


# --- Alerts ----------------------------------------------------------------------------------------


@require_POST
@login_required
def alert_resolve(request: HttpRequest, slug: str, pk: int) -> HttpResponse:
    workload = _workload(request, slug)
    require_perm(request, "telemetry.resolve_alert", workload)
    alert = services.alert_resolve(alert=_alert(workload, pk), actor=request.user, request=request)
    return _after_change(request, workload, "alerts", f"Alert resolved: {alert.title}.")


# --- Ingestion keys ---------------------------------------------------------------------------------


@require_POST
@login_required
def key_create(request: HttpRequest, slug: str) -> HttpResponse:
    workload = _workload(request, slug)
    require_perm(request, "telemetry.add_ingestionkey", workload)
    if workload.is_retired:
        return _refuse_retired(request, workload)
    form = KeyCreateForm(request.POST)
    if form.is_valid():
        try:
            key, raw = services.key_create(workload=workload, actor=request.user, request=request,
                                           **form.service_kwargs())  # fmt: skip
        except ApplicationError as exc:
            add_service_errors(form, exc)
        else:
            # The raw key is in this answer only: it is stored hashed and never shown again.
            return _section(request, workload, "keys", new_key=key, raw_key=raw)
    return _section(request, workload, "keys", key_form=form)


@require_POST
@login_required
def key_revoke(request: HttpRequest, slug: str, pk: int) -> HttpResponse:
    workload = _workload(request, slug)
    require_perm(request, "telemetry.revoke_ingestionkey", workload)
    key = services.key_revoke(key=_key(workload, pk), actor=request.user, request=request)
    note = f"Key “{key.name}” is revoked: senders using it are now refused."
    return _after_change(request, workload, "keys", note)


# --- Pull sources -----------------------------------------------------------------------------------


@require_POST
@login_required
def source_create(request: HttpRequest, slug: str) -> HttpResponse:
    workload = _workload(request, slug)
    require_perm(request, "telemetry.add_pullsource", workload)
    if workload.is_retired:
        return _refuse_retired(request, workload)
    form = SourceCreateForm(request.POST)
    if form.is_valid():
        try:
            source = services.source_create(workload=workload, actor=request.user, request=request,
                                            **form.service_kwargs())  # fmt: skip
        except ApplicationError as exc:
            add_service_errors(form, exc)
        else:
            note = f"Pull source “{source.name}” added: the first fetch runs within a minute."
            return _after_change(request, workload, "sources", note)
    if form.data.get("auth_header"):
        form.add_error("auth_header", "For safety it is not sent back: give the header again.")
    return _section(request, workload, "sources", source_form=form)


@require_POST
@login_required
def source_toggle(request: HttpRequest, slug: str, pk: int) -> HttpResponse:
    workload = _workload(request, slug)
    require_perm(request, "telemetry.change_pullsource", workload)
    source = _source(workload, pk)
    form = SourceToggleForm(request.POST)
    if not form.is_valid():
        messages.error(request, "Choose to pause or resume the source. Nothing changed.")
        return redirect_after_change(request, _tab_url(workload, "telemetry-sources"))
    enabled = form.cleaned_data["enabled"]
    source = services.source_update(source=source, actor=request.user, request=request, enabled=enabled)
    note = f"Pull source “{source.name}” " + ("resumed: it is fetched again now." if enabled else "paused.")
    return _after_change(request, workload, "sources", note)


@require_POST
@login_required
def source_delete(request: HttpRequest, slug: str, pk: int) -> HttpResponse:
    workload = _workload(request, slug)
    require_perm(request, "telemetry.change_pullsource", workload)
    source = _source(workload, pk)
    name = source.name
    services.source_delete(source=source, actor=request.user, request=request)
    note = f"Pull source “{name}” deleted. The events it brought stay."
    return _after_change(request, workload, "sources", note)

"""Compliance pages: a workload's Compliance tab, attesting, asking for and deciding waivers,
approving high-risk releases, and the CoE's compliance matrix.

The tab is a page of governance that the registry's workload page links to (DESIGN.md: pages
compose upward): with htmx it answers with the tabs only, without it a full workload page.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date, timedelta
from decimal import Decimal, InvalidOperation
from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.db.models import F, Q, QuerySet
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import render
from django.urls import reverse
from django.utils import timezone
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.http import require_GET, require_http_methods, require_POST
from django.views.decorators.vary import vary_on_headers

from apps.core.exceptions import ApplicationError
from apps.core.models import VersionState
from apps.core.views import paginate
from apps.registry import gates
from apps.registry import selectors as registry_selectors
from apps.registry.models import LifecycleStage, Release, RiskTier, Workload
from apps.registry.views import (
    HTMX_VARY,
    _add_service_errors,
    _partial,
    _redirect,
    _require,
    _workload,
    _workload_context,
)

from . import services
from .forms_compliance import (
    AttestationForm,
    ComplianceFilterForm,
    ReleaseApprovalForm,
    WaiverDecisionForm,
    WaiverRequestForm,
)
from .models import CheckResult, Control, PolicyVersion, ReleaseApproval, Waiver
from .services import ControlStatus, State

# Colour of each state's badge; the badge always says the state in words too.
STATE_CSS = {
    State.PASSING: "ok",
    State.ATTESTED: "ok",
    State.WAIVED: "info",
    State.FAILING: "bad",
    State.ATTESTATION_DUE: "warn",
    State.NOT_EVALUATED: "off",
}
STATE_ORDER = (State.PASSING, State.ATTESTED, State.WAIVED, State.FAILING, State.ATTESTATION_DUE, State.NOT_EVALUATED)
EXPIRING_DAYS = 14  # approved waivers ending this soon are pointed out in the queue
RECENT_DAYS = 30  # decided or expired waivers shown below the queue


def _control(control_id: int) -> Control:
    control = Control.objects.select_related("policy_version__policy").filter(pk=control_id).first()
    if control is None:
        raise Http404("No such control.")
    return control


def _tab_url(workload: Workload) -> str:
    return reverse("governance:workload-compliance", args=[workload.slug])


def _status_of(workload: Workload, control: Control) -> ControlStatus | None:
    """The control's status for the workload now, or None when it does not apply (any more)."""
    report = services.compliance(workload=workload)
    return next((s for s in report.statuses if s.control.pk == control.pk), None)


def _open_waiver(workload: Workload, control: Control) -> Waiver | None:
    return Waiver.objects.filter(
        workload=workload, policy=control.policy_version.policy, control_key=control.key,
        status__in=[Waiver.Status.REQUESTED, Waiver.Status.APPROVED], ends_on__gte=timezone.localdate(),
    ).first()  # fmt: skip


def _approval(release: Release) -> ReleaseApproval | None:
    try:
        return release.governance_approval
    except ReleaseApproval.DoesNotExist:
        return None


def _plain(value: Any) -> str:
    """2000, not 2000.0000: numbers as a person writes them."""
    try:
        return format(Decimal(str(value)).normalize(), "f")
    except (InvalidOperation, ValueError):
        return str(value)


def _observed(result: CheckResult | None) -> str:
    """What an automated check saw, from the evidence stored with its result."""
    if result is None:
        return ""
    observed = result.observed or {}
    metric = observed.get("metric") or result.control.metric
    value, threshold = observed.get("value"), observed.get("threshold")
    text = f"{metric} = {_plain(value)}" if value is not None else f"{metric} not measured"
    if threshold is not None:
        text += f", threshold {observed.get('operator', '')} {_plain(threshold)}"
    if observed.get("window_days"):
        text += f" over {observed['window_days']} days"
    return text + "."


def _percent(part: int, whole: int) -> int:
    return round(100 * part / whole) if whole else 0


# --- The workload's Compliance tab ----------------------------------------------------------


@dataclass(frozen=True)
class ControlRow:
    status: ControlStatus
    css: str
    real_label: str  # a waived control's state underneath the waiver
    observed: str  # an automated check's evidence
    pending_waiver: Waiver | None
    can_attest: bool
    can_request_waiver: bool


@dataclass
class PolicyGroup:
    version: PolicyVersion
    rows: list[ControlRow] = field(default_factory=list)

    @property
    def compliant(self) -> int:
        return sum(row.status.compliant for row in self.rows)


@dataclass(frozen=True)
class StateCount:
    state: str
    label: str
    count: int
    css: str


@dataclass(frozen=True)
class DraftRow:
    release: Release
    approval: ReleaseApproval | None


@require_GET
@login_required
@vary_on_headers(*HTMX_VARY)
def workload_compliance(request: HttpRequest, slug: str) -> HttpResponse:
    workload = _workload(request, slug)
    _require(request, "governance.view_compliance", workload)
    user = request.user
    report = services.compliance(workload=workload)
    can_attest = user.has_perm("governance.add_attestation", workload) and not workload.is_retired
    can_waive = user.has_perm("governance.request_waiver", workload) and not workload.is_retired
    pending = {
        (w.policy_id, w.control_key): w
        for w in Waiver.objects.filter(
            workload=workload, status=Waiver.Status.REQUESTED, ends_on__gte=timezone.localdate()
        )
    }
    groups: dict[int, PolicyGroup] = {}
    for status in report.statuses:
        control = status.control
        waiting = pending.get((control.policy_version.policy_id, control.key))
        row = ControlRow(
            status=status,
            css=STATE_CSS[status.state],
            real_label=State.LABELS.get(status.real_state, ""),
            observed=_observed(status.result),
            pending_waiver=waiting,
            can_attest=can_attest and control.kind == Control.Kind.ATTESTATION,
            can_request_waiver=can_waive and not status.compliant and waiting is None,
        )
        groups.setdefault(control.policy_version_id, PolicyGroup(control.policy_version)).rows.append(row)
    counts = report.counts()
    compliant = sum(s.compliant for s in report.statuses)
    total = len(report.statuses)

    high_risk = workload.risk_tier == RiskTier.HIGH
    drafts: list[DraftRow] = []
    show_drafts = high_risk and user.has_perm("registry.view_draft_releases", workload)
    if show_drafts:
        releases = (
            workload.releases.filter(status=Release.Status.DRAFT)
            .select_related("governance_approval__approved_by")
            .order_by("-created_at", "-id")
        )
        drafts = [DraftRow(release, _approval(release)) for release in releases]

    context = _workload_context(request, workload, "compliance")
    context.update(
        groups=sorted(groups.values(), key=lambda g: g.version.policy.title.lower()),
        compliant=compliant,
        total=total,
        percent=_percent(compliant, total),
        state_counts=[StateCount(s, State.LABELS[s], counts[s], STATE_CSS[s]) for s in STATE_ORDER],
        high_risk=high_risk,
        drafts=drafts,
        show_drafts=show_drafts,
        can_any_action=can_attest or can_waive,
        can_approve=user.has_perm("governance.approve_release", workload) and not workload.is_retired,
        tab_url=_tab_url(workload),
    )
    page = "governance/compliance/workload_compliance.html"
    if _partial(request):
        page += "#workload-tabs"
    return render(request, page, context)


# --- Attesting and asking for a waiver -------------------------------------------------------


def _not_applicable(workload: Workload, control: Control, status: ControlStatus | None) -> str:
    if status is not None:
        return ""
    if workload.is_retired:
        return f"{workload.name} is retired; its controls no longer apply."
    if not control.policy_version.is_current:
        return f"“{control.title}” is not in the current version of {control.policy_version.policy.title}."
    return f"“{control.title}” does not apply to {workload.name}."


@require_http_methods(["GET", "POST"])
@login_required
def attest(request: HttpRequest, slug: str, control_id: int) -> HttpResponse:
    workload = _workload(request, slug)
    _require(request, "governance.add_attestation", workload)
    control = _control(control_id)
    form = AttestationForm(request.POST if request.method == "POST" else None)
    if request.method == "POST" and form.is_valid():
        try:
            services.attest(
                actor=request.user, workload=workload, control=control, answer=form.cleaned_data["answer"],
                evidence_url=form.cleaned_data["evidence_url"], request=request,
            )  # fmt: skip
        except ApplicationError as exc:
            _add_service_errors(form, exc)
        else:
            messages.success(request, f"“{control.title}” is attested for {workload.name}.")
            return _redirect(request, _tab_url(workload))
    status = _status_of(workload, control)
    problem = _not_applicable(workload, control, status)
    if control.kind != Control.Kind.ATTESTATION:
        problem = f"“{control.title}” is checked automatically; it takes no attestation."
    context = {
        "workload": workload, "control": control, "status": status, "form": form, "tab_url": _tab_url(workload),
        "state_css": STATE_CSS[status.state] if status else "", "problem": problem,
    }  # fmt: skip
    return render(request, "governance/compliance/attest.html", context)


@require_http_methods(["GET", "POST"])
@login_required
def waiver_request(request: HttpRequest, slug: str, control_id: int) -> HttpResponse:
    workload = _workload(request, slug)
    _require(request, "governance.request_waiver", workload)
    control = _control(control_id)
    form = WaiverRequestForm(request.POST if request.method == "POST" else None)
    if request.method == "POST" and form.is_valid():
        try:
            waiver = services.waiver_request(
                actor=request.user, workload=workload, control=control, request=request, **form.service_kwargs()
            )
        except ApplicationError as exc:
            _add_service_errors(form, exc)
        else:
            messages.success(
                request,
                f"Waiver of “{control.title}” requested until {waiver.ends_on.day} {waiver.ends_on:%b %Y}. "
                "The CoE decides; you will be notified.",
            )
            return _redirect(request, _tab_url(workload))
    status = _status_of(workload, control)
    context = {
        "workload": workload, "control": control, "status": status, "form": form, "tab_url": _tab_url(workload),
        "state_css": STATE_CSS[status.state] if status else "", "problem": _not_applicable(workload, control, status),
        "open_waiver": _open_waiver(workload, control),
    }  # fmt: skip
    return render(request, "governance/compliance/waiver_request.html", context)


# --- The CoE's waiver queue -----------------------------------------------------------------


@dataclass
class WaiverRow:
    waiver: Waiver
    control_title: str
    form: WaiverDecisionForm | None = None
    days_left: int | None = None  # approved waivers: days until the last day

    @property
    def expiring(self) -> bool:
        return self.days_left is not None and self.days_left <= EXPIRING_DAYS


def _decision_form(waiver: Waiver, data: Any = None) -> WaiverDecisionForm:
    return WaiverDecisionForm(data, auto_id=f"waiver-{waiver.pk}-%s")


def _control_titles(waivers: Iterable[Waiver]) -> dict[tuple[int, str], str]:
    """Each waiver's control by its policy and key, as the current version words it."""
    keys = {(w.policy_id, w.control_key) for w in waivers}
    if not keys:
        return {}
    controls = services.current_controls().filter(
        policy_version__policy_id__in={p for p, _ in keys}, key__in={k for _, k in keys}
    )
    return {(c.policy_version.policy_id, c.key): c.title for c in controls}


def _waiver_rows(waivers: Iterable[Waiver], titles: dict[tuple[int, str], str], today: date) -> list[WaiverRow]:
    rows = []
    for waiver in waivers:
        title = titles.get((waiver.policy_id, waiver.control_key), waiver.control_key)
        row = WaiverRow(waiver, title)
        if waiver.status == Waiver.Status.REQUESTED:
            row.form = _decision_form(waiver)
        elif waiver.status == Waiver.Status.APPROVED and waiver.ends_on >= today:
            row.days_left = (waiver.ends_on - today).days
        rows.append(row)
    return rows


def _waiver_queryset() -> QuerySet[Waiver]:
    return Waiver.objects.select_related("workload__team", "policy", "requested_by", "decided_by")


def _queue_context(request: HttpRequest, failed: WaiverRow | None = None) -> dict[str, Any]:
    today = timezone.localdate()
    requested = paginate(
        request, _waiver_queryset().filter(status=Waiver.Status.REQUESTED).order_by("requested_at", "id")
    )
    approved_qs = _waiver_queryset().filter(status=Waiver.Status.APPROVED, ends_on__gte=today).order_by("ends_on", "id")
    approved = list(approved_qs[:50])
    since = today - timedelta(days=RECENT_DAYS)
    recent = list(
        _waiver_queryset()
        .filter(
            Q(status=Waiver.Status.REJECTED, decided_at__date__gte=since)
            | Q(status=Waiver.Status.APPROVED, ends_on__lt=today, ends_on__gte=since)
        )
        .order_by("-decided_at", "-id")[:20]
    )
    # Most recent first, by the day each was rejected or ended.
    recent.sort(key=lambda w: w.ends_on if w.status == Waiver.Status.APPROVED else timezone.localdate(w.decided_at),
                reverse=True)  # fmt: skip
    titles = _control_titles([*requested, *approved, *recent])
    requested_rows = _waiver_rows(requested, titles, today)
    if failed is not None:
        requested_rows = [failed if row.waiver.pk == failed.waiver.pk else row for row in requested_rows]
    return {
        "page": requested,
        "requested": requested_rows,
        "approved": _waiver_rows(approved, titles, today),
        "approved_total": approved_qs.count() if len(approved) == 50 else len(approved),
        "recent": _waiver_rows(recent, titles, today),
        "recent_days": RECENT_DAYS,
        "expiring_days": EXPIRING_DAYS,
        "today": today,
    }


@require_GET
@login_required
def waiver_queue(request: HttpRequest) -> HttpResponse:
    _require(request, "governance.decide_waiver")
    return render(request, "governance/compliance/waiver_queue.html", _queue_context(request))


@require_POST
@login_required
def waiver_decide(request: HttpRequest, pk: int) -> HttpResponse:
    _require(request, "governance.decide_waiver")
    waiver = _waiver_queryset().filter(pk=pk).first()
    if waiver is None:
        raise Http404("No such waiver.")
    queue_url = reverse("governance:waiver-queue")
    form = _decision_form(waiver, request.POST)
    if not form.is_valid():
        if "decision" in form.errors:
            messages.error(request, "Choose to approve or reject the waiver. Nothing changed.")
            return _redirect(request, queue_url)
        return _decision_errors(request, waiver, form)
    approve = form.cleaned_data["decision"] == "approve"
    try:
        services.waiver_decide(
            actor=request.user, waiver=waiver, approve=approve, comment=form.cleaned_data["comment"], request=request
        )
    except ApplicationError as exc:
        if not exc.field_errors:
            messages.error(request, exc.message)
            return _redirect(request, queue_url)
        _add_service_errors(form, exc)
        return _decision_errors(request, waiver, form)
    title = _control_titles([waiver]).get((waiver.policy_id, waiver.control_key), waiver.control_key)
    if approve:
        until = f"{waiver.ends_on.day} {waiver.ends_on:%b %Y}"
        messages.success(request, f"Waiver approved: {waiver.workload.name}, “{title}”, until {until}.")
    else:
        messages.success(request, f"Waiver rejected: {waiver.workload.name}, “{title}”. The team is told why.")
    return _redirect(request, queue_url)


def _decision_errors(request: HttpRequest, waiver: Waiver, form: WaiverDecisionForm) -> HttpResponse:
    """The decision form again with what is wrong and what was typed: with htmx just that form
    (htmx swaps no 4xx answer), without it the whole queue."""
    title = _control_titles([waiver]).get((waiver.policy_id, waiver.control_key), waiver.control_key)
    row = WaiverRow(waiver, title, form)
    if _partial(request):
        context = {"row": row, "today": timezone.localdate()}
        return render(request, "governance/compliance/_waiver_decision.html", context)
    return render(request, "governance/compliance/waiver_queue.html", _queue_context(request, failed=row))


# --- Approving high-risk releases -------------------------------------------------------------


@dataclass(frozen=True)
class ApprovalRow:
    release: Release
    approval: ReleaseApproval | None
    problems: list[str]


def _awaiting_approval() -> QuerySet[Release]:
    """Draft releases of high-risk workloads that still run: not yet approved first, oldest first."""
    return (
        Release.objects.filter(status=Release.Status.DRAFT, workload__risk_tier=RiskTier.HIGH)
        .exclude(workload__lifecycle_stage=LifecycleStage.RETIRED)
        .select_related("workload__team", "created_by", "governance_approval__approved_by")
        .prefetch_related("ai_models")
        .order_by(F("governance_approval__id").asc(nulls_first=True), "created_at", "id")
    )


@require_GET
@login_required
def approval_queue(request: HttpRequest) -> HttpResponse:
    _require(request, "governance.approve_release")
    page = paginate(request, _awaiting_approval())
    # The gates as they would answer a promotion now: read-only, nothing is promoted.
    rows = [ApprovalRow(release, _approval(release), gates.problems(release, request.user)) for release in page]
    context = {"page": page, "rows": rows}
    return render(request, "governance/compliance/approval_queue.html", context)


def _next_url(request: HttpRequest) -> str:
    url = request.POST.get("next") or request.GET.get("next") or ""
    if url and url_has_allowed_host_and_scheme(
        url, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        return url
    return reverse("governance:approval-queue")


@require_POST
@login_required
def release_approve(request: HttpRequest, release_id: int) -> HttpResponse:
    _require(request, "governance.approve_release")
    release = Release.objects.select_related("workload").filter(pk=release_id).first()
    if release is None:
        raise Http404("No such release.")
    url = _next_url(request)
    form = ReleaseApprovalForm(request.POST)
    if not form.is_valid():
        messages.error(request, "The comment is too long: keep it under 2,000 characters. Nothing changed.")
        return _redirect(request, url)
    if ReleaseApproval.objects.filter(release=release).exists():
        messages.info(request, f"Release {release.version} of {release.workload.name} was already approved.")
        return _redirect(request, url)
    try:
        services.release_approve(actor=request.user, release=release, comment=form.cleaned_data["comment"],
                                 request=request)  # fmt: skip
    except ApplicationError as exc:
        messages.error(request, exc.message)
    else:
        messages.success(
            request,
            f"Release {release.version} of {release.workload.name} is approved. The team can promote it once "
            "every applicable control is compliant.",
        )
    return _redirect(request, url)


# --- The compliance matrix ----------------------------------------------------------------------


@dataclass(frozen=True)
class Cell:
    applicable: int
    compliant: int

    @property
    def css(self) -> str:
        if not self.applicable:
            return "off"
        return "ok" if self.compliant == self.applicable else "bad"


@dataclass(frozen=True)
class MatrixRow:
    workload: Workload
    cells: list[Cell]
    compliant: int
    total: int

    @property
    def percent(self) -> int:
        return _percent(self.compliant, self.total)


@dataclass(frozen=True)
class Summary:
    fully_compliant: int
    applicable: int  # workloads on the page the policy applies to

    @property
    def percent(self) -> int:
        return _percent(self.fully_compliant, self.applicable)


@require_GET
@login_required
@vary_on_headers(*HTMX_VARY)
def compliance_matrix(request: HttpRequest) -> HttpResponse:
    # Without a workload, view_compliance is the portfolio's: CoE staff and leadership.
    _require(request, "governance.view_compliance")
    form = ComplianceFilterForm(request.GET)
    page = paginate(request, registry_selectors.workload_list(user=request.user, filters=form.filters()))
    versions = list(
        PolicyVersion.objects.filter(is_current=True, state=VersionState.PUBLISHED)
        .select_related("policy")
        .order_by("policy__title")
    )
    # Compliance is computed live for the 25 workloads on the page (a few queries per control):
    # acceptable for now; the dashboards will read stored results instead.
    rows = []
    for workload in page:
        report = services.compliance(workload=workload)
        by_version: dict[int, list[ControlStatus]] = {}
        for status in report.statuses:
            by_version.setdefault(status.control.policy_version_id, []).append(status)
        cells = [
            Cell(len(by_version.get(v.pk, [])), sum(s.compliant for s in by_version.get(v.pk, []))) for v in versions
        ]
        compliant = sum(s.compliant for s in report.statuses)
        rows.append(MatrixRow(workload, cells, compliant, len(report.statuses)))
    summaries = [
        Summary(
            fully_compliant=sum(1 for row in rows if row.cells[i].applicable and row.cells[i].css == "ok"),
            applicable=sum(1 for row in rows if row.cells[i].applicable),
        )
        for i in range(len(versions))
    ]
    context = {
        "form": form,
        "page": page,
        "versions": versions,
        "rows": rows,
        "summaries": summaries,
        "filtered": form.has_filters(),
    }
    template = "governance/compliance/compliance_matrix.html"
    if _partial(request):
        template += "#compliance-matrix"
    return render(request, template, context)

"""The policy pages: parse the request, check permission, read or call a service, render.

Everyone signed in reads policies and their published (and deprecated) versions with their
controls; drafts and versions in review are the CoE's, and to anyone else their URLs answer 404.
Only CoE staff write. The same versioning as the template library (apps/core/versioning.py); the
diff adds what teams care about most: which controls were added, removed or changed, since a
changed requirement must be attested again.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.db.models import Count, Exists, OuterRef, Prefetch, Q, QuerySet
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.http import require_GET, require_http_methods, require_POST
from django.views.decorators.vary import vary_on_headers

from apps.accounts.models import User
from apps.core.exceptions import ApplicationError
from apps.core.models import VersionState
from apps.core.pages import add_service_errors as _add_service_errors
from apps.core.pages import is_partial as _partial
from apps.core.pages import redirect_after_change as _redirect
from apps.core.pages import require_perm as _require
from apps.core.versioning import VersionNotFound, semver_suggest, version_pick
from apps.core.versioning import version_diff as diff_lines
from apps.core.views import paginate

from . import services
from .forms_policies import (
    APPLICABILITY,
    ControlForm,
    PolicyFilterForm,
    PolicyForm,
    PolicyVersionForm,
    framework_label,
)
from .models import Control, Policy, PolicyVersion, ThresholdSource

HTMX_VARY = ("HX-Request", "HX-History-Restore-Request")
PER_PAGE = 20
DIFF_CONTEXT = 3
VISIBLE_STATES = (VersionState.PUBLISHED, VersionState.DEPRECATED)


# --- Helpers ---------------------------------------------------------------------------


def _sees_drafts(user: User) -> bool:
    return user.has_perm("governance.add_policy")


def _can(request: HttpRequest) -> dict[str, bool]:
    user = request.user
    return {
        "add": user.has_perm("governance.add_policy"),
        "publish": user.has_perm("governance.publish_policyversion"),
        "view_drafts": _sees_drafts(user),
    }


def _policies(user: User) -> QuerySet[Policy]:
    """Policies the person may see, with their current version (``current_versions``) and its
    number of controls. Without the CoE's eyes, only policies with something published."""
    current = PolicyVersion.objects.filter(is_current=True).annotate(control_count=Count("controls"))
    qs = Policy.objects.prefetch_related("tags", Prefetch("versions", queryset=current, to_attr="current_versions"))
    if not _sees_drafts(user):
        qs = qs.filter(Exists(PolicyVersion.objects.filter(policy=OuterRef("pk"), state__in=VISIBLE_STATES)))
    return qs


def _policy(request: HttpRequest, slug: str) -> Policy:
    try:
        return _policies(request.user).select_related("owner").get(slug=slug)
    except Policy.DoesNotExist:
        raise Http404("No such policy.") from None


def _versions(user: User, policy: Policy) -> list[PolicyVersion]:
    qs = policy.versions.select_related("created_by", "published_by").annotate(control_count=Count("controls"))
    if not _sees_drafts(user):
        qs = qs.filter(state__in=VISIBLE_STATES)
    return list(qs.order_by("-major", "-minor", "-patch"))


def _version(request: HttpRequest, policy: Policy, number: str) -> PolicyVersion:
    """A version the person may see: a draft is not there for anyone but the CoE."""
    found = next((v for v in _versions(request.user, policy) if v.number == number), None)
    if found is None:
        raise Http404("No such version.")
    return found


def _below(versions: list[PolicyVersion], version: PolicyVersion) -> PolicyVersion | None:
    """The version just below ``version`` among ``versions`` (highest first)."""
    key = (version.major, version.minor, version.patch)
    return next((v for v in versions if (v.major, v.minor, v.patch) < key), None)


def _labels(values: list[str], choices: Any) -> list[str]:
    names = dict(choices.choices)
    return [str(names.get(value, value)).lower() for value in values]


def applies_to(control: Control) -> str:
    """“high risk; confidential, restricted data; all stages”."""
    tiers = _labels(control.risk_tiers, APPLICABILITY["risk_tiers"])
    data = _labels(control.data_classifications, APPLICABILITY["data_classifications"])
    stages = _labels(control.lifecycle_stages, APPLICABILITY["lifecycle_stages"])
    return "; ".join(
        [
            f"{', '.join(tiers)} risk" if tiers else "all risk tiers",
            f"{', '.join(data)} data" if data else "all data",
            f"{', '.join(stages)} stage{'s' if len(stages) > 1 else ''}" if stages else "all stages",
        ]
    )


@dataclass(frozen=True)
class ControlRow:
    control: Control
    applies_to: str
    check: str  # automated: what is checked; empty for attestations


def _row(control: Control) -> ControlRow:
    return ControlRow(control, applies_to(control), control.describe_check())


def _control_rows(version: PolicyVersion | None) -> list[ControlRow]:
    return [_row(c) for c in version.controls.order_by("key")] if version is not None else []


def _refs(version: PolicyVersion | None) -> list[str]:
    return [framework_label(ref) for ref in (version.framework_refs or [])] if version else []


# --- The policy list ---------------------------------------------------------------------


@dataclass(frozen=True)
class PolicyRow:
    policy: Policy
    current: PolicyVersion | None
    refs: list[str]


@require_GET
@login_required
@vary_on_headers(*HTMX_VARY)
def policy_list(request: HttpRequest) -> HttpResponse:
    _require(request, "governance.view_policy")
    form = PolicyFilterForm(request.GET)
    filters = form.filters()
    policies = _policies(request.user)
    if filters["q"]:
        policies = policies.filter(Q(title__icontains=filters["q"]) | Q(summary__icontains=filters["q"]))
    if filters["category"]:
        policies = policies.filter(category=filters["category"])
    page = paginate(request, policies.order_by("title", "pk"), per_page=PER_PAGE)
    rows = []
    for policy in page:
        current = policy.current_versions[0] if policy.current_versions else None
        rows.append(PolicyRow(policy, current, _refs(current)))
    context = {"form": form, "page": page, "rows": rows, "filtered": form.has_filters(), "can": _can(request)}
    template = "governance/policies/policy_list.html"
    if _partial(request):
        template += "#policy-results"
    return render(request, template, context)


# --- Creating a policy ---------------------------------------------------------------------


@require_http_methods(["GET", "POST"])
@login_required
def policy_create(request: HttpRequest) -> HttpResponse:
    _require(request, "governance.add_policy")
    form = PolicyForm(request.POST if request.method == "POST" else None)
    if request.method == "POST" and form.is_valid():
        try:
            policy = services.policy_create(actor=request.user, request=request, **form.service_kwargs())
        except ApplicationError as exc:
            _add_service_errors(form, exc)
        else:
            messages.success(request, f"“{policy.title}” is created. Now write its first version.")
            return redirect("governance:version-create", slug=policy.slug)
    return render(request, "governance/policies/policy_form.html", {"form": form})


# --- The policy page -------------------------------------------------------------------------


@require_GET
@login_required
def policy_detail(request: HttpRequest, slug: str) -> HttpResponse:
    _require(request, "governance.view_policy")
    policy = _policy(request, slug)
    versions = _versions(request.user, policy)
    current = next((v for v in versions if v.is_current), None)
    compare_to = current or (versions[0] if versions else None)
    context = {
        "policy": policy,
        "versions": versions,
        "current": current,
        "refs": _refs(current),
        "controls": _control_rows(current),
        "compare_from": _below(versions, compare_to) if compare_to else None,
        "compare_to": compare_to,
        "can": _can(request),
    }
    return render(request, "governance/policies/policy_detail.html", context)


# --- One version -------------------------------------------------------------------------------


@require_GET
@login_required
def version_detail(request: HttpRequest, slug: str, number: str) -> HttpResponse:
    _require(request, "governance.view_policy")
    policy = _policy(request, slug)
    version = _version(request, policy, number)
    versions = _versions(request.user, policy)
    context = {
        "policy": policy,
        "version": version,
        "refs": _refs(version),
        "controls": _control_rows(version),
        "current": next((v for v in versions if v.is_current), None),
        "previous": _below(versions, version),
        "can": _can(request),
    }
    return render(request, "governance/policies/version_detail.html", context)


# --- Comparing versions ------------------------------------------------------------------------


@dataclass(frozen=True)
class FieldChange:
    label: str
    old: str
    new: str


@dataclass(frozen=True)
class ControlChange:
    old: Control
    new: Control
    fields: list[FieldChange]


@dataclass(frozen=True)
class ControlsDiff:
    added: list[ControlRow]
    removed: list[ControlRow]
    changed: list[ControlChange]
    reworded: list[Control]  # only the rationale differs: nothing to attest again

    @property
    def any(self) -> bool:
        return bool(self.added or self.removed or self.changed or self.reworded)


FIELD_LABELS = {
    "title": "Title", "statement": "Statement", "kind": "Kind", "risk_tiers": "Risk tiers",
    "data_classifications": "Data classifications", "lifecycle_stages": "Lifecycle stages",
    "attestation_valid_days": "Attestation valid for (days)", "metric": "Metric", "operator": "Comparison",
    "threshold": "Threshold", "threshold_source": "Threshold from", "window_days": "Window (days)",
}  # fmt: skip


def _show(control: Control, name: str) -> str:
    """A field's value as a person reads it."""
    value = getattr(control, name)
    if name in APPLICABILITY:
        return ", ".join(_labels(value, APPLICABILITY[name])) or "all"
    if name == "threshold":
        return format(Decimal(value).normalize(), "f") if value is not None else "none"
    if name == "threshold_source":
        return str(ThresholdSource(value).label) if value in ThresholdSource.values else value
    if name in {"kind", "metric", "operator"}:
        return str(getattr(control, f"get_{name}_display")()) or "none"
    if value is None or value == "":
        return "none"
    return str(value)


def _controls_diff(old: PolicyVersion, new: PolicyVersion) -> ControlsDiff:
    before = {c.key: c for c in old.controls.all()}
    after = {c.key: c for c in new.controls.all()}
    changed, reworded = [], []
    for key in sorted(before.keys() & after.keys()):
        a, b = before[key], after[key]
        if a.content_hash != b.content_hash:
            fields = [
                FieldChange(FIELD_LABELS.get(name, name), _show(a, name), _show(b, name))
                for name in Control.CONTENT_FIELDS
                if getattr(a, name) != getattr(b, name)
            ]
            changed.append(ControlChange(a, b, fields))
        elif a.rationale != b.rationale:
            reworded.append(b)
    return ControlsDiff(
        added=[_row(after[k]) for k in sorted(after.keys() - before.keys())],
        removed=[_row(before[k]) for k in sorted(before.keys() - after.keys())],
        changed=changed,
        reworded=reworded,
    )


def _diff_version(versions: list[PolicyVersion], number: str) -> PolicyVersion:
    return version_pick(versions, number, noun="policy")


@require_GET
@login_required
def version_diff(request: HttpRequest, slug: str) -> HttpResponse:
    _require(request, "governance.view_policy")
    policy = _policy(request, slug)
    versions = _versions(request.user, policy)
    in_context = request.GET.get("context") == str(DIFF_CONTEXT)
    context: dict[str, Any] = {"policy": policy, "versions": versions, "old": None, "new": None,
                               "in_context": in_context}  # fmt: skip
    page = "governance/policies/version_diff.html"
    try:
        if request.GET.get("to"):
            new = _diff_version(versions, request.GET["to"])
        else:
            new = next((v for v in versions if v.is_current), versions[0] if versions else None)
        if request.GET.get("from"):
            old = _diff_version(versions, request.GET["from"])
        elif new is not None:
            below = [v for v in versions if (v.major, v.minor, v.patch) < (new.major, new.minor, new.patch)]
            old = next((v for v in below if v.published_at), below[0] if below else None)
        else:
            old = None
    except VersionNotFound as refused:
        context["problem"] = refused.message
        return render(request, page, context, status=refused.status)
    context.update(old=old, new=new)
    if old is None or new is None:
        context["problem"] = "There is only one version so far: nothing to compare yet."
    elif old.pk == new.pk:
        context["problem"] = f"Pick two different versions: both sides are {new.number}."
    else:
        rows = diff_lines(old.body, new.body, context=DIFF_CONTEXT if in_context else None)
        context["lines"] = rows
        context["changed"] = sum(row.kind != "equal" for row in rows)
        context["controls"] = _controls_diff(old, new)
        context["old_refs"], context["new_refs"] = _refs(old), _refs(new)
        context["facts_changed"] = (
            old.effective_date != new.effective_date or context["old_refs"] != context["new_refs"]
        )
    return render(request, page, context)


# --- Writing versions --------------------------------------------------------------------------


@require_http_methods(["GET", "POST"])
@login_required
def version_create(request: HttpRequest, slug: str) -> HttpResponse:
    _require(request, "governance.add_policy")
    policy = _policy(request, slug)
    versions = _versions(request.user, policy)
    latest = versions[0] if versions else None
    base = next((v for v in versions if v.is_current), latest)
    suggestions = semver_suggest(latest)
    form = PolicyVersionForm(
        request.POST if request.method == "POST" else None,
        base=base,
        preview_url=reverse("library:markdown-preview"),
        initial=PolicyVersionForm.initial_for(base, number=suggestions["minor"]),
    )
    # A "Preview" button re-renders the form without saving (the preview without JavaScript).
    if request.method == "POST" and "preview" not in request.POST and form.is_valid():
        try:
            version = services.policy_version_create(
                actor=request.user, policy=policy, request=request, **form.service_kwargs()
            )
        except ApplicationError as exc:
            _add_service_errors(form, exc)
        else:
            copied = version.controls.count()
            also = f" with {copied} control{'s' if copied != 1 else ''} of {base.number}" if copied and base else ""
            messages.success(
                request, f"Draft {version.number} is saved{also}. Add or change its controls, then publish it."
            )
            return redirect("governance:version-detail", slug=policy.slug, number=version.number)
    context = {"policy": policy, "form": form, "base": base, "latest": latest, "suggestions": suggestions}
    return render(request, "governance/policies/version_form.html", context)


def _back(request: HttpRequest, fallback: str) -> str:
    """Where a form posted from a page sends the person back to: a path on this site only."""
    target = request.POST.get("next", "")
    if target and url_has_allowed_host_and_scheme(target, allowed_hosts=None) and target.startswith("/"):
        return target
    return fallback


@require_POST
@login_required
def version_publish(request: HttpRequest, slug: str, number: str) -> HttpResponse:
    _require(request, "governance.publish_policyversion")
    policy = _policy(request, slug)
    version = _version(request, policy, number)
    try:
        services.policy_version_publish(actor=request.user, version=version, request=request)
    except ApplicationError as exc:
        messages.error(request, exc.message)
        fallback = reverse("governance:version-detail", args=[policy.slug, version.number])
        return _redirect(request, _back(request, fallback))
    messages.success(
        request,
        f"Version {version.number} of “{policy.title}” is published and current. The teams it applies to are told.",
    )
    return _redirect(request, reverse("governance:policy-detail", args=[policy.slug]))


# --- Controls ----------------------------------------------------------------------------------


def _editable_version(request: HttpRequest, slug: str, number: str) -> tuple[Policy, PolicyVersion]:
    _require(request, "governance.add_policy")
    policy = _policy(request, slug)
    return policy, _version(request, policy, number)


def _locked(request: HttpRequest, context: dict[str, Any]) -> HttpResponse:
    """A published version's controls do not change: say so, and point to a new version."""
    status = 409 if request.method == "POST" else 200
    return render(request, "governance/policies/control_form.html", {**context, "locked": True}, status=status)


@require_http_methods(["GET", "POST"])
@login_required
def control_create(request: HttpRequest, slug: str, number: str) -> HttpResponse:
    policy, version = _editable_version(request, slug, number)
    context: dict[str, Any] = {"policy": policy, "version": version, "control": None}
    if not version.is_editable:
        return _locked(request, context)
    form = ControlForm(request.POST if request.method == "POST" else None)
    if request.method == "POST" and form.is_valid():
        try:
            control = services.control_add(actor=request.user, version=version, request=request,
                                           **form.service_kwargs())  # fmt: skip
        except ApplicationError as exc:
            _add_service_errors(form, exc)
        else:
            messages.success(request, f"Control “{control.title}” is added to {version.number}.")
            return redirect("governance:version-detail", slug=policy.slug, number=version.number)
    return render(request, "governance/policies/control_form.html", {**context, "form": form})


@require_http_methods(["GET", "POST"])
@login_required
def control_edit(request: HttpRequest, slug: str, number: str, key: str) -> HttpResponse:
    policy, version = _editable_version(request, slug, number)
    control = version.controls.filter(key=key).first()
    if control is None:
        raise Http404("No such control.")
    context: dict[str, Any] = {"policy": policy, "version": version, "control": control}
    if not version.is_editable:
        return _locked(request, context)
    form = ControlForm(
        request.POST if request.method == "POST" else None, with_key=False, initial=ControlForm.initial_for(control)
    )
    if request.method == "POST" and form.is_valid():
        changes = ControlForm.changed(control, form.service_kwargs())
        try:
            if changes:
                services.control_update(actor=request.user, control=control, request=request, **changes)
        except ApplicationError as exc:
            _add_service_errors(form, exc)
        else:
            messages.success(
                request, f"Changes to “{control.title}” saved." if changes else f"“{control.title}” is unchanged."
            )
            return redirect("governance:version-detail", slug=policy.slug, number=version.number)
    return render(request, "governance/policies/control_form.html", {**context, "form": form})

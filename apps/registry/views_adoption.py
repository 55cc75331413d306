"""Which workloads use which library templates: the registry's adoption pages (DESIGN.md).

The library's pages compose two of them with hx-get (its home loads the most adopted templates,
a template's page loads its adopters); without htmx each is a small page of its own. The
workload's "Templates" tab lists what it uses, and the upgrade page is where the notification
sent on publishing (``adoption.notify_adopters``) leads: one POST to the current version.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import render
from django.urls import reverse
from django.views.decorators.http import require_GET, require_http_methods, require_POST
from django.views.decorators.vary import vary_on_headers

from apps.core.exceptions import ApplicationError
from apps.core.models import VersionState
from apps.library.models import Template, TemplateVersion

from . import adoption
from .forms_adoption import AdoptionForm
from .models import Release, Workload
from .views import HTMX_VARY, _partial, _redirect, _require, _workload, _workload_context

# A template is shown once something of it has been published; drafts are the CoE's.
SHOWN_STATES = (VersionState.PUBLISHED, VersionState.DEPRECATED)


def _template(slug: str, *, unpublished_ok: bool = False) -> Template:
    """The template, once something of it is published (``unpublished_ok``: for those who see
    drafts, so the CoE's own template page shows "no adopters yet" rather than an error)."""
    template = Template.objects.filter(slug=slug).first()
    if template is None:
        raise Http404("No such template.")
    if not unpublished_ok and not template.versions.filter(state__in=SHOWN_STATES).exists():
        raise Http404("No such template.")
    return template


def _current(template: Template) -> TemplateVersion | None:
    return template.versions.filter(is_current=True).first()


def _key(version: TemplateVersion) -> tuple[int, int, int]:
    return (version.major, version.minor, version.patch)


# --- Panels the library loads --------------------------------------------------------------


@require_GET
@login_required
@vary_on_headers(*HTMX_VARY)
def most_adopted(request: HttpRequest) -> HttpResponse:
    template = "registry/adoption/most_adopted.html"
    if _partial(request):
        template += "#most-adopted"
    return render(request, template, {"rows": adoption.most_adopted(limit=5)})


@dataclass(frozen=True)
class AdopterRow:
    adopter: adoption.Adopter
    can_upgrade: bool


@dataclass(frozen=True)
class VersionGroup:
    version: TemplateVersion
    rows: list[AdopterRow]


@require_GET
@login_required
@vary_on_headers(*HTMX_VARY)
def template_adopters(request: HttpRequest, template_slug: str) -> HttpResponse:
    template = _template(template_slug, unpublished_ok=request.user.has_perm("library.view_draft_versions"))
    adopters = [a for a in adoption.adopter_list(template=template) if a.version.state in SHOWN_STATES]
    groups: dict[int, VersionGroup] = {}
    for adopter in adopters:
        can_upgrade = adopter.is_behind and request.user.has_perm("registry.change_workload", adopter.workload)
        group = groups.setdefault(adopter.version.pk, VersionGroup(adopter.version, []))
        group.rows.append(AdopterRow(adopter, can_upgrade))
    context = {
        "template": template,
        "current": _current(template),
        "groups": sorted(groups.values(), key=lambda g: _key(g.version), reverse=True),
        "total": len(adopters),
        "behind": sum(1 for a in adopters if a.is_behind),
    }
    page = "registry/adoption/template_adopters.html"
    if _partial(request):
        page += "#template-adopters"
    return render(request, page, context)


# --- The workload's Templates tab ----------------------------------------------------------


@dataclass(frozen=True)
class UsageRow:
    adopter: adoption.Adopter
    current: TemplateVersion | None
    note: str
    can_upgrade: bool
    can_remove: bool


@require_GET
@login_required
@vary_on_headers(*HTMX_VARY)
def workload_templates(request: HttpRequest, slug: str) -> HttpResponse:
    workload = _workload(request, slug)
    context = _workload_context(request, workload, "templates")
    can_change = context["can"]["change"]
    used = adoption.workload_adoptions(workload=workload)
    currents = {
        v.template_id: v
        for v in TemplateVersion.objects.filter(template_id__in=[a.version.template_id for a in used], is_current=True)
    }
    notes = dict(workload.adoptions.values_list("template_id", "note"))
    rows = [
        UsageRow(
            adopter=a,
            current=currents.get(a.version.template_id),
            note=notes.get(a.version.template_id, "") if a.via == "explicit" else "",
            can_upgrade=can_change and a.is_behind and a.version.template_id in currents,
            can_remove=can_change and a.via == "explicit",
        )
        for a in used
    ]
    context.update(rows=rows, adopt_form=AdoptionForm() if can_change else None)
    page = "registry/adoption/workload_templates.html"
    if _partial(request):
        page += "#workload-tabs"
    return render(request, page, context)


def _tab_url(workload: Workload) -> str:
    return reverse("registry:workload-templates", args=[workload.slug])


@require_POST
@login_required
def adoption_create(request: HttpRequest, slug: str) -> HttpResponse:
    workload = _workload(request, slug)
    _require(request, "registry.change_workload", workload)
    form = AdoptionForm(request.POST)
    if not form.is_valid():
        problems = [str(error) for errors in form.errors.values() for error in errors]
        messages.error(request, " ".join(problems) + " Nothing changed.")
        return _redirect(request, _tab_url(workload))
    version = form.cleaned_data["version"]
    try:
        adoption.adoption_set(
            actor=request.user, workload=workload, version=version, note=form.cleaned_data["note"], request=request
        )
    except ApplicationError as exc:
        messages.error(request, exc.message)
    else:
        messages.success(request, f"“{workload.name}” now uses {version.template.title} v{version.number}.")
    return _redirect(request, _tab_url(workload))


@require_POST
@login_required
def adoption_remove(request: HttpRequest, slug: str, template_slug: str) -> HttpResponse:
    workload = _workload(request, slug)
    _require(request, "registry.change_workload", workload)
    found = workload.adoptions.filter(template__slug=template_slug).select_related("template", "version").first()
    if found is None:
        raise Http404("This workload has not adopted that template explicitly.")
    if workload.is_retired:
        messages.error(request, f"“{workload.name}” is retired and cannot be changed. Nothing changed.")
    else:
        adoption.adoption_remove(actor=request.user, adoption=found, request=request)
        messages.success(request, f"“{workload.name}” no longer uses {found.template.title}.")
    return _redirect(request, _tab_url(workload))


# --- Upgrading to the current version ------------------------------------------------------


@dataclass(frozen=True)
class UpgradePlan:
    """What the workload uses of the template now, and what upgrading would bring."""

    current: TemplateVersion | None
    used: TemplateVersion | None
    via: Literal["release", "explicit", ""]
    changes: list[TemplateVersion]  # the versions after the one used, up to the current, newest first

    @property
    def up_to_date(self) -> bool:
        return self.used is not None and self.current is not None and self.used.pk == self.current.pk

    @property
    def possible(self) -> bool:
        return self.used is not None and self.current is not None and not self.up_to_date


def _plan(workload: Workload, template: Template) -> UpgradePlan:
    """As ``adoption.template_upgrade`` decides: the live release speaks before an adoption."""
    current = _current(template)
    live = workload.live_release
    used = live.template_versions.filter(template=template).first() if live else None
    via: Literal["release", "explicit", ""] = "release" if used else ""
    if used is None:
        explicit = workload.adoptions.filter(template=template).select_related("version").first()
        if explicit is not None:
            used, via = explicit.version, "explicit"
    changes: list[TemplateVersion] = []
    if used is not None and current is not None:
        changes = [
            v
            for v in template.versions.filter(state__in=SHOWN_STATES).order_by("-major", "-minor", "-patch")
            if _key(used) < _key(v) <= _key(current)
        ]
    return UpgradePlan(current=current, used=used, via=via, changes=changes)


@require_http_methods(["GET", "POST"])
@login_required
def template_upgrade(request: HttpRequest, slug: str, template_slug: str) -> HttpResponse:
    workload = _workload(request, slug)
    _require(request, "registry.change_workload", workload)
    template = _template(template_slug)
    plan = _plan(workload, template)
    if request.method == "GET":
        context = {"workload": workload, "template": template, "plan": plan}
        return render(request, "registry/adoption/template_upgrade.html", context)
    if plan.via == "release":
        _require(request, "registry.add_release", workload)
    try:
        result = adoption.template_upgrade(actor=request.user, workload=workload, template=template, request=request)
    except ApplicationError as exc:
        (messages.info if plan.up_to_date else messages.error)(request, exc.message)
        return _redirect(request, _tab_url(workload))
    if isinstance(result, Release):
        version = result.template_versions.get(template=template)
        messages.success(
            request,
            f"Draft release {result.version} is created with {template.title} v{version.number}. "
            "Promote it from the Releases tab when it is ready.",
        )
        return _redirect(request, reverse("registry:release-list", args=[workload.slug]))
    messages.success(request, f"“{workload.name}” now uses {template.title} v{result.version.number}.")
    return _redirect(request, _tab_url(workload))

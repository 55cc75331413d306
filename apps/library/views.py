"""The library's pages: parse the request, check permission, call a selector or a service, render.

Everyone signed in reads templates and their published (and deprecated) versions; drafts and
versions in review are the CoE's, and to anyone else their URLs answer 404. Only CoE staff
write. The adopters and "most adopted" panels belong to the registry and are loaded from its
URLs with htmx (DESIGN.md: each app renders only its own data).
"""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.http import require_GET, require_http_methods, require_POST
from django.views.decorators.vary import vary_on_headers

from apps.core.exceptions import ApplicationError
from apps.core.pages import add_service_errors as _add_service_errors
from apps.core.pages import is_partial as _partial
from apps.core.pages import redirect_after_change as _redirect
from apps.core.pages import require_perm as _require
from apps.core.versioning import VersionNotFound, semver_suggest, version_pick
from apps.core.versioning import version_diff as diff_lines
from apps.core.views import paginate

from . import selectors, services
from .forms import TemplateCreateForm, TemplateFilterForm, TemplateForm, TryForm, VersionForm
from .models import Template, TemplateVersion

HTMX_VARY = ("HX-Request", "HX-History-Restore-Request")
PER_PAGE = 20
DIFF_CONTEXT = 3


# --- Helpers ---------------------------------------------------------------------------


def _template(request: HttpRequest, slug: str) -> Template:
    try:
        return selectors.template_get(user=request.user, slug=slug)
    except Template.DoesNotExist:
        raise Http404("No such template.") from None


def _version(request: HttpRequest, template: Template, number: str) -> TemplateVersion:
    """A version the person may see: a draft is not there for anyone but the CoE."""
    try:
        return selectors.version_get(user=request.user, template=template, number=number)
    except TemplateVersion.DoesNotExist:
        raise Http404("No such version.") from None


def _can(request: HttpRequest) -> dict[str, bool]:
    user = request.user
    return {
        "change": user.has_perm("library.change_template"),
        "add_version": user.has_perm("library.add_templateversion"),
        "publish": user.has_perm("library.publish_templateversion"),
        "view_drafts": user.has_perm("library.view_draft_versions"),
    }


def _neighbours(versions: list[TemplateVersion], version: TemplateVersion) -> TemplateVersion | None:
    """The version just below ``version`` among ``versions`` (highest first)."""
    key = (version.major, version.minor, version.patch)
    return next((v for v in versions if (v.major, v.minor, v.patch) < key), None)


# --- The library home -------------------------------------------------------------------


@require_GET
@login_required
@vary_on_headers(*HTMX_VARY)
def template_list(request: HttpRequest) -> HttpResponse:
    _require(request, "library.view_template")
    form = TemplateFilterForm(request.GET)
    templates = selectors.template_list(user=request.user, filters=form.filters())
    page = paginate(request, templates, per_page=PER_PAGE)
    context = {
        "form": form,
        "page": page,
        "rows": [(t, t.current_versions[0] if t.current_versions else None) for t in page],
        "filtered": form.has_filters(),
        "can_add": request.user.has_perm("library.add_template"),
    }
    template = "library/template_list.html"
    if _partial(request):
        template += "#template-results"
    else:
        context["recent"] = selectors.template_recently_updated(user=request.user)
    return render(request, template, context)


# --- Creating and changing a template ----------------------------------------------------


@require_http_methods(["GET", "POST"])
@login_required
def template_create(request: HttpRequest) -> HttpResponse:
    _require(request, "library.add_template")
    form = TemplateCreateForm(request.POST if request.method == "POST" else None)
    if request.method == "POST" and form.is_valid():
        try:
            template = services.template_create(
                actor=request.user, request=request, **form.service_kwargs(actor=request.user)
            )
        except ApplicationError as exc:
            _add_service_errors(form, exc)
        else:
            messages.success(request, f"“{template.title}” is created. Now write its first version.")
            return redirect("library:version-create", slug=template.slug)
    return render(request, "library/template_form.html", {"form": form, "template": None})


@require_http_methods(["GET", "POST"])
@login_required
def template_edit(request: HttpRequest, slug: str) -> HttpResponse:
    _require(request, "library.change_template")
    template = _template(request, slug)
    form = TemplateForm(
        request.POST if request.method == "POST" else None,
        initial=TemplateForm.initial_for(template),
        owner=template.owner,
    )
    if request.method == "POST" and form.is_valid():
        try:
            updated = services.template_update(
                actor=request.user, template=template, request=request, **form.service_kwargs(actor=request.user)
            )
        except ApplicationError as exc:
            _add_service_errors(form, exc)
        else:
            messages.success(request, f"Changes to “{updated.title}” saved.")
            return redirect("library:template-detail", slug=template.slug)
    return render(request, "library/template_form.html", {"form": form, "template": template})


# --- The template page ---------------------------------------------------------------------


@require_GET
@login_required
def template_detail(request: HttpRequest, slug: str) -> HttpResponse:
    _require(request, "library.view_template")
    template = _template(request, slug)
    versions = list(selectors.version_list(user=request.user, template=template))
    current = next((v for v in versions if v.is_current), None)
    compare_to = current or (versions[0] if versions else None)
    compare_from = _neighbours(versions, compare_to) if compare_to else None
    is_prompt = template.kind == Template.Kind.PROMPT
    context = {
        "template": template,
        "versions": versions,
        "current": current,
        "compare_from": compare_from,
        "compare_to": compare_to,
        "can": _can(request),
        "try_form": TryForm(variables=current.variables, auto_id="try-%s") if is_prompt and current else None,
    }
    return render(request, "library/template_detail.html", context)


# --- One version -----------------------------------------------------------------------------


@require_GET
@login_required
def version_detail(request: HttpRequest, slug: str, number: str) -> HttpResponse:
    _require(request, "library.view_template")
    template = _template(request, slug)
    version = _version(request, template, number)
    versions = list(selectors.version_list(user=request.user, template=template))
    context = {
        "template": template,
        "version": version,
        "current": next((v for v in versions if v.is_current), None),
        "previous": _neighbours(versions, version),
        "can": _can(request),
    }
    return render(request, "library/version_detail.html", context)


def _diff_version(versions: list[TemplateVersion], number: str) -> TemplateVersion:
    return version_pick(versions, number, noun="template")


@require_GET
@login_required
def version_diff(request: HttpRequest, slug: str) -> HttpResponse:
    _require(request, "library.view_template")
    template = _template(request, slug)
    versions = list(selectors.version_list(user=request.user, template=template))
    context: dict[str, Any] = {"template": template, "versions": versions, "old": None, "new": None}
    in_context = request.GET.get("context") == str(DIFF_CONTEXT)
    context["in_context"] = in_context
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
        return render(request, "library/version_diff.html", context, status=refused.status)
    context.update(old=old, new=new)
    if old is None or new is None:
        context["problem"] = "There is only one version so far: nothing to compare yet."
    elif old.pk == new.pk:
        context["problem"] = f"Pick two different versions: both sides are {new.number}."
    else:
        rows = diff_lines(old.body, new.body, context=DIFF_CONTEXT if in_context else None)
        context["lines"] = rows
        context["changed"] = sum(row.kind != "equal" for row in rows)
        context["variables_changed"] = list(old.variables or []) != list(new.variables or [])
    return render(request, "library/version_diff.html", context)


# --- Writing versions --------------------------------------------------------------------------


def _preview_or_save(request: HttpRequest, form: VersionForm) -> bool:
    """The no-JavaScript preview: a "Preview" button re-renders the form without saving."""
    return "preview" not in request.POST and form.is_valid()


@require_http_methods(["GET", "POST"])
@login_required
def version_create(request: HttpRequest, slug: str) -> HttpResponse:
    _require(request, "library.add_templateversion")
    template = _template(request, slug)
    versions = list(selectors.version_list(user=request.user, template=template))
    latest = versions[0] if versions else None
    base = next((v for v in versions if v.is_current), latest)
    suggestions = semver_suggest(latest)
    form = VersionForm(
        request.POST if request.method == "POST" else None,
        template=template,
        preview_url=reverse("library:markdown-preview"),
        initial={"number": suggestions["minor"], **VersionForm.initial_for(base, with_changelog=False)},
    )
    if request.method == "POST" and _preview_or_save(request, form):
        try:
            version = services.version_create(
                actor=request.user, template=template, request=request, **form.service_kwargs()
            )
        except ApplicationError as exc:
            _add_service_errors(form, exc)
        else:
            messages.success(request, f"Draft {version.number} is saved. Send it for review, or publish it.")
            return redirect("library:version-detail", slug=template.slug, number=version.number)
    context = {"template": template, "form": form, "version": None, "base": base, "suggestions": suggestions,
               "latest": latest}  # fmt: skip
    return render(request, "library/version_form.html", context)


@require_http_methods(["GET", "POST"])
@login_required
def version_edit(request: HttpRequest, slug: str, number: str) -> HttpResponse:
    _require(request, "library.add_templateversion")
    template = _template(request, slug)
    version = _version(request, template, number)
    context: dict[str, Any] = {"template": template, "version": version}
    if not version.is_editable:
        status = 409 if request.method == "POST" else 200
        return render(request, "library/version_form.html", {**context, "locked": True}, status=status)
    form = VersionForm(
        request.POST if request.method == "POST" else None,
        template=template,
        with_number=False,
        preview_url=reverse("library:markdown-preview"),
        initial=VersionForm.initial_for(version, with_changelog=True),
    )
    if request.method == "POST" and _preview_or_save(request, form):
        try:
            services.version_update(actor=request.user, version=version, request=request, **form.service_kwargs())
        except ApplicationError as exc:
            _add_service_errors(form, exc)
        else:
            messages.success(request, f"Changes to {version.number} saved.")
            return redirect("library:version-detail", slug=template.slug, number=version.number)
    return render(request, "library/version_form.html", {**context, "form": form})


@require_POST
@login_required
def markdown_preview(request: HttpRequest) -> HttpResponse:
    _require(request, "library.add_templateversion")
    return render(request, "library/_preview.html", {"body": request.POST.get("body", "")})


# --- Moving a version through its states ------------------------------------------------------


def _transition(request: HttpRequest, slug: str, number: str, perm: str, action: str) -> HttpResponse:
    _require(request, perm)
    template = _template(request, slug)
    version = _version(request, template, number)
    service, done = {
        "submit": (services.version_submit, f"Version {version.number} is sent for review."),
        "publish": (services.version_publish, f"Version {version.number} is published and current."),
        "deprecate": (services.version_deprecate, f"Version {version.number} is deprecated. It stays readable."),
    }[action]
    try:
        service(actor=request.user, version=version, request=request)
    except ApplicationError as exc:
        messages.error(request, exc.message)
    else:
        messages.success(request, done)
    return _redirect(request, reverse("library:template-detail", args=[template.slug]))


@require_POST
@login_required
def version_submit(request: HttpRequest, slug: str, number: str) -> HttpResponse:
    return _transition(request, slug, number, "library.add_templateversion", "submit")


@require_POST
@login_required
def version_publish(request: HttpRequest, slug: str, number: str) -> HttpResponse:
    return _transition(request, slug, number, "library.publish_templateversion", "publish")


@require_POST
@login_required
def version_deprecate(request: HttpRequest, slug: str, number: str) -> HttpResponse:
    return _transition(request, slug, number, "library.publish_templateversion", "deprecate")


# --- Try a prompt ------------------------------------------------------------------------------


@require_http_methods(["GET", "POST"])
@login_required
@vary_on_headers(*HTMX_VARY)
def version_try(request: HttpRequest, slug: str, number: str) -> HttpResponse:
    _require(request, "library.view_template")
    template = _template(request, slug)
    if template.kind != Template.Kind.PROMPT:
        raise Http404("Only prompt templates can be tried.")
    version = _version(request, template, number)
    posted = request.method == "POST"
    form = TryForm(request.POST if posted else None, variables=version.variables, auto_id="try-%s")
    result = None
    if posted and form.is_valid():
        # Names the prompt does not declare are passed on too, so the renderer can report them.
        extra = {k: v for k, v in request.POST.items() if k != "csrfmiddlewaretoken" and k not in form.fields}
        result = selectors.version_try(version=version, values={**extra, **form.cleaned_data})
    context = {"template": template, "version": version, "form": form, "result": result, "tried": posted}
    page = "library/version_try.html"
    if _partial(request):
        page += "#try-result"
    return render(request, page, context)

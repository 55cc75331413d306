"""The audit trail page and its CSV export: for CoE staff and leadership (``core.view_auditevent``,
the same permission as ``/api/v1/audit/``). Filters live in the URL, so a filtered view can be
shared; htmx swaps only the table when they change, and the page works without JavaScript."""

from __future__ import annotations

from django import forms
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse, StreamingHttpResponse
from django.shortcuts import render
from django.utils import timezone
from django.views.decorators.http import require_GET
from django.views.decorators.vary import vary_on_headers

from . import selectors, selectors_audit
from .csv_export import csv_stream_response
from .filters import AuditEventFilter
from .keyset import keyset_page
from .pages import is_partial, require_perm

PAGE_SIZE = 50
PERM = "core.view_auditevent"
CURSOR_PARAMS = ("after", "before")


def _filterset(request: HttpRequest) -> AuditEventFilter:
    return AuditEventFilter(request.GET, queryset=selectors.audit_event_list())


def _query(request: HttpRequest) -> str:
    """The filters of the current URL, without its position: for the CSV link and the page links."""
    query = request.GET.copy()
    for name in CURSOR_PARAMS:
        query.pop(name, None)
    for name in [name for name, value in query.items() if value == ""]:
        query.pop(name)
    return query.urlencode()


def _object_type_choices(filterset: AuditEventFilter) -> None:
    """The object types present in the trail as a select (the API takes any ``app_label.model``)."""
    choices = [
        ("", "Any type"),
        *((label, f"{name} ({label})") for label, name in selectors_audit.audit_target_types()),
    ]
    current = filterset.data.get("target_type", "")
    if current and current not in dict(choices):
        choices.append((current, current))
    filterset.form.fields["target_type"].widget = forms.Select(choices=choices, attrs={"class": "audit-choice"})


@require_GET
@login_required
@vary_on_headers("HX-Request")
def audit_list(request: HttpRequest) -> HttpResponse:
    require_perm(request, PERM)
    filterset = _filterset(request)
    page = keyset_page(filterset.qs, after=request.GET.get("after"), before=request.GET.get("before"), size=PAGE_SIZE)
    context = {
        "filterset": filterset,
        "form": filterset.form,
        "page": page,
        "rows": selectors_audit.audit_rows(page.items),
        "query": _query(request),
        "filtered": filterset.active,
    }
    template = "core/audit_list.html"
    if is_partial(request):
        template += "#audit-table"
    else:
        _object_type_choices(filterset)
        context["actions"] = selectors_audit.audit_actions()
    return render(request, template, context)


@require_GET
@login_required
def audit_export(request: HttpRequest) -> HttpResponse | StreamingHttpResponse:
    """Every entry that matches the filters (not one page), streamed. A filter that does not parse
    is refused rather than ignored: an export must not hold more than was asked for."""
    require_perm(request, PERM)
    filterset = _filterset(request)
    if not filterset.is_valid():
        problems = "; ".join(f"{name}: {' '.join(errors)}" for name, errors in filterset.errors.items())
        context = {"status": 400, "title": "Bad filter", "message": f"The export was not made. {problems}"}
        return render(request, "error.html", context, status=400)
    return csv_stream_response(
        filename=f"audit-trail-{timezone.localdate():%Y-%m-%d}.csv",
        columns=selectors_audit.EXPORT_COLUMNS,
        rows=selectors_audit.audit_export_rows(filterset.qs),
    )

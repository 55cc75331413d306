"""The dashboard pages: one view and one template for all, each dashboard's numbers built by its
module (``base.Dashboard``). ``?export=<chart or table>`` answers the data behind it as CSV."""

from __future__ import annotations

from importlib import import_module
from typing import Any

from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_GET
from django.views.decorators.vary import vary_on_headers

from apps.core.pages import is_partial, require_perm
from apps.registry.models import Workload

from .base import Dashboard, csv_response
from .filters import FilterForm, Filters

# name → (permission, module, title in the tabs)
DASHBOARDS: dict[str, tuple[str, str, str]] = {
    "portfolio": ("dashboards.view_portfolio", "apps.dashboards.portfolio", "Portfolio"),
    "models": ("dashboards.view_models", "apps.dashboards.model_comparison", "Model comparison"),
    "compliance": ("dashboards.view_compliance", "apps.dashboards.compliance", "Compliance posture"),
    "adoption": ("dashboards.view_adoption", "apps.dashboards.adoption", "Guidance adoption and feedback"),
}


def build(name: str, *, user: Any, query: Any, **kwargs: Any) -> tuple[Dashboard, FilterForm]:
    """The dashboard ``name`` for ``user``, filtered by ``query`` (a QueryDict), and the filter
    form (with its errors, if any)."""
    module = "apps.dashboards.operations" if name == "operations" else DASHBOARDS[name][1]
    filters, form = Filters.from_query(query)
    return import_module(module).build(user=user, filters=filters, query=query, **kwargs), form


def tabs_for(user: Any) -> list[dict[str, str]]:
    return [{"name": name, "title": title} for name, (perm, _, title) in DASHBOARDS.items() if user.has_perm(perm)]


def _answer(request: HttpRequest, built: tuple[Dashboard, FilterForm], context: dict[str, Any]) -> HttpResponse:
    dashboard, form = built
    if key := request.GET.get("export"):
        part = dashboard.part(key)
        if part is None:
            raise Http404("No such chart or table on this dashboard.")
        stamp = f"{dashboard.filters.start:%Y%m%d}-{dashboard.filters.end:%Y%m%d}"
        return csv_response(filename=f"{dashboard.name}-{key}-{stamp}.csv", columns=part.columns, rows=part.rows)
    context = {"dashboard": dashboard, "form": form, "tabs": tabs_for(request.user), **context}
    template = "dashboards/dashboard.html"
    if is_partial(request) and request.htmx.target == "dashboard-body":
        template += "#dashboard-body"
        context["oob"] = True  # the tabs, which carry the filters, come along out of band
    return render(request, template, context)


@require_GET
@login_required
def index(request: HttpRequest) -> HttpResponse:
    return redirect("dashboards:dashboard", name="portfolio")


@require_GET
@login_required
@vary_on_headers("HX-Request", "HX-Target")
def dashboard(request: HttpRequest, name: str) -> HttpResponse:
    if name not in DASHBOARDS:
        raise Http404("No such dashboard.")
    require_perm(request, DASHBOARDS[name][0])
    return _answer(request, build(name, user=request.user, query=request.GET), {"current": name})


@require_GET
@login_required
@vary_on_headers("HX-Request", "HX-Target")
def operations(request: HttpRequest, slug: str) -> HttpResponse:
    workload = get_object_or_404(Workload.objects.select_related("team", "live_release"), slug=slug)
    require_perm(request, "dashboards.view_operations", workload)
    built = build("operations", user=request.user, query=request.GET, workload=workload)
    return _answer(request, built, {"current": "operations", "workload": workload})

from __future__ import annotations

from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.http import Http404, HttpRequest, HttpResponse, HttpResponsePermanentRedirect, JsonResponse
from django.shortcuts import redirect, render
from django.templatetags.static import static
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET, require_POST
from django.views.decorators.vary import vary_on_headers
from django_htmx.http import trigger_client_event

from . import attention, selectors, services

SECTIONS: dict[str, tuple[str, str]] = {}  # none left to build; a new module starts here

# Sections that were placeholders once and are built now: old links lead to the real page.
BUILT_SECTIONS = {
    "registry": "registry:workload-list",
    "policies": "governance:policy-list",
    "templates": "library:template-list",
    "feedback": "feedback:thread-list",
    "dashboards": "dashboards:index",
}


def paginate(request: HttpRequest, queryset, per_page: int = 25):  # type: ignore[no-untyped-def]
    return Paginator(queryset, per_page).get_page(request.GET.get("page"))


@require_GET
@login_required
def home(request: HttpRequest) -> HttpResponse:
    return render(request, "core/home.html", {"cards": attention.cards_for(request)})


@require_GET
@login_required
def section(request: HttpRequest, section: str) -> HttpResponse:
    """Landing page for a module that has not been built yet: says so plainly."""
    if section in BUILT_SECTIONS:
        return redirect(BUILT_SECTIONS[section])
    if section not in SECTIONS:
        raise Http404("No such section.")
    title, purpose = SECTIONS[section]
    return render(request, "core/section.html", {"title": title, "purpose": purpose})


@require_GET
@login_required
@vary_on_headers("HX-Request")
def notification_list(request: HttpRequest) -> HttpResponse:
    unread_only = request.GET.get("show") == "unread"
    page = paginate(request, selectors.notification_list(user=request.user, unread_only=unread_only))
    template = "core/notification_list.html"
    if request.htmx:
        template += "#notification-table"
    return render(request, template, {"page": page, "unread_only": unread_only})


@require_POST
@login_required
def notification_mark_read(request: HttpRequest) -> HttpResponse:
    raw_ids = request.POST.getlist("id")
    ids = [int(i) for i in raw_ids if i.isascii() and i.isdigit()] if raw_ids else None
    services.notification_mark_read(user=request.user, notification_ids=ids)
    if request.htmx:
        # The list and the header badge refresh themselves on this event.
        return trigger_client_event(HttpResponse(status=204), "notifications-changed")
    return redirect("core:notification-list")


@require_GET
@login_required
def notification_badge(request: HttpRequest) -> HttpResponse:
    count = selectors.notification_unread_count(user=request.user)
    return render(request, "core/_notification_badge.html", {"unread_count": count})


@require_GET
def favicon(request: HttpRequest) -> HttpResponse:
    """Browsers ask for /favicon.ico on pages that link no icon (the admin's)."""
    return HttpResponsePermanentRedirect(static("img/favicon.svg"))


@require_GET
@never_cache
def healthz(request: HttpRequest) -> JsonResponse:
    """200 when the database, the broker and a recent worker heartbeat are all well, else 503.

    ``?only=database,broker`` narrows the answer, e.g. for a web container's own health check,
    which should not fail because the worker is down.
    """
    checks = selectors.health_check()
    only = {name for name in request.GET.get("only", "").split(",") if name in checks}
    if only:
        checks = {name: check for name, check in checks.items() if name in only}
    healthy = all(check.ok for check in checks.values())
    return JsonResponse(
        {"status": "ok" if healthy else "fail", "checks": {k: v.as_dict() for k, v in checks.items()}},
        status=200 if healthy else 503,
    )


# --- Error pages: friendly HTML for people, API.md's JSON for programs -------------------


def _wants_json(request: HttpRequest) -> bool:
    return request.path.startswith(("/api/", "/v1/"))


def _error(request: HttpRequest, status: int, title: str, message: str) -> HttpResponse:
    if _wants_json(request):
        return JsonResponse({"detail": message}, status=status)
    return render(request, "error.html", {"status": status, "title": title, "message": message}, status=status)


def bad_request(request: HttpRequest, exception: Exception | None = None) -> HttpResponse:
    return _error(request, 400, "Bad request", "The request could not be understood.")


def permission_denied(request: HttpRequest, exception: Exception | None = None) -> HttpResponse:
    return _error(
        request,
        403,
        "Not allowed",
        "You do not have permission to do this. If you think you should, ask the CoE team.",
    )


def page_not_found(request: HttpRequest, exception: Exception | None = None) -> HttpResponse:
    return _error(request, 404, "Page not found", "There is nothing at this address.")


def server_error(request: HttpRequest) -> HttpResponse:
    # No context processors here: the failure may be in one of them.
    if _wants_json(request):
        return JsonResponse({"detail": "Server error. It has been logged."}, status=500)
    from django.template import loader

    template = loader.get_template("500.html")
    return HttpResponse(template.render(), status=500)

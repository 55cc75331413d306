"""What every app's page views share: htmx partials, permission checks, service errors on
forms, and the answer after a change."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from django.core.exceptions import PermissionDenied
from django.forms import BaseForm
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect
from django_htmx.http import HttpResponseClientRedirect

from .exceptions import ApplicationError


def is_partial(request: HttpRequest) -> bool:
    """An htmx request for part of a page. A history restore wants the whole page."""
    htmx = getattr(request, "htmx", None)
    return bool(htmx) and not htmx.history_restore_request


def require_perm(request: HttpRequest, perm: str, obj: Any = None) -> None:
    """The friendly 403 page unless the person has ``perm`` (a ``rules`` permission)."""
    if not request.user.has_perm(perm, obj):
        raise PermissionDenied


def add_service_errors(form: BaseForm, exc: ApplicationError, renames: Mapping[str, str] | None = None) -> None:
    """Put a service's refusal on the form, beside the fields it names (``renames``: service
    field → form field); anything else goes on top."""
    for field, errors in exc.field_errors.items():
        name = (renames or {}).get(field, field)
        for error in errors:
            form.add_error(name if name in form.fields else None, error)
    if not exc.field_errors:
        form.add_error(None, exc.message)


def redirect_after_change(request: HttpRequest, url: str) -> HttpResponse:
    """After a change: htmx navigates the whole page (so its message shows), others follow a 302."""
    if is_partial(request):
        return HttpResponseClientRedirect(url)
    return redirect(url)

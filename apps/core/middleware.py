from __future__ import annotations

from collections.abc import Callable

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render

from .exceptions import ApplicationError


class ApplicationErrorMiddleware:
    """Turns a service's ApplicationError raised in a page view into an answer a person reads.

    htmx requests get the message partial, placed in the page's message area (htmx does not
    swap 4xx, so the partial comes with 200 and retarget headers). Other requests get the
    error page with the service's status. The API has its own handler (core.api.exceptions).
    """

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        return self.get_response(request)

    def process_exception(self, request: HttpRequest, exception: Exception) -> HttpResponse | None:
        if not isinstance(exception, ApplicationError) or request.path.startswith("/api/"):
            return None
        if getattr(request, "htmx", False):
            response = render(request, "_htmx_error.html", {"message": exception.message})
            response["HX-Retarget"] = "#messages"
            response["HX-Reswap"] = "innerHTML"
            return response
        return render(
            request,
            "error.html",
            {"status": exception.status, "title": "That did not work", "message": exception.message},
            status=exception.status,
        )

from __future__ import annotations

import functools
import json
import logging
from collections.abc import Callable

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render

from .exceptions import ApplicationError

logger = logging.getLogger(__name__)


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


class ServiceUnavailableMiddleware:
    """A view that fails because PostgreSQL or Redis is away (restarting, failing over) answers 503 with
    ``Retry-After``, not 500. Senders of telemetry retry a 503 with the same batch, which is stored once
    (its ids are the idempotency key); OTLP exporters drop a batch on a 500 (OTLP/HTTP retries only 429,
    502, 503 and 504). Errors raised outside a view (another middleware) still answer 500."""

    RETRY_AFTER_SECONDS = 5

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        return self.get_response(request)

    def process_exception(self, request: HttpRequest, exception: Exception) -> HttpResponse | None:
        if not isinstance(exception, _unavailable_errors()):
            return None
        logger.warning("%s %s: a backing service is unavailable (%s: %s); answered 503", request.method,
                       request.path, type(exception).__name__, exception)  # fmt: skip
        response = HttpResponse(
            json.dumps({"detail": "The service is briefly unavailable; retry the same request shortly."}),
            status=503,
            content_type="application/json",
        )
        response["Retry-After"] = str(self.RETRY_AFTER_SECONDS)
        return response


@functools.cache
def _unavailable_errors() -> tuple[type[BaseException], ...]:
    """The database's connection errors and Redis's (the cache, the rate limits)."""
    from django.db import InterfaceError, OperationalError
    from redis.exceptions import ConnectionError as RedisConnectionError
    from redis.exceptions import TimeoutError as RedisTimeoutError

    return (OperationalError, InterfaceError, RedisConnectionError, RedisTimeoutError)

"""One DRF exception handler: API.md's error shape for every error, ApplicationError included."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.core.exceptions import PermissionDenied, RequestDataTooBig
from django.http import Http404
from rest_framework import exceptions, status
from rest_framework.response import Response
from rest_framework.views import exception_handler as drf_exception_handler

from apps.core.exceptions import ApplicationError


class PayloadTooLarge(exceptions.APIException):
    status_code = status.HTTP_413_REQUEST_ENTITY_TOO_LARGE
    default_detail = "The request body is too large."
    default_code = "too_large"


def exception_handler(exc: Exception, context: dict[str, Any]) -> Response | None:
    if isinstance(exc, ApplicationError):
        body: dict[str, Any] = {"detail": exc.message}
        body.update(exc.field_errors)
        return Response(body, status=exc.status)
    if isinstance(exc, Http404):
        exc = exceptions.NotFound()
    elif isinstance(exc, PermissionDenied):
        exc = exceptions.PermissionDenied()
    elif isinstance(exc, RequestDataTooBig):  # Django's own check, should a view read request.body
        exc = PayloadTooLarge(f"The request body is larger than {settings.DATA_UPLOAD_MAX_MEMORY_SIZE:,} bytes.")
    elif isinstance(exc, exceptions.UnsupportedMediaType):
        exc = _unsupported(context)
    response = drf_exception_handler(exc, context)
    if response is not None and isinstance(response.data, list):
        # A bare ValidationError("…") (DRF's search filter's, a service's): API.md's bodies are objects.
        response.data = {"detail": " ".join(str(message) for message in response.data)}
    if response is not None and response.status_code == status.HTTP_429_TOO_MANY_REQUESTS:
        wait = getattr(exc, "wait", None)
        if wait:
            response["Retry-After"] = str(int(wait))
    return response


def _unsupported(context: dict[str, Any]) -> exceptions.UnsupportedMediaType:
    """DRF's message names the type sent; this one also names the type to send."""
    request = context.get("request")
    sent = getattr(request, "content_type", "") or "none"
    accepted = sorted({parser.media_type for parser in getattr(request, "parsers", None) or []})
    detail = f"Unsupported media type {sent!r}: send {', '.join(accepted) or 'application/json'}."
    return exceptions.UnsupportedMediaType(sent, detail)

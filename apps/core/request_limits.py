"""Request bodies: how large, and (on the API) of what type.

Django checks ``DATA_UPLOAD_MAX_MEMORY_SIZE`` only when something reads ``request.POST`` or
``request.body``, and answers 400 when it does; DRF's parsers read the stream and never check it.
So the limit is checked here, once, from ``Content-Length``, before CSRF or a parser reads a byte:
413, as JSON on the API and the error page on pages. The ingestion endpoints are left to their own
limit (``TELEMETRY_MAX_BODY_BYTES``, larger, gzip-aware).

The API takes JSON only (``DEFAULT_PARSER_CLASSES``), but DRF answers 415 only when a view reads
``request.data``: an action that ignores its body would take a form post. Any API write that carries
a body of a type the view's parsers do not take is answered 415 here. For the same reason, an action
that takes no body (publish, promote, resolve…) would ignore one that cannot be read and act: a body is
parsed here by the parser that takes it, and one that does not parse is answered 400 as the view's own
parser would answer it. (The view parses it again if it reads it: small, as the limit above keeps it.)
"""

from __future__ import annotations

from collections.abc import Callable
from io import BytesIO
from typing import Any

from django.conf import settings
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import render
from rest_framework import exceptions
from rest_framework.parsers import BaseParser
from rest_framework.settings import api_settings
from rest_framework.utils.mediatypes import media_type_matches

# Their own limit, encodings and answers: apps/telemetry/http.py.
OWN_LIMITS = frozenset({"api:telemetry-events", "otlp-traces"})
WRITES = frozenset({"POST", "PUT", "PATCH"})


def _is_api(request: HttpRequest) -> bool:
    return request.path.startswith(("/api/", "/v1/"))


def _content_length(request: HttpRequest) -> int:
    try:
        return max(0, int(request.META.get("CONTENT_LENGTH") or 0))
    except ValueError:
        return 0


def too_large(request: HttpRequest) -> HttpResponse:
    limit = settings.DATA_UPLOAD_MAX_MEMORY_SIZE
    message = f"The request body is larger than {limit:,} bytes."
    if _is_api(request):
        return JsonResponse({"detail": message}, status=413)
    context = {"status": 413, "title": "Too large", "message": message + " Send less at once."}
    return render(request, "error.html", context, status=413)


def _unreadable(request: HttpRequest, parser: type[BaseParser], content_type: str) -> HttpResponse | None:
    """400 if ``parser`` cannot read the body (read here once; Django keeps it for the view)."""
    try:
        parser().parse(BytesIO(request.body), content_type, {"request": request})
    except exceptions.ParseError as exc:
        return JsonResponse({"detail": str(exc.detail)}, status=400)
    return None


class RequestLimitsMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        return self.get_response(request)

    def process_view(
        self, request: HttpRequest, view_func: Callable[..., Any], view_args: Any, view_kwargs: Any
    ) -> HttpResponse | None:
        match = request.resolver_match
        if match is not None and match.view_name in OWN_LIMITS:
            return None
        length = _content_length(request)
        limit = settings.DATA_UPLOAD_MAX_MEMORY_SIZE
        if limit is not None and length > limit:
            return too_large(request)
        view_class = getattr(view_func, "cls", None)
        if view_class is None or request.method not in WRITES or not length:
            return None
        parsers = getattr(view_class, "parser_classes", None) or api_settings.DEFAULT_PARSER_CLASSES
        content_type = request.META.get("CONTENT_TYPE", "")
        parser = next((p for p in parsers if media_type_matches(p.media_type, content_type)), None)
        if parser is not None:
            return _unreadable(request, parser, content_type)
        accepted = ", ".join(sorted({parser.media_type for parser in parsers}))
        detail = f"Unsupported media type {content_type or 'none'!r}: send {accepted}."
        return JsonResponse({"detail": detail}, status=415)

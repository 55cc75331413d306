"""``POST /v1/traces``: OTLP/HTTP, as any OpenTelemetry SDK or collector sends it.

Answers follow the OTLP/HTTP specification: 200 with an ExportTraceServiceResponse in the
request's encoding (``partial_success`` when GenAI spans were rejected); 400 with a
google.rpc.Status when the body does not decode; 401, 413, 415 and 429 (with ``Retry-After``).
"""

from __future__ import annotations

import json

from django.http import HttpRequest, HttpResponse
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_POST

from apps.core.exceptions import ApplicationError

from . import http, otlp, services
from .ingest import events_store
from .models import Source


def _plain(status: int, detail: str, **headers: str) -> HttpResponse:
    response = HttpResponse(json.dumps({"detail": detail}), status=status, content_type="application/json")
    for name, value in headers.items():
        response[name.replace("_", "-")] = value
    return response


def _status(status: int, message: str, content_type: str, **headers: str) -> HttpResponse:
    body = otlp.serialize(otlp.error_status(message), content_type)
    response = HttpResponse(body, status=status, content_type=content_type)
    for name, value in headers.items():
        response[name.replace("_", "-")] = value
    return response


@csrf_exempt
@require_POST
def traces(request: HttpRequest) -> HttpResponse:
    content_type = (request.content_type or "").lower()
    key = http.key_for(request)
    if key is None:
        return _plain(401, "Send a workload's ingestion key: Authorization: Bearer coei_….", WWW_Authenticate="Bearer")
    if content_type not in (otlp.PROTOBUF, otlp.JSON):
        return _plain(415, f"Send {otlp.PROTOBUF} or {otlp.JSON}, not {content_type or 'nothing'}.")
    if key.workload.is_retired:
        return _status(403, "This workload is retired: it takes no new telemetry.", content_type)
    wait = http.rate_limited(key)
    if wait is not None:
        return _status(429, f"Too many requests for this key; retry in {wait} s.", content_type, Retry_After=str(wait))
    try:
        body = http.read_body(request, request.META.get("CONTENT_LENGTH"), request.headers.get("Content-Encoding", ""))
    except http.BodyTooLarge:
        return _status(413, f"The body is larger than {http.limit_text()}; send smaller batches.", content_type)
    except http.BadEncoding as exc:
        return _plain(415, f"Content-Encoding {exc} is not accepted; send gzip or none.")
    try:
        batch = otlp.read(otlp.decode(body, content_type))
    except ApplicationError as exc:
        return _status(400, exc.message, content_type)
    accepted = 0
    if batch.events:
        accepted = events_store(workload_id=key.workload_id, events=batch.events, source=Source.OTLP).accepted
    services.key_used(key=key, accepted=accepted, dropped=batch.dropped)
    return HttpResponse(otlp.response(batch, content_type), status=200, content_type=content_type)

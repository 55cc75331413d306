"""``POST /api/v1/telemetry/events``: the native JSON batch (API.md "Native telemetry event")."""

from __future__ import annotations

import json
from typing import Any

from django.contrib.auth.models import AnonymousUser
from drf_spectacular.extensions import OpenApiAuthenticationExtension
from drf_spectacular.utils import OpenApiExample, OpenApiResponse, extend_schema
from rest_framework import exceptions, parsers, permissions, serializers, status, throttling
from rest_framework.authentication import BaseAuthentication
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from apps.telemetry import http, services
from apps.telemetry.ingest import events_store, native_parse
from apps.telemetry.models import IngestionKey, Source


class IngestionKeyAuthentication(BaseAuthentication):
    """``Authorization: Bearer coei_…``: a workload's ingestion key. The request acts for no
    person; ``request.auth`` is the key."""

    def authenticate(self, request: Request) -> tuple[AnonymousUser, IngestionKey] | None:
        raw = http.bearer(request._request)
        if not raw:
            return None
        key = services.key_authenticate(raw=raw)
        if key is None:
            raise exceptions.AuthenticationFailed("Unknown or revoked ingestion key.")
        return AnonymousUser(), key

    def authenticate_header(self, request: Request) -> str:
        return "Bearer"


class IngestionKeyScheme(OpenApiAuthenticationExtension):
    target_class = IngestionKeyAuthentication
    name = "ingestionKey"

    def get_security_definition(self, auto_schema):  # type: ignore[no-untyped-def]
        return {"type": "http", "scheme": "bearer", "description": "A workload's ingestion key (coei_…)."}


class HasIngestionKey(permissions.BasePermission):
    message = "This workload is retired: it takes no new telemetry."

    def has_permission(self, request: Request, view: APIView) -> bool:
        if not isinstance(request.auth, IngestionKey):
            raise exceptions.NotAuthenticated("Send a workload's ingestion key: Authorization: Bearer coei_….")
        return not request.auth.workload.is_retired


class IngestionKeyThrottle(throttling.BaseThrottle):
    def allow_request(self, request: Request, view: APIView) -> bool:
        self.retry_after = http.rate_limited(request.auth)
        return self.retry_after is None

    def wait(self) -> float | None:
        return self.retry_after


class PayloadTooLarge(exceptions.APIException):
    status_code = status.HTTP_413_REQUEST_ENTITY_TOO_LARGE
    default_detail = "The body is too large."
    default_code = "too_large"


class TelemetryJSONParser(parsers.BaseParser):
    """JSON, optionally gzipped (``Content-Encoding: gzip``), within the size limit."""

    media_type = "application/json"

    def parse(self, stream, media_type=None, parser_context=None) -> Any:  # type: ignore[no-untyped-def]
        request = parser_context["request"]
        try:
            body = http.read_body(
                stream, request.META.get("CONTENT_LENGTH"), request.headers.get("Content-Encoding", "")
            )
        except http.BodyTooLarge as exc:
            raise PayloadTooLarge(f"The body is larger than {http.limit_text()}; send smaller batches.") from exc
        except http.BadEncoding as exc:
            raise exceptions.UnsupportedMediaType(
                f"Content-Encoding {exc}", "Send gzip or no Content-Encoding."
            ) from exc
        try:
            return json.loads(body, parse_constant=_refuse_constant)
        except (UnicodeDecodeError, ValueError, RecursionError) as exc:  # RecursionError: nested past Python's limit
            raise exceptions.ParseError(f"The body is not JSON: {exc}.") from exc


def _refuse_constant(name: str) -> None:
    raise ValueError(f"{name} is not a JSON number")


class EventInput(serializers.Serializer):
    event_id = serializers.CharField(max_length=128, help_text="Unique per workload: the idempotency key.")
    timestamp = serializers.DateTimeField(help_text="ISO 8601 with a zone; within the retention window.")
    operation = serializers.CharField(required=False, help_text="gen_ai.operation.name, e.g. chat.")
    provider = serializers.CharField(required=False, help_text="gen_ai.provider.name, e.g. openai.")
    model = serializers.CharField(help_text="gen_ai.response.model, else gen_ai.request.model.")
    input_tokens = serializers.IntegerField(min_value=0, required=False)
    output_tokens = serializers.IntegerField(min_value=0, required=False)
    latency_ms = serializers.FloatField(min_value=0, required=False)
    status = serializers.ChoiceField(choices=["ok", "error"], required=False)
    error_type = serializers.CharField(required=False, allow_null=True)
    release = serializers.CharField(required=False, help_text="The workload's release label, if known.")
    quality_score = serializers.FloatField(min_value=0, max_value=1, required=False, allow_null=True)
    user_rating = serializers.ChoiceField(choices=[-1, 0, 1], required=False, allow_null=True)
    safety_flags = serializers.ListField(child=serializers.CharField(), required=False)
    attributes = serializers.DictField(required=False, help_text="Anything else, kept as sent.")


class EventBatchInput(serializers.Serializer):
    events = EventInput(many=True)


class EventBatchOutput(serializers.Serializer):
    accepted = serializers.IntegerField(help_text="Events stored by this request.")
    duplicates = serializers.IntegerField(help_text="Events whose event_id was already stored (or repeated).")
    unpriced = serializers.IntegerField(help_text="Events whose model or price the catalogue does not know.")


class EventBatchView(APIView):
    authentication_classes = [IngestionKeyAuthentication]
    permission_classes = [HasIngestionKey]
    throttle_classes = [IngestionKeyThrottle]
    parser_classes = [TelemetryJSONParser]

    @extend_schema(
        operation_id="telemetry_events_create",
        request=EventBatchInput,
        responses={
            202: EventBatchOutput,
            400: OpenApiResponse(
                description='Invalid batch; nothing stored. {"events": {"3": {"input_tokens": [...]}}}'
            ),
            401: OpenApiResponse(description="No, unknown or revoked ingestion key."),
            403: OpenApiResponse(description="The key's workload is retired."),
            413: OpenApiResponse(description="Body too large."),
            415: OpenApiResponse(description="Not application/json (gzip allowed)."),
            429: OpenApiResponse(description="Rate-limited; see Retry-After."),
        },
        examples=[
            OpenApiExample(
                "One event",
                request_only=True,
                value={
                    "events": [
                        {
                            "event_id": "b7c1f0",
                            "timestamp": "2026-11-20T10:15:00Z",
                            "operation": "chat",
                            "provider": "openai",
                            "model": "gpt-4o-mini",
                            "input_tokens": 812,
                            "output_tokens": 164,
                            "latency_ms": 930.5,
                            "status": "ok",
                            "release": "1.4.0",
                            "quality_score": 0.86,
                            "user_rating": 1,
                            "safety_flags": [],
                            "attributes": {},
                        }
                    ]
                },
            )
        ],
        description="A batch of telemetry events for the ingestion key's workload. The whole batch is validated "
        "first; every event is priced at the catalogue's price in force at its timestamp; the answer comes after the "
        "commit. Sending the same event_id again stores nothing (counted in duplicates). Gzip bodies accepted.",
        tags=["telemetry"],
    )
    def post(self, request: Request) -> Response:
        key: IngestionKey = request.auth
        events = native_parse(request.data)
        result = events_store(workload_id=key.workload_id, events=events, source=Source.NATIVE)
        services.key_used(key=key, accepted=result.accepted)
        body = {"accepted": result.accepted, "duplicates": result.duplicates, "unpriced": result.unpriced}
        return Response(body, status=status.HTTP_202_ACCEPTED)

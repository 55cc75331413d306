"""What both ingestion endpoints share: the Bearer key, the per-key rate limit, the body's size
and encoding."""

from __future__ import annotations

import zlib

from django.conf import settings
from django.http import HttpRequest

from apps.core import ratelimit

from . import services
from .models import IngestionKey


class BodyTooLarge(Exception):
    pass


class BadEncoding(Exception):
    pass


def bearer(request: HttpRequest) -> str:
    header = request.META.get("HTTP_AUTHORIZATION", "")
    scheme, _, value = header.partition(" ")
    return value.strip() if scheme.lower() == "bearer" else ""


def key_for(request: HttpRequest) -> IngestionKey | None:
    raw = bearer(request)
    return services.key_authenticate(raw=raw) if raw else None


def rate_limited(key: IngestionKey) -> int | None:
    """Per key, ``TELEMETRY_RATE_LIMIT_PER_MINUTE`` counted by ``apps.core.ratelimit`` in the shared cache.
    Return the seconds to wait when over the limit, else None."""
    limit = settings.TELEMETRY_RATE_LIMIT_PER_MINUTE
    if not limit:
        return None
    return ratelimit.hit(f"telemetry:rate:{key.pk}", limit=limit, seconds=60)


def read_body(stream, content_length: str | None, encoding: str) -> bytes:  # type: ignore[no-untyped-def]
    """The request body, gunzipped if sent so; BodyTooLarge past the limit (before or after
    decompression), BadEncoding for an encoding other than gzip or identity."""
    limit = settings.TELEMETRY_MAX_BODY_BYTES
    try:
        length = int(content_length or 0)
    except ValueError:
        length = 0
    if length > limit:
        raise BodyTooLarge
    body = stream.read(limit + 1) if stream is not None else b""
    if len(body) > limit:
        raise BodyTooLarge
    encoding = (encoding or "identity").strip().lower()
    if encoding in ("", "identity"):
        return body
    if encoding != "gzip":
        raise BadEncoding(encoding)
    inflater = zlib.decompressobj(16 + zlib.MAX_WBITS)
    try:
        data = inflater.decompress(body, limit + 1)
    except zlib.error as exc:
        raise BadEncoding("gzip (corrupt)") from exc
    if len(data) > limit or inflater.unconsumed_tail:
        raise BodyTooLarge
    return data


def limit_text() -> str:
    return f"{settings.TELEMETRY_MAX_BODY_BYTES // (1024 * 1024)} MiB"

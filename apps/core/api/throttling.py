"""The API's rate limits (``REST_FRAMEWORK["DEFAULT_THROTTLE_CLASSES"]``): per person when signed in,
whatever the credential (session or personal token: one person's tokens share one allowance, so
minting tokens buys no extra requests), per address when not. Counted by ``apps.core.ratelimit`` in the
default cache, which is Redis when ``REDIS_URL`` is set, so every web process shares one count, and
atomically (DRF's own throttles read a list of times and write it back, so processes racing each other
let a burst through). The exception handler answers 429 with ``Retry-After``.

Ingestion keys have their own limit (``TELEMETRY_RATE_LIMIT_PER_MINUTE``,
``apps.telemetry.api.ingest.IngestionKeyThrottle``); those views replace these classes.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from rest_framework import throttling
from rest_framework.settings import api_settings

from apps.core import ratelimit

if TYPE_CHECKING:  # rest_framework.views imports this module through the settings
    from rest_framework.request import Request
    from rest_framework.views import APIView


class _SharedRate(throttling.SimpleRateThrottle):
    """DRF's rate (``"600/min"``) and cache key, counted by ``ratelimit.hit``. DRF binds ``THROTTLE_RATES``
    once, at import; the rate is read per request instead, so a changed ``REST_FRAMEWORK`` (tests'
    ``override_settings``) takes effect."""

    retry_after: int | None = None

    def get_rate(self) -> str | None:
        return api_settings.DEFAULT_THROTTLE_RATES.get(self.scope)

    def allow_request(self, request: Request, view: APIView) -> bool:
        if self.rate is None:
            return True
        key = self.get_cache_key(request, view)
        if key is None:
            return True
        self.retry_after = ratelimit.hit(key, limit=self.num_requests, seconds=self.duration)
        return self.retry_after is None

    def wait(self) -> float | None:
        return self.retry_after


class PersonThrottle(_SharedRate):
    scope = "person"

    def get_cache_key(self, request: Request, view: APIView) -> str | None:
        if not (request.user and request.user.is_authenticated):
            return None  # AnonymousThrottle's
        return self.cache_format % {"scope": self.scope, "ident": request.user.pk}


class AnonymousThrottle(_SharedRate):
    scope = "anonymous"

    def get_cache_key(self, request: Request, view: APIView) -> str | None:
        if request.user and request.user.is_authenticated:
            return None
        return self.cache_format % {"scope": self.scope, "ident": self.get_ident(request)}

"""Pull sources: fetch a workload's events from its own HTTP endpoint, resuming from the stored
cursor. The endpoint answers ``GET <url>?cursor=<cursor>`` (no cursor on the first fetch) with
``{"events": [ …native events… ], "next_cursor": "…"}``; an empty page or an unchanged cursor
means "nothing more for now".

A page is stored, then the cursor moves. If a worker dies between the two, the next fetch asks
for the same page again and idempotency keys make the repeat store nothing. Failures back off
exponentially (interval × 2ⁿ, at most six hours) and show on the panel; the third failure in a
row raises an alert, the next success closes it.
"""

from __future__ import annotations

import http.client
import ipaddress
import json
import socket
from datetime import timedelta
from urllib.error import HTTPError, URLError
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit
from urllib.request import HTTPRedirectHandler, Request, build_opener

from django.conf import settings
from django.db.models import F
from django.utils import timezone

from apps.core.exceptions import ApplicationError

from . import alerts
from .ingest import events_store, native_parse
from .models import Alert, PullSource, Source

TIMEOUT_SECONDS = 15
MAX_PAGES_PER_RUN = 20
MAX_BACKOFF = timedelta(hours=6)
ALERT_AFTER_FAILURES = 3
CURSOR_MAX_LENGTH = PullSource._meta.get_field("cursor").max_length


class PullError(Exception):
    pass


class _NoRedirects(HTTPRedirectHandler):
    def redirect_request(self, *args, **kwargs):  # type: ignore[no-untyped-def]
        return None  # a redirect could point anywhere; the team registers the final URL


def _page_url(url: str, cursor: str) -> str:
    parts = urlsplit(url)
    query = [(k, v) for k, v in parse_qsl(parts.query, keep_blank_values=True) if k != "cursor"]
    if cursor:
        query.append(("cursor", cursor))
    return urlunsplit((parts.scheme, parts.netloc, parts.path, urlencode(query), ""))


def _check_address(url: str) -> None:
    """Refuse private, loopback and link-local addresses unless the deployment allows them: a pull
    source must not become a way to read the portal's own network."""
    if settings.TELEMETRY_PULL_ALLOW_PRIVATE:
        return
    host = urlsplit(url).hostname or ""
    try:
        addresses = {info[4][0] for info in socket.getaddrinfo(host, None)}
    except OSError as exc:
        raise PullError(f"Cannot resolve {host}: {exc}") from exc
    for address in addresses:
        ip = ipaddress.ip_address(address.split("%")[0])
        # not is_global: private, loopback, link-local, reserved, unspecified and shared (100.64/10).
        if not ip.is_global or ip.is_multicast:
            raise PullError(f"{host} resolves to a private address ({ip}); not allowed here.")


def _check_scheme(url: str) -> None:
    """Only http(s), as services check when a source is saved: the admin's URL field would also take
    ftp://, and urllib would follow file:// too."""
    scheme = urlsplit(url).scheme
    if scheme != "https" and not (scheme == "http" and settings.TELEMETRY_PULL_ALLOW_HTTP):
        raise PullError(f"{scheme or 'A missing'} scheme is not allowed here; use https.")


def fetch_page(source: PullSource, cursor: str) -> dict:
    url = _page_url(source.url, cursor)
    _check_scheme(url)
    _check_address(url)
    headers = {"Accept": "application/json", "User-Agent": "coe-portal-pull/1"}
    authorization = source.auth_header()
    if authorization is None:
        raise PullError("The Authorization header can no longer be read (the secret key changed): set it again.")
    if authorization:
        headers["Authorization"] = authorization
    opener = build_opener(_NoRedirects)
    limit = settings.TELEMETRY_MAX_BODY_BYTES
    try:
        with opener.open(Request(url, headers=headers), timeout=TIMEOUT_SECONDS) as answer:  # noqa: S310 (checked)
            body = answer.read(limit + 1)
            missing = answer.length  # what the Content-Length announced and the connection never brought
    except HTTPError as exc:
        raise PullError(f"HTTP {exc.code} from the source.") from exc
    except (URLError, TimeoutError, OSError) as exc:
        reason = getattr(exc, "reason", exc)
        raise PullError(f"Could not reach the source: {reason}.") from exc
    except http.client.HTTPException as exc:  # not HTTP, or cut short: IncompleteRead, BadStatusLine…
        raise PullError(f"The source's answer was not valid HTTP: {exc!r}.") from exc
    if len(body) > limit:
        raise PullError(f"The page is larger than {limit:,} bytes; serve smaller pages.")
    if missing:
        raise PullError(f"The source's answer was not valid HTTP: cut short, {missing:,} bytes missing.")
    try:
        payload = json.loads(body)
    except ValueError as exc:
        raise PullError("The source did not answer with JSON.") from exc
    if not isinstance(payload, dict) or not isinstance(payload.get("events"), list):
        raise PullError('The source must answer {"events": [...], "next_cursor": "..."}.')
    return payload


def source_fetch(*, source_id: int) -> int:
    """Fetch everything new from one source (up to MAX_PAGES_PER_RUN pages); return events stored."""
    source = PullSource.objects.select_related("workload").filter(pk=source_id, enabled=True).first()
    if source is None or source.workload.is_retired:  # a retired workload takes no new telemetry
        return 0
    now = timezone.now()
    stored = 0
    try:
        for _ in range(MAX_PAGES_PER_RUN):
            payload = fetch_page(source, source.cursor)
            next_cursor = payload.get("next_cursor")
            if next_cursor is not None and (isinstance(next_cursor, bool) or not isinstance(next_cursor, str | int)):
                raise PullError("next_cursor must be a string.")
            next_cursor = "" if next_cursor is None else str(next_cursor)
            if len(next_cursor) > CURSOR_MAX_LENGTH:  # cut short, it would resume somewhere else
                raise PullError(f"next_cursor is longer than {CURSOR_MAX_LENGTH} characters.")
            events = payload["events"]
            if events:
                try:
                    parsed = native_parse(payload)
                except ApplicationError as exc:
                    raise PullError(f"{exc.message} {json.dumps(exc.field_errors)[:600]}") from exc
                stored += events_store(workload_id=source.workload_id, events=parsed, source=Source.PULL).accepted
            moved = next_cursor and next_cursor != source.cursor
            if moved:
                source.cursor = next_cursor
                PullSource.objects.filter(pk=source.pk).update(cursor=source.cursor)
            if not events or not moved:
                break
    except PullError as exc:
        _failed(source, str(exc), now, stored)
        return stored
    PullSource.objects.filter(pk=source.pk).update(
        last_run_at=now, last_success_at=timezone.now(), consecutive_failures=0, last_error="",
        events_pulled=F("events_pulled") + stored, next_run_at=now + timedelta(minutes=source.interval_minutes),
    )  # fmt: skip
    alerts.alert_resolve(workload=source.workload, key=f"source:{source.pk}")
    return stored


def _failed(source: PullSource, message: str, now, stored: int) -> None:  # type: ignore[no-untyped-def]
    """Record a failed run; pages stored before the failure still count."""
    failures = source.consecutive_failures + 1
    # The exponent is capped: past 2²⁰ × the interval the delay is MAX_BACKOFF anyway, and timedelta overflows.
    delay = min(timedelta(minutes=source.interval_minutes) * 2 ** min(failures, 20), MAX_BACKOFF)
    PullSource.objects.filter(pk=source.pk).update(
        last_run_at=now, last_error=message[:2000], last_error_at=now, consecutive_failures=failures,
        next_run_at=now + delay, events_pulled=F("events_pulled") + stored,
    )  # fmt: skip
    if failures >= ALERT_AFTER_FAILURES:
        alerts.alert_raise(
            workload=source.workload, kind=Alert.Kind.SOURCE, key=f"source:{source.pk}",
            title=f"{source.workload.name}: pull source “{source.name}” is failing",
            detail=f"{failures} failures in a row. Last: {message}",
        )  # fmt: skip


def sources_due(*, now=None) -> list[int]:  # type: ignore[no-untyped-def]
    """Claim the sources due now: move their next run forward so a second dispatcher skips them."""
    now = now or timezone.now()
    due = list(PullSource.objects.filter(enabled=True, next_run_at__lte=now).values_list("pk", "interval_minutes"))
    claimed = []
    for pk, minutes in due:
        if PullSource.objects.filter(pk=pk, next_run_at__lte=now).update(next_run_at=now + timedelta(minutes=minutes)):
            claimed.append(pk)
    return claimed

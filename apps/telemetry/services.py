"""Telemetry writes that people make: ingestion keys, pull sources, alerts closed, scoring asked for.
The ingestion path itself is ``ingest.py``/``otlp.py``; rollups and scoring run in tasks."""

from __future__ import annotations

import secrets
import time
from datetime import timedelta
from urllib.parse import urlsplit

from django.conf import settings
from django.db import connection, transaction
from django.http import HttpRequest
from django.utils import timezone

from apps.accounts.models import User
from apps.core.exceptions import ApplicationError
from apps.core.services import audit_record
from apps.registry.models import Workload

from .models import Alert, IngestionKey, PullSource

MAX_ACTIVE_KEYS = 20
LAST_USED_GRANULARITY = timedelta(seconds=30)


# --- Ingestion keys ----------------------------------------------------------------------------


@transaction.atomic
def key_create(
    *, workload: Workload, name: str, actor: User | None, request: HttpRequest | None = None
) -> tuple[IngestionKey, str]:
    """Create a key; return it with the raw value, which is never stored and shown once."""
    workload = Workload.objects.select_for_update().get(pk=workload.pk)
    if workload.is_retired:
        raise ApplicationError("This workload is retired: it takes no new telemetry.")
    name = (name or "").strip()
    if not name:
        raise ApplicationError("Name the key.", field_errors={"name": ["This field is required."]})
    if len(name) > 100:
        raise ApplicationError("Shorten the name.", field_errors={"name": ["At most 100 characters."]})
    active = IngestionKey.objects.filter(workload=workload, revoked_at__isnull=True)
    if active.filter(name=name).exists():
        raise ApplicationError(
            "An active key has that name.", field_errors={"name": ["Already in use by an active key."]}
        )
    if active.count() >= MAX_ACTIVE_KEYS:
        raise ApplicationError(f"The workload already has {MAX_ACTIVE_KEYS} active keys; revoke one first.")
    raw = IngestionKey.PREFIX + secrets.token_urlsafe(32)
    key = IngestionKey.objects.create(
        workload=workload, name=name, digest=IngestionKey.digest_of(raw), hint=raw[: len(IngestionKey.PREFIX) + 6],
        created_by=actor,
    )  # fmt: skip
    audit_record(actor=actor, action="ingestion_key.create", target=key,
                 changes={"workload": workload.slug, "name": name}, request=request)  # fmt: skip
    return key, raw


@transaction.atomic
def key_revoke(*, key: IngestionKey, actor: User | None, request: HttpRequest | None = None) -> IngestionKey:
    key = IngestionKey.objects.select_for_update().select_related("workload").get(pk=key.pk)
    if key.revoked_at is None:
        key.revoked_at = timezone.now()
        key.revoked_by = actor
        key.save(update_fields=["revoked_at", "revoked_by"])
        audit_record(actor=actor, action="ingestion_key.revoke", target=key,
                     changes={"workload": key.workload.slug, "name": key.name}, request=request)  # fmt: skip
    key_forget(key=key)  # now, and again once the revocation is committed for all to read
    transaction.on_commit(lambda: key_forget(key=key))
    return key


# Active keys found by key_authenticate, remembered per process for a few seconds: a sender posts
# many batches a second with one key, and reading the key and its workload costs ~1-2 ms of the
# worker's CPU each time. So a revocation (or the workload's retirement) takes effect at once in
# the process that made it (key_revoke forgets the key) and within KEY_CACHE_SECONDS in the other
# web workers. Unknown and revoked keys are never remembered: they are looked up every time.
KEY_CACHE_SECONDS = 5.0
KEY_CACHE_MAX = 1000
_key_cache: dict[str, tuple[float, IngestionKey]] = {}
_clock = time.monotonic  # the cache's clock (tests move it forward)


def key_authenticate(*, raw: str) -> IngestionKey | None:
    """The active key for a raw value (with its workload), or None. The key may be up to
    KEY_CACHE_SECONDS old (see above); the same instance is handed to the requests in that time."""
    if not raw or not raw.startswith(IngestionKey.PREFIX) or len(raw) > 100:
        return None
    digest = IngestionKey.digest_of(raw)
    now = _clock()
    cached = _key_cache.get(digest)
    if cached is not None and cached[0] > now:
        return cached[1]
    key = IngestionKey.objects.select_related("workload").filter(digest=digest, revoked_at__isnull=True).first()
    if key is None:
        _key_cache.pop(digest, None)
        return None
    if len(_key_cache) >= KEY_CACHE_MAX:  # senders' keys are few; drop what expired, else start over
        for name, (until, _) in list(_key_cache.items()):
            if until <= now:
                _key_cache.pop(name, None)
        if len(_key_cache) >= KEY_CACHE_MAX:
            _key_cache.clear()
    _key_cache[digest] = (now + KEY_CACHE_SECONDS, key)
    return key


def key_forget(*, key: IngestionKey) -> None:
    """Drop a key from this process's cache of authenticated keys."""
    _key_cache.pop(key.digest, None)


def key_used(*, key: IngestionKey, accepted: int, dropped: int = 0) -> None:
    """Count what a key sent; after the batch's commit, outside its transaction."""
    # The UPDATE .filter(pk=…).update(events_accepted=F(…) + accepted, …) makes, written out:
    # compiling it cost more CPU than running it, once per batch.
    now = timezone.now()
    columns, params = [], []
    if accepted:
        columns.append('"events_accepted" = "events_accepted" + %s')
        params.append(accepted)
    if dropped:
        columns.append('"spans_dropped" = "spans_dropped" + %s')
        params.append(dropped)
    if key.last_used_at is None or now - key.last_used_at > LAST_USED_GRANULARITY:
        columns.append('"last_used_at" = %s')
        params.append(connection.ops.adapt_datetimefield_value(now))
        key.last_used_at = now  # the instance may be cached (key_authenticate): it was used now
    if columns:
        with connection.cursor() as cursor:
            cursor.execute(
                f'UPDATE "{IngestionKey._meta.db_table}" SET {", ".join(columns)} WHERE "id" = %s',  # noqa: S608
                [*params, key.pk],
            )


# --- Pull sources --------------------------------------------------------------------------------


def _check_url(url: str) -> str:
    url = (url or "").strip()
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ApplicationError("Give an http(s) URL.", field_errors={"url": ["Give an http:// or https:// URL."]})
    if parts.scheme == "http" and not settings.TELEMETRY_PULL_ALLOW_HTTP:
        raise ApplicationError("Use https.", field_errors={"url": ["Plain http is not allowed here; use https."]})
    return url


def _safe_url(url: object) -> str:
    """A URL for the audit trail: without its query string or credentials, which may hold secrets."""
    parts = urlsplit(str(url))
    host = parts.hostname or ""
    return f"{parts.scheme}://{host}{f':{parts.port}' if parts.port else ''}{parts.path}"


def _check_interval(minutes: int) -> int:
    if not isinstance(minutes, int) or not 1 <= minutes <= 1440:
        raise ApplicationError(
            "Choose an interval.", field_errors={"interval_minutes": ["Between 1 and 1440 minutes."]}
        )
    return minutes


@transaction.atomic
def source_create(
    *, workload: Workload, name: str, url: str, interval_minutes: int = 5, auth_header: str = "",
    actor: User | None, request: HttpRequest | None = None,
) -> PullSource:  # fmt: skip
    if workload.is_retired:
        raise ApplicationError("This workload is retired: it takes no new telemetry.")
    name = (name or "").strip()
    if not name:
        raise ApplicationError("Name the source.", field_errors={"name": ["This field is required."]})
    if PullSource.objects.filter(workload=workload, name=name).exists():
        raise ApplicationError("A source has that name.", field_errors={"name": ["Already used by another source."]})
    source = PullSource(
        workload=workload, name=name[:100], url=_check_url(url), interval_minutes=_check_interval(interval_minutes),
        created_by=actor, next_run_at=timezone.now(),
    )  # fmt: skip
    source.auth_header_set((auth_header or "").strip()[:500])
    source.save()
    changes = {"workload": workload.slug, "name": source.name, "url": _safe_url(source.url)}
    audit_record(actor=actor, action="pull_source.create", target=source, changes=changes, request=request)
    return source


@transaction.atomic
def source_update(
    *, source: PullSource, actor: User | None, request: HttpRequest | None = None, **changes: object
) -> PullSource:
    source = PullSource.objects.select_for_update().get(pk=source.pk)
    before = {}
    if "url" in changes:
        changes["url"] = _check_url(str(changes["url"]))
        if changes["url"] != source.url:
            source.cursor = ""  # another endpoint: its cursors mean nothing here
    if "auth_header" in changes:
        changes["auth_header"] = str(changes["auth_header"] or "").strip()[:500]
    if "interval_minutes" in changes:
        changes["interval_minutes"] = _check_interval(changes["interval_minutes"])  # type: ignore[arg-type]
    for field, value in changes.items():
        if field not in {"url", "interval_minutes", "enabled", "auth_header"}:
            raise ApplicationError(f"{field} cannot be changed.")
        if field == "auth_header":  # write-only, kept encrypted
            source.auth_header_set(value)  # type: ignore[arg-type]
            continue
        before[field] = getattr(source, field)
        setattr(source, field, value)
    if changes.get("enabled") is True and not before.get("enabled", True):
        source.consecutive_failures = 0
        source.next_run_at = timezone.now()
    source.save()
    shown = {k: (_safe_url(v) if k == "url" else v) for k, v in changes.items() if k != "auth_header"}
    audit_record(actor=actor, action="pull_source.update", target=source, changes=shown, request=request)
    return source


@transaction.atomic
def source_delete(*, source: PullSource, actor: User | None, request: HttpRequest | None = None) -> None:
    audit_record(actor=actor, action="pull_source.delete", target=source,
                 changes={"name": source.name, "url": _safe_url(source.url)}, request=request)  # fmt: skip
    source.delete()


# --- Alerts and scoring on demand ----------------------------------------------------------------


def alert_resolve(*, alert: Alert, actor: User, request: HttpRequest | None = None) -> Alert:
    closed = Alert.objects.filter(pk=alert.pk, resolved_at__isnull=True).update(
        resolved_at=timezone.now(), resolved_by=actor
    )
    if closed:
        audit_record(actor=actor, action="alert.resolve", target=alert, changes={"title": alert.title}, request=request)
    alert.refresh_from_db()
    return alert


def score_request(*, workload: Workload, actor: User | None) -> None:
    """Ask the workers to roll up what is pending and score today, then evaluate the controls."""
    from . import tasks

    if workload.is_retired:
        raise ApplicationError("This workload is retired: there is nothing new to score.")
    transaction.on_commit(lambda: tasks.score_now_task.delay(workload.pk))

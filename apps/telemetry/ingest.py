"""Turning a batch of telemetry into stored, priced events: the native shape's validation, pricing
and the bulk write. OTLP decoding lives in ``otlp.py`` and ends in the same ``EventIn``.

Rules (DESIGN.md "The telemetry path", API.md): the whole batch is validated before anything is
written; every event is priced at the catalogue's price in force at its timestamp (unknown models
are stored unpriced); the idempotency key per workload makes a resend store nothing twice; the
answer comes after the commit.
"""

from __future__ import annotations

import functools
import io
import json
import math
from bisect import bisect_right
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

from django.conf import settings
from django.db import IntegrityError, connection, transaction
from django.utils import timezone

from apps.core.exceptions import ApplicationError
from apps.registry.models import BASE_CURRENCY, AIModel, ModelPrice
from apps.registry.selectors import Rates, model_resolve

from .models import Event, latency_bucket, quality_bucket

MILLION = Decimal(1_000_000)
COST_PLACES = Decimal("0.00000001")
FUTURE_SKEW = timedelta(hours=1)


@dataclass(slots=True)
class EventIn:
    """One validated event, whatever the wire it came on."""

    event_key: str
    timestamp: datetime
    model_name: str = ""
    provider: str = ""
    operation: str = ""
    input_tokens: int = 0
    output_tokens: int = 0
    latency_ms: float | None = None
    is_error: bool = False
    error_type: str = ""
    release: str = ""
    quality_score: float | None = None
    user_rating: int | None = None
    safety_flags: list[str] = field(default_factory=list)
    attributes: dict[str, Any] = field(default_factory=dict)


@dataclass(slots=True)
class StoreResult:
    accepted: int
    duplicates: int
    unpriced: int


def time_window(now: datetime | None = None) -> tuple[datetime, datetime]:
    """Events must fall inside [now − retention, now + 1 h]: older ones would be deleted by the
    next retention run, later ones are a sender's clock gone wrong."""
    now = now or timezone.now()
    return now - timedelta(days=settings.TELEMETRY_RETENTION_DAYS), now + FUTURE_SKEW


# --- The native shape ----------------------------------------------------------------------------

NATIVE_FIELDS = {
    "event_id", "timestamp", "operation", "provider", "model", "input_tokens", "output_tokens", "latency_ms",
    "status", "error_type", "release", "quality_score", "user_rating", "safety_flags", "attributes",
}  # fmt: skip
STATUSES = {"ok": False, "error": True}


def _text(value: Any, errors: dict[str, list[str]], name: str, *, max_length: int, required: bool = False) -> str:
    if value is None or value == "":
        if required:
            errors[name] = ["This field is required."]
        return ""
    if not isinstance(value, str):
        errors[name] = ["Must be a string."]
        return ""
    if len(value) > max_length:
        errors[name] = [f"At most {max_length} characters."]
        return ""
    return value


MAX_TOKENS = 2_000_000_000  # a token count's column is a 32-bit integer


def _count(value: Any, errors: dict[str, list[str]], name: str) -> int:
    if value is None:
        return 0
    if isinstance(value, bool) or not isinstance(value, int):
        errors[name] = ["Must be a whole number."]
        return 0
    if not 0 <= value <= MAX_TOKENS:
        errors[name] = ["Must be between 0 and 2,000,000,000."]
        return 0
    return value


def _number(value: Any, errors: dict[str, list[str]], name: str, *, low: float, high: float) -> float | None:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        errors[name] = ["Must be a number."]
        return None
    if not low <= value <= high:
        errors[name] = [f"Must be between {low:g} and {high:g}."]
        return None
    return float(value)


def parse_timestamp(value: Any, window: tuple[datetime, datetime]) -> tuple[datetime | None, str | None]:
    if not isinstance(value, str) or not value:
        return None, "This field is required: an ISO 8601 time with a zone, e.g. 2026-11-20T10:15:00Z."
    try:
        moment = datetime.fromisoformat(value)
    except ValueError:
        return None, "Not an ISO 8601 time, e.g. 2026-11-20T10:15:00Z."
    if moment.tzinfo is None:
        return None, "Give a time zone (Z or +00:00)."
    return _in_window(moment.astimezone(UTC), window)


def _in_window(moment: datetime, window: tuple[datetime, datetime]) -> tuple[datetime | None, str | None]:
    if moment < window[0]:
        return None, f"Older than the {settings.TELEMETRY_RETENTION_DAYS}-day retention."
    if moment > window[1]:
        return None, "More than an hour in the future: check the sender's clock."
    return moment, None


def native_parse(payload: Any) -> list[EventIn]:
    """Validate a native batch (API.md) whole. Raise one ApplicationError naming every failing
    event and field (``{"events": {"3": {"input_tokens": ["…"]}}}``)."""
    if not isinstance(payload, dict) or not isinstance(payload.get("events"), list):
        raise ApplicationError("Send a JSON object with a list of events.",
                               field_errors={"events": ["Expected a list of events."]})  # fmt: skip
    raw_events = payload["events"]
    if not raw_events:
        raise ApplicationError("The batch is empty.", field_errors={"events": ["Send at least one event."]})
    limit = settings.TELEMETRY_MAX_BATCH_EVENTS
    if len(raw_events) > limit:
        raise ApplicationError(f"At most {limit} events per batch.",
                               field_errors={"events": [f"At most {limit} events per batch; split it."]})  # fmt: skip
    window = time_window()
    events: list[EventIn] = []
    failures: dict[str, dict[str, list[str]]] = {}
    for index, raw in enumerate(raw_events):
        errors: dict[str, list[str]] = {}
        event = _native_event(raw, errors, window)
        if errors:
            failures[str(index)] = errors
        elif event is not None:
            events.append(event)
    if failures:
        first = next(iter(failures))
        count = len(failures)
        message = f"{count} event{'s' if count > 1 else ''} invalid (first: event {first}); nothing was stored."
        raise ApplicationError(message, field_errors={"events": failures})  # type: ignore[dict-item]
    return events


def _native_event(raw: Any, errors: dict[str, list[str]], window: tuple[datetime, datetime]) -> EventIn | None:
    if not isinstance(raw, dict):
        errors["non_field_errors"] = ["Each event must be a JSON object."]
        return None
    for unknown in sorted(set(raw) - NATIVE_FIELDS):
        errors[unknown] = ["Unknown field; put extra data under attributes."]
    event_id = _text(raw.get("event_id"), errors, "event_id", max_length=128, required=True)
    timestamp, problem = parse_timestamp(raw.get("timestamp"), window)
    if problem:
        errors["timestamp"] = [problem]
    status = raw.get("status", "ok")
    if status not in STATUSES:
        errors["status"] = ['Must be "ok" or "error".']
    rating = raw.get("user_rating")
    if rating is not None and (isinstance(rating, bool) or not isinstance(rating, int) or rating not in (-1, 0, 1)):
        errors["user_rating"] = ["Must be -1, 0 or 1 (a whole number)."]
        rating = None
    flags = raw.get("safety_flags") or []
    if not isinstance(flags, list) or not all(isinstance(f, str) and 0 < len(f) <= 60 for f in flags):
        errors["safety_flags"] = ["Must be a list of short strings."]
        flags = []
    attributes = raw.get("attributes") or {}
    if not isinstance(attributes, dict):
        errors["attributes"] = ["Must be a JSON object."]
    event = EventIn(
        event_key=event_id,
        timestamp=timestamp or window[0],
        operation=_text(raw.get("operation"), errors, "operation", max_length=40),
        provider=_text(raw.get("provider"), errors, "provider", max_length=60).lower(),
        model_name=_text(raw.get("model"), errors, "model", max_length=120, required=True),
        input_tokens=_count(raw.get("input_tokens"), errors, "input_tokens"),
        output_tokens=_count(raw.get("output_tokens"), errors, "output_tokens"),
        latency_ms=_number(raw.get("latency_ms"), errors, "latency_ms", low=0, high=86_400_000),
        is_error=STATUSES.get(status, False),
        error_type=_text(raw.get("error_type"), errors, "error_type", max_length=120),
        release=_text(raw.get("release"), errors, "release", max_length=40),
        quality_score=_number(raw.get("quality_score"), errors, "quality_score", low=0, high=1),
        user_rating=rating,
        safety_flags=flags,
        attributes=attributes if isinstance(attributes, dict) else {},
    )
    if event.is_error and not event.error_type:
        event.error_type = "error"
    return event


# --- Pricing ----------------------------------------------------------------------------------------


@functools.cache
def _compiled(query: str, vendor: str) -> tuple[str, tuple]:
    """The SQL and parameters of the catalogue's queries, compiled once per process (and
    database vendor): compiling them is most of what reading a small catalogue costs."""
    queryset = {
        "catalogue": AIModel.objects.only("id", "provider", "model_id", "aliases", "match_pattern"),
        "prices": ModelPrice.objects.order_by("model_id", "effective_from"),
    }[query]
    return queryset.query.get_compiler(connection.alias).as_sql()


class Pricer:
    """Resolves model names to catalogue entries and prices, once per distinct name in a batch.

    The catalogue holds dozens of models, not thousands: it is read once per batch (one query for
    the models, one for their prices) and handed to ``model_resolve``, instead of a query or two
    per distinct name and model."""

    def __init__(self) -> None:
        self._models: dict[tuple[str, str], AIModel | None] = {}
        self._catalogue: list[AIModel] | None = None
        self._prices: dict[int, tuple[list[datetime], list[ModelPrice]]] | None = None
        self._rates = Rates()

    def model(self, provider: str, name: str) -> AIModel | None:
        key = (provider, name)
        if key not in self._models:
            found = self._resolve(name, provider) if name else None
            if found is None and provider and name:
                found = self._resolve(name, "")  # a provider spelled differently still finds the model
            self._models[key] = found
        return self._models[key]

    def _resolve(self, name: str, provider: str) -> AIModel | None:
        if self._catalogue is None:
            # What matching reads (the ordering is the model's, as model_resolve's queries have).
            self._catalogue = list(AIModel.objects.raw(*_compiled("catalogue", connection.vendor)))
        return model_resolve(name=name, provider=provider, catalogue=self._catalogue)

    def schedule(self, model: AIModel) -> tuple[list[datetime], list[ModelPrice]]:
        """The model's prices and when each took effect, oldest first."""
        if self._prices is None:
            self._prices = {}
            for price in ModelPrice.objects.raw(*_compiled("prices", connection.vendor)):
                starts, prices = self._prices.setdefault(price.model_id, ([], []))
                starts.append(price.effective_from)
                prices.append(price)
        return self._prices.get(model.pk, ([], []))

    def price(self, model: AIModel, at: datetime) -> ModelPrice | None:
        starts, prices = self.schedule(model)
        index = bisect_right(starts, at)
        return prices[index - 1] if index else None

    def cost(self, model: AIModel | None, event: EventIn) -> Decimal | None:
        if model is None:
            return None
        price = self.price(model, event.timestamp)
        if price is None:
            return None
        total = Decimal(event.input_tokens) * price.input_per_million + Decimal(event.output_tokens) * (
            price.output_per_million
        )
        if price.currency != BASE_CURRENCY:  # stored costs are in dollars; no rate that day: unpriced
            total = self._rates.convert(total, source=price.currency, target=BASE_CURRENCY, day=event.timestamp.date())
            if total is None:
                return None
        return (total / MILLION).quantize(COST_PLACES)


# --- The write ----------------------------------------------------------------------------------------

COLUMNS = (
    "workload_id", "event_key", "timestamp", "hour", "received_at", "source", "operation", "provider", "model_name",
    "ai_model_id", "release", "input_tokens", "output_tokens", "latency_ms", "latency_bucket", "is_error",
    "error_type", "cost", "quality_score", "quality_bucket", "user_rating", "safety_flags", "safety_flagged",
    "attributes",
)  # fmt: skip


def events_store(*, workload_id: int, events: list[EventIn], source: str) -> StoreResult:
    """Price and store a validated batch in one transaction; answer how many were new. Events whose
    key is already stored for the workload (or repeated in the batch) are duplicates."""
    unique: dict[str, EventIn] = {}
    for event in events:
        unique.setdefault(event.event_key, event)
    pricer = Pricer()
    now = timezone.now()
    if connection.vendor == "postgresql":
        text, hours, unpriced = _copy_text(workload_id, unique.values(), source, now, pricer)
        with transaction.atomic():
            inserted = _insert_postgresql(text)
            if inserted:
                pending_mark(workload_id=workload_id, hours=hours)
        return StoreResult(accepted=inserted, duplicates=len(events) - inserted, unpriced=unpriced)
    rows = []
    unpriced = 0
    for event in unique.values():
        model = pricer.model(event.provider, event.model_name)
        cost = pricer.cost(model, event)
        unpriced += cost is None
        rows.append(_row(workload_id, event, source, now, model, cost))
    hours = sorted({row[3] for row in rows})
    with transaction.atomic():
        inserted = _insert_generic(workload_id, rows)
        if inserted:
            pending_mark(workload_id=workload_id, hours=hours)
    return StoreResult(accepted=inserted, duplicates=len(events) - inserted, unpriced=unpriced)


def _row(workload_id: int, e: EventIn, source: str, now: datetime, model: AIModel | None, cost: Decimal | None):
    hour = e.timestamp.replace(minute=0, second=0, microsecond=0)
    return (
        workload_id, e.event_key, e.timestamp, hour, now, source, e.operation, e.provider, e.model_name,
        model.pk if model else None, e.release, e.input_tokens, e.output_tokens, e.latency_ms,
        latency_bucket(e.latency_ms) if e.latency_ms is not None else None, e.is_error, e.error_type, cost,
        e.quality_score, quality_bucket(e.quality_score) if e.quality_score is not None else None, e.user_rating,
        e.safety_flags, bool(e.safety_flags), e.attributes,
    )  # fmt: skip


def _insert_generic(workload_id: int, rows: list[tuple]) -> int:
    """SQLite (one writer at a time): skip the keys already stored, insert the rest."""
    keys = [row[1] for row in rows]
    existing: set[str] = set()
    for start in range(0, len(keys), 500):
        existing.update(
            Event.objects.filter(workload_id=workload_id, event_key__in=keys[start : start + 500]).values_list(
                "event_key", flat=True
            )
        )
    new = [Event(**dict(zip(COLUMNS, row, strict=True))) for row in rows if row[1] not in existing]
    Event.objects.bulk_create(new, batch_size=500, ignore_conflicts=True)
    return len(new)


_TEMP_TABLE = "telemetry_event_incoming"
_COPY_ESCAPES = str.maketrans({"\\": "\\\\", "\t": "\\t", "\n": "\\n", "\r": "\\r"})
# json.dumps(value, separators=(",", ":"), allow_nan=False), without building an encoder per call.
_JSON = json.JSONEncoder(separators=(",", ":"), allow_nan=False)
# The same text from the C encoder _JSON.encode builds on every call, built once. Without the
# check for circular references (markers None): what is encoded here was decoded from JSON or
# protobuf, which cannot make a cycle, and a shared markers dict would keep stale entries after
# an error (a NaN or infinity deep inside refuses the whole value, as _JSON does).
_C_ENCODER = json.encoder.c_make_encoder
_JSON_ITER = _C_ENCODER and _C_ENCODER(
    None, _JSON.default, json.encoder.encode_basestring_ascii, None, ":", ",", False, False, False
)


def _json(value: Any) -> str:
    return "".join(_JSON_ITER(value, 0)) if _JSON_ITER else _JSON.encode(value)


def _escape(text: str) -> str:
    """COPY's escapes; most text has none of the four characters, and looking is much cheaper
    than translating."""
    if "\\" in text or "\t" in text or "\n" in text or "\r" in text:
        return text.translate(_COPY_ESCAPES)
    return text


def _copy_value(value: Any) -> str:
    if value is None:
        return "\\N"
    if value is True:
        return "t"
    if value is False:
        return "f"
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, list | dict):
        return _escape(_JSON.encode(value))
    if isinstance(value, str):
        return _escape(value.replace("\x00", ""))
    return str(value)


_MINUTE_SECOND = [f"{minute:02d}:{second:02d}" for minute in range(60) for second in range(60)]


def _copy_text(
    workload_id: int, events: Iterable[EventIn], source: str, now: datetime, pricer: Pricer
) -> tuple[str, list[datetime], int]:
    """The batch as COPY text, priced: exactly the lines ``_row`` and ``_copy_value`` would give
    (``"\\t".join(map(_copy_value, _row(…)))``), written field by field for the common types;
    anything unusual goes through ``_copy_value``. Also the sorted hours and the number of events
    left unpriced. This is the hot path of ingestion, so what a batch repeats is worked out once:
    each hour's columns (found by the timestamp's fields, not by building the hour), and each
    (operation, provider, model, release)'s columns with its catalogue entry and prices."""
    value = _copy_value
    escape = _escape
    head = value(workload_id)
    tail = f"\t{value(now)}\t{value(source)}\t"  # received_at and source follow the hour
    texts: dict[Any, str] = {}
    hour_texts: dict[tuple, tuple[datetime, str, str | None]] = {}
    calls: dict[tuple, tuple[str, Any, Any, Any]] = {}
    lines = []
    unpriced = 0

    def text(field: Any) -> str:  # a repeated string, escaped once per batch
        if type(field) is not str:
            return value(field)
        found = texts.get(field)
        if found is None:
            found = texts[field] = escape(field.replace("\x00", ""))
        return found

    def number(field: Any) -> str:
        return str(field) if type(field) is int or type(field) is float else value(field)

    def call(e: EventIn) -> tuple[str, Any, Any, Any]:
        """The columns operation … release, the catalogue entry, and its prices (or None)."""
        model = pricer.model(e.provider, e.model_name)
        columns = "\t".join((text(e.operation), text(e.provider), text(e.model_name),
                              "\\N" if model is None else value(model.pk), text(e.release)))  # fmt: skip
        if model is None:
            return columns, None, None, None
        return columns, model, *pricer.schedule(model)

    for e in events:
        names = (e.operation, e.provider, e.model_name, e.release)
        try:
            found = calls.get(names)
        except TypeError:  # not a string, nor hashable: not remembered
            found = None
        if found is None:
            found = call(e)
            if all(type(name) is str for name in names):
                calls[names] = found
        columns, model, starts, prices = found
        moment = e.timestamp
        if model is None:
            cost = None
        else:
            index = bisect_right(starts, moment)
            price = prices[index - 1] if index else None
            if price is None:
                cost = None
            elif price.currency == BASE_CURRENCY:  # what Pricer.cost computes, inline
                total = Decimal(e.input_tokens) * price.input_per_million + Decimal(e.output_tokens) * (
                    price.output_per_million
                )
                cost = (total / MILLION).quantize(COST_PLACES)
            else:
                cost = pricer.cost(model, e)
        unpriced += cost is None
        hour_key = (moment.year, moment.month, moment.day, moment.hour, moment.fold, moment.tzinfo)
        hour = hour_texts.get(hour_key)
        if hour is None:
            start = moment.replace(minute=0, second=0, microsecond=0)
            start_text = value(start)
            # In UTC, the timestamp's text is the hour's up to the minutes (isoformat is slower).
            prefix = start_text[:14] if moment.tzinfo is UTC and type(moment) is datetime else None
            hour = hour_texts[hour_key] = (start, f"\t{start_text}{tail}", prefix)
        prefix = hour[2]
        if prefix is None:
            stamp = moment.isoformat() if type(moment) is datetime else value(moment)
        elif micro := moment.microsecond:
            stamp = f"{prefix}{_MINUTE_SECOND[moment.minute * 60 + moment.second]}.{micro:06d}+00:00"
        else:
            stamp = f"{prefix}{_MINUTE_SECOND[moment.minute * 60 + moment.second]}+00:00"
        key = e.event_key
        latency = e.latency_ms
        quality = e.quality_score
        flags = e.safety_flags
        attributes = e.attributes
        lines.append("\t".join((
            head,
            escape(key.replace("\x00", "")) if type(key) is str else value(key),
            stamp + hour[1] + columns,
            str(tokens) if type(tokens := e.input_tokens) is int else number(tokens),
            str(tokens) if type(tokens := e.output_tokens) is int else number(tokens),
            "\\N" if latency is None else str(latency) if type(latency) is float else number(latency),
            "\\N" if latency is None else str(latency_bucket(latency)),
            "t" if e.is_error is True else "f" if e.is_error is False else value(e.is_error),
            text(e.error_type),
            "\\N" if cost is None else str(cost),
            "\\N" if quality is None else number(quality),
            "\\N" if quality is None else str(quality_bucket(quality)),
            value(e.user_rating),
            "[]" if type(flags) is list and not flags else value(flags),
            "t" if flags else "f",
            escape(_json(attributes)) if type(attributes) is dict else value(attributes),
        )))  # fmt: skip
    lines.append("")
    hours = {hour[0] for hour in hour_texts.values()}  # equal instants once, the first seen kept
    return "\n".join(lines), sorted(hours), unpriced


def _insert_postgresql(text: str) -> int:
    """Store a batch; return how many rows were new.

    First COPY straight into telemetry_event inside a savepoint: a batch of new keys, the usual
    case, is written once. If a key is already stored (a resend), the COPY fails whole, the
    savepoint is rolled back, and the batch goes the way that skips stored keys: COPY into a
    per-session temporary table, then one INSERT … ON CONFLICT DO NOTHING."""
    columns = ", ".join(f'"{c}"' for c in COLUMNS)
    with connection.cursor() as cursor:
        raw = cursor.cursor  # psycopg2's own cursor, for copy_expert
        try:
            with transaction.atomic():
                raw.copy_expert(f"COPY telemetry_event ({columns}) FROM STDIN", io.StringIO(text), size=1 << 20)
                return raw.rowcount
        except (IntegrityError, connection.Database.IntegrityError):  # psycopg2's own, from its own cursor
            pass
        cursor.execute(
            f"CREATE TEMP TABLE IF NOT EXISTS {_TEMP_TABLE} ON COMMIT DELETE ROWS AS "  # noqa: S608 (constants)
            f"SELECT {columns} FROM telemetry_event WITH NO DATA"
        )
        raw.copy_expert(f"COPY {_TEMP_TABLE} ({columns}) FROM STDIN", io.StringIO(text), size=1 << 20)
        cursor.execute(
            f"INSERT INTO telemetry_event ({columns}) SELECT {columns} FROM {_TEMP_TABLE} "  # noqa: S608
            "ON CONFLICT (workload_id, event_key) DO NOTHING"
        )
        inserted = cursor.rowcount
        # ON COMMIT empties it too; this keeps it empty when the caller's transaction goes on.
        cursor.execute(f"TRUNCATE {_TEMP_TABLE}")
    return inserted


def pending_mark(*, workload_id: int, hours: list[datetime]) -> None:
    """Mark (workload, hour) windows for the rollup, bumping the version of rows already there.
    Hours are sorted, so concurrent batches lock the rows in one order and cannot deadlock."""
    if not hours:
        return
    placeholders = ", ".join(["(%s, %s, 1)"] * len(hours))
    params: list[Any] = []
    for hour in hours:  # adapted as the ORM stores them (SQLite keeps naive UTC text)
        params += [workload_id, connection.ops.adapt_datetimefield_value(hour)]
    with connection.cursor() as cursor:
        cursor.execute(
            f"INSERT INTO telemetry_rolluppending (workload_id, hour, version) VALUES {placeholders} "  # noqa: S608
            "ON CONFLICT (workload_id, hour) DO UPDATE SET version = telemetry_rolluppending.version + 1",
            params,
        )

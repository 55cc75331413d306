"""Bad bodies to every write endpoint of the API: each must get a clear 4xx with a JSON body (the
failing fields named in a 400), never a 5xx, and store nothing.

The write operations come from the OpenAPI schema (every POST, PUT and PATCH), so a new endpoint
is tried without anyone adding it here; each is sent as a persona the permission matrix
(tests/access.py) allows to write there, in the matrix's world, starting from the matrix's valid
body. After every bad request the whole database is compared with a snapshot taken before it:
not one row added, changed or removed. A last valid request proves the endpoint was reachable all
along, so the refusals were about the bodies, not the caller.

The two ingestion endpoints, which take a workload's ingestion key and their own size limits,
are tried at the end with garbage of their own kinds.
"""

from __future__ import annotations

import gzip
import json
from collections.abc import Iterator
from dataclasses import dataclass
from types import SimpleNamespace
from typing import Any

import pytest
from django.apps import apps
from django.conf import settings
from django.test import Client
from drf_spectacular.generators import SchemaGenerator
from rest_framework.test import APIClient

from apps.telemetry import services as telemetry_services
from apps.telemetry.models import Event
from tests.access import API, OK

pytestmark = pytest.mark.django_db

WRITE_METHODS = {"post", "put", "patch"}
INGESTION = {"POST /api/v1/telemetry/events"}  # takes an ingestion key: tried on its own below
# Who writes, in order of preference: the owning team's member, else the CoE.
WRITERS = ("team_member", "coe_staff", "other_team_member", "leader")
# Models whose rows a request may touch without storing anything of the caller's: none so far.
NOT_COMPARED = {"sessions.session", "auth.permission", "contenttypes.contenttype"}
NOT_COMPARED_APPS = {"django_celery_beat", "axes"}  # schedules and sign-in attempts: no request here writes them
# Over any sane request limit (Django's DATA_UPLOAD_MAX_MEMORY_SIZE, 2.5 MB by default).
OVERSIZED = max(settings.DATA_UPLOAD_MAX_MEMORY_SIZE or 0, 2_621_440) + 1_000_000
DEPTH = 10_000
HUGE = 50_000  # per text field, all of an operation's at once: under the 1 MiB limit for most


# --- The schema ---------------------------------------------------------------------------


@dataclass
class Field:
    name: str
    type: str | None  # "string", "integer", "array", "object", "boolean", "enum", or None (any JSON)
    max_length: int | None
    required: bool
    nullable: bool


@dataclass
class Operation:
    key: str  # "POST /api/v1/workloads/"
    method: str
    path: str
    fields: list[Field]
    has_body: bool


def _schema() -> dict[str, Any]:
    return SchemaGenerator().get_schema(request=None, public=True)


def _resolve(schema: dict[str, Any], node: dict[str, Any]) -> dict[str, Any]:
    while "$ref" in node:
        node = schema["components"]["schemas"][node["$ref"].rsplit("/", 1)[-1]]
    return node


def _operations() -> list[Operation]:
    schema = _schema()
    found = []
    for path, operations in schema["paths"].items():
        for method, op in operations.items():
            if method not in WRITE_METHODS:
                continue
            key = f"{method.upper()} {path}"
            body = op.get("requestBody", {}).get("content", {}).get("application/json", {}).get("schema")
            fields: list[Field] = []
            if body is not None:
                body = _resolve(schema, body)
                required = set(body.get("required", []))
                for name, prop in body.get("properties", {}).items():
                    if prop.get("readOnly"):
                        continue
                    nullable = bool(prop.get("nullable"))
                    fields.append(Field(name, _type(prop), prop.get("maxLength"), name in required, nullable))
            found.append(Operation(key, method, path, fields, body is not None))
    return sorted(found, key=lambda op: op.key)


def _type(prop: dict[str, Any]) -> str | None:
    if "type" in prop:
        return prop["type"]
    return "enum" if {"enum", "allOf", "oneOf"} & prop.keys() else None


OPERATIONS = _operations()
API_WRITES = [op for op in OPERATIONS if op.key not in INGESTION]


def test_every_write_operation_is_tried() -> None:
    """Every write the schema lists is in the matrix (so it has a writer and a valid body here)."""
    assert len(API_WRITES) > 30
    missing = [op.key for op in API_WRITES if op.key not in API]
    assert missing == []
    assert {op.key for op in OPERATIONS} >= INGESTION


# --- Sending and checking ------------------------------------------------------------------


def _writer(world: SimpleNamespace, op: Operation) -> tuple[str, Any]:
    expect = API[op.key].expect[op.method.upper()]
    persona = next(p for p in WRITERS if expect.get(p) == OK)
    return persona, getattr(world, persona)


def snapshot() -> dict[str, list[tuple[Any, ...]]]:
    """Every row of every model, as tuples: a bad request must leave this unchanged."""
    rows = {}
    for model in apps.get_models():
        label = model._meta.label_lower
        if label in NOT_COMPARED or model._meta.app_label in NOT_COMPARED_APPS or not model._meta.managed:
            continue
        rows[label] = list(model._default_manager.order_by("pk").values_list())
    return rows


def diff(before: dict[str, list[tuple[Any, ...]]], after: dict[str, list[tuple[Any, ...]]]) -> dict[str, str]:
    changed = {}
    for label, rows in before.items():
        if after[label] != rows:
            added = len(after[label]) - len(rows)
            changed[label] = f"{added:+d} rows" if added else "rows changed"
    return changed


@dataclass
class Bad:
    name: str
    body: bytes
    content_type: str
    statuses: set[int]  # the answers that are right
    fields: tuple[str, ...] = ()  # a 400 must name each


def _json_error(response: Any) -> Any:
    assert response["Content-Type"].startswith("application/json"), response["Content-Type"]
    return json.loads(response.content)


def _names(body: Any, field: str) -> bool:
    """Whether a 400 body names ``field`` (at the top, or nested for lists and batches)."""
    if isinstance(body, dict):
        return field in body or any(_names(v, field) for v in body.values())
    if isinstance(body, list):
        return any(_names(v, field) for v in body)
    return False


def _bodies(op: Operation, valid: dict[str, Any]) -> Iterator[Bad]:
    """The bad bodies for ``op``, whose valid body is ``valid``."""
    text = json.dumps(valid)
    # An action that takes no body (publish, promote, follow…) never reads one, but garbage in it is
    # refused all the same, before the view (apps/core/request_limits.py): nothing is done.
    bad_json = {400}
    # Body-level garbage: the body cannot be read at all.
    yield Bad("truncated JSON", text[: max(1, len(text) // 2)].encode(), "application/json", bad_json)
    yield Bad("not JSON", b"\x00\xff\xfe garbage {", "application/json", bad_json)
    yield Bad("invalid UTF-8 in JSON", b'{"x": "\xff\xfe"}', "application/json", bad_json)
    yield Bad("NaN", b'{"x": NaN}', "application/json", bad_json)
    yield Bad("nested lists", ("[" * DEPTH + "]" * DEPTH).encode(), "application/json", bad_json)
    yield Bad("nested objects", ('{"a":' * DEPTH + "1" + "}" * DEPTH).encode(), "application/json", bad_json)
    padded = json.dumps({**valid, "padding": "x" * OVERSIZED}).encode()
    yield Bad("oversized", padded, "application/json", {413, 400})
    yield Bad("text/plain", text.encode(), "text/plain", {415})
    yield Bad("form-encoded", b"a=1&b=2", "application/x-www-form-urlencoded", {415})
    yield Bad("XML", b"<a>1</a>", "application/xml", {415})
    if not op.has_body or not op.fields:
        return
    # A body of the wrong shape.
    for name, raw in (("a list", b"[1, 2]"), ("a string", b'"text"'), ("a number", b"42"), ("null", b"null")):
        yield Bad(f"JSON {name} instead of an object", raw, "application/json", {400})
    if any(f.required for f in op.fields):
        yield Bad("empty body", b"", "application/json", {400})
        yield Bad("empty object", b"{}", "application/json", {400})
    # Every field wrong at once: the 400 must name each (API.md), so none slips through unchecked.
    for variant in (0, 1, 2, 3):
        wrong = {f.name: values[variant] for f in op.fields if len(values := _wrong_values(f)) > variant}
        if wrong:
            body = json.dumps({**valid, **{name: value for name, (_, value) in wrong.items()}}).encode()
            label = ", ".join(f"{name} {kind}" for name, (kind, _) in wrong.items())
            yield Bad(f"wrong types ({label})", body, "application/json", {400}, tuple(wrong))
    # Every text field past its limit (a field without one must have none: each has a maxLength now).
    bounded = [f for f in op.fields if f.type == "string" and f.max_length]
    if bounded:
        huge = {f.name: "x" * max(HUGE, f.max_length + 1) for f in bounded}  # type: ignore[operator]
        body = json.dumps({**valid, **huge}).encode()
        yield Bad("huge strings", body, "application/json", {400, 413}, tuple(huge))


def _wrong_values(f: Field) -> list[tuple[str, Any]]:
    """Values of the wrong type for ``f`` (DRF's CharField takes numbers as text, so strings get
    objects and lists, which no text field takes)."""
    values: list[tuple[str, Any]] = {
        "string": [("object", {"a": 1}), ("list", ["a"]), ("NUL", "a\u0000b")],  # PostgreSQL stores no NUL
        "integer": [("text", "not a number"), ("object", {"a": 1})],
        "boolean": [("text", "maybe"), ("list", [True])],
        "array": [("object", {"a": 1}), ("text", "a")],
        "object": [("list", ["a"]), ("text", "a")],
        "enum": [("list", ["a", "b"]), ("object", {"a": 1})],
    }.get(f.type or "", [("list", ["a", "b"])])  # any JSON (a release's config): a dict is right
    if f.required and not f.nullable:
        values.append(("null", None))
    return values


def _send(client: APIClient, op: Operation, url: str, bad: Bad) -> Any:
    return client.generic(op.method.upper(), url, data=bad.body, content_type=bad.content_type)


@pytest.mark.parametrize("op", API_WRITES, ids=[op.key for op in API_WRITES])
def test_bad_bodies_are_refused_and_store_nothing(world: SimpleNamespace, op: Operation) -> None:
    route = API[op.key]
    persona, user = _writer(world, op)
    client = APIClient()
    client.force_authenticate(user)
    url = op.path.format(**route.kwargs(world))
    valid = route.data(world, persona)
    failures = []
    acted = False  # a body-less action done despite garbage in its body
    before = snapshot()
    for bad in _bodies(op, valid):
        response = _send(client, op, url, bad)
        after = snapshot()
        status = response.status_code
        problem = None
        if status not in bad.statuses:
            problem = f"answered {status}, expected {sorted(bad.statuses)}: {response.content[:300]!r}"
        elif status >= 400:
            try:
                body = _json_error(response)
            except (AssertionError, ValueError) as exc:
                problem = f"{status} without a JSON body ({exc})"
            else:
                unnamed = [name for name in bad.fields if not _names(body, name)] if status == 400 else []
                if unnamed:
                    problem = f"400 does not name {unnamed}: {body}"
        if status >= 400 and (changed := diff(before, after)):
            problem = (problem or "") + f" stored something: {changed}"
        if problem:
            failures.append(f"{bad.name}: {problem}")
        if status < 400:
            acted, before = True, after
    assert failures == [], f"{persona} {op.key}:\n" + "\n".join(failures)
    if acted:  # the action was done: the endpoint is reachable, and a second time may rightly be refused
        return
    # The endpoint takes the valid body from this persona: the refusals above were about the bodies.
    response = client.generic(op.method.upper(), url, data=json.dumps(valid), content_type="application/json")
    assert response.status_code < 400, f"the valid body was refused: {response.status_code} {response.content!r}"


# --- Ingestion -----------------------------------------------------------------------------


@pytest.fixture
def ingestion_key(world: SimpleNamespace) -> str:
    _, raw = telemetry_services.key_create(workload=world.workload, name="abuse", actor=world.team_member)
    return raw


def _native_bad() -> Iterator[tuple[str, bytes, str, set[int]]]:
    event = {
        "event_id": "e1", "timestamp": "2026-11-20T10:15:00Z", "operation": "chat", "provider": "openai",
        "model": "gpt-4o-mini", "input_tokens": 1, "output_tokens": 1, "latency_ms": 1.0, "status": "ok",
    }  # fmt: skip
    valid = json.dumps({"events": [event]})
    yield "truncated JSON", valid[:40].encode(), "application/json", {400}
    yield "not JSON", b"\x00\xffgarbage", "application/json", {400}
    yield "nested lists", ("[" * DEPTH + "]" * DEPTH).encode(), "application/json", {400}
    yield "nested objects", ('{"a":' * DEPTH + "1" + "}" * DEPTH).encode(), "application/json", {400}
    deep = valid.replace('"status": "ok"', '"status": "ok", "attributes": ' + '{"a":' * DEPTH + "1" + "}" * DEPTH)
    yield "deep attributes", deep.encode(), "application/json", {400}
    yield "events an object", b'{"events": {"a": 1}}', "application/json", {400}
    yield "event a list", b'{"events": [[1]]}', "application/json", {400}
    yield "null events", b'{"events": null}', "application/json", {400}
    yield "empty body", b"", "application/json", {400}
    yield "tokens as text", json.dumps({"events": [{**event, "input_tokens": "many"}]}).encode(), \
        "application/json", {400}  # fmt: skip
    two = {"events": [event, {**event, "event_id": "e2", "latency_ms": []}]}
    yield "one bad event of two", json.dumps(two).encode(), "application/json", {400}
    yield "huge event id", json.dumps({"events": [{**event, "event_id": "x" * HUGE}]}).encode(), \
        "application/json", {400, 413}  # fmt: skip
    padding = "x" * (settings.TELEMETRY_MAX_BODY_BYTES + 1)
    yield "oversized", json.dumps({"events": [event], "padding": padding}).encode(), "application/json", {413}
    yield "text/plain", valid.encode(), "text/plain", {415}
    yield "protobuf", b"\x0a\x02garbage", "application/x-protobuf", {415}


def _check_refusal(response: Any, statuses: set[int], label: str, before: int) -> str | None:
    if response.status_code not in statuses:
        return f"{label}: answered {response.status_code}, expected {sorted(statuses)}: {response.content[:200]!r}"
    if Event.objects.count() != before:
        return f"{label}: stored events"
    return None


def test_native_ingestion_refuses_bad_batches(ingestion_key: str) -> None:
    client = Client()
    failures = []
    for label, body, content_type, statuses in _native_bad():
        before = Event.objects.count()
        response = client.post("/api/v1/telemetry/events", data=body, content_type=content_type,
                               HTTP_AUTHORIZATION=f"Bearer {ingestion_key}")  # fmt: skip
        if problem := _check_refusal(response, statuses, label, before):
            failures.append(problem)
        elif not response["Content-Type"].startswith("application/json"):
            failures.append(f"{label}: {response.status_code} without a JSON body")
    assert failures == [], "\n".join(failures)
    assert Event.objects.count() == 0


def _otlp_bad() -> Iterator[tuple[str, bytes, str, dict[str, str], set[int]]]:
    protobuf, as_json = "application/x-protobuf", "application/json"
    yield "protobuf garbage", b"\x0a\xff\xff\xff\xff\x0f garbage \x00\x01", protobuf, {}, {400}
    yield "protobuf truncated", b"\x0a\x10\x0a\x0e", protobuf, {}, {400}
    yield "wrong wire type", b"\x0f" * 64, protobuf, {}, {400}
    yield "random bytes", bytes(range(256)) * 16, protobuf, {}, {400}
    yield "nested protobuf", b"\x0a\x80\x01" * 2000, protobuf, {}, {400}
    yield "JSON garbage", b"{not json", as_json, {}, {400}
    yield "JSON nested lists", ("[" * DEPTH + "]" * DEPTH).encode(), as_json, {}, {400}
    yield "JSON nested objects", ('{"a":' * DEPTH + "1" + "}" * DEPTH).encode(), as_json, {}, {400}
    yield "JSON wrong shape", b'{"resourceSpans": {"a": 1}}', as_json, {}, {400}
    yield "gzip that is not", b"\x1f\x8b garbage", protobuf, {"HTTP_CONTENT_ENCODING": "gzip"}, {400, 415}
    bomb = gzip.compress(b"\x00" * (settings.TELEMETRY_MAX_BODY_BYTES * 4))
    yield "gzip bomb", bomb, protobuf, {"HTTP_CONTENT_ENCODING": "gzip"}, {413}
    yield "brotli", b"x", protobuf, {"HTTP_CONTENT_ENCODING": "br"}, {415}
    yield "oversized", b"\x00" * (settings.TELEMETRY_MAX_BODY_BYTES + 1), protobuf, {}, {413}
    yield "text/plain", b"hello", "text/plain", {}, {415}


def test_otlp_refuses_garbage(ingestion_key: str) -> None:
    client = Client()
    failures = []
    for label, body, content_type, headers, statuses in _otlp_bad():
        before = Event.objects.count()
        response = client.post("/v1/traces", data=body, content_type=content_type,
                               HTTP_AUTHORIZATION=f"Bearer {ingestion_key}", **headers)  # fmt: skip
        if problem := _check_refusal(response, statuses, label, before):
            failures.append(problem)
    assert failures == [], "\n".join(failures)
    assert Event.objects.count() == 0

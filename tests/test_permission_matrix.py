"""Every page and every API operation, tried by every persona (see access.py)."""

from __future__ import annotations

import json
import time
from datetime import timedelta
from types import SimpleNamespace
from typing import Any

import pytest
from django.conf import settings
from django.shortcuts import resolve_url
from django.test import Client
from django.urls import URLPattern, URLResolver, get_resolver, reverse
from django.utils import timezone
from drf_spectacular.generators import SchemaGenerator
from rest_framework.test import APIClient

from apps.accounts import services as account_services
from apps.core.services import heartbeat_record
from apps.registry import services as registry_services
from apps.telemetry import services as telemetry_services
from apps.telemetry.models import Event, IngestionKey

from .access import (
    API,
    BUILDERS,
    DENIED,
    HIDDEN,
    LOGIN,
    OK,
    PAGES,
    PAGES_EXEMPT_NAMESPACES,
    PERSONAS,
    SIGNED_OUT,
    UNAUTHORIZED,
)


def _url_names(resolver: URLResolver, namespace: str = "") -> set[str]:
    names: set[str] = set()
    for pattern in resolver.url_patterns:
        if isinstance(pattern, URLResolver):
            ns = pattern.namespace or ""
            prefix = f"{namespace}:{ns}" if namespace and ns else (ns or namespace)
            names |= _url_names(pattern, prefix)
        elif isinstance(pattern, URLPattern) and pattern.name:
            names.add(f"{namespace}:{pattern.name}" if namespace else pattern.name)
    return names


def _schema_operations() -> set[str]:
    schema = SchemaGenerator().get_schema(request=None, public=True)
    return {
        f"{method.upper()} {path}"
        for path, operations in schema["paths"].items()
        for method in operations
        if method in {"get", "post", "put", "patch", "delete"}
    }


def test_every_page_is_in_the_matrix() -> None:
    names = {name for name in _url_names(get_resolver()) if name.split(":")[0] not in PAGES_EXEMPT_NAMESPACES}
    missing = sorted(names - PAGES.keys())
    assert not missing, f"Add these URL names to tests/access.py PAGES: {missing}"
    stale = sorted(PAGES.keys() - names)
    assert not stale, f"tests/access.py PAGES names routes that no longer exist: {stale}"


def test_every_api_operation_is_in_the_matrix() -> None:
    operations = _schema_operations()
    missing = sorted(operations - API.keys())
    assert not missing, f"Add these operations to tests/access.py API: {missing}"
    stale = sorted(API.keys() - operations)
    assert not stale, f"tests/access.py API names operations that no longer exist: {stale}"


@pytest.fixture
def world(team_member, other_team_member, coe_staff, leader, team, other_team) -> SimpleNamespace:  # type: ignore[no-untyped-def]
    token, _ = account_services.token_create(user=team_member, name="matrix")
    heartbeat_record(name="worker")  # so /healthz answers 200 when the broker is up
    world = SimpleNamespace(
        anonymous=None,
        team_member=team_member,
        other_team_member=other_team_member,
        coe_staff=coe_staff,
        leader=leader,
        team=team,
        other_team=other_team,
        team_member_token=token,
    )
    for build in BUILDERS:
        build(world)
    return world


def _check(response: Any, expect: str, *, api: bool, label: str) -> None:
    status = response.status_code
    login_url = resolve_url(settings.LOGIN_URL)
    bounced = status == 302 and response["Location"].startswith(login_url)
    if expect == OK:
        assert status < 400, f"{label}: expected to be allowed, got {status}"
        assert not bounced, f"{label}: expected to be allowed, was sent to sign in"
    elif expect == LOGIN:
        if api:
            assert status == 401, f"{label}: expected 401, got {status}"
        else:
            assert bounced, f"{label}: expected a redirect to sign in, got {status}"
    elif expect == SIGNED_OUT:
        assert bounced, f"{label}: expected the redirect to sign in after signing out, got {status}"
    elif expect == UNAUTHORIZED:
        assert status == 401, f"{label}: expected 401 (no ingestion key), got {status}"
    elif expect == DENIED:
        assert status == 403, f"{label}: expected 403, got {status}"
    elif expect == HIDDEN:
        assert status == 404, f"{label}: expected 404, got {status}"
    else:  # pragma: no cover - a typo in access.py
        raise AssertionError(f"unknown expectation {expect!r}")


PAGE_CASES = [
    (name, method, persona)
    for name, route in PAGES.items()
    for method, by_persona in route.expect.items()
    for persona in PERSONAS
]


@pytest.mark.parametrize(("name", "method", "persona"), PAGE_CASES)
def test_page_access(world: SimpleNamespace, name: str, method: str, persona: str) -> None:
    route = PAGES[name]
    client = Client()
    user = getattr(world, persona)
    if user is not None:
        client.force_login(user)
    url = reverse(name, kwargs=route.kwargs(world))
    response = client.generic(
        method, url, data=_form_body(route.data(world, persona)), content_type="application/x-www-form-urlencoded"
    )
    _check(response, route.expect[method][persona], api=False, label=f"{persona} {method} {url}")


def _form_body(data: dict[str, Any]) -> str:
    from urllib.parse import urlencode

    return urlencode(data)


API_CASES = [(operation, persona) for operation, route in API.items() for persona in PERSONAS]


@pytest.mark.parametrize(("operation", "persona"), API_CASES)
def test_api_access(world: SimpleNamespace, operation: str, persona: str) -> None:
    method, path = operation.split(" ", 1)
    route = API[operation]
    client = APIClient()
    user = getattr(world, persona)
    if user is not None:
        client.force_authenticate(user)
    url = path.format(**route.kwargs(world))
    response = client.generic(method, url, data=_json(route.data(world, persona)), content_type="application/json")
    _check(response, route.expect[method][persona], api=True, label=f"{persona} {operation}")


def _json(data: dict[str, Any]) -> str:
    import json

    return json.dumps(data)


# --- Ingestion keys against every route ----------------------------------------------------------
# A workload's ingestion key is no person: everywhere but the two ingestion endpoints it gets what a
# signed-out caller gets (401 on the API, the sign-in page on pages). At those two it writes its own
# workload's telemetry and nobody else's, whatever the body claims.

INGESTION_OPERATIONS = {"POST /api/v1/telemetry/events"}
INGESTION_PAGES = {"otlp-traces"}


@pytest.fixture
def key_world(world: SimpleNamespace) -> SimpleNamespace:
    world.other_workload = registry_services.workload_register(
        actor=world.other_team_member, team=world.other_team, name="Support Bot"
    )
    _, world.own_key = telemetry_services.key_create(workload=world.workload, name="own", actor=world.team_member)
    _, world.other_key = telemetry_services.key_create(
        workload=world.other_workload, name="other", actor=world.other_team_member
    )
    return world


@pytest.mark.parametrize("holder", ["own_key", "other_key"])
def test_an_ingestion_key_opens_nothing_but_ingestion(key_world: SimpleNamespace, holder: str) -> None:
    """Both workloads' keys, every API operation and every page: each answered as for anonymous."""
    bearer = f"Bearer {getattr(key_world, holder)}"
    failures: list[str] = []
    for operation, route in API.items():
        if operation in INGESTION_OPERATIONS:
            continue
        method, path = operation.split(" ", 1)
        url = path.format(**route.kwargs(key_world))
        response = APIClient().generic(
            method, url, data=_json(route.data(key_world, "anonymous")), content_type="application/json",
            HTTP_AUTHORIZATION=bearer,
        )  # fmt: skip
        if response.status_code != 401:
            failures.append(f"{operation}: {response.status_code}")
    for name, route in PAGES.items():
        if name in INGESTION_PAGES:
            continue
        for method, by_persona in route.expect.items():
            url = reverse(name, kwargs=route.kwargs(key_world))
            response = Client().generic(
                method, url, data=_form_body(route.data(key_world, "anonymous")),
                content_type="application/x-www-form-urlencoded", HTTP_AUTHORIZATION=bearer,
            )  # fmt: skip
            try:
                _check(response, by_persona["anonymous"], api=False, label=f"{holder} {method} {url}")
            except AssertionError as exc:
                failures.append(str(exc))
    assert not failures, f"an ingestion key was let in: {failures}"


def _ingest(path: str, body: dict[str, Any], raw: str) -> Any:
    return Client().post(
        path, data=json.dumps(body), content_type="application/json", HTTP_AUTHORIZATION=f"Bearer {raw}"
    )


def test_an_ingestion_key_writes_its_own_workload_only(key_world: SimpleNamespace) -> None:
    """Native and OTLP, each key: the events land on the key's workload, even when the body names the other
    one; a revoked key is refused."""
    now, sent_at = time.time_ns(), (timezone.now() - timedelta(minutes=1)).isoformat()
    pairs = [
        (key_world.own_key, key_world.workload, key_world.other_workload),
        (key_world.other_key, key_world.other_workload, key_world.workload),
    ]
    for n, (raw, mine, theirs) in enumerate(pairs):
        event = {
            "event_id": f"n-{n}",
            "timestamp": sent_at,
            "model": "gpt-4o-mini",
            "attributes": {"workload": theirs.slug},
        }
        assert _ingest("/api/v1/telemetry/events", {"events": [event]}, raw).status_code == 202
        span = {
            "traceId": "5b8efff798038103d269b633813fc60c", "spanId": f"00000000000000{n:02d}", "name": "chat",
            "startTimeUnixNano": str(now - 10**9), "endTimeUnixNano": str(now),
            "attributes": [{"key": "gen_ai.request.model", "value": {"stringValue": "gpt-4o-mini"}},
                           {"key": "gen_ai.operation.name", "value": {"stringValue": "chat"}}],
        }  # fmt: skip
        claim = {"key": "service.name", "value": {"stringValue": theirs.slug}}
        otlp = {"resourceSpans": [{"resource": {"attributes": [claim]}, "scopeSpans": [{"spans": [span]}]}]}
        assert _ingest("/v1/traces", otlp, raw).status_code == 200
        keys = [f"n-{n}", span["spanId"]]
        stored = list(Event.objects.filter(event_key__in=keys).values_list("workload", flat=True))
        assert stored == [mine.pk, mine.pk], f"the key of {mine.slug} wrote to {stored}"
    key = IngestionKey.objects.get(workload=key_world.workload, name="own")
    telemetry_services.key_revoke(key=key, actor=key_world.team_member)
    assert _ingest("/api/v1/telemetry/events", {"events": []}, key_world.own_key).status_code == 401

"""Every page and every API operation, tried by every persona (see access.py)."""

from __future__ import annotations

from types import SimpleNamespace
from typing import Any

import pytest
from django.conf import settings
from django.shortcuts import resolve_url
from django.test import Client
from django.urls import URLPattern, URLResolver, get_resolver, reverse
from drf_spectacular.generators import SchemaGenerator
from rest_framework.test import APIClient

from apps.accounts import services as account_services
from apps.core.services import heartbeat_record

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

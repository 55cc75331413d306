"""The API's limits, as API.md promises them: 429 with Retry-After past the rate limit (per person, per
address when signed out, per ingestion key, counted in the shared cache), 413 past the body limit (API
and pages), 415 for anything but JSON, error bodies as the OpenAPI schema documents them, and cursor
pagination on the alert list."""

from __future__ import annotations

import json
import time
from datetime import timedelta
from typing import Any

import pytest
from django.conf import settings
from django.core.cache import cache
from django.core.exceptions import RequestDataTooBig
from django.test import Client, override_settings
from django.urls import reverse
from django.utils import timezone
from drf_spectacular.generators import SchemaGenerator
from rest_framework import exceptions
from rest_framework.parsers import JSONParser
from rest_framework.request import Request
from rest_framework.test import APIRequestFactory

from apps.accounts import services as account_services
from apps.accounts.models import PersonalToken, Team, User
from apps.core.api.exceptions import exception_handler
from apps.registry import services as registry
from apps.registry.models import Workload
from apps.telemetry import services as telemetry
from apps.telemetry.alerts import alert_raise
from apps.telemetry.models import Alert, Event, IngestionKey

pytestmark = pytest.mark.django_db

ME = "/api/v1/me/"
TEAMS = "/api/v1/teams/"
EVENTS = "/api/v1/telemetry/events"


def rates(person: str | None = "100000/min", anonymous: str | None = "100000/min") -> override_settings:
    return override_settings(
        REST_FRAMEWORK={**settings.REST_FRAMEWORK, "DEFAULT_THROTTLE_RATES": {"person": person, "anonymous": anonymous}}
    )


def token_client(user: User, name: str = "cli") -> Client:
    _, raw = account_services.token_create(user=user, name=name)
    return Client(HTTP_AUTHORIZATION=f"Token {raw}")


def post_json(client: Client, url: str, body: Any, **extra: Any) -> Any:
    return client.post(url, data=json.dumps(body), content_type="application/json", **extra)


@pytest.fixture
def workload(team: Team, team_member: User) -> Workload:
    return registry.workload_register(actor=team_member, team=team, name="Claims Assistant")


def events(n: int, *, pad: int = 0) -> dict[str, Any]:
    at = (timezone.now() - timedelta(minutes=1)).isoformat()
    return {
        "events": [
            {"event_id": f"e-{i}", "timestamp": at, "model": "gpt-4o-mini", "attributes": {"pad": "x" * pad}}
            for i in range(n)
        ]
    }


# --- Rate limits ---------------------------------------------------------------------------------


def test_the_defaults_limit_people_and_signed_out_callers() -> None:
    from coe_portal import settings as module

    assert module.REST_FRAMEWORK["DEFAULT_THROTTLE_CLASSES"] == [
        "apps.core.api.throttling.PersonThrottle",
        "apps.core.api.throttling.AnonymousThrottle",
    ]
    assert module.REST_FRAMEWORK["DEFAULT_THROTTLE_RATES"] == {"person": "600/min", "anonymous": "60/min"}
    assert module.REST_FRAMEWORK["NUM_PROXIES"] == 0  # X-Forwarded-For is not trusted without a known proxy
    assert module.DATA_UPLOAD_MAX_MEMORY_SIZE == 1024 * 1024


def test_a_person_past_the_limit_gets_429_with_retry_after(team_member: User) -> None:
    client = token_client(team_member)
    with rates(person="3/min"):
        assert [client.get(ME).status_code for _ in range(3)] == [200, 200, 200]
        response = client.get(ME)
    assert response.status_code == 429
    # Sliding: until the three weigh two, at most 20 s into the next minute (apps.core.ratelimit).
    assert 1 <= int(response["Retry-After"]) <= 80
    assert "throttled" in response.json()["detail"].lower()


def test_the_limit_is_the_persons_whatever_the_credential(team_member: User, other_team_member: User) -> None:
    """A second token or the session buys no extra requests; another person has their own allowance."""
    first, second = token_client(team_member, "one"), token_client(team_member, "two")
    session = Client()
    session.force_login(team_member)
    with rates(person="3/min"):
        assert [c.get(ME).status_code for c in (first, second, session)] == [200, 200, 200]
        assert first.get(ME).status_code == 429
        assert second.get(ME).status_code == 429
        assert session.get(ME).status_code == 429
        assert token_client(other_team_member).get(ME).status_code == 200


def test_signed_out_callers_are_limited_per_address_and_cannot_spoof_one() -> None:
    schema = reverse("api-schema")
    with rates(anonymous="2/min"):
        assert [Client().get(schema).status_code for _ in range(2)] == [200, 200]
        spoofed = Client().get(schema, HTTP_X_FORWARDED_FOR="203.0.113.9")
        assert spoofed.status_code == 429
        assert int(spoofed["Retry-After"]) >= 1
        assert Client(REMOTE_ADDR="198.51.100.7").get(schema).status_code == 200


def test_no_rate_means_no_limit(team_member: User) -> None:
    client = token_client(team_member)
    with rates(person=None):
        assert {client.get(ME).status_code for _ in range(5)} == {200}


def test_the_count_lives_in_the_shared_cache(team_member: User) -> None:
    """Every web process reads the same count: the default cache (Redis when REDIS_URL is set)."""
    client = token_client(team_member)
    def counted() -> int:  # this window's and the previous one's (a minute may have turned meanwhile)
        window = int(time.time() // 60)
        return sum(cache.get(f"throttle_person_{team_member.pk}:{w}", 0) for w in (window - 1, window))

    with rates(person="5/min"):
        client.get(ME)
        client.get(ME)
        assert counted() == 2
        cache.clear()  # a restart of every process keeps nothing else
        assert client.get(ME).status_code == 200
        assert counted() == 1


@pytest.mark.skipif(not settings.REDIS_CACHE_URL, reason="needs Redis: run with REDIS_URL set (CI's second run)")
def test_two_clients_share_the_limit_through_redis(team_member: User) -> None:
    """Two clients, as two web processes would be, each with its own connection: the limit is one."""
    import redis

    assert settings.CACHES["default"]["BACKEND"] == "django.core.cache.backends.redis.RedisCache"
    one, two = token_client(team_member, "one"), token_client(team_member, "two")
    with rates(person="4/min"):
        assert [one.get(ME).status_code, two.get(ME).status_code, one.get(ME).status_code] == [200, 200, 200]
        stored = redis.Redis.from_url(settings.REDIS_CACHE_URL).keys(f"coe:*throttle_person_{team_member.pk}:*")
        assert 1 <= len(stored) <= 2  # in Redis itself, where another process reads it (a minute may turn)
        assert two.get(ME).status_code == 200
        refused = one.get(ME)
    assert refused.status_code == 429
    assert int(refused["Retry-After"]) >= 1


@override_settings(TELEMETRY_RATE_LIMIT_PER_MINUTE=2)
def test_an_ingestion_key_past_its_limit_gets_429_with_retry_after(workload: Workload, team_member: User) -> None:
    key, raw = telemetry.key_create(workload=workload, name="sender", actor=team_member)
    bearer = {"HTTP_AUTHORIZATION": f"Bearer {raw}"}
    assert [post_json(Client(), EVENTS, events(1), **bearer).status_code for _ in range(2)] == [202, 202]
    refused = post_json(Client(), EVENTS, events(1), **bearer)
    assert refused.status_code == 429
    assert 1 <= int(refused["Retry-After"]) <= 90  # until the two weigh one: at most 30 s into the next minute
    assert refused.json()["detail"]
    window = int(time.time() // 60)  # the counter is in the shared cache, where every process counts
    assert sum(cache.get(f"telemetry:rate:{key.pk}:{w}", 0) for w in (window - 1, window)) == 2  # not the refused
    # Another workload's key is counted apart.
    other = registry.workload_register(actor=team_member, team=workload.team, name="Another")
    _, other_raw = telemetry.key_create(workload=other, name="sender", actor=team_member)
    assert post_json(Client(), EVENTS, events(1), HTTP_AUTHORIZATION=f"Bearer {other_raw}").status_code == 202


def test_the_ingestion_limit_is_not_the_persons(workload: Workload, team_member: User) -> None:
    """People's limits do not apply to keys (their view has its own throttle), and the other way round."""
    _, raw = telemetry.key_create(workload=workload, name="sender", actor=team_member)
    with rates(person="1/min", anonymous="1/min"):
        for _ in range(3):
            assert post_json(Client(), EVENTS, events(1), HTTP_AUTHORIZATION=f"Bearer {raw}").status_code == 202


# --- Body size -----------------------------------------------------------------------------------


@override_settings(DATA_UPLOAD_MAX_MEMORY_SIZE=2000)
def test_an_api_write_over_the_limit_is_413_and_changes_nothing(coe_staff: User) -> None:
    client = token_client(coe_staff)
    response = post_json(client, TEAMS, {"name": "Big team", "description": "x" * 3000})
    assert response.status_code == 413
    assert response["Content-Type"] == "application/json"
    assert "2,000 bytes" in response.json()["detail"]
    assert not Team.objects.filter(name="Big team").exists()
    assert post_json(client, TEAMS, {"name": "Small team"}).status_code == 201


@override_settings(DATA_UPLOAD_MAX_MEMORY_SIZE=2000)
def test_a_page_form_over_the_limit_is_413_and_changes_nothing(client_for, team_member: User) -> None:  # type: ignore[no-untyped-def]
    client = client_for(team_member)
    url = reverse("accounts:token-create")
    response = client.post(url, {"name": "n" * 3000})
    assert response.status_code == 413
    assert response["Content-Type"].startswith("text/html")
    assert "larger than 2,000 bytes" in response.content.decode()
    assert not PersonalToken.objects.filter(user=team_member).exists()
    assert client.post(url, {"name": "laptop"}).status_code < 400
    assert PersonalToken.objects.filter(user=team_member, name="laptop").exists()


@override_settings(DATA_UPLOAD_MAX_MEMORY_SIZE=2000)
def test_ingestion_keeps_its_own_larger_limit(workload: Workload, team_member: User) -> None:
    _, raw = telemetry.key_create(workload=workload, name="sender", actor=team_member)
    body = events(3, pad=1000)
    assert len(json.dumps(body)) > 2000
    response = post_json(Client(), EVENTS, body, HTTP_AUTHORIZATION=f"Bearer {raw}")
    assert response.status_code == 202, response.content
    assert Event.objects.filter(workload=workload).count() == 3
    with override_settings(TELEMETRY_MAX_BODY_BYTES=2000):
        too_big = post_json(Client(), EVENTS, events(3, pad=1000), HTTP_AUTHORIZATION=f"Bearer {raw}")
    assert too_big.status_code == 413


def test_djangos_own_size_error_inside_an_api_view_is_413() -> None:
    response = exception_handler(RequestDataTooBig("too big"), {})
    assert response is not None
    assert response.status_code == 413
    assert "larger than" in response.data["detail"]


# --- Content types -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("content_type", "body"),
    [
        ("application/x-www-form-urlencoded", "name=Form+team"),
        (
            "multipart/form-data; boundary=xyz",
            '--xyz\r\nContent-Disposition: form-data; name="name"\r\n\r\nX\r\n--xyz--',
        ),
        ("text/plain", '{"name": "Text team"}'),
        ("", '{"name": "Untyped team"}'),
    ],
)
def test_api_writes_take_json_only(coe_staff: User, content_type: str, body: str) -> None:
    response = token_client(coe_staff).post(TEAMS, data=body, content_type=content_type)
    assert response.status_code == 415
    detail = response.json()["detail"]
    assert "application/json" in detail
    assert Team.objects.count() == 0


def test_json_with_a_charset_is_json(coe_staff: User) -> None:
    response = token_client(coe_staff).post(
        TEAMS, data=json.dumps({"name": "Charset team"}), content_type="application/json; charset=utf-8"
    )
    assert response.status_code == 201


def test_an_action_that_reads_no_body_still_refuses_a_form_body(workload: Workload, team_member: User) -> None:
    alert = alert_raise(workload=workload, kind=Alert.Kind.BUDGET, key="b", title="Budget", notify=False)
    assert alert is not None
    url = f"/api/v1/workloads/{workload.slug}/alerts/{alert.pk}/resolve/"
    client = token_client(team_member)
    refused = client.post(url, data="confirm=yes", content_type="application/x-www-form-urlencoded")
    assert refused.status_code == 415
    alert.refresh_from_db()
    assert alert.resolved_at is None
    assert client.generic("POST", url).status_code == 200  # no body at all: nothing to refuse


def test_drf_names_the_type_to_send_when_a_view_parses() -> None:
    """Should a view parse a body the middleware let through, DRF's 415 names the type to send too."""
    request = Request(APIRequestFactory().post("/x", data="a=b", content_type="text/csv"), parsers=[JSONParser()])
    response = exception_handler(exceptions.UnsupportedMediaType("text/csv"), {"request": request})
    assert response is not None
    assert response.status_code == 415
    assert response.data["detail"] == "Unsupported media type 'text/csv': send application/json."


# --- Error bodies and the schema -----------------------------------------------------------------


@pytest.fixture(scope="module")
def schema() -> dict[str, Any]:
    return SchemaGenerator().get_schema(request=None, public=True)


def operations(schema: dict[str, Any]) -> list[tuple[str, str, dict[str, Any]]]:
    return [
        (method.upper(), path, operation)
        for path, item in schema["paths"].items()
        for method, operation in item.items()
        if method in {"get", "post", "put", "patch", "delete"}
    ]


def test_the_schema_has_the_two_error_components(schema: dict[str, Any]) -> None:
    components = schema["components"]["schemas"]
    assert components["Error"]["required"] == ["detail"]
    assert components["ValidationError"]["type"] == "object"
    assert "additionalProperties" in components["ValidationError"]


def test_every_operation_documents_its_error_answers_with_bodies(schema: dict[str, Any]) -> None:
    missing = []
    for method, path, operation in operations(schema):
        responses = operation["responses"]
        wanted = {"401", "403", "429"}
        if method in {"POST", "PUT", "PATCH"}:
            wanted |= {"400", "413", "415"}
        if "{" in path:
            wanted.add("404")
        for code in sorted(wanted):
            answer = responses.get(code)
            if answer is None or "content" not in answer:
                missing.append(f"{method} {path} {code}")
                continue
            ref = answer["content"]["application/json"]["schema"]["$ref"]
            assert ref.endswith("/ValidationError" if code == "400" else "/Error"), f"{method} {path} {code}"
        assert "Retry-After" in responses["429"]["headers"], f"{method} {path}"
    assert not missing, f"undocumented error answers: {missing}"


def test_the_error_bodies_are_what_the_schema_says(coe_staff: User, team_member: User) -> None:
    staff = token_client(coe_staff)
    member = token_client(team_member, "member")
    answers = {
        401: Client().get(ME),
        403: post_json(member, TEAMS, {"name": "Not mine to make"}),
        404: staff.get("/api/v1/teams/no-such-team/"),
        413: None,
        415: staff.post(TEAMS, data="name=x", content_type="application/x-www-form-urlencoded"),
    }
    with override_settings(DATA_UPLOAD_MAX_MEMORY_SIZE=10):
        answers[413] = post_json(staff, TEAMS, {"name": "A long enough name"})
    for status, response in answers.items():
        assert response.status_code == status
        body = response.json()
        assert set(body) == {"detail"}, (status, body)
        assert isinstance(body["detail"], str)
    invalid = post_json(staff, TEAMS, {"name": ""})
    assert invalid.status_code == 400
    assert isinstance(invalid.json()["name"], list)


# --- Cursor pagination ---------------------------------------------------------------------------


def test_alerts_are_cursor_paginated_newest_first(workload: Workload, team_member: User) -> None:
    made = [
        alert_raise(workload=workload, kind=Alert.Kind.ANOMALY, key=f"a{i}", title=f"Alert {i}", notify=False)
        for i in range(12)
    ]
    client = token_client(team_member)
    url: str | None = f"/api/v1/workloads/{workload.slug}/alerts/?page_size=5"
    seen: list[int] = []
    pages = 0
    while url:
        body = client.get(url).json()
        assert set(body) == {"next", "previous", "results"}  # no count: the list grows without bound
        seen += [row["id"] for row in body["results"]]
        url = body["next"]
        pages += 1
        if pages == 1:  # one raised meanwhile is not shown again on a later page, nor does it shift one
            alert_raise(workload=workload, kind=Alert.Kind.BUDGET, key="late", title="Late", notify=False)
    assert pages == 3
    assert seen == sorted((a.pk for a in made if a), reverse=True)


def test_a_bad_cursor_is_404_with_a_detail(workload: Workload, team_member: User) -> None:
    response = token_client(team_member).get(f"/api/v1/workloads/{workload.slug}/alerts/?cursor=nonsense")
    assert response.status_code == 404
    assert response.json()["detail"]


def test_other_lists_keep_their_count(team_member: User) -> None:
    body = token_client(team_member).get(TEAMS).json()
    assert set(body) == {"count", "next", "previous", "results"}


def test_ingestion_key_is_not_a_persons_credential(workload: Workload, team_member: User) -> None:
    _, raw = telemetry.key_create(workload=workload, name="sender", actor=team_member)
    assert Client(HTTP_AUTHORIZATION=f"Bearer {raw}").get(ME).status_code == 401
    assert IngestionKey.objects.filter(workload=workload).count() == 1


# --- What the fuzz test found (tests/test_api_fuzz.py), pinned ------------------------------------


def test_a_bare_validation_error_still_answers_an_object(coe_staff: User) -> None:
    """DRF's search filter refuses a NUL with a bare list; API.md's bodies are objects."""
    response = token_client(coe_staff).get("/api/v1/exchange-rates/", {"search": "a\x00b"})
    assert response.status_code == 400
    assert response.json() == {"detail": "Null characters are not allowed."}


def test_an_id_past_64_bits_is_400_not_500(coe_staff: User) -> None:
    body = {"title": "Lesson", "summary": "One line.", "body": "Text.", "threads": [2**64]}
    response = post_json(token_client(coe_staff), "/api/v1/feedback/lessons/", body)
    assert response.status_code == 400
    assert "threads" in response.json()


def test_blank_output_fields_are_documented_as_possibly_blank(schema: dict[str, Any]) -> None:
    """DRF drops allow_blank from read-only model fields; the schema class puts it back."""
    components = schema["components"]["schemas"]
    email = components["TeamOutput"]["properties"]["contact_email"]
    assert {"type": "string", "maxLength": 0} in email["oneOf"]
    area = components["ThreadOutput"]["properties"]["guidance_area"]
    assert {"$ref": "#/components/schemas/BlankEnum"} in area["oneOf"]

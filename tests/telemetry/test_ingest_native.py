"""The native batch API: validation of the whole batch, pricing, idempotency, limits."""

from __future__ import annotations

import gzip
import json
from datetime import timedelta
from decimal import Decimal

import pytest
from django.test import Client
from django.utils import timezone

from apps.telemetry import services
from apps.telemetry.models import Event, IngestionKey, RollupPending

pytestmark = pytest.mark.django_db
URL = "/api/v1/telemetry/events"


def event(n: int, **overrides):  # type: ignore[no-untyped-def]
    data = {
        "event_id": f"evt-{n}", "timestamp": (timezone.now() - timedelta(minutes=5)).isoformat(),
        "operation": "chat", "provider": "openai", "model": "gpt-4o-mini", "input_tokens": 1000,
        "output_tokens": 500, "latency_ms": 930.5, "status": "ok", "release": "1.0.0", "quality_score": 0.8,
        "user_rating": 1, "safety_flags": [], "attributes": {"route": "/claims"},
    }  # fmt: skip
    data.update(overrides)
    return data


def post(raw_key: str, body, **headers):  # type: ignore[no-untyped-def]
    data = body if isinstance(body, bytes) else json.dumps(body).encode()
    return Client().post(URL, data=data, content_type=headers.pop("content_type", "application/json"),
                         HTTP_AUTHORIZATION=f"Bearer {raw_key}", **headers)  # fmt: skip


def test_a_batch_is_stored_priced_and_answered_after_commit(raw_key, workload):
    response = post(raw_key, {"events": [event(1), event(2, model="gpt-4o-mini-2024-07-18")]})
    assert response.status_code == 202, response.content
    assert response.json() == {"accepted": 2, "duplicates": 0, "unpriced": 0}
    stored = Event.objects.filter(workload=workload).order_by("event_key")
    assert [e.event_key for e in stored] == ["evt-1", "evt-2"]
    # 1000 × 0.15 / 1M + 500 × 0.60 / 1M = 0.00045
    assert all(e.cost == Decimal("0.00045000") for e in stored)
    assert all(e.ai_model is not None and e.source == "native" for e in stored)
    assert stored[0].attributes == {"route": "/claims"}
    assert RollupPending.objects.filter(workload=workload).count() == 1


def test_the_same_batch_twice_is_stored_once(raw_key, workload):
    batch = {"events": [event(1), event(2), event(2)]}
    assert post(raw_key, batch).json() == {"accepted": 2, "duplicates": 1, "unpriced": 0}
    assert post(raw_key, batch).json() == {"accepted": 0, "duplicates": 3, "unpriced": 0}
    assert Event.objects.filter(workload=workload).count() == 2


def test_unknown_models_are_stored_unpriced(raw_key, workload):
    response = post(raw_key, {"events": [event(1, model="home-grown-llm", provider="acme")]})
    assert response.json() == {"accepted": 1, "duplicates": 0, "unpriced": 1}
    assert Event.objects.get(workload=workload).cost is None


def test_an_event_is_priced_at_the_price_in_force_at_its_time(raw_key, workload, priced_model):
    from apps.registry.models import ModelPrice

    ModelPrice.objects.create(model=priced_model, effective_from=timezone.now() - timedelta(hours=1),
                              input_per_million=Decimal("1.00"), output_per_million=Decimal("2.00"))  # fmt: skip
    before = (timezone.now() - timedelta(hours=2)).isoformat()
    after = (timezone.now() - timedelta(minutes=10)).isoformat()
    post(raw_key, {"events": [event(1, timestamp=before), event(2, timestamp=after)]})
    costs = dict(Event.objects.values_list("event_key", "cost"))
    assert costs == {"evt-1": Decimal("0.00045000"), "evt-2": Decimal("0.00200000")}


def test_a_bad_batch_names_each_event_and_field_and_stores_nothing(raw_key, workload):
    response = post(raw_key, {"events": [
        event(1), event(2, input_tokens=-4), event(3, timestamp="yesterday", user_rating=5, colour="red"),
    ]})  # fmt: skip
    assert response.status_code == 400
    body = response.json()
    assert body["events"]["1"] == {"input_tokens": ["Must be between 0 and 2,000,000,000."]}
    assert set(body["events"]["2"]) == {"timestamp", "user_rating", "colour"}
    assert "0" not in body["events"]
    assert "nothing was stored" in body["detail"]
    assert not Event.objects.exists()


@pytest.mark.parametrize(
    ("overrides", "field"),
    [
        ({"user_rating": 1.0}, "user_rating"),
        ({"user_rating": True}, "user_rating"),
        ({"input_tokens": 10.5}, "input_tokens"),
        ({"output_tokens": "12"}, "output_tokens"),
        ({"latency_ms": "fast"}, "latency_ms"),
        ({"quality_score": 1.5}, "quality_score"),
        ({"status": "maybe"}, "status"),
        ({"model": "m" * 121}, "model"),
        ({"safety_flags": "toxicity"}, "safety_flags"),
        ({"attributes": ["route"]}, "attributes"),
    ],
)
def test_a_value_of_the_wrong_kind_is_a_400_not_a_server_error(raw_key, overrides, field):
    response = post(raw_key, {"events": [event(1, **overrides)]})
    assert response.status_code == 400, response.content
    assert list(response.json()["events"]["0"]) == [field]
    assert not Event.objects.exists()


def test_nan_is_not_json(raw_key):
    body = b'{"events": [{"event_id": "e", "model": "m", "attributes": {"x": NaN}}]}'
    response = post(raw_key, body)
    assert response.status_code == 400
    assert "NaN" in response.json()["detail"]
    assert not Event.objects.exists()


@pytest.mark.parametrize(
    ("body", "field"),
    [({}, "events"), ({"events": []}, "events"), ({"events": "no"}, "events")],
)
def test_a_batch_without_events_is_refused(raw_key, body, field):
    response = post(raw_key, body)
    assert response.status_code == 400
    assert field in response.json()


def test_events_outside_the_time_window_are_refused(raw_key):
    old = (timezone.now() - timedelta(days=400)).isoformat()
    future = (timezone.now() + timedelta(days=1)).isoformat()
    body = post(raw_key, {"events": [event(1, timestamp=old), event(2, timestamp=future)]}).json()
    assert "retention" in body["events"]["0"]["timestamp"][0]
    assert "future" in body["events"]["1"]["timestamp"][0]


def test_gzip_bodies_are_accepted(raw_key):
    body = gzip.compress(json.dumps({"events": [event(1)]}).encode())
    response = post(raw_key, body, HTTP_CONTENT_ENCODING="gzip")
    assert response.status_code == 202
    assert response.json()["accepted"] == 1


def test_credentials_content_type_size_and_rate_are_checked(raw_key, settings, key_pair, team_member):
    assert Client().post(URL, data="{}", content_type="application/json").status_code == 401
    assert post("coei_not-a-key", {"events": [event(1)]}).status_code == 401
    assert post(raw_key, b"events", content_type="text/plain").status_code == 415
    assert post(raw_key, b"not json").status_code == 400
    settings.TELEMETRY_MAX_BODY_BYTES = 100
    assert post(raw_key, {"events": [event(1)]}).status_code == 413


def test_a_key_over_its_rate_limit_waits(raw_key, settings):
    settings.TELEMETRY_RATE_LIMIT_PER_MINUTE = 2
    assert post(raw_key, {"events": [event(1)]}).status_code == 202
    assert post(raw_key, {"events": [event(2)]}).status_code == 202
    limited = post(raw_key, {"events": [event(3)]})
    assert limited.status_code == 429
    assert 1 <= int(limited["Retry-After"]) <= 90  # sliding: at most 30 s into the next minute
    assert not Event.objects.filter(event_key="evt-3").exists()


def test_a_revoked_key_writes_nothing(key_pair, team_member):
    key, raw = key_pair
    services.key_revoke(key=key, actor=team_member)
    assert post(raw, {"events": [event(1)]}).status_code == 401
    assert not Event.objects.exists()


def test_a_key_revoked_after_use_is_refused_at_once_by_this_process(key_pair, team_member):
    key, raw = key_pair
    assert post(raw, {"events": [event(1)]}).status_code == 202  # the key is now remembered here
    services.key_revoke(key=key, actor=team_member)
    assert post(raw, {"events": [event(2)]}).status_code == 401
    assert list(Event.objects.values_list("event_key", flat=True)) == ["evt-1"]


class Clock:
    """services' cache clock, moved by hand."""

    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_a_key_revoked_by_another_process_is_refused_within_the_cache_time(key_pair, monkeypatch):
    key, raw = key_pair
    clock = Clock()
    monkeypatch.setattr(services, "_clock", clock)
    assert post(raw, {"events": [event(1)]}).status_code == 202
    # Another web worker revokes it: this process's cache is not told, and trusts the key a little longer.
    IngestionKey.objects.filter(pk=key.pk).update(revoked_at=timezone.now())
    clock.now += services.KEY_CACHE_SECONDS - 1
    assert post(raw, {"events": [event(2)]}).status_code == 202
    clock.now += 1
    assert post(raw, {"events": [event(3)]}).status_code == 401
    assert sorted(Event.objects.values_list("event_key", flat=True)) == ["evt-1", "evt-2"]


def test_a_workload_retired_elsewhere_takes_nothing_once_the_cache_time_is_over(raw_key, workload, monkeypatch):
    from apps.registry import services as registry

    clock = Clock()
    monkeypatch.setattr(services, "_clock", clock)
    assert post(raw_key, {"events": [event(1)]}).status_code == 202
    registry.workload_retire(actor=None, workload=workload)
    clock.now += services.KEY_CACHE_SECONDS
    response = post(raw_key, {"events": [event(2)]})
    assert response.status_code == 403
    assert "retired" in response.json()["detail"]
    assert Event.objects.count() == 1


def test_unknown_keys_are_looked_up_every_time(key_pair, monkeypatch):
    key, raw = key_pair
    monkeypatch.setattr(services, "_clock", Clock())  # the cache never expires by itself here
    IngestionKey.objects.filter(pk=key.pk).update(revoked_at=timezone.now())
    assert post(raw, {"events": [event(1)]}).status_code == 401  # never remembered while revoked
    IngestionKey.objects.filter(pk=key.pk).update(revoked_at=None)
    assert post(raw, {"events": [event(1)]}).status_code == 202


def test_a_key_writes_only_its_own_workload(raw_key, workload, other_workload, other_team_member):
    _, other_raw = services.key_create(workload=other_workload, name="theirs", actor=other_team_member)
    post(raw_key, {"events": [event(1)]})
    post(other_raw, {"events": [event(1)]})  # the same event id, another workload: stored for it
    assert Event.objects.filter(workload=workload).count() == 1
    assert Event.objects.filter(workload=other_workload).count() == 1


def test_the_key_records_its_use(key_pair):
    key, raw = key_pair
    post(raw, {"events": [event(1), event(2)]})
    key = IngestionKey.objects.get(pk=key.pk)
    assert key.events_accepted == 2
    assert key.last_used_at is not None
    first_use = key.last_used_at
    post(raw, {"events": [event(2), event(3), event(4)]})  # one duplicate
    key = IngestionKey.objects.get(pk=key.pk)
    assert key.events_accepted == 4
    assert key.last_used_at == first_use  # within LAST_USED_GRANULARITY: not written again


def test_the_last_use_is_written_again_after_the_granularity(key_pair):
    key, raw = key_pair
    long_ago = timezone.now() - services.LAST_USED_GRANULARITY - timedelta(seconds=1)
    IngestionKey.objects.filter(pk=key.pk).update(last_used_at=long_ago)
    post(raw, {"events": [event(1)]})
    key = IngestionKey.objects.get(pk=key.pk)
    assert key.last_used_at > long_ago
    assert key.events_accepted == 1


def test_a_price_in_another_currency_is_stored_in_dollars_at_the_day_rate(raw_key, workload, coe_staff):
    from apps.registry import services as registry
    from apps.registry.models import AIModel

    model = AIModel.objects.create(provider="mistral", model_id="mistral-large", display_name="Mistral Large",
                                   slug="mistral-mistral-large")  # fmt: skip
    registry.model_price_add(
        actor=coe_staff, model=model, effective_from=timezone.now() - timedelta(days=30),
        input_per_million=Decimal("2"), output_per_million=Decimal("6"), currency="EUR",
    )  # fmt: skip
    body = {"events": [event(1, model="mistral-large", provider="mistral")]}
    # No EUR rate yet: stored, but unpriced (a cost in euros would be summed with dollars).
    assert post(raw_key, body).json() == {"accepted": 1, "duplicates": 0, "unpriced": 1}
    since = timezone.now().date() - timedelta(days=60)
    registry.exchange_rate_add(actor=coe_staff, currency="EUR", effective_from=since, per_usd=Decimal("0.8"))
    response = post(raw_key, {"events": [event(2, model="mistral-large", provider="mistral")]})
    assert response.json() == {"accepted": 1, "duplicates": 0, "unpriced": 0}
    # 1000 × 2 + 500 × 6 = 5000 EUR per million = 0.005 EUR = 0.00625 USD at 0.8 EUR per USD.
    assert Event.objects.get(event_key="evt-2").cost == Decimal("0.00625000")

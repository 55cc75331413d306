"""The answer while a backing service is away, in process: the cache pointed at a Redis that is not
there (a real refused connection, no mock). Ingestion counts each key's requests in Redis; with Redis
away both endpoints answer 503 with Retry-After, which senders and OTLP exporters retry, store nothing,
and take the same batch once Redis is back."""

from __future__ import annotations

import json
from collections.abc import Callable

import pytest
from django.test import Client
from pytest_django.fixtures import Settings

from apps.telemetry import services
from apps.telemetry.models import Event
from tests.factories import MembershipFactory, TeamFactory, UserFactory

from .servers import free_port
from .telemetry import Batch, hour_start, native_batch, otlp_batch


@pytest.fixture
def raw_key(db: None) -> str:
    from apps.registry import services as registry

    team = TeamFactory(name="Claims Automation", slug="claims-automation")
    member = UserFactory(username="fault-sender")
    MembershipFactory(user=member, team=team)
    workload = registry.workload_register(actor=member, team=team, name="Claims Assistant", ai_models=[])
    return services.key_create(workload=workload, name="collector", actor=member)[1]


@pytest.mark.parametrize("batch", [native_batch, otlp_batch])
def test_ingestion_answers_503_while_redis_is_away_and_takes_the_batch_after(
    client: Client, raw_key: str, settings: Settings, batch: Callable[..., Batch]
) -> None:
    sent = batch(1, 5, start=hour_start(1))
    post = {"data": sent.body, "content_type": "application/json", "HTTP_AUTHORIZATION": f"Bearer {raw_key}"}
    assert settings.TELEMETRY_RATE_LIMIT_PER_MINUTE
    default_cache = settings.CACHES
    settings.CACHES = {"default": {"BACKEND": "django.core.cache.backends.redis.RedisCache",
                                   "LOCATION": f"redis://127.0.0.1:{free_port()}/1"}}  # fmt: skip

    response = client.post(sent.path, **post)

    assert response.status_code == 503
    assert response["Retry-After"] == "5"
    assert "retry" in json.loads(response.content)["detail"]
    assert not Event.objects.exists()

    settings.CACHES = default_cache
    response = client.post(sent.path, **post)
    assert response.status_code in (200, 202), response.content
    assert sorted(Event.objects.values_list("event_key", flat=True)) == sorted(sent.ids)

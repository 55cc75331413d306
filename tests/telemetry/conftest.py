"""Telemetry fixtures: a priced model, a workload of ``team`` with a live release, and its key."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import pytest
from django.utils import timezone

from apps.registry import services as registry
from apps.registry.models import ModelPrice
from apps.telemetry import services
from tests.registry.factories import AIModelFactory


@pytest.fixture
def priced_model(db):  # type: ignore[no-untyped-def]
    model = AIModelFactory(provider="openai", model_id="gpt-4o-mini", display_name="GPT-4o mini",
                           aliases=["gpt-4o-mini-2024-07-18"])  # fmt: skip
    ModelPrice.objects.create(model=model, effective_from=timezone.now() - timedelta(days=400),
                              input_per_million=Decimal("0.15"), output_per_million=Decimal("0.60"))  # fmt: skip
    return model


@pytest.fixture
def workload(team, team_member, priced_model):  # type: ignore[no-untyped-def]
    return registry.workload_register(
        actor=team_member, team=team, name="Claims Assistant", ai_models=[priced_model], risk_tier="limited",
        lifecycle_stage="production", objective_p95_latency_ms=2000, monthly_budget=Decimal("100"),
        value_per_request=Decimal("0.50"),
    )  # fmt: skip


@pytest.fixture
def other_workload(other_team, other_team_member, priced_model):  # type: ignore[no-untyped-def]
    return registry.workload_register(
        actor=other_team_member, team=other_team, name="Lunch Menu Bot", ai_models=[priced_model]
    )


@pytest.fixture
def key_pair(workload, team_member):  # type: ignore[no-untyped-def]
    """(IngestionKey, raw value) for ``workload``."""
    return services.key_create(workload=workload, name="prod collector", actor=team_member)


@pytest.fixture
def raw_key(key_pair) -> str:  # type: ignore[no-untyped-def]
    return key_pair[1]

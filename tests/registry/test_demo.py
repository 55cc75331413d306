"""The demo data (``manage.py seed_demo``): idempotent, realistic, and within the registry's rules."""

from __future__ import annotations

from datetime import timedelta
from io import StringIO

import pytest
from django.core.management import call_command

from apps.accounts.models import Team, User
from apps.core.models import AuditEvent
from apps.registry.models import (
    AIModel,
    ExchangeRate,
    LifecycleStage,
    ModelPrice,
    Release,
    ReleaseEvent,
    RiskTier,
    Workload,
)
from apps.registry.services import model_guard_problems

pytestmark = pytest.mark.django_db


def _seed() -> None:
    call_command("seed_demo", stdout=StringIO())


def _counts() -> dict[str, int]:
    return {
        model.__name__: model.objects.count()
        for model in (User, Team, Workload, AIModel, ModelPrice, ExchangeRate, Release, ReleaseEvent, AuditEvent)
    }


@pytest.fixture
def seeded(db: None) -> None:
    _seed()


def test_seeding_twice_creates_nothing_new(db: None) -> None:
    _seed()
    first = _counts()
    _seed()
    assert _counts() == first
    assert first["Workload"] >= 25


def test_catalogue_covers_every_approval_status(seeded: None) -> None:
    assert AIModel.objects.count() >= 12
    statuses = set(AIModel.objects.values_list("approval_status", flat=True))
    assert statuses == set(AIModel.ApprovalStatus.values)
    conditional = AIModel.objects.filter(approval_status=AIModel.ApprovalStatus.CONDITIONAL)
    assert all(model.conditions.strip() for model in conditional)
    assert {"public", "internal", "confidential", "restricted"} <= set(
        AIModel.objects.values_list("max_data_classification", flat=True)
    )
    assert AIModel.objects.filter(prices__isnull=True).count() == 0
    assert all("example only" in price.note for price in ModelPrice.objects.all())


def test_snapshot_names_match_their_model(seeded: None) -> None:
    mini = AIModel.objects.get(provider="openai", model_id="gpt-4o-mini")
    assert mini.matches("gpt-4o-mini-2024-07-18")
    assert not AIModel.objects.get(provider="openai", model_id="gpt-4o").matches("gpt-4o-mini")


def test_price_change_answers_old_price_before_and_new_price_after(seeded: None) -> None:
    changed = [model for model in AIModel.objects.all() if model.prices.count() >= 2]
    assert len(changed) >= 2
    for model in changed:
        newer, older = list(model.prices.order_by("-effective_from")[:2])
        assert (newer.input_per_million, newer.output_per_million) != (
            older.input_per_million,
            older.output_per_million,
        )
        assert model.price_at(newer.effective_from - timedelta(days=1)) == older
        assert model.price_at(newer.effective_from + timedelta(days=1)) == newer


def test_workloads_span_every_stage_and_risk_tier(seeded: None) -> None:
    assert Workload.objects.count() >= 25
    assert set(Workload.objects.values_list("lifecycle_stage", flat=True)) == set(LifecycleStage.values)
    assert set(Workload.objects.values_list("risk_tier", flat=True)) == set(RiskTier.values)
    unacceptable = Workload.objects.filter(risk_tier=RiskTier.UNACCEPTABLE)
    assert unacceptable.exists()
    assert set(unacceptable.values_list("lifecycle_stage", flat=True)) == {LifecycleStage.PROPOSED}
    assert Workload.objects.filter(lifecycle_stage=LifecycleStage.RETIRED, retired_at__isnull=True).count() == 0
    assert Team.objects.filter(workloads__isnull=False).distinct().count() >= 6


def test_release_histories_have_rollbacks_and_drafts(seeded: None) -> None:
    rollbacks = ReleaseEvent.objects.filter(kind=ReleaseEvent.Kind.ROLLED_BACK)
    assert rollbacks.values("workload").distinct().count() >= 2
    assert all(event.reason.strip() and event.previous_id for event in rollbacks)
    assert Release.objects.filter(status=Release.Status.DRAFT).exists()
    for workload in Workload.objects.exclude(lifecycle_stage=LifecycleStage.PROPOSED):
        timeline = list(workload.release_events.order_by("at", "pk").values_list("pk", flat=True))
        assert timeline == sorted(timeline), f"{workload}'s timeline is out of order"
        if workload.lifecycle_stage in {LifecycleStage.PILOT, LifecycleStage.PRODUCTION}:
            assert workload.live_release is not None, f"{workload} has no live release"
            assert workload.live_release.status == Release.Status.LIVE


def test_no_workload_or_release_uses_a_model_it_may_not(seeded: None) -> None:
    for workload in Workload.objects.prefetch_related("ai_models", "releases__ai_models"):
        problems = model_guard_problems(
            ai_models=workload.ai_models.all(), data_classification=workload.data_classification
        )
        assert problems == [], f"{workload}: {problems}"
        for release in workload.releases.all():
            problems = model_guard_problems(
                ai_models=release.ai_models.all(), data_classification=workload.data_classification
            )
            assert problems == [], f"{release}: {problems}"
            if release.has_been_live:
                assert all(model.is_usable for model in release.ai_models.all()), f"{release} went live unapproved"


def test_every_workload_currency_has_an_exchange_rate_for_the_demo_telemetry(seeded: None) -> None:
    from django.utils import timezone

    from apps.registry.selectors import Rates

    rates = Rates()
    month_ago = timezone.now().date() - timedelta(days=31)
    for currency in set(Workload.objects.values_list("currency", flat=True)):
        assert rates.per_usd(currency, month_ago) is not None, currency
    assert ExchangeRate.objects.filter(currency="EUR").count() == 2  # a rate change within the demo history

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal

import factory

from apps.registry.models import AIModel, ModelPrice, Release, Workload
from tests.factories import TeamFactory


class AIModelFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = AIModel
        django_get_or_create = ("slug",)

    provider = "openai"
    model_id = factory.Sequence(lambda n: f"model-{n}")
    slug = factory.LazyAttribute(lambda m: f"{m.provider}-{m.model_id}")
    display_name = factory.LazyAttribute(lambda m: m.model_id.upper())
    approval_status = AIModel.ApprovalStatus.APPROVED
    max_data_classification = "confidential"


class ModelPriceFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = ModelPrice

    model = factory.SubFactory(AIModelFactory)
    effective_from = datetime(2026, 1, 1, tzinfo=UTC)
    input_per_million = Decimal("0.15")
    output_per_million = Decimal("0.60")


class WorkloadFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Workload
        django_get_or_create = ("slug",)
        skip_postgeneration_save = True

    name = factory.Sequence(lambda n: f"Workload {n}")
    slug = factory.LazyAttribute(lambda w: w.name.lower().replace(" ", "-"))
    team = factory.SubFactory(TeamFactory)
    lifecycle_stage = "development"
    risk_tier = "limited"
    data_classification = "internal"
    fixed_monthly_run_cost = Decimal("100.00")
    monthly_budget = Decimal("1000.00")

    @factory.post_generation
    def ai_models(self, create: bool, extracted: list[AIModel] | None, **kwargs: object) -> None:
        if create and extracted:
            self.ai_models.set(extracted)


class ReleaseFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Release
        skip_postgeneration_save = True

    workload = factory.SubFactory(WorkloadFactory)
    version = factory.Sequence(lambda n: f"1.{n}.0")

    @factory.post_generation
    def ai_models(self, create: bool, extracted: list[AIModel] | None, **kwargs: object) -> None:
        if create and extracted:
            self.ai_models.set(extracted)

"""Benchmarks of the registry's lists (run by ``make bench``).

The seed writes straight to the tables with ``bulk_create``: thousands of workloads through the
services (one audit row, guard and M2M call each) would take minutes and time nothing we care
about. It tops up what an earlier size left, so sizes run in increasing order share their rows.
"""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal

from django.utils import timezone

from apps.accounts.models import Membership, Team, User
from apps.core.management.commands.bench import Benchmark, Case
from apps.core.models import Tag

from .models import (
    AIModel,
    DataClassification,
    LifecycleStage,
    ModelPrice,
    Release,
    RiskTier,
    UseCaseCategory,
    Workload,
)

TEAMS = 50
PREFIX = "bench-workload-"
MODELS = [
    # model_id, max data classification
    ("bench-gpt-4o", DataClassification.CONFIDENTIAL),
    ("bench-gpt-4o-mini", DataClassification.CONFIDENTIAL),
    ("bench-claude-sonnet-4", DataClassification.CONFIDENTIAL),
    ("bench-gemini-2.0-flash", DataClassification.INTERNAL),
    ("bench-llama-3.1-70b", DataClassification.RESTRICTED),
    ("bench-embedding", DataClassification.RESTRICTED),
]
TAGS = [f"bench-{name}" for name in ("rag", "claims", "support", "code", "search", "eu", "pilot", "agents")]
STAGES = list(LifecycleStage.values)
RISKS = [RiskTier.MINIMAL, RiskTier.LIMITED, RiskTier.HIGH, RiskTier.LIMITED, RiskTier.MINIMAL, RiskTier.HIGH]
CATEGORIES = list(UseCaseCategory.values)
CURRENCIES = ["USD", "EUR", "GBP"]


def _teams() -> list[Team]:
    Team.objects.bulk_create(
        [Team(name=f"Registry bench team {i:02d}", slug=f"registry-bench-team-{i:02d}") for i in range(TEAMS)],
        ignore_conflicts=True,
    )
    return list(Team.objects.filter(slug__startswith="registry-bench-team-").order_by("slug"))


def _models() -> list[AIModel]:
    AIModel.objects.bulk_create(
        [
            AIModel(
                slug=f"bench-{model_id}".replace(".", ""),
                provider="bench",
                model_id=model_id,
                display_name=model_id,
                approval_status=AIModel.ApprovalStatus.APPROVED,
                max_data_classification=classification,
            )
            for model_id, classification in MODELS
        ],
        ignore_conflicts=True,
    )
    models = list(AIModel.objects.filter(provider="bench").order_by("model_id"))
    ModelPrice.objects.bulk_create(
        [
            ModelPrice(
                model=model,
                effective_from=datetime(2025, 1, 1, tzinfo=UTC),
                input_per_million=Decimal("1.00"),
                output_per_million=Decimal("4.00"),
                note="List price, example only — check the provider",
            )
            for model in models
        ],
        ignore_conflicts=True,
    )
    return models


def _workload(i: int, team: Team) -> Workload:
    stage = STAGES[i % len(STAGES)]
    risk = RISKS[i % len(RISKS)]
    if i % 97 == 0:
        stage, risk = LifecycleStage.PROPOSED, RiskTier.UNACCEPTABLE
    return Workload(
        name=f"Bench workload {i:05d}",
        slug=f"{PREFIX}{i:05d}",
        description=f"Benchmark workload number {i}: **summarises** documents for {team.name}.",
        team=team,
        business_owner="Bench Owner",
        business_owner_email="owner@example.org",
        lifecycle_stage=stage,
        risk_tier=risk,
        # Internal data at most, so every bench model is cleared for it.
        data_classification=DataClassification.values[i % 2],
        use_case_category=CATEGORIES[i % len(CATEGORIES)],
        repository_url=f"https://git.example.org/bench/{i}",
        runbook_url=f"https://wiki.example.org/runbooks/bench-{i}",
        currency=CURRENCIES[i % len(CURRENCIES)],
        minutes_saved_per_request=Decimal(i % 20 + 1),
        loaded_hourly_rate=Decimal("60.00"),
        fixed_monthly_run_cost=Decimal(100 + i % 900),
        monthly_budget=Decimal(2000),
        target_roi=Decimal("1.50"),
        objective_p95_latency_ms=3000,
        retired_at=timezone.now() if stage == LifecycleStage.RETIRED else None,
    )


def _seed_workloads(size: int) -> list[Case]:
    teams = _teams()
    models = _models()
    Tag.objects.bulk_create([Tag(name=name) for name in TAGS], ignore_conflicts=True)
    tags = list(Tag.objects.filter(name__in=TAGS).order_by("name"))

    existing = Workload.objects.filter(slug__startswith=PREFIX).count()
    new = Workload.objects.bulk_create([_workload(i, teams[i % TEAMS]) for i in range(existing, size)], batch_size=1000)
    WorkloadModel = Workload.ai_models.through
    WorkloadTag = Workload.tags.through
    ReleaseModel = Release.ai_models.through
    offset = existing
    workload_models, workload_tags, releases = [], [], []
    for n, workload in enumerate(new):
        i = offset + n
        picked = [models[i % len(models)]] + ([models[(i + 1) % len(models)]] if i % 2 else [])
        workload_models += [WorkloadModel(workload_id=workload.pk, aimodel_id=m.pk) for m in picked]
        workload_tags += [WorkloadTag(workload_id=workload.pk, tag_id=tags[(i + k) % len(tags)].pk) for k in (0, 3)]
        if workload.lifecycle_stage in {LifecycleStage.PILOT, LifecycleStage.PRODUCTION} and i % 3:
            releases.append(
                Release(
                    workload=workload,
                    version="1.0.0",
                    changelog="First release.",
                    config={"temperature": 0.2, "max_tokens": 800},
                    status=Release.Status.LIVE,
                    promoted_at=timezone.now(),
                )
            )
            workload._bench_models = picked  # type: ignore[attr-defined]
    WorkloadModel.objects.bulk_create(workload_models, batch_size=2000)
    WorkloadTag.objects.bulk_create(workload_tags, batch_size=2000)
    Release.objects.bulk_create(releases, batch_size=1000)
    ReleaseModel.objects.bulk_create(
        [
            ReleaseModel(release_id=release.pk, aimodel_id=m.pk)
            for release in releases
            for m in release.workload._bench_models
        ],
        batch_size=2000,
    )
    for release in releases:
        release.workload.live_release_id = release.pk
    Workload.objects.bulk_update([r.workload for r in releases], ["live_release"], batch_size=1000)

    user, _ = User.objects.get_or_create(username="bench-registry-member", defaults={"first_name": "Bench"})
    Membership.objects.bulk_create(
        [Membership(user=user, team=teams[0], role=Membership.Role.OWNER)], ignore_conflicts=True
    )
    model = models[0].slug
    return [
        Case("registry list page", "/registry/", user),
        Case("registry list, high risk by risk", "/registry/?risk_tier=high&ordering=risk", user),
        Case("GET /api/v1/workloads/", "/api/v1/workloads/", user),
        Case("GET /api/v1/workloads/?model=", f"/api/v1/workloads/?model={model}", user),
        Case("model catalogue page", "/registry/models/", user),
    ]


BENCHMARKS = [Benchmark("registry", _seed_workloads, sizes=(100, 5000))]

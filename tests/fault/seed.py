"""``python -m tests.fault.seed N``, run against a throwaway database (DATABASE_URL): a team, a priced
model, N workloads and an ingestion key for each, through the portal's own services. Prints
``{"workloads": [{"id": …, "key": "coei_…"}, …]}`` as JSON on its last line."""

from __future__ import annotations

import json
import sys
from datetime import timedelta
from decimal import Decimal


def main(count: int) -> None:
    import django

    django.setup()
    from django.utils import timezone

    from apps.registry import services as registry
    from apps.registry.models import AIModel, ModelPrice
    from apps.telemetry import services
    from tests.factories import MembershipFactory, TeamFactory, UserFactory

    team = TeamFactory(name="Claims Automation", slug="claims-automation")
    member = UserFactory(username="fault-sender")
    MembershipFactory(user=member, team=team)
    model = AIModel.objects.create(provider="openai", model_id="gpt-4o-mini", slug="openai-gpt-4o-mini",
                                   display_name="GPT-4o mini", approval_status=AIModel.ApprovalStatus.APPROVED,
                                   max_data_classification="confidential")  # fmt: skip
    ModelPrice.objects.create(model=model, effective_from=timezone.now() - timedelta(days=400),
                              input_per_million=Decimal("0.15"), output_per_million=Decimal("0.60"))  # fmt: skip
    workloads = []
    for n in range(count):
        workload = registry.workload_register(
            actor=member, team=team, name=f"Fault workload {n}", ai_models=[model], risk_tier="limited",
            lifecycle_stage="production", objective_p95_latency_ms=2000, monthly_budget=Decimal("100"),
            value_per_request=Decimal("0.50"),
        )  # fmt: skip
        _, raw = services.key_create(workload=workload, name="collector", actor=member)
        workloads.append({"id": workload.pk, "key": raw})
    sys.stdout.write(json.dumps({"workloads": workloads}) + "\n")


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 1)

"""The governance world for the permission matrix; rows live in access_pages.py and access_api.py."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from django.utils import timezone

from apps.governance import services
from apps.registry import services as registry


def build(world: Any) -> None:
    """A published policy (v1.0.0) with an attestation control for every workload and an automated
    latency check; a draft v1.1.0; the team's workload made high-risk with a draft release (world.
    draft_release from tests/registry/access.py); a requested waiver for the attestation control."""
    coe = world.coe_staff
    policy = services.policy_create(actor=coe, title="Human oversight", category="security_governance",
                                    summary="People stay in charge.")  # fmt: skip
    v1 = services.policy_version_create(actor=coe, policy=policy, number="1.0.0", body="# Oversight")
    review = services.control_add(actor=coe, version=v1, key="human-review", title="Human review",
                                  statement="A person reviews decisions.", kind="attestation")  # fmt: skip
    services.control_add(actor=coe, version=v1, key="latency", title="Latency", statement="p95 within objective.",
                         kind="automated", metric="p95_latency_ms", operator="<=", threshold=2000)  # fmt: skip
    services.policy_version_publish(actor=coe, version=v1)
    draft = services.policy_version_create(actor=coe, policy=policy, number="1.1.0", body="# Oversight v1.1",
                                           changelog="Stricter.", copy_controls_from=v1)  # fmt: skip
    world.workload = registry.workload_update(actor=coe, workload=world.workload, risk_tier="high")
    # The registry's promote rows promote world.draft_release: approved and compliant, it passes
    # governance's high-risk gate, so those rows test the registry's permissions, not the gate.
    services.release_approve(actor=coe, release=world.draft_release)
    services.attest(actor=world.team_member, workload=world.workload, control=review, answer="Handlers review.")
    services.check_record(workload=world.workload, metrics={"p95_latency_ms": 1200})
    waiver = services.waiver_request(actor=world.team_member, workload=world.workload, control=review,
                                     justification="Reviewer starts next month.",
                                     ends_on=timezone.localdate() + timedelta(days=30))  # fmt: skip
    world.policy, world.policy_v1, world.policy_draft = policy, v1, draft
    world.control_review, world.control_latency = review, v1.controls.get(key="latency")
    world.waiver = waiver

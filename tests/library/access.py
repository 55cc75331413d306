"""The library's world for the permission matrix; its rows are in access_pages.py and
access_api.py (merged into tests/access.py)."""

from __future__ import annotations

from typing import Any

from apps.library import services
from apps.library.models import Template
from apps.registry import adoption


def build(world: Any) -> None:
    """A prompt template with v1.0.0 published (adopted by the team's workload), v1.1.0 published
    and current, and a v1.2.0 draft; and a runbook with v1.0.0 published."""
    coe = world.coe_staff
    prompt = services.template_create(
        actor=coe, title="Claim summary prompt", kind=Template.Kind.PROMPT, category="security_governance",
        summary="Summarise a claim for a handler.", tags=["claims"],
    )  # fmt: skip
    v1 = services.version_create(actor=coe, template=prompt, number="1.0.0", body="Summarise {{ claim }}.",
                                 variables=["claim"])  # fmt: skip
    services.version_publish(actor=coe, version=v1)
    if hasattr(world, "workload"):
        adoption.adoption_set(actor=world.team_member, workload=world.workload, version=v1)
    v11 = services.version_create(actor=coe, template=prompt, number="1.1.0", body="Summarise {{ claim }} briefly.",
                                  variables=["claim"], changelog="Shorter.")  # fmt: skip
    services.version_publish(actor=coe, version=v11)
    draft = services.version_create(actor=coe, template=prompt, number="1.2.0", body="Draft {{ claim }}.",
                                    variables=["claim"], changelog="Work in progress.")  # fmt: skip
    runbook = services.template_create(
        actor=coe, title="Provider outage runbook", kind=Template.Kind.RUNBOOK, category="infrastructure",
        summary="Fail over to a second provider.",
    )  # fmt: skip
    rb1 = services.version_create(actor=coe, template=runbook, number="1.0.0", body="1. Switch the gateway.")
    services.version_publish(actor=coe, version=rb1)
    world.template, world.template_v1, world.template_current, world.template_draft = prompt, v1, v11, draft
    world.runbook, world.runbook_v1 = runbook, rb1

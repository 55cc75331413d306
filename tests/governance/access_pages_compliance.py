"""The compliance pages' rows of the permission matrix (merged into tests/access.py).

The world is built by tests/registry/access.py and tests/governance/access.py: ``world.workload``
(the team's, high-risk) with a draft release ``world.draft_release``; a published policy with an
attestation control ``world.control_review`` and an automated one ``world.control_latency``; a
requested waiver ``world.waiver`` of the attestation control.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from django.utils import timezone

from tests.access import COE_AND_LEADERSHIP, COE_ONLY, DENIED, LOGIN, OK, Route, everyone

# A workload's compliance: its team, the CoE and leadership; another team is refused.
SEES_COMPLIANCE = {**everyone(OK), "anonymous": LOGIN, "other_team_member": DENIED}
# Attesting and asking for waivers is the workload's team's alone: the CoE does not attest for teams.
TEAM_ONLY = {**everyone(DENIED), "anonymous": LOGIN, "team_member": OK}


def _workload(world: Any) -> dict[str, Any]:
    return {"slug": world.workload.slug}


def _review(world: Any) -> dict[str, Any]:
    return {"slug": world.workload.slug, "control_id": world.control_review.pk}


def _latency(world: Any) -> dict[str, Any]:
    # The review control already has a requested waiver; ask one for the latency check.
    return {"slug": world.workload.slug, "control_id": world.control_latency.pk}


def _attestation(world: Any, persona: str) -> dict[str, Any]:
    return {
        "answer": f"A reviewer signs off every decision ({persona}).",
        "evidence_url": "https://wiki.example/review",
    }


def _waiver(world: Any, persona: str) -> dict[str, Any]:
    ends_on = timezone.localdate() + timedelta(days=30)
    return {"justification": "Latency work lands next sprint.", "compensating_controls": "", "ends_on": ends_on}


PAGES: dict[str, Route] = {
    "governance:workload-compliance": Route({"GET": SEES_COMPLIANCE}, kwargs=_workload),
    "governance:attest": Route({"GET": TEAM_ONLY, "POST": TEAM_ONLY}, kwargs=_review, data=_attestation),
    "governance:waiver-request": Route({"GET": TEAM_ONLY, "POST": TEAM_ONLY}, kwargs=_latency, data=_waiver),
    "governance:waiver-queue": Route({"GET": COE_ONLY}),
    "governance:waiver-decide": Route(
        {"POST": COE_ONLY}, kwargs=lambda w: {"pk": w.waiver.pk}, data=lambda w, p: {"decision": "approve"}
    ),
    "governance:approval-queue": Route({"GET": COE_ONLY}),
    "governance:release-approve": Route(
        {"POST": COE_ONLY}, kwargs=lambda w: {"release_id": w.draft_release.pk}, data=lambda w, p: {"comment": "OK"}
    ),
    "governance:compliance-matrix": Route({"GET": COE_AND_LEADERSHIP}),
}

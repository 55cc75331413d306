"""The governance API's rows of the permission matrix (merged into tests/access.py; the world is
built by tests/registry/access.py and tests/governance/access.py)."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from django.utils import timezone

from tests.access import COE_ONLY, DENIED, HIDDEN, LOGIN, OK, SIGNED_IN, Route, everyone

# Drafts are the CoE's: anyone else is told there is nothing there.
DRAFT_HIDDEN = {**everyone(HIDDEN), "anonymous": LOGIN, "coe_staff": OK}
# A workload's compliance: its team, the CoE and leadership; another team is refused.
SEES_COMPLIANCE = {**everyone(OK), "anonymous": LOGIN, "other_team_member": DENIED}
# A waiver: as above, but another team is told there is nothing there.
SEES_WAIVER = {**SEES_COMPLIANCE, "other_team_member": HIDDEN}
# Only the workload's team attests and asks for waivers (the CoE does not do it for them).
TEAM_ONLY = {**everyone(DENIED), "anonymous": LOGIN, "team_member": OK}


def _policy(world: Any) -> dict[str, Any]:
    return {"slug": world.policy.slug}


def _version(attr: str) -> Any:
    def kwargs(world: Any) -> dict[str, Any]:
        return {"slug": world.policy.slug, "number": getattr(world, attr).number}

    return kwargs


def _control(attr: str) -> Any:
    def kwargs(world: Any) -> dict[str, Any]:
        return {"slug": world.policy.slug, "number": getattr(world, attr).number, "key": world.control_review.key}

    return kwargs


def _workload(world: Any) -> dict[str, Any]:
    return {"slug": world.workload.slug}


def _waiver(world: Any) -> dict[str, Any]:
    return {"id": world.waiver.pk}


def _new_policy(world: Any, persona: str) -> dict[str, Any]:
    return {"title": f"Data retention by {persona}", "category": "security_governance", "summary": "Keep less."}


def _new_control(world: Any, persona: str) -> dict[str, Any]:
    return {"key": f"red-team-{persona}".replace("_", "-"), "title": "Red teaming",
            "statement": "The workload is red-teamed before launch.", "kind": "attestation"}  # fmt: skip


def _waiver_request(world: Any, persona: str) -> dict[str, Any]:
    return {
        "workload": world.workload.slug, "policy": world.policy.slug, "control": world.control_latency.key,
        "justification": "The provider's latency improves next quarter.",
        "ends_on": (timezone.localdate() + timedelta(days=60)).isoformat(),
    }  # fmt: skip


API: dict[str, Route] = {
    "GET /api/v1/policies/": Route({"GET": SIGNED_IN}),
    "POST /api/v1/policies/": Route({"POST": COE_ONLY}, data=_new_policy),
    "GET /api/v1/policies/{slug}/": Route({"GET": SIGNED_IN}, kwargs=_policy),
    "GET /api/v1/policies/{slug}/versions/": Route({"GET": SIGNED_IN}, kwargs=_policy),
    "POST /api/v1/policies/{slug}/versions/": Route(
        {"POST": COE_ONLY}, kwargs=_policy, data=lambda w, p: {"number": "2.0.0", "body": "# v2", "copy_controls": True}
    ),
    "GET /api/v1/policies/{slug}/versions/{number}/": Route({"GET": DRAFT_HIDDEN}, kwargs=_version("policy_draft")),
    "POST /api/v1/policies/{slug}/versions/{number}/publish/": Route(
        {"POST": COE_ONLY}, kwargs=_version("policy_draft")
    ),
    "GET /api/v1/policies/{slug}/versions/{number}/controls/": Route(
        {"GET": DRAFT_HIDDEN}, kwargs=_version("policy_draft")
    ),
    "POST /api/v1/policies/{slug}/versions/{number}/controls/": Route(
        {"POST": COE_ONLY}, kwargs=_version("policy_draft"), data=_new_control
    ),
    "GET /api/v1/policies/{slug}/versions/{number}/controls/{key}/": Route(
        {"GET": SIGNED_IN}, kwargs=_control("policy_v1")
    ),
    "PATCH /api/v1/policies/{slug}/versions/{number}/controls/{key}/": Route(
        {"PATCH": COE_ONLY}, kwargs=_control("policy_draft"), data=lambda w, p: {"rationale": f"Edited by {p}."}
    ),
    "GET /api/v1/workloads/{slug}/compliance/": Route({"GET": SEES_COMPLIANCE}, kwargs=_workload),
    "GET /api/v1/workloads/{slug}/attestations/": Route({"GET": SEES_COMPLIANCE}, kwargs=_workload),
    "POST /api/v1/workloads/{slug}/attestations/": Route(
        {"POST": TEAM_ONLY},
        kwargs=_workload,
        data=lambda w, p: {"policy": w.policy.slug, "control": w.control_review.key, "answer": "A nurse reviews."},
    ),
    "GET /api/v1/waivers/": Route({"GET": SIGNED_IN}),
    "POST /api/v1/waivers/": Route({"POST": TEAM_ONLY}, data=_waiver_request),
    "GET /api/v1/waivers/{id}/": Route({"GET": SEES_WAIVER}, kwargs=_waiver),
    "PATCH /api/v1/waivers/{id}/": Route(
        {"PATCH": COE_ONLY}, kwargs=_waiver, data=lambda w, p: {"decision": "approve", "comment": "Until then."}
    ),
    "POST /api/v1/workloads/{workload_slug}/releases/{id}/approve/": Route(
        {"POST": COE_ONLY},
        kwargs=lambda w: {"workload_slug": w.workload.slug, "id": w.draft_release.pk},
        data=lambda w, p: {"comment": "Reviewed the evaluation report."},
    ),
}

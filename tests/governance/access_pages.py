"""The policy pages in the permission matrix (merged into tests/access.py; the compliance pages are
in access_pages_compliance.py). The world is built by tests/governance/access.py: world.policy
(human-oversight) with world.policy_v1 (1.0.0, published and current) and world.policy_draft (1.1.0,
a draft with the controls of 1.0.0 copied, among them human-review)."""

from __future__ import annotations

from typing import Any

from tests.access import COE_ONLY, HIDDEN, LOGIN, OK, SIGNED_IN, Route, everyone


def _policy(world: Any) -> dict[str, Any]:
    return {"slug": world.policy.slug}


def _draft(world: Any) -> dict[str, Any]:
    return {"slug": world.policy.slug, "number": world.policy_draft.number}


def _draft_control(world: Any) -> dict[str, Any]:
    return {**_draft(world), "key": world.control_review.key}


def _new_policy(world: Any, persona: str) -> dict[str, Any]:
    return {"title": f"Policy by {persona}", "category": "cost", "summary": "Spend wisely."}


def _new_version(world: Any, persona: str) -> dict[str, Any]:
    return {"number": "2.0.0", "body": "# Oversight v2", "changelog": "Stricter.",
            "framework_refs": "EU AI Act: Art. 14", "copy_controls": "on"}  # fmt: skip


def _control(world: Any, persona: str) -> dict[str, Any]:
    return {"key": f"logging-{persona}", "title": "Decision logging", "statement": "Decisions are logged.",
            "kind": "attestation"}  # fmt: skip


def _control_change(world: Any, persona: str) -> dict[str, Any]:
    return {"title": "Human review", "statement": f"A person reviews decisions ({persona}).",
            "kind": "attestation"}  # fmt: skip


# Drafts are the CoE's: to anyone else their pages are not there.
DRAFT = {**everyone(HIDDEN), "anonymous": LOGIN, "coe_staff": OK}

PAGES: dict[str, Route] = {
    "governance:policy-list": Route({"GET": SIGNED_IN}),
    "governance:policy-create": Route({"GET": COE_ONLY, "POST": COE_ONLY}, data=_new_policy),
    "governance:policy-detail": Route({"GET": SIGNED_IN}, kwargs=_policy),
    "governance:version-diff": Route({"GET": SIGNED_IN}, kwargs=_policy),
    "governance:version-create": Route({"GET": COE_ONLY, "POST": COE_ONLY}, kwargs=_policy, data=_new_version),
    "governance:version-detail": Route({"GET": DRAFT}, kwargs=_draft),
    "governance:version-publish": Route({"POST": COE_ONLY}, kwargs=_draft),
    "governance:control-create": Route({"GET": COE_ONLY, "POST": COE_ONLY}, kwargs=_draft, data=_control),
    "governance:control-edit": Route({"GET": COE_ONLY, "POST": COE_ONLY}, kwargs=_draft_control, data=_control_change),
}

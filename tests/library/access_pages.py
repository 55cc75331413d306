"""The library's pages in the permission matrix (merged into tests/access.py). The world is built
by tests/library/access.py: world.template (a prompt) with 1.0.0 and 1.1.0 (current) published and
a 1.2.0 draft; world.runbook with 1.0.0 published."""

from __future__ import annotations

from typing import Any

from tests.access import COE_ONLY, HIDDEN, LOGIN, OK, SIGNED_IN, Route, everyone


def _template(world: Any) -> dict[str, Any]:
    return {"slug": world.template.slug}


def _version(attr: str) -> Any:
    def kwargs(world: Any) -> dict[str, Any]:
        version = getattr(world, attr)
        return {"slug": version.template.slug, "number": version.number}

    return kwargs


def _new_template(world: Any, persona: str) -> dict[str, Any]:
    return {"title": f"Checklist by {persona}", "kind": "checklist", "category": "cost", "summary": "Check it."}


def _template_change(world: Any, persona: str) -> dict[str, Any]:
    return {"title": "Claim summary prompt", "kind": "prompt", "category": "security_governance",
            "summary": f"Changed by {persona}.", "tags": "claims"}  # fmt: skip


def _new_version(world: Any, persona: str) -> dict[str, Any]:
    return {"number": "2.0.0", "body": "Summarise {{ claim }} in one line.", "variables": "claim",
            "changelog": "One line."}  # fmt: skip


def _draft_change(world: Any, persona: str) -> dict[str, Any]:
    return {"body": "Draft {{ claim }}, edited.", "variables": "claim", "changelog": "Edited."}


# Drafts are the CoE's: to anyone else their pages are not there.
DRAFT = {**everyone(HIDDEN), "anonymous": LOGIN, "coe_staff": OK}

PAGES: dict[str, Route] = {
    "library:template-list": Route({"GET": SIGNED_IN}),
    "library:template-create": Route({"GET": COE_ONLY, "POST": COE_ONLY}, data=_new_template),
    "library:markdown-preview": Route({"POST": COE_ONLY}, data=lambda w, p: {"body": "# Hi"}),
    "library:template-detail": Route({"GET": SIGNED_IN}, kwargs=_template),
    "library:template-edit": Route({"GET": COE_ONLY, "POST": COE_ONLY}, kwargs=_template, data=_template_change),
    "library:version-diff": Route({"GET": SIGNED_IN}, kwargs=_template),
    "library:version-create": Route({"GET": COE_ONLY, "POST": COE_ONLY}, kwargs=_template, data=_new_version),
    "library:version-detail": Route({"GET": DRAFT}, kwargs=_version("template_draft")),
    "library:version-edit": Route(
        {"GET": COE_ONLY, "POST": COE_ONLY}, kwargs=_version("template_draft"), data=_draft_change
    ),
    "library:version-submit": Route({"POST": COE_ONLY}, kwargs=_version("template_draft")),
    "library:version-publish": Route({"POST": COE_ONLY}, kwargs=_version("template_draft")),
    "library:version-deprecate": Route({"POST": COE_ONLY}, kwargs=_version("template_v1")),
    "library:version-try": Route(
        {"GET": SIGNED_IN, "POST": SIGNED_IN}, kwargs=_version("template_current"), data=lambda w, p: {"claim": "x"}
    ),
}

"""The library API's rows of the permission matrix, and the registry's adoption endpoints
(merged into tests/access.py; the world is built by tests/registry/access.py and access.py here)."""

from __future__ import annotations

from typing import Any

from tests.access import COE_ONLY, DENIED, HIDDEN, LOGIN, OK, SIGNED_IN, Route, everyone

# Drafts are the CoE's: anyone else is told there is nothing there.
DRAFT_HIDDEN = {**everyone(HIDDEN), "anonymous": LOGIN, "coe_staff": OK}
# The workload's team and CoE staff adopt for it; another team and leadership are refused.
RUNS_WORKLOAD = {**everyone(DENIED), "anonymous": LOGIN, "team_member": OK, "coe_staff": OK}


def _template(world: Any) -> dict[str, Any]:
    return {"slug": world.template.slug}


def _version(attr: str) -> Any:
    def kwargs(world: Any) -> dict[str, Any]:
        return {"slug": world.template.slug, "number": getattr(world, attr).number}

    return kwargs


def _adoptions(world: Any) -> dict[str, Any]:
    return {"template_slug": world.template.slug}


def _new_template(world: Any, persona: str) -> dict[str, Any]:
    return {
        "title": f"Escalation checklist by {persona}", "kind": "checklist", "category": "monitoring",
        "summary": "What to check before paging the provider.", "tags": ["escalation"],
    }  # fmt: skip


API: dict[str, Route] = {
    "GET /api/v1/templates/": Route({"GET": SIGNED_IN}),
    "POST /api/v1/templates/": Route({"POST": COE_ONLY}, data=_new_template),
    "GET /api/v1/templates/{slug}/": Route({"GET": SIGNED_IN}, kwargs=_template),
    "PATCH /api/v1/templates/{slug}/": Route(
        {"PATCH": COE_ONLY}, kwargs=_template, data=lambda w, p: {"summary": f"Reviewed by {p}."}
    ),
    "GET /api/v1/templates/{slug}/diff/": Route({"GET": SIGNED_IN}, kwargs=_template),
    "GET /api/v1/templates/{slug}/versions/": Route({"GET": SIGNED_IN}, kwargs=_template),
    "POST /api/v1/templates/{slug}/versions/": Route(
        {"POST": COE_ONLY},
        kwargs=_template,
        data=lambda w, p: {"number": "2.0.0", "body": "Summarise {{ claim }}.", "variables": ["claim"]},
    ),
    "GET /api/v1/templates/{slug}/versions/{number}/": Route({"GET": DRAFT_HIDDEN}, kwargs=_version("template_draft")),
    "PATCH /api/v1/templates/{slug}/versions/{number}/": Route(
        {"PATCH": COE_ONLY}, kwargs=_version("template_draft"), data=lambda w, p: {"changelog": f"Edited by {p}."}
    ),
    "POST /api/v1/templates/{slug}/versions/{number}/submit/": Route(
        {"POST": COE_ONLY}, kwargs=_version("template_draft")
    ),
    "POST /api/v1/templates/{slug}/versions/{number}/publish/": Route(
        {"POST": COE_ONLY}, kwargs=_version("template_draft")
    ),
    "POST /api/v1/templates/{slug}/versions/{number}/deprecate/": Route(
        {"POST": COE_ONLY}, kwargs=_version("template_v1")
    ),
    "POST /api/v1/templates/{slug}/versions/{number}/try/": Route(
        {"POST": SIGNED_IN}, kwargs=_version("template_current"), data=lambda w, p: {"values": {"claim": "A claim."}}
    ),
    # Adoption is the registry's; it serves these under the template.
    "GET /api/v1/templates/{template_slug}/adoptions/": Route({"GET": SIGNED_IN}, kwargs=_adoptions),
    "POST /api/v1/templates/{template_slug}/adoptions/": Route(
        {"POST": RUNS_WORKLOAD},
        kwargs=_adoptions,
        data=lambda w, p: {"workload": w.workload.slug, "version": w.template_current.number},
    ),
    "POST /api/v1/templates/{template_slug}/adoptions/upgrade/": Route(
        {"POST": RUNS_WORKLOAD}, kwargs=_adoptions, data=lambda w, p: {"workload": w.workload.slug}
    ),
    "DELETE /api/v1/templates/{template_slug}/adoptions/{workload_slug}/": Route(
        {"DELETE": RUNS_WORKLOAD}, kwargs=lambda w: {"template_slug": w.template.slug, "workload_slug": w.workload.slug}
    ),
}

"""The registry's rows of the permission matrix (merged into tests/access.py)."""

from __future__ import annotations

from typing import Any

from apps.registry import services
from tests.access import COE_ONLY, DENIED, HIDDEN, LOGIN, OK, SIGNED_IN, Route, everyone

from .factories import AIModelFactory, ModelPriceFactory

# The workload's team and CoE staff change it; another team and leadership are refused.
RUNS_WORKLOAD = {**everyone(DENIED), "anonymous": LOGIN, "team_member": OK, "coe_staff": OK}
# Anyone in a team (or the CoE) registers; leadership is in no team and changes nothing.
REGISTERS = {**everyone(OK), "anonymous": LOGIN, "leader": DENIED}
# The team, the CoE and leadership see drafts, money and history; another team does not.
TEAM_COE_LEADERSHIP = {**everyone(OK), "anonymous": LOGIN, "other_team_member": DENIED}
DRAFT_VISIBLE = {**TEAM_COE_LEADERSHIP, "other_team_member": HIDDEN}


def build(world: Any) -> None:
    """Registry objects for the matrix: a model, the team's workload with a rolled-forward
    history (1.0.0 superseded by 1.1.0, live) and a draft 1.2.0."""
    model = AIModelFactory(provider="openai", model_id="gpt-4o-mini", display_name="GPT-4o mini")
    ModelPriceFactory(model=model)
    workload = services.workload_register(
        actor=world.team_member, team=world.team, name="Claims Assistant", ai_models=[model]
    )
    first = services.release_create(actor=world.team_member, workload=workload, version="1.0.0", ai_models=[model])
    services.release_promote(actor=world.team_member, release=first)
    second = services.release_create(actor=world.team_member, workload=workload, version="1.1.0", ai_models=[model])
    services.release_promote(actor=world.team_member, release=second)
    draft = services.release_create(actor=world.team_member, workload=workload, version="1.2.0", ai_models=[model])
    world.model, world.workload = model, workload
    world.superseded_release, world.live_release, world.draft_release = first, second, draft


def _workload(world: Any) -> dict[str, Any]:
    return {"slug": world.workload.slug}


def _model(world: Any) -> dict[str, Any]:
    return {"slug": world.model.slug}


def _draft(world: Any) -> dict[str, Any]:
    return {"slug": world.workload.slug, "pk": world.draft_release.pk}


def _superseded(world: Any) -> dict[str, Any]:
    return {"slug": world.workload.slug, "pk": world.superseded_release.pk}


def _new_workload_form(world: Any, persona: str) -> dict[str, Any]:
    return {
        "team": world.team.pk, "name": f"New by {persona}", "lifecycle_stage": "proposed", "risk_tier": "minimal",
        "data_classification": "internal", "use_case_category": "other", "currency": "USD",
        "fixed_monthly_value": "0", "fixed_monthly_run_cost": "0",
    }  # fmt: skip


PAGES: dict[str, Route] = {
    "registry:workload-list": Route({"GET": SIGNED_IN}),
    "registry:workload-export": Route({"GET": SIGNED_IN}),
    "registry:workload-create": Route({"GET": REGISTERS}),
    "registry:workload-detail": Route({"GET": SIGNED_IN}, kwargs=_workload),
    "registry:workload-edit": Route({"GET": RUNS_WORKLOAD}, kwargs=_workload),
    "registry:workload-retire": Route({"POST": RUNS_WORKLOAD}, kwargs=_workload),
    "registry:workload-history": Route({"GET": TEAM_COE_LEADERSHIP}, kwargs=_workload),
    "registry:release-list": Route({"GET": SIGNED_IN}, kwargs=_workload),
    "registry:release-create": Route({"GET": RUNS_WORKLOAD}, kwargs=_workload),
    "registry:release-promote": Route({"POST": RUNS_WORKLOAD}, kwargs=_draft),
    "registry:release-rollback": Route(
        {"POST": RUNS_WORKLOAD}, kwargs=_superseded, data=lambda w, p: {"reason": "Latency regression"}
    ),
    "registry:model-list": Route({"GET": SIGNED_IN}),
    "registry:model-create": Route({"GET": COE_ONLY}),
    "registry:model-detail": Route({"GET": SIGNED_IN}, kwargs=_model),
    "registry:model-edit": Route({"GET": COE_ONLY}, kwargs=_model),
    "registry:model-price-add": Route(
        {"POST": COE_ONLY},
        kwargs=_model,
        data=lambda w, p: {
            "effective_from": "2026-06-01T00:00",
            "input_per_million": "0.1",
            "output_per_million": "0.4",
        },
    ),
}


def _new_workload(world: Any, persona: str) -> dict[str, Any]:
    return {"team": world.team.slug, "name": f"New by {persona}", "models": [world.model.slug]}


def _release_ids(world: Any) -> dict[str, Any]:
    return {"workload_slug": world.workload.slug, "id": world.draft_release.pk}


def _superseded_ids(world: Any) -> dict[str, Any]:
    return {"workload_slug": world.workload.slug, "id": world.superseded_release.pk}


API: dict[str, Route] = {
    "GET /api/v1/workloads/": Route({"GET": SIGNED_IN}),
    # Another team's member names a team they are not in: refused.
    "POST /api/v1/workloads/": Route({"POST": REGISTERS | {"other_team_member": DENIED}}, data=_new_workload),
    "GET /api/v1/workloads/{slug}/": Route({"GET": SIGNED_IN}, kwargs=_workload),
    "PATCH /api/v1/workloads/{slug}/": Route(
        {"PATCH": RUNS_WORKLOAD}, kwargs=_workload, data=lambda w, p: {"description": f"Edited by {p}"}
    ),
    "DELETE /api/v1/workloads/{slug}/": Route({"DELETE": RUNS_WORKLOAD}, kwargs=_workload),
    "GET /api/v1/workloads/{workload_slug}/releases/": Route(
        {"GET": SIGNED_IN}, kwargs=lambda w: {"workload_slug": w.workload.slug}
    ),
    "POST /api/v1/workloads/{workload_slug}/releases/": Route(
        {"POST": RUNS_WORKLOAD},
        kwargs=lambda w: {"workload_slug": w.workload.slug},
        data=lambda w, p: {"version": "2.0.0", "models": [w.model.slug]},
    ),
    "GET /api/v1/workloads/{workload_slug}/releases/{id}/": Route({"GET": DRAFT_VISIBLE}, kwargs=_release_ids),
    "POST /api/v1/workloads/{workload_slug}/releases/{id}/promote/": Route(
        {"POST": RUNS_WORKLOAD}, kwargs=_release_ids
    ),
    "POST /api/v1/workloads/{workload_slug}/releases/{id}/rollback/": Route(
        {"POST": RUNS_WORKLOAD}, kwargs=_superseded_ids, data=lambda w, p: {"reason": "Quality dropped"}
    ),
    "GET /api/v1/models/": Route({"GET": SIGNED_IN}),
    "POST /api/v1/models/": Route(
        {"POST": COE_ONLY}, data=lambda w, p: {"provider": "mistral", "model_id": f"mistral-{p}", "display_name": "M"}
    ),
    "GET /api/v1/models/{slug}/": Route({"GET": SIGNED_IN}, kwargs=_model),
    "PATCH /api/v1/models/{slug}/": Route(
        {"PATCH": COE_ONLY}, kwargs=_model, data=lambda w, p: {"description": "Reviewed"}
    ),
    "GET /api/v1/models/{slug}/prices/": Route({"GET": SIGNED_IN}, kwargs=_model),
    "POST /api/v1/models/{slug}/prices/": Route(
        {"POST": COE_ONLY},
        kwargs=_model,
        data=lambda w, p: {
            "effective_from": "2026-06-01T00:00:00Z",
            "input_per_million": "0.1",
            "output_per_million": "0.4",
        },
    ),
    "GET /api/v1/models/{slug}/price-at/": Route({"GET": SIGNED_IN}, kwargs=_model),
    "GET /api/v1/exchange-rates/": Route({"GET": SIGNED_IN}),
    "POST /api/v1/exchange-rates/": Route(
        {"POST": COE_ONLY}, data=lambda w, p: {"currency": "EUR", "effective_from": "2026-06-01", "per_usd": "0.92"}
    ),
}

"""The telemetry API's rows of the permission matrix (merged into tests/access.py), with the two
ingestion endpoints. The workload is the registry's (tests/registry/access.py)."""

from __future__ import annotations

from typing import Any

from apps.telemetry import services
from apps.telemetry.alerts import alert_raise
from apps.telemetry.models import Alert
from tests.access import DENIED, LOGIN, OK, UNAUTHORIZED, Route, everyone

# The panel: the workload's team, the CoE and leadership; another team is refused.
SEES_TELEMETRY = {**everyone(OK), "anonymous": LOGIN, "other_team_member": DENIED}
# Keys and sources are the team's credentials and endpoints: the team alone creates them.
TEAM_ONLY = {**everyone(DENIED), "anonymous": LOGIN, "team_member": OK}
# Revoking, changing or removing, scoring, resolving: the team and the CoE (incident response).
TEAM_AND_COE = {**TEAM_ONLY, "coe_staff": OK}
# Ingestion takes a workload's ingestion key and nothing else: a person's session or personal
# token is no key, so everyone is 401, signed in or not (the key's own checks: test_api.py).
KEY_ONLY = everyone(UNAUTHORIZED)


def build(world: Any) -> None:
    """A key, a pull source and an open alert on the registry's workload."""
    world.telemetry_key, _ = services.key_create(workload=world.workload, name="matrix key", actor=world.team_member)
    world.telemetry_source = services.source_create(
        workload=world.workload, name="matrix source", url="https://telemetry.example.com/events",
        actor=world.team_member,
    )  # fmt: skip
    world.telemetry_alert = alert_raise(
        workload=world.workload, kind=Alert.Kind.BUDGET, key="matrix:budget", title="Budget 90 % spent", notify=False
    )


def _workload(world: Any) -> dict[str, Any]:
    return {"slug": world.workload.slug}


def _key(world: Any) -> dict[str, Any]:
    return {"slug": world.workload.slug, "id": world.telemetry_key.pk}


def _source(world: Any) -> dict[str, Any]:
    return {"slug": world.workload.slug, "id": world.telemetry_source.pk}


def _alert(world: Any) -> dict[str, Any]:
    return {"slug": world.workload.slug, "id": world.telemetry_alert.pk}


def _new_source(world: Any, persona: str) -> dict[str, Any]:
    return {"name": f"source of {persona}", "url": "https://telemetry.example.com/more", "interval_minutes": 10}


PAGES: dict[str, Route] = {
    # OTLP/HTTP's standard path, outside the API: the matrix's page client posts no key.
    "otlp-traces": Route({"POST": KEY_ONLY}),
}

API: dict[str, Route] = {
    "POST /api/v1/telemetry/events": Route({"POST": KEY_ONLY}, data=lambda w, p: {"events": []}),
    "GET /api/v1/workloads/{slug}/ingestion-keys/": Route({"GET": SEES_TELEMETRY}, kwargs=_workload),
    "POST /api/v1/workloads/{slug}/ingestion-keys/": Route(
        {"POST": TEAM_ONLY}, kwargs=_workload, data=lambda w, p: {"name": f"key of {p}"}
    ),
    "DELETE /api/v1/workloads/{slug}/ingestion-keys/{id}/": Route({"DELETE": TEAM_AND_COE}, kwargs=_key),
    "GET /api/v1/workloads/{slug}/scorecards/": Route({"GET": SEES_TELEMETRY}, kwargs=_workload),
    "POST /api/v1/workloads/{slug}/scorecards/score/": Route({"POST": TEAM_AND_COE}, kwargs=_workload),
    "GET /api/v1/workloads/{slug}/pull-sources/": Route({"GET": SEES_TELEMETRY}, kwargs=_workload),
    "POST /api/v1/workloads/{slug}/pull-sources/": Route({"POST": TEAM_ONLY}, kwargs=_workload, data=_new_source),
    "GET /api/v1/workloads/{slug}/pull-sources/{id}/": Route({"GET": SEES_TELEMETRY}, kwargs=_source),
    "PATCH /api/v1/workloads/{slug}/pull-sources/{id}/": Route(
        {"PATCH": TEAM_AND_COE}, kwargs=_source, data=lambda w, p: {"enabled": False}
    ),
    "DELETE /api/v1/workloads/{slug}/pull-sources/{id}/": Route({"DELETE": TEAM_AND_COE}, kwargs=_source),
    "GET /api/v1/workloads/{slug}/alerts/": Route({"GET": SEES_TELEMETRY}, kwargs=_workload),
    "POST /api/v1/workloads/{slug}/alerts/{id}/resolve/": Route({"POST": TEAM_AND_COE}, kwargs=_alert),
}

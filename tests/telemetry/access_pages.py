"""The Telemetry tab's rows of the permission matrix (merged into tests/access.py).

The workload is the registry's (tests/registry/access.py): ``world.workload``, the team's. The
builder below gives it a key, a pull source and an open alert of its own, so these rows do not
depend on the API's (tests/telemetry/access_api.py).
"""

from __future__ import annotations

from typing import Any

from apps.telemetry import services
from apps.telemetry.alerts import alert_raise
from apps.telemetry.models import Alert
from tests.access import DENIED, LOGIN, OK, Route, everyone

# The tab: the workload's team, the CoE and leadership; another team is refused.
SEES_TELEMETRY = {**everyone(OK), "anonymous": LOGIN, "other_team_member": DENIED}
# Keys and sources are the team's credentials and endpoints: the team alone creates them.
TEAM_ONLY = {**everyone(DENIED), "anonymous": LOGIN, "team_member": OK}
# Revoking, pausing or deleting, scoring, resolving: the team and the CoE (incident response).
TEAM_AND_COE = {**TEAM_ONLY, "coe_staff": OK}


def build(world: Any) -> None:
    """A key, a pull source and an open alert on the registry's workload, for the pages."""
    world.page_key, _ = services.key_create(workload=world.workload, name="page key", actor=world.team_member)
    world.page_source = services.source_create(
        workload=world.workload, name="page source", url="https://telemetry.example.com/page", actor=world.team_member
    )
    world.page_alert = alert_raise(
        workload=world.workload, kind=Alert.Kind.ANOMALY, key="pages:anomaly", title="Error rate up", notify=False
    )


def _workload(world: Any) -> dict[str, Any]:
    return {"slug": world.workload.slug}


def _key(world: Any) -> dict[str, Any]:
    return {"slug": world.workload.slug, "pk": world.page_key.pk}


def _source(world: Any) -> dict[str, Any]:
    return {"slug": world.workload.slug, "pk": world.page_source.pk}


def _alert(world: Any) -> dict[str, Any]:
    return {"slug": world.workload.slug, "pk": world.page_alert.pk}


def _new_source(world: Any, persona: str) -> dict[str, Any]:
    return {"name": f"pulled by {persona}", "url": "https://telemetry.example.com/more", "interval_minutes": "10"}


PAGES: dict[str, Route] = {
    "telemetry:workload-telemetry": Route({"GET": SEES_TELEMETRY}, kwargs=_workload),
    "telemetry:score-now": Route({"POST": TEAM_AND_COE}, kwargs=_workload),
    "telemetry:alert-resolve": Route({"POST": TEAM_AND_COE}, kwargs=_alert),
    "telemetry:key-create": Route({"POST": TEAM_ONLY}, kwargs=_workload, data=lambda w, p: {"name": f"key of {p}"}),
    "telemetry:key-revoke": Route({"POST": TEAM_AND_COE}, kwargs=_key),
    "telemetry:source-create": Route({"POST": TEAM_ONLY}, kwargs=_workload, data=_new_source),
    "telemetry:source-toggle": Route({"POST": TEAM_AND_COE}, kwargs=_source, data=lambda w, p: {"enabled": "false"}),
    "telemetry:source-delete": Route({"POST": TEAM_AND_COE}, kwargs=_source),
}

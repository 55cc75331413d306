"""The dashboards' rows of the permission matrix (merged into tests/access.py). The workload is the
registry's (tests/registry/access.py): ``world.workload``, the team's."""

from __future__ import annotations

from typing import Any

from tests.access import COE_AND_LEADERSHIP, DENIED, LOGIN, OK, SIGNED_IN, Route, everyone

# A workload's operations: its team, the CoE and leadership; another team is refused.
SEES_OPERATIONS = {**everyone(OK), "anonymous": LOGIN, "other_team_member": DENIED}


def _workload(world: Any) -> dict[str, Any]:
    return {"slug": world.workload.slug}


def _name(name: str):  # type: ignore[no-untyped-def]
    return lambda world: {"name": name}


PAGES = {
    "dashboards:index": Route({"GET": SIGNED_IN}),
    # One view serves the four portfolio-wide dashboards; each is checked by its own name below.
    "dashboards:dashboard": Route({"GET": SIGNED_IN}, kwargs=_name("portfolio")),
    "dashboards:operations": Route({"GET": SEES_OPERATIONS}, kwargs=_workload),
}

API = {
    "GET /api/v1/dashboards/portfolio/": Route({"GET": SIGNED_IN}),
    "GET /api/v1/dashboards/models/": Route({"GET": SIGNED_IN}),
    "GET /api/v1/dashboards/compliance/": Route({"GET": COE_AND_LEADERSHIP}),
    "GET /api/v1/dashboards/adoption/": Route({"GET": COE_AND_LEADERSHIP}),
    "GET /api/v1/dashboards/workloads/{slug}/": Route({"GET": SEES_OPERATIONS}, kwargs=_workload),
}

# The same view by other names: what the URL matrix above cannot name (tests/dashboards/test_access.py).
DASHBOARD_PAGES = {
    "portfolio": SIGNED_IN,
    "models": SIGNED_IN,
    "compliance": COE_AND_LEADERSHIP,
    "adoption": COE_AND_LEADERSHIP,
}

"""The adoption pages' rows of the permission matrix (merged into tests/access.py).

The world is built by tests/registry/access.py (``world.workload``, the team's) and
tests/library/access.py (``world.template``: 1.0.0 adopted explicitly by the workload, 1.1.0
current; ``world.runbook`` with 1.0.0 published).
"""

from __future__ import annotations

from typing import Any

from tests.access import DENIED, LOGIN, OK, SIGNED_IN, Route, everyone

# The workload's team and CoE staff change its adoptions; another team and leadership are refused.
CHANGES_WORKLOAD = {**everyone(DENIED), "anonymous": LOGIN, "team_member": OK, "coe_staff": OK}


def _workload(world: Any) -> dict[str, Any]:
    return {"slug": world.workload.slug}


def _workload_template(world: Any) -> dict[str, Any]:
    return {"slug": world.workload.slug, "template_slug": world.template.slug}


PAGES: dict[str, Route] = {
    "registry:templates-most-adopted": Route({"GET": SIGNED_IN}),
    "registry:template-adopters": Route({"GET": SIGNED_IN}, kwargs=lambda w: {"template_slug": w.template.slug}),
    "registry:workload-templates": Route({"GET": SIGNED_IN}, kwargs=_workload),
    "registry:adoption-create": Route(
        {"POST": CHANGES_WORKLOAD}, kwargs=_workload, data=lambda w, p: {"version": w.runbook_v1.pk, "note": p}
    ),
    "registry:adoption-remove": Route({"POST": CHANGES_WORKLOAD}, kwargs=_workload_template),
    "registry:template-upgrade": Route({"GET": CHANGES_WORKLOAD, "POST": CHANGES_WORKLOAD}, kwargs=_workload_template),
}

"""CSV exports against formula injection (OWASP "CSV injection"): every export the portal offers,
with the formula starts of payloads.py stored in the text fields that land in it.

A spreadsheet evaluates a cell that starts with ``= + - @``, a tab or a carriage return. Every
export must write such text with a leading apostrophe, the same way everywhere, while numbers
(negative ones included) stay numbers. The exports: the dashboards' ``?export=<part>`` (one
``csv_response`` for every chart and table of every dashboard) and the registry's workload list
(``registry:workload-export``, streamed).
"""

from __future__ import annotations

import csv
import io
import re
from datetime import timedelta
from decimal import Decimal
from types import SimpleNamespace
from typing import Any

import pytest
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from apps.accounts.models import Team
from apps.core.csv_export import csv_cell
from apps.dashboards.views import DASHBOARDS, build
from apps.feedback.models import Thread
from apps.governance.models import Control, Policy
from apps.library.models import Template
from apps.registry import views as registry_views
from apps.registry.models import AIModel, Workload
from apps.telemetry.scoring import score_days
from tests.access import OK, PAGES
from tests.telemetry.helpers import roll, send_day

from .payloads import CSV_FORMULAS

FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
NUMBER = re.compile(r"^-?\d+(\.\d+)?([eE][-+]?\d+)?$")
pytestmark = pytest.mark.django_db

EQ, CMD, MINUS, AT, TAB, CR = CSV_FORMULAS
# The registry's streamed export has its own cell writer (registry may not import dashboards; core
# now has one for everyone): the same rules, checked below while it exists.
_csv_cell = getattr(registry_views, "_csv_cell", csv_cell)


@pytest.fixture
def hostile(world: SimpleNamespace) -> SimpleNamespace:
    """The matrix's world with a formula in every text field that reaches an export, a negative
    target ROI (a number that must stay one) and a week of telemetry, scored, so the dashboards'
    tables and charts have rows. Set through the ORM: this is what a careless form could let
    through, not what the forms accept."""
    Team.objects.filter(pk=world.team.pk).update(name=EQ)
    Team.objects.filter(pk=world.other_team.pk).update(name=CMD)
    Workload.objects.filter(pk=world.workload.pk).update(
        name=MINUS, business_owner=AT, description=TAB, target_roi=Decimal("-0.5")
    )
    AIModel.objects.filter(pk=world.model.pk).update(display_name=CR)
    Template.objects.filter(pk=world.template.pk).update(title=AT)
    Policy.objects.filter(pk=world.policy.pk).update(title=TAB)
    Control.objects.filter(policy_version__policy=world.policy).update(title=EQ)
    Thread.objects.filter(pk__in=[world.feedback_thread.pk, world.fb_api_thread.pk]).update(title=CMD)
    today = timezone.localdate()
    days = [today - timedelta(days=n) for n in range(1, 4)]
    for day in days:
        send_day(world.workload, day, n=20, model=world.model.model_id, release=world.live_release.version)
    roll()
    score_days(workload=world.workload, days=days)
    world.workload.refresh_from_db()
    return world


def _rows(response: Any) -> list[list[str]]:
    assert response.status_code == 200, response.status_code
    assert response["Content-Type"].startswith("text/csv")
    body = b"".join(response.streaming_content) if response.streaming else response.content
    return list(csv.reader(io.StringIO(body.decode("utf-8"), newline="")))


def _unsafe_cells(rows: list[list[str]]) -> list[str]:
    """Cells a spreadsheet would run as formulas: starting like one and not a plain number."""
    return [cell for row in rows for cell in row if cell.startswith(FORMULA_STARTS) and not NUMBER.match(cell)]


def _exports(client: Client, user: Any, persona: str, workload: Workload) -> dict[str, list[list[str]]]:
    """Every chart's and table's CSV on every dashboard ``user`` may open, and every page of the
    permission matrix named ``*export*`` (the workload list, the audit trail, any added later)."""
    out = {
        name: _rows(client.get(reverse(name)))
        for name, route in PAGES.items()
        if "export" in name and route.expect.get("GET", {}).get(persona) == OK
    }
    assert "registry:workload-export" in out
    pages: list[tuple[str, str, dict[str, Any]]] = [
        (name, reverse("dashboards:dashboard", args=[name]), {})
        for name, (perm, _, _) in DASHBOARDS.items()
        if user.has_perm(perm)
    ]
    pages.append(("operations", reverse("dashboards:operations", args=[workload.slug]), {"workload": workload}))
    for name, url, kwargs in pages:
        dashboard, _ = build(name, user=user, query={}, **kwargs)
        for part in [*dashboard.charts, *dashboard.tables]:
            out[f"{name}?export={part.key}"] = _rows(client.get(url, {"export": part.key}))
    return out


@pytest.mark.parametrize("persona", ["coe_staff", "team_member"])
def test_no_export_carries_a_formula(hostile: SimpleNamespace, persona: str) -> None:
    user = getattr(hostile, persona)
    client = Client()
    client.force_login(user)
    exports = _exports(client, user, persona, hostile.workload)
    assert len(exports) > 10, sorted(exports)
    unsafe = {name: cells for name, rows in exports.items() if (cells := _unsafe_cells(rows))}
    assert unsafe == {}
    # The payloads did reach the exports, neutralised with one apostrophe each (a team member
    # sees fewer dashboards: the adoption one, with the feedback threads, is the CoE's).
    cells = {cell for rows in exports.values() for row in rows for cell in row}
    expected = CSV_FORMULAS if persona == "coe_staff" else [EQ, MINUS, AT, TAB, CR]
    for formula in expected:
        assert "'" + formula in cells, f"{formula!r} reached no export"
        assert formula not in cells


def test_negative_numbers_stay_numbers(hostile: SimpleNamespace) -> None:
    """The CoE's workload export has the money columns: a negative target ROI is written as -0.5000,
    not '-0.5000, so a spreadsheet still sums it."""
    client = Client()
    client.force_login(hostile.coe_staff)
    rows = _rows(client.get(reverse("registry:workload-export")))
    header, *body = rows
    row = next(r for r in body if r[header.index("Slug")] == hostile.workload.slug)
    assert row[header.index("Name")] == "'" + MINUS
    roi = row[header.index("Target ROI")]
    assert NUMBER.match(roi), roi
    assert Decimal(roi) == Decimal("-0.5")


@pytest.mark.parametrize("formula", CSV_FORMULAS)
def test_both_cell_writers_agree(formula: str) -> None:
    """The dashboards and the registry each have a cell writer (registry may not import
    dashboards): they neutralise text alike and leave numbers alone."""
    assert csv_cell(formula) == str(_csv_cell(formula)) == "'" + formula
    assert csv_cell(f"safe {formula}") == str(_csv_cell(f"safe {formula}")) == f"safe {formula}"


@pytest.mark.parametrize("number", [-2, Decimal("-2.50"), 0, 3, Decimal("1E+3")])
def test_numbers_are_never_quoted(number: Any) -> None:
    assert csv_cell(number) == str(number)
    assert str(_csv_cell(number)) == str(number)
    assert csv_cell(-0.25) == "-0.25"

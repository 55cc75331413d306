"""Each dashboard behind the one generic view, tried by every persona (the URL matrix in
tests/access.py names the view once). Also the index, and an unknown dashboard."""

from __future__ import annotations

import pytest
from django.conf import settings
from django.shortcuts import resolve_url

from tests.access import DENIED, LOGIN, OK, PERSONAS

from .access import DASHBOARD_PAGES

pytestmark = pytest.mark.django_db

CASES = [(name, persona) for name in DASHBOARD_PAGES for persona in PERSONAS]


@pytest.mark.parametrize(("name", "persona"), CASES)
def test_each_dashboard_page_for_each_persona(client_for, request, name, persona) -> None:
    user = None if persona == "anonymous" else request.getfixturevalue(persona)
    response = client_for(user).get(f"/dashboards/{name}/")
    expect = DASHBOARD_PAGES[name][persona]
    if expect == OK:
        assert response.status_code == 200
    elif expect == LOGIN:
        assert response.status_code == 302
        assert response["Location"].startswith(resolve_url(settings.LOGIN_URL))
    else:
        assert expect == DENIED
        assert response.status_code == 403


def test_the_tabs_show_what_each_person_may_open(client_for, team_member, coe_staff) -> None:
    mine = client_for(team_member).get("/dashboards/portfolio/").content.decode()
    assert "Model comparison" in mine
    assert "Compliance posture" not in mine
    assert "Guidance adoption" not in mine
    coe = client_for(coe_staff).get("/dashboards/portfolio/").content.decode()
    assert "Compliance posture" in coe
    assert "Guidance adoption" in coe


def test_the_index_leads_to_the_portfolio_and_an_unknown_dashboard_is_404(client_for, team_member) -> None:
    assert client_for(team_member).get("/dashboards/")["Location"] == "/dashboards/portfolio/"
    assert client_for(team_member).get("/dashboards/nothing/").status_code == 404

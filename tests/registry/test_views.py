"""The registry's pages: what each shows, what each changes, and who is refused.

Plain access for every persona is in the permission matrix (tests/registry/access.py); these
tests check behaviour. State is built through the services, as the pages build it.
"""

from __future__ import annotations

import csv
import io
import re
from decimal import Decimal
from typing import Any

import pytest
from django.contrib.messages import get_messages
from django.http import HttpResponse, StreamingHttpResponse
from django.urls import reverse

from apps.accounts.models import Team, User
from apps.core.models import AuditEvent, Notification
from apps.registry import services
from apps.registry.models import AIModel, ModelPrice, Release, Workload

from .factories import AIModelFactory, ModelPriceFactory

pytestmark = pytest.mark.django_db

HTMX = {"HX-Request": "true"}


def _messages(response: HttpResponse) -> list[str]:
    return [str(m) for m in get_messages(response.wsgi_request)]


def _csv(response: StreamingHttpResponse) -> list[list[str]]:
    return list(csv.reader(io.StringIO(b"".join(response.streaming_content).decode())))


@pytest.fixture
def mini() -> AIModel:
    model = AIModelFactory(model_id="gpt-4o-mini", display_name="GPT-4o mini", max_data_classification="confidential")
    ModelPriceFactory(model=model)
    return model


@pytest.fixture
def banned() -> AIModel:
    return AIModelFactory(model_id="old-model", display_name="Old Model", approval_status="prohibited")


@pytest.fixture
def workload(team, team_member, mini) -> Workload:
    return services.workload_register(
        actor=team_member,
        team=team,
        name="Claims Assistant",
        description="Summarises **incoming claims** for handlers.",
        business_owner="Bea Owner",
        ai_models=[mini],
        tags=["claims", "summaries"],
        lifecycle_stage="production",
        # Limited, not high: high-risk promotion also needs governance's approval (tests/governance).
        risk_tier="limited",
        data_classification="confidential",
        fixed_monthly_run_cost=Decimal("321.00"),
        monthly_budget=Decimal("4321.00"),
    )


@pytest.fixture
def other_workload(other_team, other_team_member, mini) -> Workload:
    return services.workload_register(
        actor=other_team_member, team=other_team, name="Chat Helper", ai_models=[mini], risk_tier="minimal"
    )


def _release(workload: Workload, actor: User, version: str, *, promote: bool = False, **kwargs: Any) -> Release:
    release = services.release_create(
        actor=actor, workload=workload, version=version, ai_models=list(workload.ai_models.all()), **kwargs
    )
    if promote:
        services.release_promote(actor=actor, release=release)
    return release


def _workload_form(team: Team, model: AIModel, **overrides: object) -> dict[str, object]:
    data: dict[str, object] = {
        "team": team.pk,
        "name": "Invoice Reader",
        "description": "Reads supplier invoices.",
        "business_owner": "Finance Ops",
        "business_owner_email": "finops@example.org",
        "lifecycle_stage": "development",
        "risk_tier": "limited",
        "data_classification": "internal",
        "use_case_category": "document_processing",
        "ai_models": [model.pk],
        "tags": "invoices, OCR",
        "currency": "EUR",
        "value_per_request": "0.40",
        "fixed_monthly_value": "0",
        "fixed_monthly_run_cost": "50",
        "objective_p95_latency_ms": "1500",
    }
    data.update(overrides)
    return data


def _edit_form(workload: Workload, **overrides: object) -> dict[str, object]:
    data = _workload_form(workload.team, workload.ai_models.first(), **{"name": workload.name, **overrides})
    data.pop("team")
    return data


# --- The registry list ---------------------------------------------------------------------


class TestWorkloadList:
    def test_it_lists_workloads_with_their_team_stage_risk_models_and_live_release(
        self, client_for, team_member, workload
    ) -> None:
        _release(workload, team_member, "1.0.0", promote=True)
        response = client_for(team_member).get(reverse("registry:workload-list"))
        content = response.content.decode()
        assert response.status_code == 200
        assert reverse("registry:workload-detail", args=[workload.slug]) in content
        for text in ("Claims Assistant", "Claims Automation", "Production", "badge--limited", "GPT-4o mini", "1.0.0"):
            assert text in content

    def test_htmx_filter_answers_with_the_table_only(self, client_for, team_member, workload, other_workload) -> None:
        response = client_for(team_member).get(
            reverse("registry:workload-list"), {"team": "customer-service-ai"}, headers=HTMX
        )
        content = response.content.decode()
        assert content.strip().startswith('<div id="workload-table">')
        assert "<html" not in content
        assert "Chat Helper" in content
        assert "Claims Assistant" not in content
        assert "HX-Request" in response["Vary"]

    def test_without_htmx_the_filtered_list_is_a_whole_page(
        self, client_for, team_member, workload, other_workload
    ) -> None:
        response = client_for(team_member).get(reverse("registry:workload-list"), {"risk_tier": "limited"})
        content = response.content.decode()
        assert "<html" in content
        assert 'hx-get="/registry/"' in content
        assert "Claims Assistant" in content
        assert "Chat Helper" not in content

    def test_a_history_restore_gets_the_whole_page(self, client_for, team_member, workload) -> None:
        response = client_for(team_member).get(
            reverse("registry:workload-list"), headers={**HTMX, "HX-History-Restore-Request": "true"}
        )
        assert b"<html" in response.content

    def test_search_stage_model_and_use_case_filters(self, client_for, team_member, workload, other_workload) -> None:
        client = client_for(team_member)
        url = reverse("registry:workload-list")
        assert b"Claims Assistant" not in client.get(url, {"q": "chat"}).content
        assert b"Chat Helper" not in client.get(url, {"lifecycle_stage": "production"}).content
        assert b"Chat Helper" in client.get(url, {"model": "openai-gpt-4o-mini", "use_case_category": "other"}).content

    def test_only_my_teams(self, client_for, team_member, workload, other_workload) -> None:
        response = client_for(team_member).get(reverse("registry:workload-list"), {"mine": "on"})
        assert b"Claims Assistant" in response.content
        assert b"Chat Helper" not in response.content

    def test_ordering_by_name_descending(self, client_for, team_member, workload, other_workload) -> None:
        content = client_for(team_member).get(reverse("registry:workload-list"), {"ordering": "-name"}).content
        assert content.index(b"Claims Assistant") < content.index(b"Chat Helper")
        content = client_for(team_member).get(reverse("registry:workload-list"), {"ordering": "name"}).content
        assert content.index(b"Chat Helper") < content.index(b"Claims Assistant")

    def test_no_match_differs_from_an_empty_registry(self, client_for, team_member, workload) -> None:
        client = client_for(team_member)
        no_match = client.get(reverse("registry:workload-list"), {"q": "zzz"}).content.decode()
        assert "No workload matches these filters." in no_match
        Workload.objects.all().delete()
        empty = client.get(reverse("registry:workload-list")).content.decode()
        assert "No workloads are registered yet." in empty
        assert "No workload matches" not in empty

    def test_register_button_only_for_those_who_may_register(self, client_for, team_member, leader) -> None:
        create_url = reverse("registry:workload-create")
        assert create_url in client_for(team_member).get(reverse("registry:workload-list")).content.decode()
        assert create_url not in client_for(leader).get(reverse("registry:workload-list")).content.decode()

    def test_pagination_and_the_csv_link_keep_the_filters(self, client_for, team, team_member, mini) -> None:
        for n in range(26):
            services.workload_register(actor=team_member, team=team, name=f"Bot {n:02}", ai_models=[mini])
        content = client_for(team_member).get(reverse("registry:workload-list"), {"team": team.slug}).content.decode()
        assert "Page 1 of 2" in content
        assert "team=claims-automation&amp;page=2" in content
        assert f"{reverse('registry:workload-export')}?team=claims-automation" in content


# --- CSV export ----------------------------------------------------------------------------


class TestWorkloadExport:
    def test_csv_holds_every_filtered_row_across_pages(
        self, client_for, team, team_member, other_workload, mini
    ) -> None:
        for n in range(30):
            services.workload_register(actor=team_member, team=team, name=f"Bot {n:02}", ai_models=[mini])
        response = client_for(team_member).get(reverse("registry:workload-export"), {"team": team.slug})
        assert response["Content-Type"].startswith("text/csv")
        assert response["Content-Disposition"].startswith('attachment; filename="workloads-')
        rows = _csv(response)
        assert rows[0][:3] == ["Slug", "Name", "Team"]
        assert len(rows) == 31
        assert {row[2] for row in rows[1:]} == {"Claims Automation"}

    def test_cells_that_could_run_as_formulas_are_escaped(self, client_for, team, team_member) -> None:
        services.workload_register(
            actor=team_member,
            team=team,
            name='=HYPERLINK("http://evil.example","x")',
            description="+1 call me",
            business_owner="@SUM(A1)",
        )
        services.workload_register(actor=team_member, team=team, name="-2 minus", business_owner="\tTabbed")
        rows = _csv(client_for(team_member).get(reverse("registry:workload-export")))
        header = rows[0]
        by_name = {row[header.index("Name")]: row for row in rows[1:]}
        evil = by_name['\'=HYPERLINK("http://evil.example","x")']
        assert evil[header.index("Description")] == "'+1 call me"
        assert evil[header.index("Business owner")] == "'@SUM(A1)"
        assert by_name["'-2 minus"][header.index("Business owner")] == "'\tTabbed"

    def test_financial_columns_only_for_coe_staff_and_leadership(
        self, client_for, team_member, coe_staff, leader, workload
    ) -> None:
        member_header = _csv(client_for(team_member).get(reverse("registry:workload-export")))[0]
        assert "Monthly budget" not in member_header
        for user in (coe_staff, leader):
            rows = _csv(client_for(user).get(reverse("registry:workload-export")))
            assert rows[1][rows[0].index("Monthly budget")] == "4321.00"


# --- Registering a workload ----------------------------------------------------------------


class TestWorkloadCreate:
    def test_team_member_registers_a_workload_through_the_service(self, client_for, team, team_member, mini) -> None:
        response = client_for(team_member).post(reverse("registry:workload-create"), _workload_form(team, mini))
        workload = Workload.objects.get(name="Invoice Reader")
        assert response.status_code == 302
        assert response["Location"] == reverse("registry:workload-detail", args=[workload.slug])
        assert "“Invoice Reader” is registered." in _messages(response)
        assert workload.team == team
        assert workload.created_by == team_member
        assert list(workload.ai_models.all()) == [mini]
        assert sorted(workload.tags.values_list("name", flat=True)) == ["invoices", "ocr"]
        assert workload.currency == "EUR"
        assert workload.value_per_request == Decimal("0.40")
        assert AuditEvent.objects.filter(action="workload.register", target_id=str(workload.pk)).exists()

    def test_the_form_offers_only_the_users_own_teams(self, client_for, team, other_team, team_member) -> None:
        form = client_for(team_member).get(reverse("registry:workload-create")).context["form"]
        assert list(form.fields["team"].queryset) == [team]

    def test_coe_staff_may_register_for_any_team(self, client_for, team, other_team, coe_staff, mini) -> None:
        form = client_for(coe_staff).get(reverse("registry:workload-create")).context["form"]
        assert set(form.fields["team"].queryset) == {team, other_team}
        client_for(coe_staff).post(reverse("registry:workload-create"), _workload_form(other_team, mini))
        assert Workload.objects.get(name="Invoice Reader").team == other_team

    def test_the_form_lists_models_with_their_standing_prohibited_ones_marked(
        self, client_for, team_member, mini, banned
    ) -> None:
        content = client_for(team_member).get(reverse("registry:workload-create")).content.decode()
        assert "GPT-4o mini (openai) — Approved, cleared for confidential data at most" in content
        assert "Old Model (openai) — Prohibited: may not be used" in content
        for legend in ("About", "Risk and data", "Models", "Value", "Objectives", "Links"):
            assert f"<legend>{legend}</legend>" in content

    def test_a_prohibited_model_is_refused_by_name_and_the_input_is_kept(
        self, client_for, team, team_member, mini, banned
    ) -> None:
        data = _workload_form(team, mini, ai_models=[mini.pk, banned.pk])
        response = client_for(team_member).post(reverse("registry:workload-create"), data)
        content = response.content.decode()
        assert response.status_code == 200
        assert "Old Model is prohibited by the CoE and may not be used." in content
        assert response.context["form"].errors["ai_models"] == [
            "Old Model is prohibited by the CoE and may not be used."
        ]
        assert not Workload.objects.exists()
        assert 'value="Invoice Reader"' in content
        assert "Reads supplier invoices." in content
        assert 'value="invoices, OCR"' in content
        assert re.search(rf'value="{banned.pk}"[^>]*checked', content)

    def test_a_model_not_cleared_for_the_data_is_refused(self, client_for, team, team_member) -> None:
        public_only = AIModelFactory(display_name="Tiny", max_data_classification="public")
        data = _workload_form(team, public_only, data_classification="confidential")
        response = client_for(team_member).post(reverse("registry:workload-create"), data)
        assert "Tiny is cleared for public data at most" in response.content.decode()
        assert not Workload.objects.exists()

    def test_missing_and_bad_fields_are_shown_and_nothing_is_stored(self, client_for, team, team_member, mini) -> None:
        data = _workload_form(team, mini, name="", business_owner_email="not-an-email", currency="EURO")
        response = client_for(team_member).post(reverse("registry:workload-create"), data)
        errors = response.context["form"].errors
        assert set(errors) == {"name", "business_owner_email", "currency"}
        assert "Please correct the fields below." in response.content.decode()
        assert 'href="#id_name"' in response.content.decode()
        assert not Workload.objects.exists()

    def test_unacceptable_risk_cannot_leave_proposed(self, client_for, team, team_member, mini) -> None:
        data = _workload_form(team, mini, risk_tier="unacceptable", lifecycle_stage="pilot")
        response = client_for(team_member).post(reverse("registry:workload-create"), data)
        assert "cannot leave the proposed stage" in response.content.decode()
        assert not Workload.objects.exists()

    def test_leadership_is_refused(self, client_for, team, leader, mini) -> None:
        client = client_for(leader)
        assert client.get(reverse("registry:workload-create")).status_code == 403
        assert client.post(reverse("registry:workload-create"), _workload_form(team, mini)).status_code == 403
        assert not Workload.objects.exists()

    def test_another_teams_member_cannot_register_for_this_team(
        self, client_for, team, other_team_member, mini
    ) -> None:
        response = client_for(other_team_member).post(reverse("registry:workload-create"), _workload_form(team, mini))
        assert "team" in response.context["form"].errors
        assert not Workload.objects.exists()


# --- Editing and retiring ------------------------------------------------------------------


class TestWorkloadEdit:
    def test_the_form_shows_the_current_values(self, client_for, team_member, workload) -> None:
        content = client_for(team_member).get(reverse("registry:workload-edit", args=[workload.slug])).content.decode()
        assert 'value="Claims Assistant"' in content
        assert 'value="claims, summaries"' in content
        assert 'name="team"' not in content

    def test_edit_saves_through_the_service_and_records_the_change(
        self, client_for, team_member, workload, mini
    ) -> None:
        data = _edit_form(workload, name="Claims Helper", tags="claims", data_classification="confidential")
        response = client_for(team_member).post(reverse("registry:workload-edit", args=[workload.slug]), data)
        assert response.status_code == 302
        assert "Changes to “Claims Helper” saved." in _messages(response)
        workload.refresh_from_db()
        assert workload.name == "Claims Helper"
        assert list(workload.tags.values_list("name", flat=True)) == ["claims"]
        event = AuditEvent.objects.filter(action="workload.update").latest("id")
        assert event.changes["name"] == ["Claims Assistant", "Claims Helper"]

    def test_validation_errors_keep_the_input(self, client_for, team_member, workload) -> None:
        data = _edit_form(workload, name="Renamed", objective_min_quality="1.5")
        response = client_for(team_member).post(reverse("registry:workload-edit", args=[workload.slug]), data)
        assert "objective_min_quality" in response.context["form"].errors
        assert 'value="Renamed"' in response.content.decode()
        workload.refresh_from_db()
        assert workload.name == "Claims Assistant"

    def test_raising_the_classification_past_a_models_clearance_is_refused(
        self, client_for, team_member, workload
    ) -> None:
        data = _edit_form(workload, name="Renamed", data_classification="restricted")
        response = client_for(team_member).post(reverse("registry:workload-edit", args=[workload.slug]), data)
        content = response.content.decode()
        assert "GPT-4o mini is cleared for confidential data at most" in content
        assert "<h1>Edit Claims Assistant</h1>" in content  # the header keeps the stored name
        workload.refresh_from_db()
        assert (workload.name, workload.data_classification) == ("Claims Assistant", "confidential")

    def test_a_retired_workload_cannot_be_edited_and_the_page_says_why(self, client_for, team_member, workload) -> None:
        services.workload_retire(actor=team_member, workload=workload)
        client = client_for(team_member)
        content = client.get(reverse("registry:workload-edit", args=[workload.slug])).content.decode()
        assert "is retired" in content
        assert "cannot be edited" in content
        assert '<form method="post" class="form' not in content
        response = client.post(reverse("registry:workload-edit", args=[workload.slug]), _edit_form(workload, name="X"))
        assert response.status_code == 409
        workload.refresh_from_db()
        assert workload.name == "Claims Assistant"

    @pytest.mark.parametrize("persona", ["other_team_member", "leader"])
    def test_others_are_refused_and_nothing_changes(self, request, client_for, workload, persona) -> None:
        client = client_for(request.getfixturevalue(persona))
        url = reverse("registry:workload-edit", args=[workload.slug])
        assert client.get(url).status_code == 403
        assert client.post(url, _edit_form(workload, name="Hijacked")).status_code == 403
        assert client.post(reverse("registry:workload-retire", args=[workload.slug])).status_code == 403
        workload.refresh_from_db()
        assert workload.name == "Claims Assistant"
        assert not workload.is_retired


class TestWorkloadRetire:
    def test_retire_with_a_reason(self, client_for, team_member, workload) -> None:
        response = client_for(team_member).post(
            reverse("registry:workload-retire", args=[workload.slug]), {"reason": "Replaced by the new claims bot"}
        )
        assert response.status_code == 302
        assert response["Location"] == reverse("registry:workload-detail", args=[workload.slug])
        assert "It stays in the registry with its history." in " ".join(_messages(response))
        workload.refresh_from_db()
        assert workload.is_retired
        event = AuditEvent.objects.get(action="workload.retire")
        assert event.changes["reason"] == "Replaced by the new claims bot"

    def test_htmx_retire_answers_with_a_client_redirect(self, client_for, team_member, workload) -> None:
        response = client_for(team_member).post(reverse("registry:workload-retire", args=[workload.slug]), headers=HTMX)
        assert response["HX-Redirect"] == reverse("registry:workload-detail", args=[workload.slug])
        workload.refresh_from_db()
        assert workload.is_retired

    def test_the_retired_page_says_so_and_offers_no_changes(self, client_for, team_member, workload) -> None:
        services.workload_retire(actor=team_member, workload=workload)
        content = client_for(team_member).get(reverse("registry:workload-detail", args=[workload.slug])).content
        assert b"This workload is <strong>retired</strong>" in content
        assert reverse("registry:workload-edit", args=[workload.slug]).encode() not in content
        assert reverse("registry:release-create", args=[workload.slug]).encode() not in content


# --- The workload page -----------------------------------------------------------------------


class TestWorkloadDetail:
    def test_overview_shows_the_workload_for_its_team(self, client_for, team_member, workload, mini) -> None:
        _release(workload, team_member, "1.0.0", promote=True)
        content = client_for(team_member).get(reverse("registry:workload-detail", args=[workload.slug])).content
        content = content.decode()
        assert "<strong>incoming claims</strong>" in content  # markdown
        assert "Bea Owner" in content
        assert reverse("registry:model-detail", args=[mini.slug]) in content
        assert "?tag=summaries" in content
        assert "321 USD" in content
        assert "4321 USD" in content
        assert 'id="tab-overview" href' in content
        assert 'aria-current="page">Overview' in content
        assert "1.0.0" in content

    def test_another_team_sees_no_money_no_history_and_no_buttons(
        self, client_for, other_team_member, workload
    ) -> None:
        content = client_for(other_team_member).get(reverse("registry:workload-detail", args=[workload.slug]))
        content = content.content.decode()
        assert "Claims Assistant" in content
        assert "4321" not in content
        assert "Value and cost figures are shown to the workload's team" in content
        assert reverse("registry:workload-history", args=[workload.slug]) not in content
        assert reverse("registry:workload-edit", args=[workload.slug]) not in content
        assert reverse("registry:workload-retire", args=[workload.slug]) not in content

    def test_the_team_gets_edit_retire_and_new_release(self, client_for, team_member, workload) -> None:
        content = client_for(team_member).get(reverse("registry:workload-detail", args=[workload.slug])).content
        content = content.decode()
        for name in ("registry:workload-edit", "registry:workload-retire", "registry:release-create"):
            assert reverse(name, args=[workload.slug]) in content
        assert "hx-confirm=" in content

    def test_leadership_sees_money_and_history_but_no_buttons(self, client_for, leader, workload) -> None:
        content = client_for(leader).get(reverse("registry:workload-detail", args=[workload.slug])).content.decode()
        assert "4321 USD" in content
        assert reverse("registry:workload-history", args=[workload.slug]) in content
        assert reverse("registry:workload-edit", args=[workload.slug]) not in content

    def test_the_feedback_tab_is_feedback_s_page(self, client_for, team_member, workload) -> None:
        feedback = reverse("feedback:panel", args=["workload", workload.slug])
        detail = reverse("registry:workload-detail", args=[workload.slug])
        assert f'id="tab-feedback" href="{feedback}"' in client_for(team_member).get(detail).content.decode()
        response = client_for(team_member).get(detail, {"tab": "feedback"})  # links made before it existed
        assert response.status_code == 302
        assert response["Location"] == feedback

    def test_the_telemetry_tab_is_telemetry_s_page(self, client_for, team_member, workload) -> None:
        telemetry = reverse("telemetry:workload-telemetry", args=[workload.slug])
        detail = reverse("registry:workload-detail", args=[workload.slug])
        assert f'id="tab-telemetry" href="{telemetry}"' in client_for(team_member).get(detail).content.decode()
        response = client_for(team_member).get(detail, {"tab": "telemetry"})  # links made before it existed
        assert response.status_code == 302
        assert response["Location"] == telemetry

    def test_htmx_tab_request_answers_with_the_tabs_only(self, client_for, team_member, workload) -> None:
        response = client_for(team_member).get(reverse("registry:workload-detail", args=[workload.slug]), headers=HTMX)
        content = response.content.decode()
        assert content.strip().startswith('<div id="workload-tabs">')
        assert "<html" not in content
        assert 'aria-current="page">Overview' in content

    def test_unknown_workload_is_404(self, client_for, team_member) -> None:
        assert client_for(team_member).get(reverse("registry:workload-detail", args=["nope"])).status_code == 404


# --- Releases --------------------------------------------------------------------------------


class TestReleaseList:
    def test_full_page_shows_releases_timeline_and_actions(self, client_for, team_member, workload) -> None:
        _release(workload, team_member, "1.0.0", promote=True)
        _release(workload, team_member, "1.1.0", promote=True, changelog="Faster *prompts*")
        _release(workload, team_member, "1.2.0", config={"temperature": 0.2, "flags": ["a"]})
        content = client_for(team_member).get(reverse("registry:release-list", args=[workload.slug])).content.decode()
        assert "<html" in content
        assert 'aria-current="page">Releases' in content
        assert "<em>prompts</em>" in content
        assert "&quot;temperature&quot;: 0.2" in content
        assert content.count("status--ok") == 1  # one live release
        assert (
            reverse("registry:release-promote", args=[workload.slug, workload.releases.get(version="1.2.0").pk])
            in content
        )
        rollback = reverse("registry:release-rollback", args=[workload.slug, workload.releases.get(version="1.0.0").pk])
        assert rollback in content
        assert "1.0.0 → 1.1.0 went live" in content

    def test_htmx_gets_the_tabs_partial(self, client_for, team_member, workload) -> None:
        _release(workload, team_member, "1.0.0")
        response = client_for(team_member).get(reverse("registry:release-list", args=[workload.slug]), headers=HTMX)
        content = response.content.decode()
        assert content.strip().startswith('<div id="workload-tabs">')
        assert "<html" not in content
        assert "1.0.0" in content

    def test_drafts_and_actions_are_hidden_from_another_team(
        self, client_for, team_member, other_team_member, workload
    ) -> None:
        _release(workload, team_member, "1.0.0", promote=True)
        _release(workload, team_member, "2.0.0-draft")
        content = client_for(other_team_member).get(reverse("registry:release-list", args=[workload.slug])).content
        assert b"1.0.0" in content
        assert b"2.0.0-draft" not in content
        assert b"/promote/" not in content
        assert b"/rollback/" not in content


class TestReleaseCreate:
    def test_the_form_starts_with_the_workloads_models(self, client_for, team_member, workload, mini) -> None:
        form = client_for(team_member).get(reverse("registry:release-create", args=[workload.slug])).context["form"]
        assert list(form.initial["ai_models"]) == [mini]

    def test_creating_a_draft_release(self, client_for, team_member, workload, mini) -> None:
        data = {"version": "1.0.0", "changelog": "First", "ai_models": [mini.pk], "config": '{"temperature": 0.1}'}
        response = client_for(team_member).post(reverse("registry:release-create", args=[workload.slug]), data)
        assert response.status_code == 302
        assert response["Location"] == reverse("registry:release-list", args=[workload.slug])
        assert "Release 1.0.0 is created as a draft." in " ".join(_messages(response))
        release = workload.releases.get()
        assert (release.status, release.config, release.created_by) == ("draft", {"temperature": 0.1}, team_member)

    def test_bad_json_config_keeps_the_text_and_says_what_is_wrong(
        self, client_for, team_member, workload, mini
    ) -> None:
        text = '{"temperature": 0.1,, }'
        data = {"version": "1.0.0", "ai_models": [mini.pk], "config": text}
        response = client_for(team_member).post(reverse("registry:release-create", args=[workload.slug]), data)
        content = response.content.decode()
        assert response.status_code == 200
        assert "This is not valid JSON" in content
        assert "line 1" in content
        assert "{&quot;temperature&quot;: 0.1,, }" in content
        assert 'value="1.0.0"' in content
        assert not workload.releases.exists()

    def test_a_json_list_is_not_a_config(self, client_for, team_member, workload, mini) -> None:
        data = {"version": "1.0.0", "ai_models": [mini.pk], "config": "[1, 2]"}
        response = client_for(team_member).post(reverse("registry:release-create", args=[workload.slug]), data)
        assert response.context["form"].errors["config"] == ["Give a JSON object, {…}, not a list or a single value."]

    def test_an_existing_version_is_refused_by_the_service(self, client_for, team_member, workload, mini) -> None:
        _release(workload, team_member, "1.0.0")
        data = {"version": "1.0.0", "ai_models": [mini.pk]}
        response = client_for(team_member).post(reverse("registry:release-create", args=[workload.slug]), data)
        assert response.context["form"].errors["version"] == ["Choose a new version label."]
        assert workload.releases.count() == 1

    def test_a_release_needs_a_model(self, client_for, team_member, workload) -> None:
        data = {"version": "1.0.0", "ai_models": []}
        response = client_for(team_member).post(reverse("registry:release-create", args=[workload.slug]), data)
        assert "ai_models" in response.context["form"].errors
        assert not workload.releases.exists()

    @pytest.mark.parametrize("persona", ["other_team_member", "leader"])
    def test_others_are_refused(self, request, client_for, workload, mini, persona) -> None:
        client = client_for(request.getfixturevalue(persona))
        url = reverse("registry:release-create", args=[workload.slug])
        assert client.get(url).status_code == 403
        assert client.post(url, {"version": "9.9.9", "ai_models": [mini.pk]}).status_code == 403
        assert not workload.releases.exists()


class TestPromoteAndRollback:
    def test_promote_through_the_page(self, client_for, team_member, workload) -> None:
        draft = _release(workload, team_member, "1.0.0")
        response = client_for(team_member).post(reverse("registry:release-promote", args=[workload.slug, draft.pk]))
        assert response.status_code == 302
        assert response["Location"] == reverse("registry:release-list", args=[workload.slug])
        assert "Release 1.0.0 is live." in _messages(response)
        workload.refresh_from_db()
        assert workload.live_release == draft

    def test_htmx_promote_answers_with_a_client_redirect(self, client_for, team_member, workload) -> None:
        draft = _release(workload, team_member, "1.0.0")
        response = client_for(team_member).post(
            reverse("registry:release-promote", args=[workload.slug, draft.pk]), headers=HTMX
        )
        assert response["HX-Redirect"] == reverse("registry:release-list", args=[workload.slug])
        draft.refresh_from_db()
        assert draft.status == "live"

    def test_a_gate_refusal_is_shown_when_the_model_became_prohibited(
        self, client_for, team_member, coe_staff, workload, mini
    ) -> None:
        draft = _release(workload, team_member, "1.0.0")
        services.model_update(actor=coe_staff, model=mini, approval_status="prohibited")
        client = client_for(team_member)
        response = client.post(reverse("registry:release-promote", args=[workload.slug, draft.pk]), follow=True)
        content = response.content.decode()
        assert "Release 1.0.0 cannot go live: GPT-4o mini is prohibited, not approved." in content
        assert 'class="message message--error"' in content
        draft.refresh_from_db()
        assert draft.status == "draft"

    def test_rollback_with_a_reason(self, client_for, team_member, workload) -> None:
        first = _release(workload, team_member, "1.0.0", promote=True)
        second = _release(workload, team_member, "1.1.0", promote=True)
        response = client_for(team_member).post(
            reverse("registry:release-rollback", args=[workload.slug, first.pk]), {"reason": "Latency regression"}
        )
        assert "Rolled back: release 1.0.0 is live again." in _messages(response)
        workload.refresh_from_db()
        second.refresh_from_db()
        assert workload.live_release == first
        assert second.status == "rolled_back"
        timeline = client_for(team_member).get(reverse("registry:release-list", args=[workload.slug])).content
        assert b"Reason: Latency regression" in timeline

    def test_rollback_without_a_reason_is_refused_and_changes_nothing(self, client_for, team_member, workload) -> None:
        first = _release(workload, team_member, "1.0.0", promote=True)
        second = _release(workload, team_member, "1.1.0", promote=True)
        response = client_for(team_member).post(
            reverse("registry:release-rollback", args=[workload.slug, first.pk]), {"reason": "  "}
        )
        assert response.status_code == 302
        assert any("the reason is required" in m for m in _messages(response))
        workload.refresh_from_db()
        assert workload.live_release == second

    def test_rolling_back_to_a_draft_is_refused_with_the_services_message(
        self, client_for, team_member, workload
    ) -> None:
        draft = _release(workload, team_member, "1.0.0")
        response = client_for(team_member).post(
            reverse("registry:release-rollback", args=[workload.slug, draft.pk]), {"reason": "Why not"}
        )
        assert any("has never been live" in m for m in _messages(response))

    @pytest.mark.parametrize("persona", ["other_team_member", "leader"])
    def test_others_are_refused(self, request, client_for, team_member, workload, persona) -> None:
        first = _release(workload, team_member, "1.0.0", promote=True)
        second = _release(workload, team_member, "1.1.0", promote=True)
        draft = _release(workload, team_member, "1.2.0")
        client = client_for(request.getfixturevalue(persona))
        assert client.post(reverse("registry:release-promote", args=[workload.slug, draft.pk])).status_code == 403
        rollback = reverse("registry:release-rollback", args=[workload.slug, first.pk])
        assert client.post(rollback, {"reason": "Mine now"}).status_code == 403
        workload.refresh_from_db()
        assert workload.live_release == second

    def test_promote_only_answers_post(self, client_for, team_member, workload) -> None:
        draft = _release(workload, team_member, "1.0.0")
        url = reverse("registry:release-promote", args=[workload.slug, draft.pk])
        assert client_for(team_member).get(url).status_code == 405


# --- History ---------------------------------------------------------------------------------


class TestWorkloadHistory:
    def test_history_reads_as_before_and_after(self, client_for, team_member, coe_staff, workload) -> None:
        # Lowering the risk tier is the CoE's call.
        services.workload_update(actor=coe_staff, workload=workload, name="Claims Helper", risk_tier="minimal")
        _release(workload, team_member, "1.0.0", promote=True)
        content = client_for(team_member).get(reverse("registry:workload-history", args=[workload.slug])).content
        content = content.decode()
        assert 'aria-current="page">History' in content
        assert "Changed" in content
        assert '<span class="changes__field">name</span>: Claims Assistant' in content
        assert "Claims Helper" in content
        assert '<span class="changes__field">risk tier</span>: limited' in content
        assert "Release promoted" in content
        assert 'none <span aria-hidden="true">→</span>' in content  # from no release to 1.0.0
        assert "Tina Member" in content

    def test_htmx_gets_the_tabs_partial(self, client_for, leader, workload) -> None:
        response = client_for(leader).get(reverse("registry:workload-history", args=[workload.slug]), headers=HTMX)
        content = response.content.decode()
        assert content.strip().startswith('<div id="workload-tabs">')
        assert "Registered" in content

    def test_another_team_is_refused(self, client_for, other_team_member, workload) -> None:
        url = reverse("registry:workload-history", args=[workload.slug])
        assert client_for(other_team_member).get(url).status_code == 403


# --- Model catalogue -------------------------------------------------------------------------


class TestModelList:
    def test_it_shows_status_price_and_use(self, client_for, team_member, workload, mini, banned) -> None:
        content = client_for(team_member).get(reverse("registry:model-list")).content.decode()
        assert reverse("registry:model-detail", args=[mini.slug]) in content
        assert "gpt-4o-mini" in content
        assert '<span class="status status--ok">Approved</span>' in content
        assert '<span class="status status--bad">Prohibited</span>' in content
        assert "0.1500 USD" in content
        assert "0.6000 USD" in content
        assert "1 workload using GPT-4o mini" in content

    def test_htmx_filter_answers_with_the_table_only(self, client_for, team_member, mini, banned) -> None:
        response = client_for(team_member).get(
            reverse("registry:model-list"), {"approval_status": "prohibited"}, headers=HTMX
        )
        content = response.content.decode()
        assert content.strip().startswith('<div id="model-table">')
        assert "Old Model" in content
        assert "GPT-4o mini" not in content

    def test_add_button_only_for_coe_staff(self, client_for, team_member, coe_staff) -> None:
        create_url = reverse("registry:model-create")
        assert create_url in client_for(coe_staff).get(reverse("registry:model-list")).content.decode()
        assert create_url not in client_for(team_member).get(reverse("registry:model-list")).content.decode()


class TestModelDetail:
    def test_it_shows_conditions_aliases_prices_and_workloads(
        self, client_for, team_member, coe_staff, workload
    ) -> None:
        model = services.model_create(
            actor=coe_staff,
            provider="anthropic",
            model_id="claude-x",
            display_name="Claude X",
            aliases=["claude-x-2026"],
            match_pattern=r"^claude-x(-\d+)?$",
            approval_status="approved_with_conditions",
            conditions="No customer PII.",
            max_data_classification="confidential",
        )
        services.workload_update(actor=team_member, workload=workload, ai_models=[model])
        content = client_for(team_member).get(reverse("registry:model-detail", args=[model.slug])).content.decode()
        assert "Conditions of use:" in content
        assert "No customer PII." in content
        assert "claude-x-2026" in content
        assert "^claude-x(-\\d+)?$" in content
        assert "Claims Assistant" in content
        assert "No price recorded yet." in content
        assert reverse("registry:model-edit", args=[model.slug]) not in content
        assert reverse("registry:model-price-add", args=[model.slug]) not in content

    def test_coe_creates_a_model_adds_prices_and_price_at_answers_by_date(self, client_for, coe_staff) -> None:
        client = client_for(coe_staff)
        response = client.post(
            reverse("registry:model-create"),
            {
                "provider": "Mistral",
                "model_id": "mistral-small",
                "display_name": "",
                "aliases": "mistral-small-2501, mistral-small-latest",
                "modality": "text",
                "context_window": "32000",
                "approval_status": "approved",
                "max_data_classification": "internal",
            },
        )
        model = AIModel.objects.get(model_id="mistral-small")
        assert response["Location"] == reverse("registry:model-detail", args=[model.slug])
        assert (model.provider, model.display_name) == ("mistral", "mistral-small")
        assert model.aliases == ["mistral-small-2501", "mistral-small-latest"]

        price_url = reverse("registry:model-price-add", args=[model.slug])
        old = {"effective_from": "2026-01-01T00:00", "input_per_million": "0.2", "output_per_million": "0.6"}
        new = {"effective_from": "2026-06-01T00:00", "input_per_million": "0.1", "output_per_million": "0.3"}
        for data in (old, {**new, "currency": "eur", "note": "Price cut"}):
            response = client.post(price_url, data)
            assert response.status_code == 302
        assert any("added" in m for m in _messages(response))
        assert list(model.prices.values_list("currency", flat=True)) == ["EUR", "USD"]

        detail = reverse("registry:model-detail", args=[model.slug])
        before = client.get(detail, {"at": "2026-05-31T23:59"}).content.decode()
        assert "<strong>0.2000</strong> in and <strong>0.6000</strong> out per million tokens, USD" in before
        after = client.get(detail, {"at": "2026-06-01T00:00"}, headers=HTMX).content.decode()
        assert "<html" not in after
        assert "<strong>0.1000</strong> in and <strong>0.3000</strong> out per million tokens, EUR" in after
        too_early = client.get(detail, {"at": "2025-01-01T00:00"}).content.decode()
        assert "no price was in force yet" in too_early

    def test_a_bad_price_shows_the_errors_and_stores_nothing(self, client_for, coe_staff, mini) -> None:
        response = client_for(coe_staff).post(
            reverse("registry:model-price-add", args=[mini.slug]),
            {"effective_from": "not a date", "input_per_million": "-1", "output_per_million": "0.3", "currency": "E"},
        )
        form = response.context["price_form"]
        assert set(form.errors) == {"effective_from", "input_per_million", "currency"}
        assert b'value="-1"' in response.content
        assert mini.prices.count() == 1

    def test_a_price_at_an_existing_moment_is_refused_by_the_service(self, client_for, coe_staff, mini) -> None:
        response = client_for(coe_staff).post(
            reverse("registry:model-price-add", args=[mini.slug]),
            {"effective_from": "2026-01-01T00:00", "input_per_million": "1", "output_per_million": "2"},
        )
        assert response.context["price_form"].errors["effective_from"] == [
            "Choose another date and time, or correct that price."
        ]
        assert ModelPrice.objects.filter(model=mini).count() == 1

    def test_unknown_model_is_404(self, client_for, team_member) -> None:
        assert client_for(team_member).get(reverse("registry:model-detail", args=["nope"])).status_code == 404


class TestModelForms:
    def test_edit_changes_status_and_the_service_notifies_the_teams(
        self, client_for, coe_staff, team_member, workload, mini
    ) -> None:
        content = client_for(coe_staff).get(reverse("registry:model-edit", args=[mini.slug])).content.decode()
        assert "notifies the teams" in content
        assert 'name="provider"' not in content
        data = {
            "display_name": "GPT-4o mini",
            "aliases": "",
            "modality": "text",
            "approval_status": "approved_with_conditions",
            "conditions": "Internal data only.",
            "max_data_classification": "confidential",
        }
        response = client_for(coe_staff).post(reverse("registry:model-edit", args=[mini.slug]), data)
        assert response.status_code == 302
        mini.refresh_from_db()
        assert mini.approval_status == "approved_with_conditions"
        assert Notification.objects.filter(recipient=team_member, title__contains="GPT-4o mini").exists()

    @pytest.mark.parametrize(
        ("field", "change", "error"),
        [
            ("match_pattern", {"match_pattern": "(unclosed"}, "Not a valid regular expression"),
            ("conditions", {"approval_status": "approved_with_conditions"}, "Say what the conditions are."),
        ],
    )
    def test_model_validation_errors_are_shown(self, client_for, coe_staff, mini, field, change, error) -> None:
        data = {
            "display_name": "GPT-4o mini",
            "modality": "text",
            "approval_status": "approved",
            "max_data_classification": "confidential",
            **change,
        }
        response = client_for(coe_staff).post(reverse("registry:model-edit", args=[mini.slug]), data)
        assert error in response.context["form"].errors[field][0]
        mini.refresh_from_db()
        assert (mini.approval_status, mini.match_pattern) == ("approved", "")

    def test_a_duplicate_model_is_refused(self, client_for, coe_staff, mini) -> None:
        data = {"provider": "openai", "model_id": "gpt-4o-mini", "modality": "text", "approval_status": "approved"}
        data["max_data_classification"] = "internal"
        response = client_for(coe_staff).post(reverse("registry:model-create"), data)
        assert response.context["form"].errors["model_id"] == ["This provider already has a model with this id."]
        assert AIModel.objects.filter(model_id="gpt-4o-mini").count() == 1

    @pytest.mark.parametrize("persona", ["team_member", "leader"])
    def test_only_coe_staff_change_the_catalogue(self, request, client_for, mini, persona) -> None:
        client = client_for(request.getfixturevalue(persona))
        assert client.get(reverse("registry:model-create")).status_code == 403
        assert client.post(reverse("registry:model-create"), {"provider": "x", "model_id": "y"}).status_code == 403
        assert client.get(reverse("registry:model-edit", args=[mini.slug])).status_code == 403
        assert client.post(reverse("registry:model-edit", args=[mini.slug]), {"display_name": "Z"}).status_code == 403
        price = {"effective_from": "2026-06-01T00:00", "input_per_million": "0", "output_per_million": "0"}
        assert client.post(reverse("registry:model-price-add", args=[mini.slug]), price).status_code == 403
        assert AIModel.objects.count() == 1
        assert mini.prices.count() == 1


def test_team_filter_lists_only_own_teams_when_there_are_very_many(client_for, team_member, team, settings) -> None:
    from apps.registry.forms import WorkloadFilterForm
    from tests.factories import TeamFactory
    from tests.registry.factories import WorkloadFactory

    WorkloadFactory(team=team)
    for i in range(WorkloadFilterForm.MAX_TEAM_OPTIONS + 1):
        WorkloadFactory(name=f"Bulk {i}", team=TeamFactory(name=f"Bulk team {i:03d}"))
    chosen = "bulk-team-007"
    form = WorkloadFilterForm({"team": chosen}, user=team_member)
    assert sorted(form.fields["team"].queryset.values_list("slug", flat=True)) == [chosen, team.slug]
    response = client_for(team_member).get("/registry/", {"team": chosen})
    assert response.status_code == 200
    assert b"Bulk 7" in response.content
    assert b"Bulk team 008" not in response.content

from __future__ import annotations

import pytest
from rest_framework.test import APIClient

from apps.accounts import services as account_services
from apps.registry import services
from apps.registry.models import AIModel, Release, Workload

from .factories import AIModelFactory, ModelPriceFactory

pytestmark = pytest.mark.django_db


def api(user=None) -> APIClient:  # type: ignore[no-untyped-def]
    client = APIClient()
    if user is not None:
        client.force_authenticate(user)
    return client


@pytest.fixture
def mini():
    return AIModelFactory(model_id="gpt-4o-mini", display_name="GPT-4o mini")


@pytest.fixture
def workload(team, team_member, mini):
    return services.workload_register(
        actor=team_member, team=team, name="Claims Assistant", ai_models=[mini], monthly_budget="1200.00"
    )


class TestWorkloads:
    def test_register_for_own_team(self, team_member, team, mini) -> None:
        response = api(team_member).post(
            "/api/v1/workloads/",
            {"team": team.slug, "name": "Claims Assistant", "models": [mini.slug], "risk_tier": "high", "tags": ["x"]},
            format="json",
        )
        assert response.status_code == 201, response.json()
        body = response.json()
        assert (body["slug"], body["team"], body["models"], body["risk_tier"], body["tags"]) == (
            "claims-assistant", team.slug, [mini.slug], "high", ["x"],
        )  # fmt: skip
        assert Workload.objects.filter(slug="claims-assistant").exists()

    def test_with_a_personal_token(self, team_member, team) -> None:
        _, raw = account_services.token_create(user=team_member, name="CI")
        client = APIClient()
        client.credentials(HTTP_AUTHORIZATION=f"Token {raw}")
        response = client.post("/api/v1/workloads/", {"team": team.slug, "name": "From CI"}, format="json")
        assert response.status_code == 201

    def test_prohibited_model_is_400_naming_the_model(self, team_member, team) -> None:
        banned = AIModelFactory(model_id="old", display_name="Old Model", approval_status="prohibited")
        response = api(team_member).post(
            "/api/v1/workloads/", {"team": team.slug, "name": "X", "models": [banned.slug]}, format="json"
        )
        assert response.status_code == 400
        assert response.json()["models"] == ["Old Model is prohibited by the CoE and may not be used."]
        assert not Workload.objects.exists()

    def test_every_bad_field_is_named(self, team_member, team) -> None:
        response = api(team_member).post(
            "/api/v1/workloads/",
            {"team": team.slug, "name": "", "risk_tier": "huge", "models": ["nope"], "objective_min_quality": 3},
            format="json",
        )
        assert response.status_code == 400
        assert set(response.json()) == {"name", "risk_tier", "models", "objective_min_quality"}
        assert not Workload.objects.exists()

    def test_other_team_member_cannot_register_for_a_team_they_are_not_in(self, other_team_member, team) -> None:
        response = api(other_team_member).post("/api/v1/workloads/", {"team": team.slug, "name": "X"}, format="json")
        assert response.status_code == 403
        assert not Workload.objects.exists()

    def test_team_and_slug_are_not_writable_by_patch(self, team_member, workload, other_team) -> None:
        response = api(team_member).patch(
            f"/api/v1/workloads/{workload.slug}/",
            {"team": other_team.slug, "slug": "renamed", "lifecycle_stage": "pilot"},
            format="json",
        )
        assert response.status_code == 200
        workload.refresh_from_db()
        assert (workload.team.slug, workload.slug, workload.lifecycle_stage) == (
            "claims-automation",
            "claims-assistant",
            "pilot",
        )

    def test_other_team_member_gets_403_on_change_and_nothing_changes(self, other_team_member, workload) -> None:
        response = api(other_team_member).patch(
            f"/api/v1/workloads/{workload.slug}/", {"name": "Hijacked"}, format="json"
        )
        assert response.status_code == 403
        workload.refresh_from_db()
        assert workload.name == "Claims Assistant"

    def test_financial_fields_are_hidden_from_other_teams(self, other_team_member, leader, workload) -> None:
        other = api(other_team_member).get(f"/api/v1/workloads/{workload.slug}/").json()
        assert "monthly_budget" not in other
        assert "value_per_request" not in other
        assert api(leader).get(f"/api/v1/workloads/{workload.slug}/").json()["monthly_budget"] == "1200.00"

    def test_list_filters_and_paginates(self, team_member, workload, other_team, mini) -> None:
        services.workload_register(actor=None, team=other_team, name="Support Bot", risk_tier="high")
        body = api(team_member).get("/api/v1/workloads/", {"model": mini.slug}).json()
        assert body["count"] == 1
        assert body["results"][0]["slug"] == "claims-assistant"
        body = api(team_member).get("/api/v1/workloads/", {"team": other_team.slug, "risk_tier": "high"}).json()
        assert [w["slug"] for w in body["results"]] == ["support-bot"]
        bad = api(team_member).get("/api/v1/workloads/", {"risk_tier": "huge"})
        assert bad.status_code == 400
        assert "risk_tier" in bad.json()

    def test_delete_retires_a_workload_with_history(self, team_member, workload, mini) -> None:
        services.release_create(actor=team_member, workload=workload, version="1.0.0", ai_models=[mini])
        response = api(team_member).delete(f"/api/v1/workloads/{workload.slug}/")
        assert response.status_code == 200
        assert response.json()["lifecycle_stage"] == "retired"
        assert Workload.objects.filter(pk=workload.pk).exists()

    def test_delete_removes_a_workload_without_history(self, team_member, workload) -> None:
        assert api(team_member).delete(f"/api/v1/workloads/{workload.slug}/").status_code == 204
        assert not Workload.objects.filter(pk=workload.pk).exists()

    def test_leadership_reads_but_cannot_change(self, leader, workload, team) -> None:
        client = api(leader)
        assert client.get(f"/api/v1/workloads/{workload.slug}/").status_code == 200
        assert client.patch(f"/api/v1/workloads/{workload.slug}/", {"name": "x"}, format="json").status_code == 403
        assert client.delete(f"/api/v1/workloads/{workload.slug}/").status_code == 403
        assert client.post("/api/v1/workloads/", {"team": team.slug, "name": "x"}, format="json").status_code == 403
        assert Workload.objects.count() == 1


class TestReleases:
    def test_create_promote_and_roll_back(self, team_member, workload, mini) -> None:
        client = api(team_member)
        base = f"/api/v1/workloads/{workload.slug}/releases/"
        first = client.post(
            base, {"version": "1.0.0", "models": [mini.slug], "config": {"temperature": 0.2}}, format="json"
        )
        assert first.status_code == 201, first.json()
        assert first.json()["status"] == "draft"
        assert client.post(f"{base}{first.json()['id']}/promote/").json()["status"] == "live"
        second = client.post(base, {"version": "1.1.0", "models": [mini.slug]}, format="json").json()
        client.post(f"{base}{second['id']}/promote/")
        rollback = client.post(f"{base}{first.json()['id']}/rollback/", {"reason": "Quality dropped"}, format="json")
        assert rollback.status_code == 200
        assert rollback.json()["status"] == "live"
        statuses = dict(Release.objects.values_list("version", "status"))
        assert statuses == {"1.0.0": "live", "1.1.0": "rolled_back"}
        listing = client.get(base).json()
        assert [r["version"] for r in listing["results"]] == ["1.1.0", "1.0.0"]

    def test_rollback_without_reason_is_400(self, team_member, workload, mini) -> None:
        release = services.release_create(actor=team_member, workload=workload, version="1.0.0", ai_models=[mini])
        response = api(team_member).post(
            f"/api/v1/workloads/{workload.slug}/releases/{release.pk}/rollback/", {}, format="json"
        )
        assert response.status_code == 400
        assert response.json() == {"reason": ["This field is required."]}

    def test_gate_refusal_lists_what_is_missing(self, team_member, coe_staff, workload, mini) -> None:
        release = services.release_create(actor=team_member, workload=workload, version="1.0.0", ai_models=[mini])
        services.model_update(actor=coe_staff, model=mini, approval_status="prohibited")
        response = api(team_member).post(f"/api/v1/workloads/{workload.slug}/releases/{release.pk}/promote/")
        assert response.status_code == 400
        assert response.json()["gates"] == ["GPT-4o mini is prohibited, not approved."]

    def test_config_must_be_an_object_and_version_well_formed(self, team_member, workload, mini) -> None:
        response = api(team_member).post(
            f"/api/v1/workloads/{workload.slug}/releases/",
            {"version": "bad version!", "models": [mini.slug], "config": [1]},
            format="json",
        )
        assert response.status_code == 400
        assert "version" in response.json()
        response = api(team_member).post(
            f"/api/v1/workloads/{workload.slug}/releases/",
            {"version": "1.0.0", "models": [mini.slug], "config": [1]},
            format="json",
        )
        assert response.status_code == 400
        assert response.json()["config"] == ["Give a JSON object, {…}."]  # the serializer's, with the other fields'
        assert not Release.objects.exists()

    def test_other_team_cannot_see_a_draft_or_promote(self, team_member, other_team_member, workload, mini) -> None:
        draft = services.release_create(actor=team_member, workload=workload, version="1.0.0", ai_models=[mini])
        client = api(other_team_member)
        assert client.get(f"/api/v1/workloads/{workload.slug}/releases/{draft.pk}/").status_code == 404
        assert client.get(f"/api/v1/workloads/{workload.slug}/releases/").json()["count"] == 0
        assert client.post(f"/api/v1/workloads/{workload.slug}/releases/{draft.pk}/promote/").status_code == 403
        assert Release.objects.get(pk=draft.pk).status == "draft"


class TestCatalogue:
    def test_coe_adds_a_model_and_prices_and_price_at_answers(self, coe_staff, team_member) -> None:
        client = api(coe_staff)
        created = client.post(
            "/api/v1/models/",
            {"provider": "anthropic", "model_id": "claude-sonnet-4", "display_name": "Claude Sonnet 4",
             "approval_status": "approved", "max_data_classification": "confidential", "aliases": ["sonnet-4"]},
            format="json",
        )  # fmt: skip
        assert created.status_code == 201, created.json()
        slug = created.json()["slug"]
        for when, price_in in (("2026-01-01T00:00:00Z", "3.00"), ("2026-07-01T00:00:00Z", "2.00")):
            response = client.post(
                f"/api/v1/models/{slug}/prices/",
                {"effective_from": when, "input_per_million": price_in, "output_per_million": "15.00"},
                format="json",
            )
            assert response.status_code == 201
        reader = api(team_member)
        before = reader.get(f"/api/v1/models/{slug}/price-at/", {"at": "2026-06-30T23:59:59Z"}).json()
        after = reader.get(f"/api/v1/models/{slug}/price-at/", {"at": "2026-07-01T00:00:00Z"}).json()
        assert (before["input_per_million"], after["input_per_million"]) == ("3.0000", "2.0000")
        assert reader.get(f"/api/v1/models/{slug}/price-at/", {"at": "2025-01-01T00:00:00Z"}).status_code == 404
        assert reader.get(f"/api/v1/models/{slug}/price-at/", {"at": "yesterday"}).status_code == 400
        assert reader.get(f"/api/v1/models/{slug}/").json()["current_price"]["input_per_million"] == "2.0000"

    def test_status_change_through_the_api(self, coe_staff, mini) -> None:
        response = api(coe_staff).patch(
            f"/api/v1/models/{mini.slug}/", {"approval_status": "approved_with_conditions"}, format="json"
        )
        assert response.status_code == 400
        assert "conditions" in response.json()
        response = api(coe_staff).patch(
            f"/api/v1/models/{mini.slug}/",
            {"approval_status": "approved_with_conditions", "conditions": "No customer PII."},
            format="json",
        )
        assert response.json()["approval_status"] == "approved_with_conditions"

    def test_filters(self, team_member, mini) -> None:
        AIModelFactory(provider="anthropic", model_id="claude", approval_status="prohibited")
        body = api(team_member).get("/api/v1/models/", {"approval_status": "prohibited"}).json()
        assert [m["provider"] for m in body["results"]] == ["anthropic"]

    def test_team_member_cannot_change_the_catalogue(self, team_member, mini) -> None:
        client = api(team_member)
        assert (
            client.patch(f"/api/v1/models/{mini.slug}/", {"approval_status": "approved"}, format="json").status_code
            == 403
        )
        assert client.post("/api/v1/models/", {"provider": "x", "model_id": "y"}, format="json").status_code == 403
        price = client.post(
            f"/api/v1/models/{mini.slug}/prices/",
            {"effective_from": "2026-01-01T00:00:00Z", "input_per_million": "1", "output_per_million": "1"},
            format="json",
        )
        assert price.status_code == 403
        assert AIModel.objects.count() == 1

    def test_prices_listed_newest_first(self, team_member, mini) -> None:
        ModelPriceFactory(model=mini)
        body = api(team_member).get(f"/api/v1/models/{mini.slug}/prices/").json()
        assert body[0]["input_per_million"] == "0.1500"

from __future__ import annotations

from typing import Any

import pytest
from rest_framework.test import APIClient

from apps.accounts import services as account_services
from apps.library import services
from apps.library.models import Template, TemplateVersion
from apps.registry import adoption
from apps.registry import services as registry_services
from apps.registry.models import Adoption, Release
from tests.registry.factories import AIModelFactory

pytestmark = pytest.mark.django_db

T = "/api/v1/templates/"


def api(user=None) -> APIClient:  # type: ignore[no-untyped-def]
    client = APIClient()
    if user is not None:
        client.force_authenticate(user)
    return client


@pytest.fixture
def prompt(coe_staff) -> Template:
    """A prompt with v1.0.0 published and v1.1.0 published and current."""
    template = services.template_create(
        actor=coe_staff, title="Claim summary", kind="prompt", category="security_governance",
        summary="Summarise a claim.", tags=["claims"],
    )  # fmt: skip
    for number, body in (("1.0.0", "Summarise {{ claim }}."), ("1.1.0", "Summarise {{ claim }} briefly.")):
        version = services.version_create(actor=coe_staff, template=template, number=number, body=body,
                                          variables=["claim"], changelog="Shorter.")  # fmt: skip
        services.version_publish(actor=coe_staff, version=version)
    return template


@pytest.fixture
def runbook(coe_staff) -> Template:
    template = services.template_create(actor=coe_staff, title="Outage runbook", kind="runbook",
                                        category="infrastructure", summary="Fail over.")  # fmt: skip
    version = services.version_create(actor=coe_staff, template=template, number="1.0.0", body="1. Switch.")
    services.version_publish(actor=coe_staff, version=version)
    return template


@pytest.fixture
def unpublished(coe_staff) -> Template:
    template = services.template_create(actor=coe_staff, title="Cost rubric", kind="rubric", category="cost",
                                        summary="Judge spend.")  # fmt: skip
    services.version_create(actor=coe_staff, template=template, number="0.1.0", body="Draft.")
    return template


def version(template: Template, number: str) -> TemplateVersion:
    return template.versions.get(number=number)


@pytest.fixture
def model():
    return AIModelFactory(model_id="gpt-4o-mini")


@pytest.fixture
def workload(team, team_member, model):
    return registry_services.workload_register(actor=team_member, team=team, name="Claims Assistant",
                                               ai_models=[model])  # fmt: skip


@pytest.fixture
def other_workload(other_team, other_team_member, model):
    return registry_services.workload_register(actor=other_team_member, team=other_team, name="Service Bot",
                                               ai_models=[model])  # fmt: skip


def names(response: Any) -> list[str]:
    return [row["slug"] for row in response.json()["results"]]


class TestTemplates:
    def test_coe_builds_a_template_through_two_published_versions(self, coe_staff) -> None:
        client = api(coe_staff)
        response = client.post(
            T,
            {"title": "Handler prompt", "kind": "prompt", "category": "security_governance",
             "summary": "Draft a reply.", "tags": ["Claims", "replies"]},
        )  # fmt: skip
        assert response.status_code == 201, response.json()
        assert response.json() | {"created_at": None, "updated_at": None} == {
            "slug": "handler-prompt", "title": "Handler prompt", "kind": "prompt",
            "category": "security_governance", "summary": "Draft a reply.", "tags": ["claims", "replies"],
            "owner": "cora", "current_version": None, "created_at": None, "updated_at": None,
        }  # fmt: skip
        versions = f"{T}handler-prompt/versions/"
        created = client.post(versions, {"number": "1.0.0", "body": "Reply to {{ name }}.", "variables": ["name"]})
        assert created.status_code == 201, created.json()
        assert (created.json()["state"], created.json()["is_current"]) == ("draft", False)
        published = client.post(f"{versions}1.0.0/publish/")
        assert published.status_code == 200, published.json()
        assert (published.json()["state"], published.json()["published_by"]) == ("published", "cora")
        created = client.post(
            versions,
            {"number": "1.1.0", "body": "Reply kindly to {{ name }}.", "variables": ["name"],
             "changelog": "Kinder."},
        )  # fmt: skip
        assert created.status_code == 201
        assert client.post(f"{versions}1.1.0/publish/").status_code == 200

        detail = client.get(f"{T}handler-prompt/").json()
        assert detail["current_version"]["number"] == "1.1.0"
        assert detail["current_version"]["changelog"] == "Kinder."
        assert detail["current_version"]["published_at"]
        listed = client.get(versions).json()
        assert [(v["number"], v["state"], v["is_current"]) for v in listed["results"]] == [
            ("1.1.0", "published", True), ("1.0.0", "published", False),
        ]  # fmt: skip
        assert set(listed["results"][0]) == {
            "number", "state", "is_current", "body", "changelog", "variables", "created_at", "published_at",
            "published_by", "deprecated_at",
        }  # fmt: skip

    def test_list_is_paginated_and_filters(self, team_member, prompt, runbook) -> None:
        client = api(team_member)
        everything = client.get(T).json()
        assert (everything["count"], everything["next"], everything["previous"]) == (2, None, None)
        assert names(client.get(T)) == ["claim-summary", "outage-runbook"]
        assert names(client.get(T, {"kind": "runbook"})) == ["outage-runbook"]
        assert names(client.get(T, {"category": "security_governance"})) == ["claim-summary"]
        assert names(client.get(T, {"tag": "claims"})) == ["claim-summary"]
        assert names(client.get(T, {"q": "briefly"})) == ["claim-summary"]  # the current version's body
        assert names(client.get(T, {"q": "fail over"})) == ["outage-runbook"]
        assert names(client.get(T, {"ordering": "updated"})) == ["outage-runbook", "claim-summary"]

    def test_bad_filters_name_their_parameters(self, team_member) -> None:
        response = api(team_member).get(T, {"kind": "poem", "ordering": "random"})
        assert response.status_code == 400
        assert set(response.json()) == {"kind", "ordering"}

    def test_a_template_with_nothing_published_is_hidden_from_a_team_member(
        self, team_member, coe_staff, unpublished, prompt
    ) -> None:
        assert names(api(team_member).get(T)) == ["claim-summary"]
        assert api(team_member).get(f"{T}cost-rubric/").status_code == 404
        assert api(team_member).get(f"{T}cost-rubric/versions/").status_code == 404
        assert "cost-rubric" in names(api(coe_staff).get(T))
        assert api(coe_staff).get(f"{T}cost-rubric/").json()["current_version"] is None

    def test_create_names_every_bad_field(self, coe_staff) -> None:
        response = api(coe_staff).post(
            T, {"title": "", "kind": "poem", "category": "fun", "tags": "claims", "owner": "nobody"}
        )
        assert response.status_code == 400
        assert set(response.json()) == {"title", "kind", "category", "summary", "tags", "owner"}
        assert not Template.objects.exists()

    def test_a_taken_slug_is_400_on_slug(self, coe_staff, prompt) -> None:
        response = api(coe_staff).post(
            T, {"title": "Claim summary", "kind": "prompt", "category": "cost", "summary": "Again."}
        )
        assert response.status_code == 400
        assert "slug" in response.json()

    def test_coe_edits_a_template_and_names_its_owner(self, coe_staff, team_member, prompt) -> None:
        response = api(coe_staff).patch(
            f"{T}claim-summary/", {"summary": "Summarise a claim for a handler.", "tags": ["x"], "owner": "tina"}
        )
        assert response.status_code == 200, response.json()
        assert (response.json()["summary"], response.json()["tags"], response.json()["owner"]) == (
            "Summarise a claim for a handler.", ["x"], "tina",
        )  # fmt: skip
        assert response.json()["current_version"]["number"] == "1.1.0"

    def test_a_team_member_cannot_edit_a_template(self, team_member, prompt) -> None:
        response = api(team_member).patch(f"{T}claim-summary/", {"summary": "Mine now."})
        assert response.status_code == 403
        prompt.refresh_from_db()
        assert prompt.summary == "Summarise a claim."

    def test_a_personal_token_reads_the_library(self, team_member, prompt) -> None:
        _, raw = account_services.token_create(user=team_member, name="CI")
        client = APIClient()
        client.credentials(HTTP_AUTHORIZATION=f"Token {raw}")
        response = client.get(f"{T}claim-summary/versions/1.1.0/")
        assert response.status_code == 200
        assert response.json()["variables"] == ["claim"]
        assert APIClient().get(T).status_code == 401


class TestVersions:
    @pytest.fixture
    def draft(self, coe_staff, prompt) -> TemplateVersion:
        return services.version_create(actor=coe_staff, template=prompt, number="1.2.0", body="New {{ claim }}.",
                                       variables=["claim"], changelog="New.")  # fmt: skip

    def test_drafts_are_invisible_to_a_team_member(self, team_member, coe_staff, draft) -> None:
        listed = api(team_member).get(f"{T}claim-summary/versions/").json()
        assert [v["number"] for v in listed["results"]] == ["1.1.0", "1.0.0"]
        assert api(team_member).get(f"{T}claim-summary/versions/1.2.0/").status_code == 404
        assert api(coe_staff).get(f"{T}claim-summary/versions/1.2.0/").json()["state"] == "draft"

    def test_coe_edits_a_draft(self, coe_staff, draft) -> None:
        response = api(coe_staff).patch(f"{T}claim-summary/versions/1.2.0/", {"changelog": "Newer."})
        assert response.status_code == 200
        assert response.json()["changelog"] == "Newer."

    def test_a_published_version_cannot_be_patched(self, coe_staff, prompt) -> None:
        response = api(coe_staff).patch(f"{T}claim-summary/versions/1.1.0/", {"body": "Rewritten {{ claim }}."})
        assert response.status_code == 400
        assert "cannot change" in response.json()["detail"]
        assert version(prompt, "1.1.0").body == "Summarise {{ claim }} briefly."

    def test_a_team_member_cannot_write_versions(self, team_member, draft) -> None:
        client = api(team_member)
        assert client.post(f"{T}claim-summary/versions/", {"number": "2.0.0"}).status_code == 403
        assert client.patch(f"{T}claim-summary/versions/1.2.0/", {"body": "x"}).status_code == 403
        assert client.post(f"{T}claim-summary/versions/1.2.0/publish/").status_code == 403
        assert version(draft.template, "1.2.0").state == "draft"

    def test_publishing_a_prompt_with_undeclared_variables_names_them(self, coe_staff, prompt) -> None:
        services.version_create(actor=coe_staff, template=prompt, number="2.0.0",
                                body="Summarise {{ claim }} for {{ audience }}.", variables=["claim"],
                                changelog="Audience.")  # fmt: skip
        response = api(coe_staff).post(f"{T}claim-summary/versions/2.0.0/publish/")
        assert response.status_code == 400
        assert response.json()["body"] == ["The body uses undeclared variables: audience."]
        assert version(prompt, "2.0.0").state == "draft"
        assert version(prompt, "1.1.0").is_current

    def test_a_number_not_above_the_latest_is_400_on_number(self, coe_staff, prompt) -> None:
        client = api(coe_staff)
        for number in ("1.1.0", "1.0.5", "one"):
            response = client.post(f"{T}claim-summary/versions/", {"number": number})
            assert response.status_code == 400, number
            assert list(response.json()) == ["detail", "number"]
        assert prompt.versions.count() == 2

    def test_create_names_every_bad_field(self, coe_staff, prompt) -> None:
        response = api(coe_staff).post(f"{T}claim-summary/versions/", {"body": ["x"], "variables": "claim"})
        assert response.status_code == 400
        assert set(response.json()) == {"number", "body", "variables"}
        response = api(coe_staff).post(f"{T}claim-summary/versions/", {"number": "2.0.0", "variables": ["a b"]})
        assert response.status_code == 400
        assert response.json()["variables"] == ["Not a valid name: a b."]

    def test_submit_then_publish_then_deprecate(self, coe_staff, prompt, draft) -> None:
        client = api(coe_staff)
        assert client.post(f"{T}claim-summary/versions/1.2.0/submit/").json()["state"] == "in_review"
        assert client.post(f"{T}claim-summary/versions/1.2.0/submit/").status_code == 400
        assert client.post(f"{T}claim-summary/versions/1.2.0/publish/").json()["is_current"] is True
        deprecated = client.post(f"{T}claim-summary/versions/1.2.0/deprecate/").json()
        assert (deprecated["state"], deprecated["is_current"]) == ("deprecated", False)
        assert deprecated["deprecated_at"]
        assert version(prompt, "1.1.0").is_current

    def test_try_fills_the_variables(self, team_member, prompt) -> None:
        url = f"{T}claim-summary/versions/1.1.0/try/"
        response = api(team_member).post(url, {"values": {"claim": "A broken window."}})
        assert response.status_code == 200
        assert response.json() == {
            "text": "Summarise A broken window. briefly.", "missing": [], "unknown": [], "ok": True,
        }  # fmt: skip
        response = api(team_member).post(url, {"values": {"tone": "warm"}})
        assert response.json() == {
            "text": "Summarise {{ claim }} briefly.", "missing": ["claim"], "unknown": ["tone"], "ok": False,
        }  # fmt: skip
        assert api(team_member).post(url, {"values": ["claim"]}).json().keys() == {"values"}

    def test_try_is_for_prompts_it_can_see(self, team_member, runbook, draft) -> None:
        response = api(team_member).post(f"{T}outage-runbook/versions/1.0.0/try/", {"values": {}})
        assert response.status_code == 400
        assert "not a prompt" in response.json()["detail"]
        assert api(team_member).post(f"{T}claim-summary/versions/1.2.0/try/", {"values": {}}).status_code == 404

    def test_diff_defaults_to_the_current_version_against_the_one_before(self, team_member, prompt) -> None:
        response = api(team_member).get(f"{T}claim-summary/diff/")
        assert response.status_code == 200
        assert response.json() == {
            "from": "1.0.0",
            "to": "1.1.0",
            "unified": "--- v1.0.0\n+++ v1.1.0\n@@ -1 +1 @@\n-Summarise {{ claim }}.\n+Summarise {{ claim }} briefly.",
        }
        backwards = api(team_member).get(f"{T}claim-summary/diff/", {"from": "1.1.0", "to": "1.0.0"}).json()
        assert (backwards["from"], backwards["to"]) == ("1.1.0", "1.0.0")

    def test_diff_names_a_version_that_is_not_there_or_not_visible(self, team_member, coe_staff, draft) -> None:
        response = api(team_member).get(f"{T}claim-summary/diff/", {"from": "9.9.9", "to": "1.2.0"})
        assert response.status_code == 400
        assert response.json()["from"] == ["No version 9.9.9."]
        response = api(team_member).get(f"{T}claim-summary/diff/", {"to": "1.2.0"})
        assert response.json()["to"] == ["No version 1.2.0."]
        assert api(coe_staff).get(f"{T}claim-summary/diff/", {"to": "1.2.0"}).json()["from"] == "1.1.0"
        response = api(coe_staff).get(f"{T}claim-summary/diff/", {"to": "1.0.0"})
        assert response.status_code == 400
        assert "from" in response.json()


class TestAdoptions:
    def adoptions(self, template: Template) -> str:
        return f"{T}{template.slug}/adoptions/"

    def test_the_owning_team_adopts_a_published_version(self, team_member, runbook, workload) -> None:
        response = api(team_member).post(self.adoptions(runbook), {"workload": workload.slug, "version": "1.0.0"})
        assert response.status_code == 201, response.json()
        assert response.json() == {
            "workload": "claims-assistant", "team": "claims-automation", "version": "1.0.0", "via": "explicit",
            "is_current": True,
        }  # fmt: skip
        assert Adoption.objects.get().version == version(runbook, "1.0.0")

    def test_moving_an_adoption_answers_200(self, team_member, prompt, workload) -> None:
        adoption.adoption_set(actor=team_member, workload=workload, version=version(prompt, "1.0.0"))
        response = api(team_member).post(self.adoptions(prompt), {"workload": workload.slug, "version": "1.1.0"})
        assert response.status_code == 200
        assert Adoption.objects.get().version.number == "1.1.0"

    def test_another_team_cannot_adopt_for_the_workload(self, other_team_member, leader, runbook, workload) -> None:
        for user in (other_team_member, leader):
            response = api(user).post(self.adoptions(runbook), {"workload": workload.slug, "version": "1.0.0"})
            assert response.status_code == 403
        assert not Adoption.objects.exists()

    def test_coe_staff_adopt_for_any_workload(self, coe_staff, runbook, other_workload) -> None:
        response = api(coe_staff).post(self.adoptions(runbook), {"workload": other_workload.slug, "version": "1.0.0"})
        assert response.status_code == 201

    def test_adopting_a_draft_is_400_on_version(self, coe_staff, team_member, prompt, workload) -> None:
        services.version_create(actor=coe_staff, template=prompt, number="1.2.0", body="x {{ claim }}",
                                variables=["claim"])  # fmt: skip
        for user in (coe_staff, team_member):  # the team member is not told the draft exists
            response = api(user).post(self.adoptions(prompt), {"workload": workload.slug, "version": "1.2.0"})
            assert response.status_code == 400
            assert "version" in response.json()
        assert not Adoption.objects.exists()

    def test_every_bad_input_is_named(self, team_member, runbook, workload) -> None:
        response = api(team_member).post(self.adoptions(runbook), {"note": "x" * 301})
        assert response.status_code == 400
        assert set(response.json()) == {"workload", "version", "note"}
        response = api(team_member).post(self.adoptions(runbook), {"workload": "nope", "version": "1.0.0"})
        assert response.json()["workload"] == ["No workload “nope”."]
        response = api(team_member).post(f"{self.adoptions(runbook)}upgrade/", {})
        assert set(response.json()) == {"workload"}

    def test_list_shows_explicit_and_release_adopters(
        self, team_member, other_team_member, prompt, workload, other_workload, model
    ) -> None:
        adoption.adoption_set(actor=team_member, workload=workload, version=version(prompt, "1.0.0"))
        release = registry_services.release_create(
            actor=other_team_member, workload=other_workload, version="1.0.0", ai_models=[model],
            template_versions=[version(prompt, "1.1.0")],
        )  # fmt: skip
        registry_services.release_promote(actor=other_team_member, release=release)
        response = api(other_team_member).get(self.adoptions(prompt))
        assert response.status_code == 200
        assert response.json()["count"] == 2
        rows = response.json()["results"]
        assert [(r["workload"], r["team"], r["version"], r["via"], r["is_current"]) for r in rows] == [
            ("claims-assistant", "claims-automation", "1.0.0", "explicit", False),
            ("service-bot", "customer-service-ai", "1.1.0", "release", True),
        ]  # fmt: skip

    def test_upgrade_moves_an_explicit_adoption_to_the_current_version(self, team_member, prompt, workload) -> None:
        adoption.adoption_set(actor=team_member, workload=workload, version=version(prompt, "1.0.0"))
        response = api(team_member).post(f"{self.adoptions(prompt)}upgrade/", {"workload": workload.slug})
        assert response.status_code == 200, response.json()
        assert response.json() == {"kind": "adoption", "version": "1.1.0"}
        assert Adoption.objects.get().version.number == "1.1.0"
        again = api(team_member).post(f"{self.adoptions(prompt)}upgrade/", {"workload": workload.slug})
        assert again.status_code == 400

    def test_upgrade_drafts_a_release_when_the_live_one_uses_an_older_version(
        self, team_member, prompt, workload, model
    ) -> None:
        live = registry_services.release_create(
            actor=team_member, workload=workload, version="1.4.0", ai_models=[model],
            template_versions=[version(prompt, "1.0.0")],
        )  # fmt: skip
        registry_services.release_promote(actor=team_member, release=live)
        response = api(team_member).post(f"{self.adoptions(prompt)}upgrade/", {"workload": workload.slug})
        assert response.status_code == 200, response.json()
        body = response.json()
        assert (body["kind"], body["release"]["version"], body["release"]["status"]) == ("release", "1.4.1", "draft")
        draft = Release.objects.get(pk=body["release"]["id"])
        assert list(draft.template_versions.all()) == [version(prompt, "1.1.0")]
        assert list(draft.ai_models.all()) == [model]
        workload.refresh_from_db()
        assert workload.live_release == live  # promoting is the team's next step

    def test_another_team_cannot_upgrade_or_remove(self, team_member, other_team_member, prompt, workload) -> None:
        adoption.adoption_set(actor=team_member, workload=workload, version=version(prompt, "1.0.0"))
        client = api(other_team_member)
        assert client.post(f"{self.adoptions(prompt)}upgrade/", {"workload": workload.slug}).status_code == 403
        assert client.delete(f"{self.adoptions(prompt)}{workload.slug}/").status_code == 403
        assert Adoption.objects.get().version.number == "1.0.0"

    def test_the_team_removes_its_adoption(self, team_member, prompt, workload) -> None:
        adoption.adoption_set(actor=team_member, workload=workload, version=version(prompt, "1.0.0"))
        url = f"{self.adoptions(prompt)}{workload.slug}/"
        assert api(team_member).delete(url).status_code == 204
        assert not Adoption.objects.exists()
        assert api(team_member).delete(url).status_code == 404
        assert api(team_member).delete(f"{self.adoptions(prompt)}no-such-workload/").status_code == 404

    def test_adoptions_of_an_unpublished_template_are_hidden(self, team_member, unpublished, workload) -> None:
        assert api(team_member).get(self.adoptions(unpublished)).status_code == 404
        response = api(team_member).post(self.adoptions(unpublished), {"workload": workload.slug, "version": "0.1.0"})
        assert response.status_code == 404

    def test_a_personal_token_adopts(self, team_member, runbook, workload) -> None:
        _, raw = account_services.token_create(user=team_member, name="CI")
        client = APIClient()
        client.credentials(HTTP_AUTHORIZATION=f"Token {raw}")
        response = client.post(self.adoptions(runbook), {"workload": workload.slug, "version": "1.0.0"}, format="json")
        assert response.status_code == 201
        assert Adoption.objects.get().adopted_by == team_member

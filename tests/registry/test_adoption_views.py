"""The adoption pages: which workloads use which library template version, adopting, removing,
and the one-step upgrade a publication's notification leads to.

Plain access for every persona is in the permission matrix (tests/registry/access_adoption.py);
these tests check behaviour. State is built through the library's and the registry's services.
"""

from __future__ import annotations

from typing import Any

import pytest
from django.contrib.messages import get_messages
from django.http import HttpResponse
from django.urls import reverse

from apps.accounts.models import User
from apps.core.models import Notification
from apps.library import services as library
from apps.library.models import Template, TemplateVersion
from apps.registry import adoption, services
from apps.registry.forms import NOT_PUBLISHED
from apps.registry.models import Adoption, AIModel, Release, Workload

from .factories import AIModelFactory

pytestmark = pytest.mark.django_db

HTMX = {"HX-Request": "true"}


def _messages(response: HttpResponse) -> list[str]:
    return [str(m) for m in get_messages(response.wsgi_request)]


def _text(response: HttpResponse) -> str:
    return response.content.decode()


# --- The world: two teams' workloads, a runbook and a prompt template in the library ----------


@pytest.fixture
def mini() -> AIModel:
    return AIModelFactory(model_id="gpt-4o-mini", display_name="GPT-4o mini")


@pytest.fixture
def workload(team, team_member, mini) -> Workload:
    return services.workload_register(actor=team_member, team=team, name="Claims Assistant", ai_models=[mini])


@pytest.fixture
def other_workload(other_team, other_team_member, mini) -> Workload:
    return services.workload_register(actor=other_team_member, team=other_team, name="Chat Helper", ai_models=[mini])


def _template(actor: User, title: str, kind: str = Template.Kind.RUNBOOK) -> Template:
    return library.template_create(actor=actor, title=title, kind=kind, category="infrastructure", summary="Why.")


def _publish(actor: User, template: Template, number: str, body: str = "Steps.", **kwargs: Any) -> TemplateVersion:
    version = library.version_create(actor=actor, template=template, number=number, body=body, **kwargs)
    return library.version_publish(actor=actor, version=version)


@pytest.fixture
def runbook(coe_staff) -> Template:
    return _template(coe_staff, "Provider outage runbook")


@pytest.fixture
def runbook_v1(coe_staff, runbook) -> TemplateVersion:
    return _publish(coe_staff, runbook, "1.0.0", "1. Switch the gateway.")


def _v2(coe_staff: User, runbook: Template) -> TemplateVersion:
    return _publish(coe_staff, runbook, "1.1.0", "1. Switch.\n2. Tell the CoE.", changelog="**Adds** telling the CoE.")


@pytest.fixture
def prompt(coe_staff) -> Template:
    return _template(coe_staff, "Claim summary prompt", kind=Template.Kind.PROMPT)


@pytest.fixture
def prompt_v1(coe_staff, prompt) -> TemplateVersion:
    return _publish(coe_staff, prompt, "1.0.0", "Summarise {{ claim }}.", variables=["claim"])


def _adopt(workload: Workload, version: TemplateVersion, actor: User) -> Adoption:
    return adoption.adoption_set(actor=actor, workload=workload, version=version)


def _live_release(workload: Workload, actor: User, versions: list[TemplateVersion], **kwargs: Any) -> Release:
    release = services.release_create(
        actor=actor, workload=workload, version="1.0.0", ai_models=list(workload.ai_models.all()),
        template_versions=versions, **kwargs,
    )  # fmt: skip
    return services.release_promote(actor=actor, release=release)


# --- The adopters panel (loaded into the library's template page) ---------------------------


class TestTemplateAdopters:
    def test_it_groups_adopters_by_version_newest_first_and_counts_those_behind(
        self, client_for, coe_staff, team_member, other_team_member, workload, other_workload, runbook, runbook_v1,
        mini,
    ) -> None:  # fmt: skip
        _adopt(workload, runbook_v1, team_member)
        _adopt(other_workload, runbook_v1, other_team_member)
        v2 = _v2(coe_staff, runbook)
        third = services.workload_register(actor=team_member, team=workload.team, name="Fraud Triage",
                                           ai_models=[mini])  # fmt: skip
        _adopt(third, v2, team_member)
        response = client_for(team_member).get(reverse("registry:template-adopters", args=[runbook.slug]))
        assert response.status_code == 200
        text = _text(response)
        assert "<html" in text
        assert "Who uses Provider outage runbook" in text
        assert "2 of 3 adopters are behind the current version (v1.1.0)" in text
        assert text.index('v1.1.0 <span class="muted">(current)') < text.index(">v1.0.0")
        assert text.count("Behind the current version (v1.1.0)") == 2
        assert "Explicitly" in text
        assert "Chat Helper" in text
        assert "Customer Service AI" in text
        # An upgrade button for the team's own workload that is behind, not for another team's.
        assert reverse("registry:template-upgrade", args=[workload.slug, runbook.slug]) in text
        assert reverse("registry:template-upgrade", args=[other_workload.slug, runbook.slug]) not in text
        assert reverse("registry:template-upgrade", args=[third.slug, runbook.slug]) not in text  # current

    def test_htmx_gets_the_panel_alone(self, client_for, team_member, workload, runbook, runbook_v1) -> None:
        _adopt(workload, runbook_v1, team_member)
        response = client_for(team_member).get(reverse("registry:template-adopters", args=[runbook.slug]), headers=HTMX)
        text = _text(response)
        assert response.status_code == 200
        assert "<html" not in text
        assert 'id="template-adopters"' in text
        assert "No adopter is behind the current version (v1.0.0)" in text
        assert "HX-Request" in response["Vary"]

    def test_a_workload_uses_it_through_its_live_release(self, client_for, leader, team_member, workload,
                                                          prompt, prompt_v1) -> None:  # fmt: skip
        _live_release(workload, team_member, [prompt_v1])
        text = _text(client_for(leader).get(reverse("registry:template-adopters", args=[prompt.slug])))
        assert "Claims Assistant" in text
        assert "Through its live release" in text
        assert "Upgrade" not in text  # leadership changes nothing, and it is current anyway

    def test_it_says_when_no_one_uses_it(self, client_for, team_member, runbook, runbook_v1) -> None:
        text = _text(client_for(team_member).get(reverse("registry:template-adopters", args=[runbook.slug])))
        assert "No workload uses Provider outage runbook yet." in text

    def test_unknown_and_unpublished_templates_are_not_found(self, client_for, coe_staff, team_member, runbook) -> None:
        library.version_create(actor=coe_staff, template=runbook, number="1.0.0", body="Draft.")
        # Unpublished: hidden from those who cannot see drafts (the CoE sees an empty panel).
        url = reverse("registry:template-adopters", args=[runbook.slug])
        assert client_for(team_member).get(url).status_code == 404
        client = client_for(coe_staff)
        assert client.get(reverse("registry:template-adopters", args=["no-such-template"])).status_code == 404


class TestMostAdopted:
    def test_it_lists_templates_by_number_of_workloads(
        self, client_for, coe_staff, team_member, other_team_member, workload, other_workload, runbook, runbook_v1
    ) -> None:
        blueprint = _template(coe_staff, "Gateway blueprint")
        blueprint_v1 = _publish(coe_staff, blueprint, "1.0.0")
        _adopt(workload, runbook_v1, team_member)
        _adopt(other_workload, runbook_v1, other_team_member)
        _adopt(workload, blueprint_v1, team_member)
        response = client_for(other_team_member).get(reverse("registry:templates-most-adopted"), headers=HTMX)
        text = _text(response)
        assert "<html" not in text
        assert 'id="most-adopted"' in text
        assert text.index("Provider outage runbook") < text.index("Gateway blueprint")
        assert "2 workloads" in text
        assert "1 workload<" in text
        assert reverse("library:template-detail", args=[runbook.slug]) in text

    def test_without_htmx_it_is_a_page_and_says_when_nothing_is_adopted(self, client_for, team_member) -> None:
        text = _text(client_for(team_member).get(reverse("registry:templates-most-adopted")))
        assert "<html" in text
        assert "No template is adopted yet." in text


# --- The workload's Templates tab -------------------------------------------------------------


class TestWorkloadTemplates:
    def test_it_lists_what_the_workload_uses_with_upgrade_and_remove_for_its_team(
        self, client_for, coe_staff, team_member, workload, runbook, runbook_v1, prompt, prompt_v1
    ) -> None:
        adoption.adoption_set(actor=team_member, workload=workload, version=runbook_v1, note="On-call uses it")
        _live_release(workload, team_member, [prompt_v1])
        _v2(coe_staff, runbook)
        url = reverse("registry:workload-templates", args=[workload.slug])
        text = _text(client_for(team_member).get(url))
        assert 'id="tab-templates"' in text
        assert 'aria-current="page">Templates' in text
        assert "Provider outage runbook" in text
        assert "On-call uses it" in text
        assert "Adopted explicitly" in text
        assert "Claim summary prompt" in text
        assert "Through live release" in text
        assert "Behind the current version (v1.1.0)" in text
        assert ">Current<" in text
        assert reverse("registry:template-upgrade", args=[workload.slug, runbook.slug]) in text
        assert reverse("registry:template-upgrade", args=[workload.slug, prompt.slug]) not in text  # current
        assert reverse("registry:adoption-remove", args=[workload.slug, runbook.slug]) in text
        assert reverse("registry:adoption-remove", args=[workload.slug, prompt.slug]) not in text  # via release
        assert "hx-confirm=" in text
        assert "Adopt a template" in text
        assert "Provider outage runbook v1.1.0 (current)" in text  # the adopt form's choices

    def test_others_read_it_without_the_controls(self, client_for, other_team_member, leader, team_member, workload,
                                                 runbook, runbook_v1) -> None:  # fmt: skip
        _adopt(workload, runbook_v1, team_member)
        for user in (other_team_member, leader):
            text = _text(client_for(user).get(reverse("registry:workload-templates", args=[workload.slug])))
            assert "Provider outage runbook" in text
            assert "Adopt a template" not in text
            assert "/remove/" not in text
            assert "/upgrade/" not in text

    def test_htmx_swaps_just_the_tabs(self, client_for, team_member, workload) -> None:
        url = reverse("registry:workload-templates", args=[workload.slug])
        response = client_for(team_member).get(url, headers=HTMX)
        text = _text(response)
        assert text.lstrip().startswith('<div id="workload-tabs">')
        assert "<html" not in text
        assert "uses no library template yet" in text
        assert "<html" in _text(client_for(team_member).get(url))

    def test_the_workload_page_links_to_the_tab(self, client_for, team_member, workload) -> None:
        text = _text(client_for(team_member).get(reverse("registry:workload-detail", args=[workload.slug])))
        assert reverse("registry:workload-templates", args=[workload.slug]) in text


class TestAdoptAndRemove:
    def test_adopting_from_the_tab(self, client_for, team_member, workload, runbook, runbook_v1) -> None:
        url = reverse("registry:adoption-create", args=[workload.slug])
        response = client_for(team_member).post(url, {"version": runbook_v1.pk, "note": "Night shift"})
        assert response.status_code == 302
        assert response["Location"] == reverse("registry:workload-templates", args=[workload.slug])
        found = Adoption.objects.get(workload=workload)
        assert (found.version, found.note, found.adopted_by) == (runbook_v1, "Night shift", team_member)
        assert _messages(response) == ["“Claims Assistant” now uses Provider outage runbook v1.0.0."]

    def test_htmx_adopting_redirects_the_whole_page(self, client_for, team_member, workload, runbook_v1) -> None:
        url = reverse("registry:adoption-create", args=[workload.slug])
        response = client_for(team_member).post(url, {"version": runbook_v1.pk}, headers=HTMX)
        assert response.status_code == 200
        assert response["HX-Redirect"] == reverse("registry:workload-templates", args=[workload.slug])
        assert Adoption.objects.filter(workload=workload).exists()

    def test_a_draft_version_is_refused(self, client_for, coe_staff, team_member, workload, runbook,
                                        runbook_v1) -> None:  # fmt: skip
        draft = library.version_create(actor=coe_staff, template=runbook, number="2.0.0", body="Draft.")
        response = client_for(team_member).post(reverse("registry:adoption-create", args=[workload.slug]),
                                                {"version": draft.pk})  # fmt: skip
        assert response.status_code == 302
        assert _messages(response) == [f"{NOT_PUBLISHED} Nothing changed."]
        assert not Adoption.objects.exists()

    def test_the_services_refusal_is_shown(self, client_for, team_member, workload, runbook_v1) -> None:
        services.workload_retire(actor=team_member, workload=workload)
        response = client_for(team_member).post(reverse("registry:adoption-create", args=[workload.slug]),
                                                {"version": runbook_v1.pk})  # fmt: skip
        assert _messages(response) == ["A retired workload adopts nothing."]
        assert not Adoption.objects.exists()

    def test_removing_an_explicit_adoption(self, client_for, team_member, workload, runbook, runbook_v1) -> None:
        _adopt(workload, runbook_v1, team_member)
        url = reverse("registry:adoption-remove", args=[workload.slug, runbook.slug])
        response = client_for(team_member).post(url, headers=HTMX)
        assert response["HX-Redirect"] == reverse("registry:workload-templates", args=[workload.slug])
        assert not Adoption.objects.exists()
        assert _messages(response) == ["“Claims Assistant” no longer uses Provider outage runbook."]

    def test_removing_what_is_not_adopted_explicitly_is_not_found(
        self, client_for, team_member, workload, prompt, prompt_v1
    ) -> None:
        _live_release(workload, team_member, [prompt_v1])
        url = reverse("registry:adoption-remove", args=[workload.slug, prompt.slug])
        assert client_for(team_member).post(url).status_code == 404
        assert Release.objects.get(status="live").template_versions.get() == prompt_v1


@pytest.mark.parametrize("persona", ["other_team_member", "leader"], indirect=True)
class TestOthersChangeNothing:
    def test_adopt_remove_and_upgrade_are_refused(self, client_for, persona, coe_staff, team_member, workload,
                                                  runbook, runbook_v1) -> None:  # fmt: skip
        _adopt(workload, runbook_v1, team_member)
        _v2(coe_staff, runbook)
        blueprint_v1 = _publish(coe_staff, _template(coe_staff, "Gateway blueprint"), "1.0.0")
        client = client_for(persona)
        attempts = [
            (reverse("registry:adoption-create", args=[workload.slug]), {"version": blueprint_v1.pk}),
            (reverse("registry:adoption-remove", args=[workload.slug, runbook.slug]), {}),
            (reverse("registry:template-upgrade", args=[workload.slug, runbook.slug]), {}),
        ]
        for url, data in attempts:
            assert client.post(url, data).status_code == 403
            assert client.post(url, data, headers=HTMX).status_code == 403
        assert client.get(reverse("registry:template-upgrade", args=[workload.slug, runbook.slug])).status_code == 403
        assert list(Adoption.objects.values_list("workload", "version")) == [(workload.pk, runbook_v1.pk)]
        assert not Release.objects.exists()


# --- Publishing notifies; the upgrade page upgrades in one step ------------------------------


class TestUpgrade:
    def test_publishing_notifies_the_adopting_team_and_the_upgrade_page_moves_the_adoption(
        self, client_for, coe_staff, team_member, other_team_member, workload, runbook, runbook_v1
    ) -> None:
        _adopt(workload, runbook_v1, team_member)
        _v2(coe_staff, runbook)
        upgrade_url = reverse("registry:template-upgrade", args=[workload.slug, runbook.slug])
        notification = Notification.objects.get(recipient=team_member)
        assert notification.url == upgrade_url
        assert notification.title == "Provider outage runbook v1.1.0 is published"
        assert not Notification.objects.filter(recipient=other_team_member).exists()

        client = client_for(team_member)
        page = _text(client.get(upgrade_url))
        assert "Upgrade Provider outage runbook in Claims Assistant" in page
        assert "v1.0.0" in page
        assert "v1.1.0" in page
        assert "<strong>Adds</strong> telling the CoE." in page  # the changelog, as markdown
        diff = reverse("library:version-diff", args=[runbook.slug]) + "?from=1.0.0&amp;to=1.1.0"
        assert diff in page
        assert "explicit adoption moves from v1.0.0 to v1.1.0" in page
        assert page.count('<button type="submit" class="button">Upgrade</button>') == 1

        response = client.post(upgrade_url)
        assert response["Location"] == reverse("registry:workload-templates", args=[workload.slug])
        assert Adoption.objects.get(workload=workload).version.number == "1.1.0"
        assert _messages(response) == ["“Claims Assistant” now uses Provider outage runbook v1.1.0."]
        assert not Release.objects.exists()

    def test_a_live_release_gets_a_draft_copy_with_the_current_version(
        self, client_for, coe_staff, team_member, workload, prompt, prompt_v1, runbook, runbook_v1, mini
    ) -> None:
        live = _live_release(workload, team_member, [prompt_v1, runbook_v1], config={"temperature": 0.2})
        v2 = _publish(coe_staff, prompt, "2.0.0", "Summarise {{ claim }} in three lines.", variables=["claim"],
                      changelog="Three lines.")  # fmt: skip
        upgrade_url = reverse("registry:template-upgrade", args=[workload.slug, prompt.slug])
        assert Notification.objects.get(recipient=team_member).url == upgrade_url
        client = client_for(team_member)
        page = _text(client.get(upgrade_url))
        assert "new <strong>draft release</strong> is created: a copy of live release 1.0.0" in page
        assert "Three lines." in page

        response = client.post(upgrade_url, headers=HTMX)
        assert response["HX-Redirect"] == reverse("registry:release-list", args=[workload.slug])
        draft = Release.objects.get(status=Release.Status.DRAFT)
        assert set(draft.template_versions.all()) == {v2, runbook_v1}
        assert list(draft.ai_models.all()) == [mini]
        assert draft.config == {"temperature": 0.2}
        workload.refresh_from_db()
        assert workload.live_release == live  # nothing goes live until it is promoted
        assert _messages(response) == [
            f"Draft release {draft.version} is created with Claim summary prompt v2.0.0. "
            "Promote it from the Releases tab when it is ready."
        ]

    def test_already_up_to_date_changes_nothing(self, client_for, team_member, workload, runbook,
                                                runbook_v1) -> None:  # fmt: skip
        _adopt(workload, runbook_v1, team_member)
        url = reverse("registry:template-upgrade", args=[workload.slug, runbook.slug])
        client = client_for(team_member)
        page = _text(client.get(url))
        assert "already uses Provider outage runbook v1.0.0, the current version" in page
        assert ">Upgrade</button>" not in page
        response = client.post(url)
        assert response.status_code == 302
        assert _messages(response) == ["Claims Assistant already uses Provider outage runbook v1.0.0."]
        assert Adoption.objects.get().version == runbook_v1

    def test_a_template_the_workload_does_not_use(self, client_for, team_member, workload, runbook,
                                                  runbook_v1) -> None:  # fmt: skip
        url = reverse("registry:template-upgrade", args=[workload.slug, runbook.slug])
        page = _text(client_for(team_member).get(url))
        assert "does not use Provider outage runbook, so there is nothing to upgrade" in page
        assert client_for(team_member).get(
            reverse("registry:template-upgrade", args=[workload.slug, "no-such-template"])
        ).status_code == 404  # fmt: skip

    def test_coe_staff_may_upgrade_any_workload(self, client_for, coe_staff, team_member, workload, runbook,
                                                runbook_v1) -> None:  # fmt: skip
        _adopt(workload, runbook_v1, team_member)
        _v2(coe_staff, runbook)
        client_for(coe_staff).post(reverse("registry:template-upgrade", args=[workload.slug, runbook.slug]))
        assert Adoption.objects.get().version.number == "1.1.0"


# --- Releases name their template versions -----------------------------------------------------


class TestReleaseTemplates:
    def _form(self, model: AIModel, **overrides: Any) -> dict[str, Any]:
        return {"version": "2.0.0", "changelog": "", "ai_models": [model.pk], "config": "", **overrides}

    def test_the_form_offers_published_versions_and_starts_from_the_live_release(
        self, client_for, coe_staff, team_member, workload, prompt, prompt_v1
    ) -> None:
        _live_release(workload, team_member, [prompt_v1])
        draft = library.version_create(actor=coe_staff, template=prompt, number="1.1.0", body="Draft {{ claim }}",
                                       variables=["claim"])  # fmt: skip
        text = _text(client_for(team_member).get(reverse("registry:release-create", args=[workload.slug])))
        assert "Claim summary prompt v1.0.0 (current)" in text
        assert f'value="{draft.pk}"' not in text
        checked = f'value="{prompt_v1.pk}"'
        assert checked in text
        tag = text[text.index(checked) - 200 : text.index(checked) + 200]
        assert "checked" in tag

    def test_the_release_stores_its_template_versions(self, client_for, team_member, workload, mini, prompt_v1,
                                                      runbook_v1) -> None:  # fmt: skip
        url = reverse("registry:release-create", args=[workload.slug])
        response = client_for(team_member).post(url, self._form(mini, template_versions=[prompt_v1.pk, runbook_v1.pk]))
        assert response.status_code == 302
        release = Release.objects.get(version="2.0.0")
        assert set(release.template_versions.all()) == {prompt_v1, runbook_v1}
        listing = _text(client_for(team_member).get(reverse("registry:release-list", args=[workload.slug])))
        assert "Claim summary prompt v1.0.0" in listing
        assert reverse("library:version-detail", args=[prompt_v1.template.slug, "1.0.0"]) in listing

    def test_a_draft_version_is_refused_with_a_message(self, client_for, coe_staff, team_member, workload, mini,
                                                       prompt, prompt_v1) -> None:  # fmt: skip
        draft = library.version_create(actor=coe_staff, template=prompt, number="1.1.0", body="Draft {{ claim }}",
                                       variables=["claim"])  # fmt: skip
        url = reverse("registry:release-create", args=[workload.slug])
        response = client_for(team_member).post(url, self._form(mini, template_versions=[draft.pk]))
        assert response.status_code == 200
        assert NOT_PUBLISHED in _text(response)
        assert not Release.objects.exists()

    def test_the_services_refusal_lands_on_the_field(self, client_for, coe_staff, team_member, workload, mini,
                                                     prompt, prompt_v1) -> None:  # fmt: skip
        v11 = _publish(coe_staff, prompt, "1.1.0", "Summarise {{ claim }} briefly.", variables=["claim"],
                       changelog="Shorter.")  # fmt: skip
        url = reverse("registry:release-create", args=[workload.slug])
        response = client_for(team_member).post(url, self._form(mini, template_versions=[prompt_v1.pk, v11.pk]))
        assert response.status_code == 200
        assert "Claim summary prompt appears twice (v1.1.0 and v1.0.0)." in _text(response) or (
            "Claim summary prompt appears twice (v1.0.0 and v1.1.0)." in _text(response)
        )
        assert response.context["form"].errors["template_versions"]
        assert not Release.objects.exists()


def test_adopters_panel_of_an_unpublished_template_is_empty_for_coe_and_hidden_from_others(
    client_for, coe_staff, team_member
) -> None:
    from apps.library import services as library_services

    template = library_services.template_create(
        actor=coe_staff, title="Unpublished runbook", kind="runbook", category="infrastructure", summary="Soon."
    )
    library_services.version_create(actor=coe_staff, template=template, number="1.0.0", body="Draft.")
    url = reverse("registry:template-adopters", args=[template.slug])
    response = client_for(coe_staff).get(url, headers={"HX-Request": "true"})
    assert response.status_code == 200
    assert client_for(team_member).get(url).status_code == 404

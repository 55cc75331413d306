"""Adoption of library templates by workloads (apps/registry/adoption.py)."""

from __future__ import annotations

import pytest

from apps.core.exceptions import ApplicationError
from apps.core.models import Notification
from apps.library import services as library
from apps.registry import adoption, services
from apps.registry.models import Adoption, Release

from .factories import AIModelFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def mini():
    return AIModelFactory(model_id="gpt-4o-mini", display_name="GPT-4o mini")


@pytest.fixture
def workload(team, team_member, mini):
    return services.workload_register(actor=team_member, team=team, name="Claims Assistant", ai_models=[mini])


@pytest.fixture
def other_workload(other_team, other_team_member, mini):
    return services.workload_register(actor=other_team_member, team=other_team, name="Support Bot", ai_models=[mini])


@pytest.fixture
def runbook(coe_staff):
    template = library.template_create(actor=coe_staff, title="Outage runbook", kind="runbook",
                                       category="infrastructure", summary="Fail over.")  # fmt: skip
    v1 = library.version_create(actor=coe_staff, template=template, number="1.0.0", body="Step one.")
    library.version_publish(actor=coe_staff, version=v1)
    return template


@pytest.fixture
def prompt(coe_staff):
    template = library.template_create(actor=coe_staff, title="Claim prompt", kind="prompt",
                                       category="security_governance", summary="Summarise.")  # fmt: skip
    v1 = library.version_create(actor=coe_staff, template=template, number="1.0.0", body="Sum {{ x }}.",
                                variables=["x"])  # fmt: skip
    library.version_publish(actor=coe_staff, version=v1)
    return template


def v(template, number):  # type: ignore[no-untyped-def]
    return template.versions.get(number=number)


def publish(coe_staff, template, number, body="Step two.", **extra):  # type: ignore[no-untyped-def]
    version = library.version_create(actor=coe_staff, template=template, number=number, body=body,
                                     changelog=f"What is new in {number}.", **extra)  # fmt: skip
    return library.version_publish(actor=coe_staff, version=version)


def test_explicit_adoption_and_adopters_by_version(team_member, other_team_member, workload, other_workload, runbook,
                                                   coe_staff) -> None:  # fmt: skip
    adoption.adoption_set(actor=team_member, workload=workload, version=v(runbook, "1.0.0"))
    publish(coe_staff, runbook, "1.1.0")
    adoption.adoption_set(actor=other_team_member, workload=other_workload, version=v(runbook, "1.1.0"))
    adopters = adoption.adopter_list(template=runbook)
    assert [(a.workload.name, a.version.number, a.via, a.is_behind) for a in adopters] == [
        ("Claims Assistant", "1.0.0", "explicit", True),
        ("Support Bot", "1.1.0", "explicit", False),
    ]
    assert adoption.adopter_counts() == {runbook.pk: 2}
    assert adoption.most_adopted() == [(runbook, 2)]


def test_adopting_again_moves_the_adoption(team_member, workload, runbook, coe_staff) -> None:
    adoption.adoption_set(actor=team_member, workload=workload, version=v(runbook, "1.0.0"))
    publish(coe_staff, runbook, "1.1.0")
    adoption.adoption_set(actor=team_member, workload=workload, version=v(runbook, "1.1.0"))
    assert Adoption.objects.get().version.number == "1.1.0"


def test_drafts_and_deprecated_versions_cannot_be_adopted(team_member, workload, runbook, coe_staff) -> None:
    draft = library.version_create(actor=coe_staff, template=runbook, number="2.0.0", body="x", changelog="y")
    with pytest.raises(ApplicationError, match="draft; use a published version"):
        adoption.adoption_set(actor=team_member, workload=workload, version=draft)
    library.version_deprecate(actor=coe_staff, version=v(runbook, "1.0.0"))
    with pytest.raises(ApplicationError, match="deprecated"):
        adoption.adoption_set(actor=team_member, workload=workload, version=v(runbook, "1.0.0"))
    assert not Adoption.objects.exists()


def test_a_live_release_adopts_its_templates(team_member, workload, prompt, mini) -> None:
    release = services.release_create(actor=team_member, workload=workload, version="1.0.0", ai_models=[mini],
                                      template_versions=[v(prompt, "1.0.0")])  # fmt: skip
    assert adoption.adopter_list(template=prompt) == []  # a draft release adopts nothing yet
    services.release_promote(actor=team_member, release=release)
    (adopter,) = adoption.adopter_list(template=prompt)
    assert (adopter.workload, adopter.via) == (workload, "release")
    assert [a.version.number for a in adoption.workload_adoptions(workload=workload)] == ["1.0.0"]


def test_a_release_names_one_published_version_per_template(team_member, workload, prompt, mini, coe_staff) -> None:
    publish(coe_staff, prompt, "1.1.0", body="Sum {{ x }} well.", variables=["x"])
    with pytest.raises(ApplicationError, match="appears twice"):
        services.release_create(actor=team_member, workload=workload, version="1.0.0", ai_models=[mini],
                                template_versions=[v(prompt, "1.0.0"), v(prompt, "1.1.0")])  # fmt: skip
    assert not Release.objects.exists()


def test_publishing_notifies_adopting_teams_with_the_changelog(team_member, other_team_member, workload, runbook,
                                                                coe_staff) -> None:  # fmt: skip
    adoption.adoption_set(actor=team_member, workload=workload, version=v(runbook, "1.0.0"))
    publish(coe_staff, runbook, "1.1.0")
    (note,) = Notification.objects.all()
    assert note.recipient == team_member
    assert note.title == "Outage runbook v1.1.0 is published"
    assert "What is new in 1.1.0." in note.body
    assert note.url == f"/registry/w/{workload.slug}/templates/{runbook.slug}/upgrade/"


def test_upgrade_moves_an_explicit_adoption_in_one_step(team_member, workload, runbook, coe_staff) -> None:
    adoption.adoption_set(actor=team_member, workload=workload, version=v(runbook, "1.0.0"))
    publish(coe_staff, runbook, "1.1.0")
    result = adoption.template_upgrade(actor=team_member, workload=workload, template=runbook)
    assert isinstance(result, Adoption)
    assert result.version.number == "1.1.0"
    with pytest.raises(ApplicationError, match="already uses"):
        adoption.template_upgrade(actor=team_member, workload=workload, template=runbook)


def test_upgrade_through_a_release_creates_a_draft_copy(team_member, workload, prompt, mini, coe_staff) -> None:
    release = services.release_create(actor=team_member, workload=workload, version="1.4.0", ai_models=[mini],
                                      config={"temperature": 0.2}, template_versions=[v(prompt, "1.0.0")])  # fmt: skip
    services.release_promote(actor=team_member, release=release)
    publish(coe_staff, prompt, "1.1.0", body="Sum {{ x }} well.", variables=["x"])
    draft = adoption.template_upgrade(actor=team_member, workload=workload, template=prompt)
    assert isinstance(draft, Release)
    assert (draft.version, draft.status, draft.config) == ("1.4.1", "draft", {"temperature": 0.2})
    assert [t.number for t in draft.template_versions.all()] == ["1.1.0"]
    assert list(draft.ai_models.all()) == [mini]
    assert "from v1.0.0 to v1.1.0" in draft.changelog


def test_upgrade_refuses_a_template_the_workload_does_not_use(team_member, workload, runbook) -> None:
    with pytest.raises(ApplicationError, match="does not use"):
        adoption.template_upgrade(actor=team_member, workload=workload, template=runbook)

"""Feedback fixtures, shared by the page and API tests: published guidance (a template and a
policy), a model, a workload of ``team`` and one of ``other_team`` (both use the template), and
threads on each subject.

Tests that define a fixture of the same name locally (test_services.py, test_digest.py) keep theirs.
"""

from __future__ import annotations

import pytest

from apps.feedback import services
from apps.feedback.models import Lesson, Thread
from apps.governance import services as governance
from apps.library import services as library
from apps.registry import services as registry
from apps.registry.adoption import adoption_set
from tests.registry.factories import AIModelFactory


@pytest.fixture
def template(coe_staff):  # type: ignore[no-untyped-def]
    """The "Claims summary runbook", 1.0.0 published and current."""
    template = library.template_create(actor=coe_staff, title="Claims summary runbook", kind="runbook",
                                       category="monitoring", summary="How to summarise a claim.")  # fmt: skip
    version = library.version_create(actor=coe_staff, template=template, number="1.0.0", body="# Runbook\n\nStep one.")
    library.version_publish(actor=coe_staff, version=version)
    return template


@pytest.fixture
def draft_template(coe_staff):  # type: ignore[no-untyped-def]
    """A template with only a draft: its threads are for the CoE's eyes."""
    template = library.template_create(actor=coe_staff, title="Unfinished prompt", kind="runbook",
                                       category="cost", summary="Not yet.")  # fmt: skip
    library.version_create(actor=coe_staff, template=template, number="0.1.0", body="# Draft")
    return template


@pytest.fixture
def policy(coe_staff):  # type: ignore[no-untyped-def]
    """The "Human oversight" policy, 1.0.0 published and current, with one attestation control for everyone."""
    policy = governance.policy_create(actor=coe_staff, title="Human oversight", category="security_governance",
                                      summary="People stay in charge of decisions.")  # fmt: skip
    version = governance.policy_version_create(actor=coe_staff, policy=policy, number="1.0.0",
                                               body="# Oversight\n\nA person decides.", changelog="First.")  # fmt: skip
    governance.control_add(actor=coe_staff, version=version, key="human-review", title="Human review",
                           statement="A person reviews every decision.", kind="attestation")  # fmt: skip
    governance.policy_version_publish(actor=coe_staff, version=version)
    return policy


@pytest.fixture
def model(db):  # type: ignore[no-untyped-def]
    return AIModelFactory(provider="openai", model_id="gpt-4o-mini", display_name="GPT-4o mini")


@pytest.fixture
def workload(team, team_member, model, template):  # type: ignore[no-untyped-def]
    """``team``'s "Claims Assistant": uses ``model`` and adopts ``template``'s current version."""
    workload = registry.workload_register(actor=team_member, team=team, name="Claims Assistant", ai_models=[model])
    adoption_set(actor=team_member, workload=workload, version=template.versions.get(is_current=True))
    return workload


@pytest.fixture
def other_workload(other_team, other_team_member, model, template):  # type: ignore[no-untyped-def]
    """``other_team``'s "Lunch Bot": also uses ``model`` and ``template``."""
    workload = registry.workload_register(actor=other_team_member, team=other_team, name="Lunch Bot",
                                          ai_models=[model])  # fmt: skip
    adoption_set(actor=other_team_member, workload=workload, version=template.versions.get(is_current=True))
    return workload


@pytest.fixture
def template_thread(team_member, template) -> Thread:  # type: ignore[no-untyped-def]
    """``team_member`` rates the template 2/5: a problem, new, no owner."""
    return services.thread_open(
        actor=team_member, title="Too long for our claims", kind="problem", rating=2,
        body="The runbook's steps take **an hour**.", template_version=template.versions.get(is_current=True),
    )  # fmt: skip


@pytest.fixture
def policy_thread(other_team_member, policy) -> Thread:  # type: ignore[no-untyped-def]
    return services.thread_open(actor=other_team_member, title="Who counts as a reviewer?", kind="question",
                                body="Can a contractor review?", policy=policy, rating=4)  # fmt: skip


@pytest.fixture
def workload_thread(team_member, workload) -> Thread:  # type: ignore[no-untyped-def]
    """A thread about ``team``'s workload: for the team, the CoE and leadership only."""
    return services.thread_open(actor=team_member, title="Our latency doubled", kind="problem",
                                body="Since Monday.", workload=workload)  # fmt: skip


@pytest.fixture
def model_thread(other_team_member, model) -> Thread:  # type: ignore[no-untyped-def]
    return services.thread_open(actor=other_team_member, title="GPT-4o mini works well", kind="success",
                                body="Fast and cheap.", ai_model=model)  # fmt: skip


@pytest.fixture
def general_thread(other_team_member) -> Thread:  # type: ignore[no-untyped-def]
    return services.thread_open(actor=other_team_member, title="Office hours?", kind="suggestion",
                                body="A weekly slot would help.")  # fmt: skip


@pytest.fixture
def draft_thread(coe_staff, draft_template) -> Thread:  # type: ignore[no-untyped-def]
    """About a template with nothing published: only the CoE sees it."""
    return services.thread_open(actor=coe_staff, title="Draft notes", body="Internal.", template=draft_template)


@pytest.fixture
def threads(template_thread, policy_thread, workload_thread, model_thread, general_thread):  # type: ignore[no-untyped-def]
    """One thread on every subject, by name."""
    return {"template": template_thread, "policy": policy_thread, "workload": workload_thread,
            "model": model_thread, "general": general_thread}  # fmt: skip


@pytest.fixture
def lesson(coe_staff, template, template_thread) -> Lesson:  # type: ignore[no-untyped-def]
    """A draft lesson about ``template``, linked to ``template_thread``, for the teams it concerns."""
    return services.lesson_create(actor=coe_staff, title="Short runbooks win", summary="Keep runbooks short.",
                                  body="Ten minutes, **not** an hour.", threads=[template_thread],
                                  template=template)  # fmt: skip


@pytest.fixture
def published_lesson(coe_staff, lesson) -> Lesson:  # type: ignore[no-untyped-def]
    return services.lesson_publish(actor=coe_staff, lesson=lesson)

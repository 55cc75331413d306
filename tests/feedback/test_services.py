"""Feedback services: threads, posts and their edits, triage, hiding, following, lessons."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from apps.core.exceptions import ApplicationError
from apps.core.models import AuditEvent, Notification
from apps.feedback import selectors, services
from apps.feedback.models import Lesson, LessonDelivery, Post, PostRevision, Thread
from apps.library import services as library
from apps.registry import services as registry
from apps.registry.adoption import adoption_set
from tests.registry.factories import AIModelFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def template(coe_staff):  # type: ignore[no-untyped-def]
    template = library.template_create(actor=coe_staff, title="Claims summary runbook", kind="runbook",
                                       category="monitoring", summary="How to summarise a claim.")  # fmt: skip
    library.version_publish(actor=coe_staff, version=library.version_create(
        actor=coe_staff, template=template, number="1.0.0", body="# Runbook"))  # fmt: skip
    return template


@pytest.fixture
def model(db):  # type: ignore[no-untyped-def]
    return AIModelFactory(model_id="gpt-4o-mini")


@pytest.fixture
def workload(team, team_member, model):  # type: ignore[no-untyped-def]
    return registry.workload_register(actor=team_member, team=team, name="Claims Assistant", ai_models=[model])


@pytest.fixture
def other_workload(other_team, other_team_member, model):  # type: ignore[no-untyped-def]
    return registry.workload_register(actor=other_team_member, team=other_team, name="Lunch Bot", ai_models=[model])


def _current(template):  # type: ignore[no-untyped-def]
    return template.versions.get(is_current=True)


def test_a_rated_thread_on_a_template_tells_the_coe(team_member, coe_staff, template):
    thread = services.thread_open(
        actor=team_member, title="Too long for our claims", kind="problem", rating=2,
        body="The runbook's steps take **an hour**.", template_version=_current(template),
    )  # fmt: skip
    assert (thread.subject, thread.template, thread.guidance_area, thread.rating) == ("template", template,
                                                                                      "monitoring", 2)  # fmt: skip
    assert thread.posts.get().body == "The runbook's steps take **an hour**."
    assert team_member in thread.followers.all()
    assert Notification.objects.filter(recipient=coe_staff, url=f"/feedback/t/{thread.pk}/").exists()


@pytest.mark.parametrize(
    ("kwargs", "field"),
    [({"title": ""}, "title"), ({"body": "  "}, "body"), ({"rating": 7}, "rating"), ({"kind": "rant"}, "kind")],
)
def test_opening_checks_every_field(team_member, template, kwargs, field):
    data = {"title": "A title", "body": "Text", "kind": "question", "rating": None, **kwargs}
    with pytest.raises(ApplicationError) as error:
        services.thread_open(actor=team_member, template=template, **data)
    assert field in error.value.field_errors
    assert not Thread.objects.exists()


def test_ratings_are_for_guidance_and_workload_threads_for_the_team(team_member, other_team_member, workload, model):
    with pytest.raises(ApplicationError, match="Ratings are for guidance"):
        services.thread_open(actor=team_member, title="Fast", body="It is.", ai_model=model, rating=5)
    with pytest.raises(ApplicationError) as error:
        services.thread_open(actor=other_team_member, title="Yours", body="Hi", workload=workload)
    assert error.value.status == 403


def test_replies_notify_followers_and_record_the_first_coe_response(team_member, coe_staff, template):
    thread = services.thread_open(actor=team_member, title="Question", body="How?", template=template)
    Notification.objects.all().delete()
    services.post_add(actor=coe_staff, thread=thread, body="Like this.")
    thread.refresh_from_db()
    assert thread.first_response_at is not None
    assert Notification.objects.filter(recipient=team_member).count() == 1
    assert not Notification.objects.filter(recipient=coe_staff).exists()  # not told of their own reply
    assert coe_staff in thread.followers.all()


def test_authors_edit_within_the_window_and_edits_are_kept(team_member, coe_staff, template, settings):
    thread = services.thread_open(actor=team_member, title="Question", body="First words", template=template)
    post = thread.posts.get()
    services.post_edit(actor=team_member, post=post, body="Better words")
    post.refresh_from_db()
    assert post.body == "Better words"
    assert post.edited_at is not None
    assert list(PostRevision.objects.values_list("body", flat=True)) == ["First words"]
    with pytest.raises(ApplicationError):
        services.post_edit(actor=coe_staff, post=post, body="Not yours")
    Post.objects.filter(pk=post.pk).update(created_at=timezone.now() - timedelta(minutes=31))
    with pytest.raises(ApplicationError, match="30 minutes"):
        services.post_edit(actor=team_member, post=post, body="Too late")


def test_hiding_keeps_the_post_and_audits(team_member, coe_staff, template):
    thread = services.thread_open(actor=team_member, title="Question", body="Rude words", template=template)
    post = services.post_hide(actor=coe_staff, post=thread.posts.get(), reason="Abusive")
    assert post.is_hidden
    assert Post.objects.filter(pk=post.pk, body="Rude words").exists()
    assert AuditEvent.objects.filter(action="feedback.post_hide").exists()
    with pytest.raises(ApplicationError, match="hidden"):
        services.post_edit(actor=team_member, post=post, body="Sorry")


def test_triage_acknowledge_then_address_in_a_new_version(team_member, coe_staff, template):
    thread = services.thread_open(actor=team_member, title="Too long", body="An hour.", template=template, rating=2)
    Notification.objects.all().delete()
    services.thread_triage(actor=coe_staff, thread=thread, status="acknowledged", owner=coe_staff,
                           comment="We will shorten it.")  # fmt: skip
    thread.refresh_from_db()
    assert (thread.status, thread.owner, thread.first_response_at is not None) == ("acknowledged", coe_staff, True)
    assert thread.posts.last().status_to == "acknowledged"
    assert Notification.objects.filter(recipient=team_member, title__contains="acknowledged").exists()
    v2 = library.version_create(actor=coe_staff, template=template, number="1.1.0", body="# Shorter",
                                changelog="Ten minutes, not an hour.")  # fmt: skip
    with pytest.raises(ApplicationError, match="published"):
        services.thread_triage(actor=coe_staff, thread=thread, status="addressed", addressed_in=v2)
    v2 = library.version_publish(actor=coe_staff, version=v2)
    services.thread_triage(actor=coe_staff, thread=thread, status="addressed", addressed_in=v2)
    thread.refresh_from_db()
    assert thread.addressed_in == v2
    assert thread.closed_at is not None
    assert Notification.objects.filter(recipient=team_member, title__contains="addressed in").exists()
    assert AuditEvent.objects.filter(action="feedback.thread_triage").count() == 2


def test_declining_needs_a_reason_and_owners_are_coe(team_member, coe_staff, other_team_member, template):
    thread = services.thread_open(actor=team_member, title="Idea", body="Do X.", template=template)
    with pytest.raises(ApplicationError) as error:
        services.thread_triage(actor=coe_staff, thread=thread, status="declined")
    assert "comment" in error.value.field_errors
    with pytest.raises(ApplicationError) as error:
        services.thread_triage(actor=coe_staff, thread=thread, owner=other_team_member)
    assert "owner" in error.value.field_errors


def test_a_lesson_reaches_the_teams_using_the_template_and_the_thread_people(
    team_member, other_team_member, coe_staff, leader, template, workload, other_workload
):
    adoption_set(actor=other_team_member, workload=other_workload, version=_current(template))
    thread = services.thread_open(actor=team_member, title="Too long", body="An hour.", template=template)
    lesson = services.lesson_create(
        actor=coe_staff, title="Shorter runbooks work better", template=template,
        summary="Keep runbooks to ten minutes.", body="We learned…", threads=[thread],
    )  # fmt: skip
    assert not LessonDelivery.objects.exists()
    services.lesson_publish(actor=coe_staff, lesson=lesson)
    delivered = set(LessonDelivery.objects.values_list("user__username", flat=True))
    assert delivered == {other_team_member.username, team_member.username}  # adopter's team; thread author
    assert Notification.objects.filter(recipient=other_team_member, title__contains="Shorter runbooks").exists()
    assert not Notification.objects.filter(recipient=leader).exists()
    with pytest.raises(ApplicationError, match="already published"):
        services.lesson_publish(actor=coe_staff, lesson=lesson)


def test_a_lesson_for_everyone_and_one_with_no_audience(coe_staff, team_member, leader):
    with pytest.raises(ApplicationError) as error:
        services.lesson_create(actor=coe_staff, title="T", summary="S", body="B")
    assert "audience" in error.value.field_errors
    lesson = services.lesson_create(actor=coe_staff, title="T", summary="S", body="B", audience="everyone")
    services.lesson_publish(actor=coe_staff, lesson=lesson)
    assert {team_member, leader, coe_staff} <= {d.user for d in LessonDelivery.objects.all()}
    assert Lesson.objects.get().slug == "t"


def test_visibility_of_threads(team_member, other_team_member, coe_staff, leader, workload, template, coe_staff_draft):
    general = services.thread_open(actor=team_member, title="General", body="Hi")
    on_workload = services.thread_open(actor=team_member, title="Ours", body="Hi", workload=workload)
    on_template = services.thread_open(actor=team_member, title="Template", body="Hi", template=template)
    on_draft = Thread.objects.create(title="Draft", subject="template", template=coe_staff_draft, author=coe_staff)
    for user, expected in (
        (team_member, {general, on_workload, on_template}),
        (other_team_member, {general, on_template}),
        (leader, {general, on_workload, on_template}),
        (coe_staff, {general, on_workload, on_template, on_draft}),
    ):
        assert set(selectors.threads_visible(user=user)) == expected
        assert all(user.has_perm("feedback.view_thread", t) for t in expected)
        assert not any(user.has_perm("feedback.view_thread", t) for t in {general, on_workload, on_template,
                                                                          on_draft} - expected)  # fmt: skip


@pytest.fixture
def coe_staff_draft(coe_staff):  # type: ignore[no-untyped-def]
    """A template with only a draft: the CoE's, not yet guidance."""
    template = library.template_create(actor=coe_staff, title="Draft blueprint", kind="blueprint",
                                       category="monitoring", summary="Not yet.")  # fmt: skip
    library.version_create(actor=coe_staff, template=template, number="0.1.0", body="# Draft")
    return template


def test_metrics_for_the_dashboards(team_member, coe_staff, template):
    thread = services.thread_open(actor=team_member, title="Q", body="?", template=template, rating=2)
    services.thread_open(actor=team_member, title="Q2", body="?", template=template, rating=4)
    Thread.objects.filter(pk=thread.pk).update(created_at=timezone.now() - timedelta(hours=10))
    services.post_add(actor=coe_staff, thread=thread, body="Answer")
    times = selectors.response_times()
    assert (times.threads, times.answered) == (2, 1)
    assert 9.9 <= times.median_first_response_hours <= 10.1
    row = next(r for r in selectors.per_guidance_item() if r["kind"] == "template")
    assert (row["threads"], row["ratings"], row["average_rating"]) == (2, 2, 3.0)

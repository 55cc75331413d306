"""The feedback API: threads, posts, following, triage, lessons and metrics, as every persona, through
the real services. Fixtures (guidance, workloads, threads, lessons) are in conftest.py."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from django.utils import timezone
from rest_framework.test import APIClient

from apps.accounts.models import Membership
from apps.core.models import AuditEvent, Notification
from apps.feedback import services
from apps.feedback.models import Lesson, LessonDelivery, Post, PostRevision, Thread
from apps.library import services as library
from apps.registry import services as registry
from tests.access import PERSONAS
from tests.factories import MembershipFactory, TeamFactory, UserFactory

pytestmark = pytest.mark.django_db

T = "/api/v1/feedback/threads/"
L = "/api/v1/feedback/lessons/"
M = "/api/v1/feedback/metrics/"


def api(user=None) -> APIClient:  # type: ignore[no-untyped-def]
    client = APIClient()
    if user is not None:
        client.force_authenticate(user)
    return client


def ids(response: Any) -> set[int]:
    assert response.status_code == 200, response.data
    return {row["id"] for row in response.data["results"]}


def titles_notified(user) -> list[str]:  # type: ignore[no-untyped-def]
    return list(Notification.objects.filter(recipient=user).values_list("title", flat=True))


@pytest.fixture
def third_member(db):  # type: ignore[no-untyped-def]
    """Someone in a third team whose workload uses neither the template nor anything else here."""
    team = TeamFactory(name="Fraud Detection", slug="fraud-detection")
    user = UserFactory(username="fred", first_name="Fred", last_name="Third")
    MembershipFactory(user=user, team=team, role=Membership.Role.OWNER)
    registry.workload_register(actor=user, team=team, name="Fraud Scorer")
    return user


# --- Listing and reading threads ------------------------------------------------------------------


@pytest.mark.parametrize("persona", PERSONAS)
def test_each_persona_lists_the_threads_it_may_see(request, persona, threads, draft_thread):
    everyone = {threads[s].pk for s in ("template", "policy", "model", "general")}
    expected = {
        "team_member": everyone | {threads["workload"].pk},
        "other_team_member": everyone,
        "coe_staff": everyone | {threads["workload"].pk, draft_thread.pk},
        "leader": everyone | {threads["workload"].pk},
    }
    response = api(request.getfixturevalue(persona)).get(T)
    if persona == "anonymous":
        assert response.status_code == 401
    else:
        assert ids(response) == expected[persona]


def test_a_thread_reads_with_status_owner_rating_and_following(team_member, coe_staff, template_thread):
    services.thread_triage(actor=coe_staff, thread=template_thread, owner=coe_staff)
    services.post_add(actor=coe_staff, thread=template_thread, body="Thanks, looking.")
    data = api(team_member).get(f"{T}{template_thread.pk}/").data
    assert data["id"] == template_thread.pk
    assert (data["subject"], data["template"], data["template_version"], data["about"]) == (
        "template", "claims-summary-runbook", "1.0.0", "Claims summary runbook")  # fmt: skip
    assert (data["kind"], data["rating"], data["status"], data["is_open"]) == ("problem", 2, "new", True)
    assert (data["author"], data["owner"], data["guidance_area"]) == ("tina", "cora", "monitoring")
    assert (data["post_count"], data["follower_count"], data["following"]) == (2, 2, True)
    assert data["addressed_in"] is None
    assert data["first_response_at"] is not None
    assert api(coe_staff).get(f"{T}{template_thread.pk}/").data["following"] is True
    other = api(UserFactory(username="newcomer")).get(f"{T}{template_thread.pk}/").data
    assert other["following"] is False


@pytest.mark.parametrize("persona", PERSONAS, indirect=True)
def test_a_workload_thread_is_for_the_team_the_coe_and_leadership(persona, workload_thread):
    response = api(persona).get(f"{T}{workload_thread.pk}/")
    if persona is None:
        assert response.status_code == 401
    elif persona.username == "otto":
        assert response.status_code == 404
    else:
        assert response.status_code == 200, response.data
        assert response.data["workload"] == "claims-assistant"


def test_threads_about_unpublished_guidance_are_the_coes(team_member, leader, coe_staff, draft_thread):
    for user in (team_member, leader):
        assert api(user).get(f"{T}{draft_thread.pk}/").status_code == 404
        assert api(user).get(f"{T}{draft_thread.pk}/posts/").status_code == 404
    assert api(coe_staff).get(f"{T}{draft_thread.pk}/").status_code == 200
    assert api(coe_staff).get(f"{T}999999/").status_code == 404


def test_the_list_filters(team_member, other_team_member, coe_staff, threads, template, policy, model):
    client = api(coe_staff)
    services.thread_triage(actor=coe_staff, thread=threads["policy"], status="addressed", owner=coe_staff,
                           comment="Contractors count.")  # fmt: skip
    services.thread_triage(actor=coe_staff, thread=threads["model"], status="planned")
    all_but_policy = {t.pk for t in threads.values()} - {threads["policy"].pk}
    assert ids(client.get(T, {"status": "open"})) == all_but_policy
    assert ids(client.get(T, {"status": "addressed"})) == {threads["policy"].pk}
    assert ids(client.get(T, {"kind": "problem"})) == {threads["template"].pk, threads["workload"].pk}
    assert ids(client.get(T, {"subject": "general"})) == {threads["general"].pk}
    assert ids(client.get(T, {"guidance_area": "security_governance"})) == {threads["policy"].pk}
    assert ids(client.get(T, {"template": template.slug})) == {threads["template"].pk}
    assert ids(client.get(T, {"policy": policy.slug})) == {threads["policy"].pk}
    assert ids(client.get(T, {"workload": "claims-assistant"})) == {threads["workload"].pk}
    assert ids(client.get(T, {"model": model.slug})) == {threads["model"].pk}
    assert ids(client.get(T, {"owner": "cora"})) == {threads["policy"].pk}
    assert ids(client.get(T, {"owner": "none"})) == all_but_policy
    assert ids(client.get(T, {"q": "latency"})) == {threads["workload"].pk}
    assert ids(client.get(T, {"q": "contractor"})) == {threads["policy"].pk}  # in a post
    assert ids(api(team_member).get(T, {"mine": "true"})) == {threads["template"].pk, threads["workload"].pk}
    services.follow(actor=team_member, thread=threads["general"])
    assert ids(api(team_member).get(T, {"mine": "true"})) == {
        threads["template"].pk, threads["workload"].pk, threads["general"].pk}  # fmt: skip
    # Another team's workload stays out of its list, filter or not.
    assert ids(api(other_team_member).get(T, {"workload": "claims-assistant"})) == set()


def test_the_list_orders(coe_staff, threads):
    client = api(coe_staff)
    Thread.objects.filter(pk=threads["policy"].pk).update(created_at=timezone.now() - timedelta(days=30))
    Thread.objects.filter(pk=threads["general"].pk).update(created_at=timezone.now() - timedelta(days=20))
    services.thread_triage(actor=coe_staff, thread=threads["policy"], status="declined", comment="Out of scope.")
    oldest = [row["id"] for row in client.get(T, {"ordering": "oldest"}).data["results"]]
    assert oldest[:2] == [threads["policy"].pk, threads["general"].pk]
    waiting = [row["id"] for row in client.get(T, {"ordering": "waiting"}).data["results"]]
    assert waiting[0] == threads["general"].pk
    assert waiting[-1] == threads["policy"].pk
    newest = [row["id"] for row in client.get(T, {"ordering": "newest"}).data["results"]]
    assert newest[-1] == threads["policy"].pk
    activity = [row["id"] for row in client.get(T).data["results"]]
    assert activity[0] == threads["policy"].pk  # just triaged
    assert ids(client.get(T, {"older_than_days": 25})) == {threads["policy"].pk}


def test_bad_list_parameters_are_named(coe_staff):
    response = api(coe_staff).get(T, {"status": "closed", "kind": "rant", "ordering": "random", "mine": "maybe"})
    assert response.status_code == 400
    assert {"status", "kind", "ordering", "mine"} <= response.data.keys()


def test_the_list_reads_in_a_fixed_number_of_queries(coe_staff, threads, django_assert_max_num_queries):
    for thread in threads.values():
        services.post_add(actor=coe_staff, thread=thread, body="Noted.")
    with django_assert_max_num_queries(8):
        response = api(coe_staff).get(T)
    assert response.data["count"] == 5


# --- Opening threads -----------------------------------------------------------------------------


def test_a_team_member_rates_a_template_version(team_member, coe_staff, template):
    response = api(team_member).post(T, {"title": "Too long for our claims", "body": "It takes **an hour**.",
                                         "kind": "problem", "rating": 2, "template": template.slug,
                                         "version": "1.0.0"})  # fmt: skip
    assert response.status_code == 201, response.data
    data = response.data
    assert (data["subject"], data["template"], data["template_version"], data["rating"]) == (
        "template", template.slug, "1.0.0", 2)  # fmt: skip
    assert (data["status"], data["author"], data["following"], data["post_count"]) == ("new", "tina", True, 1)
    thread = Thread.objects.get(pk=data["id"])
    assert thread.posts.get().body == "It takes **an hour**."
    # The template's owner at the CoE is told.
    assert any("Too long for our claims" in title for title in titles_notified(coe_staff))
    assert AuditEvent.objects.filter(action="feedback.thread_open", target_id=str(thread.pk)).exists()


def test_threads_on_each_subject(team_member, other_team_member, policy, workload, model):
    client = api(team_member)
    for body, subject in (
        ({"policy": policy.slug, "version": "1.0.0", "rating": 4}, "policy"),
        ({"workload": workload.slug}, "workload"),
        ({"model": model.slug, "kind": "success"}, "model"),
        ({}, "general"),
    ):
        response = client.post(T, {"title": f"About a {subject}", "body": "Text.", **body})
        assert response.status_code == 201, response.data
        assert response.data["subject"] == subject
    assert response.data["about"] is None


@pytest.mark.parametrize(
    ("body", "fields"),
    [
        ({}, {"title", "body"}),
        ({"title": "", "body": "  "}, {"title", "body"}),
        ({"title": "x" * 201, "body": "b"}, {"title"}),
        ({"title": "t", "body": "b", "kind": "rant"}, {"kind"}),
        ({"title": "t", "body": "b", "template": "claims-summary-runbook", "rating": 7}, {"rating"}),
        ({"title": "t", "body": "b", "template": "claims-summary-runbook", "policy": "x"}, {"template", "policy"}),
        ({"title": "t", "body": "b", "version": "1.0.0"}, {"version"}),
        ({"title": "t", "body": "b", "template": "no-such-template"}, {"template"}),
        ({"title": "t", "body": "b", "template": "unfinished-prompt"}, {"template"}),
        ({"title": "t", "body": "b", "template": "claims-summary-runbook", "version": "9.9.9"}, {"version"}),
        ({"title": "t", "body": "b", "policy": "no-such-policy"}, {"policy"}),
        ({"title": "t", "body": "b", "workload": "no-such-workload"}, {"workload"}),
        ({"title": "t", "body": "b", "model": "no-such-model"}, {"model"}),
        ({"title": "t", "body": "b", "workload": "claims-assistant", "rating": 3}, {"rating"}),
        ({"title": "t", "body": "b", "template_version": 3}, {"template_version"}),
    ],
)
def test_opening_names_every_failing_field(team_member, template, draft_template, policy, workload, body, fields):
    response = api(team_member).post(T, body)
    assert response.status_code == 400, response.data
    assert fields <= response.data.keys(), response.data
    assert Thread.objects.count() == 0


def test_the_coe_may_not_discuss_a_draft_version_either(coe_staff, draft_template):
    response = api(coe_staff).post(T, {"title": "t", "body": "b", "template": draft_template.slug,
                                       "version": "0.1.0"})  # fmt: skip
    assert response.status_code == 400
    assert "version" in response.data
    # Without a version, the CoE may note something about its own draft.
    assert api(coe_staff).post(T, {"title": "t", "body": "b", "template": draft_template.slug}).status_code == 201


def test_another_team_may_not_open_a_thread_on_a_workload(other_team_member, workload):
    response = api(other_team_member).post(T, {"title": "Yours is slow", "body": "b", "workload": workload.slug})
    assert response.status_code == 403
    assert Thread.objects.count() == 0


def test_leadership_reads_but_does_not_open_threads(leader, template):
    response = api(leader).post(T, {"title": "t", "body": "b", "template": template.slug})
    assert response.status_code == 403
    assert api().post(T, {"title": "t", "body": "b"}).status_code == 401
    assert Thread.objects.count() == 0


# --- Triage ---------------------------------------------------------------------------------------


def test_coe_staff_acknowledge_and_take_ownership(team_member, other_team_member, coe_staff, template_thread):
    services.follow(actor=other_team_member, thread=template_thread)
    change = {"status": "acknowledged", "owner": "cora", "comment": "We see it; a shorter version is coming."}
    response = api(coe_staff).patch(f"{T}{template_thread.pk}/", change)
    assert response.status_code == 200, response.data
    assert (response.data["status"], response.data["owner"]) == ("acknowledged", "cora")
    assert response.data["first_response_at"] is not None
    post = template_thread.posts.last()
    assert (post.author, post.status_from, post.status_to) == (coe_staff, "new", "acknowledged")
    assert post.body == "We see it; a shorter version is coming."
    # The author and the followers are told; not the one who made the change.
    for user in (team_member, other_team_member):
        assert "“Too long for our claims” is now acknowledged" in titles_notified(user)
    assert not any("is now acknowledged" in title for title in titles_notified(coe_staff))
    event = AuditEvent.objects.get(action="feedback.thread_triage", target_id=str(template_thread.pk))
    assert event.changes["status"] == ["new", "acknowledged"]
    assert event.changes["owner"] == "cora"
    # null leaves it unassigned again.
    response = api(coe_staff).patch(f"{T}{template_thread.pk}/", {"owner": None})
    assert response.status_code == 200
    assert response.data["owner"] is None


def test_addressed_in_a_new_template_version(team_member, coe_staff, template, template_thread):
    v11 = library.version_create(actor=coe_staff, template=template, number="1.1.0", body="# Shorter",
                                 changelog="Ten minutes, not an hour.")  # fmt: skip
    library.version_publish(actor=coe_staff, version=v11)
    response = api(coe_staff).patch(f"{T}{template_thread.pk}/", {
        "status": "addressed", "comment": "Version 1.1.0 is shorter.",
        "addressed_in": {"template": template.slug, "version": "1.1.0"},
    })  # fmt: skip
    assert response.status_code == 200, response.data
    assert response.data["addressed_in"] == {"template": template.slug, "policy": None, "version": "1.1.0"}
    assert (response.data["status"], response.data["is_open"]) == ("addressed", False)
    assert response.data["closed_at"] is not None
    assert "“Too long for our claims” was addressed in Claims summary runbook v1.1.0" in titles_notified(team_member)


def test_addressed_in_a_policy_version(coe_staff, policy, policy_thread):
    response = api(coe_staff).patch(f"{T}{policy_thread.pk}/",
                                    {"addressed_in": {"policy": policy.slug, "version": "1.0.0"}})  # fmt: skip
    assert response.status_code == 200, response.data
    assert response.data["addressed_in"] == {"template": None, "policy": policy.slug, "version": "1.0.0"}


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"status": "declined"}, "comment"),
        ({"status": "closed"}, "status"),
        ({"owner": "tina"}, "owner"),
        ({"owner": "nobody"}, "owner"),
        ({"addressed_in": {"template": "claims-summary-runbook", "version": "0.9.0"}}, "addressed_in"),
        ({"addressed_in": {"template": "unfinished-prompt", "version": "0.1.0"}}, "addressed_in"),
        ({"addressed_in": {"template": "claims-summary-runbook", "policy": "x", "version": "1.0.0"}}, "addressed_in"),
        ({"addressed_in": {"version": "1.0.0"}}, "addressed_in"),
        ({"title": "Renamed"}, "title"),
    ],
)
def test_triage_names_every_failing_field(coe_staff, template_thread, draft_template, body, field):
    response = api(coe_staff).patch(f"{T}{template_thread.pk}/", body, format="json")
    assert response.status_code == 400, response.data
    assert field in response.data, response.data
    template_thread.refresh_from_db()
    assert (template_thread.status, template_thread.owner) == ("new", None)


@pytest.mark.parametrize("persona", ["team_member", "other_team_member", "leader"])
def test_only_the_coe_triages_and_is_refused_before_any_lookup(request, persona, template_thread):
    client = api(request.getfixturevalue(persona))
    assert client.patch(f"{T}{template_thread.pk}/", {"status": "addressed"}).status_code == 403
    assert client.patch(f"{T}999999/", {"status": "addressed"}).status_code == 403
    assert api().patch(f"{T}{template_thread.pk}/", {"status": "addressed"}).status_code == 401
    template_thread.refresh_from_db()
    assert template_thread.status == "new"


# --- Posts ----------------------------------------------------------------------------------------


def test_replies_notify_and_the_coe_answer_counts_as_the_first_response(
    team_member, other_team_member, coe_staff, template_thread
):
    response = api(other_team_member).post(f"{T}{template_thread.pk}/posts/", {"body": "Same here."})
    assert response.status_code == 201, response.data
    assert (response.data["author"], response.data["body"], response.data["hidden"]) == ("otto", "Same here.", False)
    assert response.data["editable"] is True
    assert "Otto Other replied: Too long for our claims" in titles_notified(team_member)
    template_thread.refresh_from_db()
    assert template_thread.first_response_at is None
    assert api(coe_staff).post(f"{T}{template_thread.pk}/posts/", {"body": "Looking."}).status_code == 201
    template_thread.refresh_from_db()
    assert template_thread.first_response_at is not None
    listed = api(team_member).get(f"{T}{template_thread.pk}/posts/").data
    assert [p["author"] for p in listed["results"]] == ["tina", "otto", "cora"]
    assert [p["editable"] for p in listed["results"]] == [True, False, False]


def test_replies_are_refused_to_leadership_and_hidden_from_other_teams(leader, other_team_member, workload_thread):
    assert api(leader).post(f"{T}{workload_thread.pk}/posts/", {"body": "Hm."}).status_code == 403
    assert api(leader).post(f"{T}999999/posts/", {"body": "Hm."}).status_code == 403  # before any lookup
    assert api(other_team_member).post(f"{T}{workload_thread.pk}/posts/", {"body": "Hm."}).status_code == 404
    assert api(other_team_member).get(f"{T}{workload_thread.pk}/posts/").status_code == 404
    assert api(leader).get(f"{T}{workload_thread.pk}/posts/").status_code == 200
    assert workload_thread.posts.count() == 1


def test_an_empty_reply_names_the_body(team_member, template_thread):
    for body in ({}, {"body": "   "}, {"body": "x" * 20_001}):
        response = api(team_member).post(f"{T}{template_thread.pk}/posts/", body)
        assert response.status_code == 400, response.data
        assert "body" in response.data


def test_authors_edit_within_the_window_and_the_edit_is_recorded(team_member, template_thread):
    post = template_thread.posts.get()
    url = f"{T}{template_thread.pk}/posts/{post.pk}/"
    response = api(team_member).patch(url, {"body": "It takes **two** hours."})
    assert response.status_code == 200, response.data
    assert response.data["body"] == "It takes **two** hours."
    assert response.data["edited_at"] is not None
    revision = PostRevision.objects.get(post=post)
    assert (revision.body, revision.edited_by) == ("The runbook's steps take **an hour**.", team_member)
    assert api(team_member).patch(url, {"body": ""}).data.keys() >= {"body"}


def test_after_the_window_an_edit_is_a_400_that_says_so(team_member, template_thread, settings):
    settings.FEEDBACK_EDIT_WINDOW_MINUTES = 30
    post = template_thread.posts.get()
    Post.objects.filter(pk=post.pk).update(created_at=timezone.now() - timedelta(minutes=31))
    response = api(team_member).patch(f"{T}{template_thread.pk}/posts/{post.pk}/", {"body": "Too late."})
    assert response.status_code == 400
    assert response.data["detail"] == "Posts can be edited for 30 minutes; reply instead."
    assert api(team_member).get(f"{T}{template_thread.pk}/posts/").data["results"][0]["editable"] is False
    assert not PostRevision.objects.exists()


@pytest.mark.parametrize("persona", ["other_team_member", "coe_staff", "leader"])
def test_only_the_author_edits(request, persona, template_thread):
    post = template_thread.posts.get()
    response = api(request.getfixturevalue(persona)).patch(f"{T}{template_thread.pk}/posts/{post.pk}/",
                                                           {"body": "Mine now."})  # fmt: skip
    assert response.status_code == 403
    post.refresh_from_db()
    assert post.body == "The runbook's steps take **an hour**."


def test_a_post_is_found_only_under_its_own_thread(team_member, template_thread, workload_thread):
    post = template_thread.posts.get()
    assert api(team_member).patch(f"{T}{workload_thread.pk}/posts/{post.pk}/", {"body": "x"}).status_code == 404


def test_hiding_keeps_the_post_shows_it_hidden_and_audits(team_member, other_team_member, coe_staff, leader,
                                                          template_thread):  # fmt: skip
    post = services.post_add(actor=other_team_member, thread=template_thread, body="Rude words.")
    url = f"{T}{template_thread.pk}/posts/{post.pk}/hide/"
    assert api(coe_staff).post(url, {}).data.keys() >= {"reason"}
    response = api(coe_staff).post(url, {"reason": "Abusive."})
    assert response.status_code == 200, response.data
    assert (response.data["hidden"], response.data["body"], response.data["hidden_reason"]) == (
        True, "Rude words.", "Abusive.")  # fmt: skip
    event = AuditEvent.objects.get(action="feedback.post_hide")
    assert (event.actor, event.target_id, event.changes) == (coe_staff, str(post.pk), {"reason": "Abusive."})
    assert Post.objects.filter(pk=post.pk).exists()
    for user in (team_member, other_team_member, leader):
        row = api(user).get(f"{T}{template_thread.pk}/posts/").data["results"][1]
        assert (row["id"], row["hidden"], row["body"], row["hidden_reason"]) == (post.pk, True, "", None)
    row = api(coe_staff).get(f"{T}{template_thread.pk}/posts/").data["results"][1]
    assert (row["hidden"], row["body"]) == (True, "Rude words.")
    # The author may no longer edit it.
    edit = api(other_team_member).patch(f"{T}{template_thread.pk}/posts/{post.pk}/", {"body": "Sorry."})
    assert edit.status_code == 400
    # Hiding again changes nothing and audits nothing more.
    assert api(coe_staff).post(url, {"reason": "Again."}).status_code == 200
    assert AuditEvent.objects.filter(action="feedback.post_hide").count() == 1


@pytest.mark.parametrize("persona", ["team_member", "other_team_member", "leader"])
def test_only_the_coe_hides_and_is_refused_before_any_lookup(request, persona, template_thread):
    post = template_thread.posts.get()
    client = api(request.getfixturevalue(persona))
    assert client.post(f"{T}{template_thread.pk}/posts/{post.pk}/hide/", {"reason": "x"}).status_code == 403
    assert client.post(f"{T}999999/posts/1/hide/", {"reason": "x"}).status_code == 403
    assert not Post.objects.filter(hidden_at__isnull=False).exists()


def test_hiding_a_post_that_is_not_there_is_404(coe_staff, template_thread, workload_thread):
    post = template_thread.posts.get()
    assert api(coe_staff).post(f"{T}{workload_thread.pk}/posts/{post.pk}/hide/", {"reason": "x"}).status_code == 404


# --- Following ------------------------------------------------------------------------------------


def test_follow_and_unfollow(team_member, other_team_member, leader, template_thread, workload_thread):
    url = f"{T}{template_thread.pk}/follow/"
    response = api(other_team_member).post(url)
    assert response.status_code == 200, response.data
    assert (response.data["following"], response.data["follower_count"]) == (True, 2)
    assert api(other_team_member).post(url).data["follower_count"] == 2  # once
    response = api(other_team_member).delete(url)
    assert (response.status_code, response.data["following"], response.data["follower_count"]) == (200, False, 1)
    assert api(leader).post(f"{T}{workload_thread.pk}/follow/").status_code == 200
    assert api(other_team_member).post(f"{T}{workload_thread.pk}/follow/").status_code == 404
    assert api().post(url).status_code == 401


# --- Lessons --------------------------------------------------------------------------------------


def test_published_lessons_for_everyone_drafts_for_the_coe(team_member, leader, coe_staff, template, lesson):
    published = services.lesson_publish(
        actor=coe_staff,
        lesson=services.lesson_create(actor=coe_staff, title="Say what changed", summary="Changelogs matter.",
                                      body="Always.", audience="everyone"),
    )  # fmt: skip
    for user in (team_member, leader):
        response = api(user).get(L)
        assert [row["slug"] for row in response.data["results"]] == [published.slug]
        assert api(user).get(f"{L}{lesson.slug}/").status_code == 404
        assert api(user).get(f"{L}{published.slug}/").status_code == 200
    response = api(coe_staff).get(L)
    assert [row["slug"] for row in response.data["results"]] == [lesson.slug, published.slug]  # drafts first
    assert [row["slug"] for row in api(coe_staff).get(L, {"published": "false"}).data["results"]] == [lesson.slug]
    assert [row["slug"] for row in api(coe_staff).get(L, {"template": template.slug}).data["results"]] == [
        lesson.slug]  # fmt: skip
    assert [row["slug"] for row in api(coe_staff).get(L, {"q": "changelog"}).data["results"]] == [published.slug]
    detail = api(coe_staff).get(f"{L}{lesson.slug}/").data
    assert (detail["is_published"], detail["template"], detail["audience"]) == (False, template.slug, "concerned")
    assert api().get(L).status_code == 401


def test_a_lesson_names_only_the_threads_the_reader_may_see(coe_staff, other_team_member, workload_thread,
                                                            template_thread):  # fmt: skip
    lesson = services.lesson_create(actor=coe_staff, title="Latency budgets", summary="Set one.", body="b",
                                    threads=[workload_thread, template_thread], audience="everyone")  # fmt: skip
    services.lesson_publish(actor=coe_staff, lesson=lesson)
    assert api(coe_staff).get(f"{L}{lesson.slug}/").data["threads"] == sorted([template_thread.pk, workload_thread.pk])
    assert api(other_team_member).get(f"{L}{lesson.slug}/").data["threads"] == [template_thread.pk]


def test_coe_staff_draft_a_lesson_from_threads(coe_staff, template, template_thread):
    response = api(coe_staff).post(L, {"title": "Short runbooks win", "summary": "Keep runbooks short.",
                                       "body": "Ten minutes.", "threads": [template_thread.pk],
                                       "template": template.slug})  # fmt: skip
    assert response.status_code == 201, response.data
    data = response.data
    assert (data["slug"], data["is_published"], data["threads"], data["created_by"]) == (
        "short-runbooks-win", False, [template_thread.pk], "cora")  # fmt: skip
    assert AuditEvent.objects.filter(action="feedback.lesson_create").exists()
    assert not LessonDelivery.objects.exists()


@pytest.mark.parametrize(
    ("body", "fields"),
    [
        ({}, {"title", "summary", "body"}),
        ({"title": "t", "summary": "s", "body": "b"}, {"audience"}),  # concerns nobody in particular
        ({"title": "t", "summary": "s", "body": "b", "audience": "some"}, {"audience"}),
        ({"title": "t", "summary": "s", "body": "b", "threads": [999999]}, {"threads"}),
        ({"title": "t", "summary": "s", "body": "b", "template": "nope"}, {"template"}),
        ({"title": "t", "summary": "s", "body": "b", "policy": "nope"}, {"policy"}),
        ({"title": "t", "summary": "s", "body": "b", "model": "nope"}, {"model"}),
        ({"title": "t", "summary": "s" * 301, "body": "b", "audience": "everyone"}, {"summary"}),
    ],
)
def test_a_lesson_names_every_failing_field(coe_staff, body, fields):
    response = api(coe_staff).post(L, body, format="json")
    assert response.status_code == 400, response.data
    assert fields <= response.data.keys(), response.data
    assert not Lesson.objects.exists()


@pytest.mark.parametrize("persona", ["team_member", "other_team_member", "leader"])
def test_only_the_coe_writes_and_publishes_lessons(request, persona, lesson):
    client = api(request.getfixturevalue(persona))
    assert client.post(L, {"title": "t", "summary": "s", "body": "b", "audience": "everyone"}).status_code == 403
    assert client.post(f"{L}{lesson.slug}/publish/").status_code == 403
    assert client.post(f"{L}no-such-lesson/publish/").status_code == 403  # before any lookup
    lesson.refresh_from_db()
    assert lesson.published_at is None


def test_publishing_reaches_the_teams_using_the_template_and_no_one_else(
    team_member, other_team_member, third_member, coe_staff, leader, workload, other_workload, lesson
):
    response = api(coe_staff).post(f"{L}{lesson.slug}/publish/")
    assert response.status_code == 200, response.data
    assert response.data["is_published"] is True
    assert response.data["published_by"] == "cora"
    # The thread's author (whose team adopts it too), and the other team, whose workload adopts the template.
    delivered = set(LessonDelivery.objects.filter(lesson=lesson).values_list("user__username", flat=True))
    assert delivered == {"tina", "otto"}
    assert response.data["recipients"] == 2
    for user in (team_member, other_team_member):
        assert "Lesson from the CoE: Short runbooks win" in titles_notified(user)
    for user in (third_member, leader):
        assert "Lesson from the CoE: Short runbooks win" not in titles_notified(user)
    assert AuditEvent.objects.get(action="feedback.lesson_publish").changes == {"recipients": 2}
    # Everyone signed in now reads it; publishing again is refused.
    assert api(third_member).get(f"{L}{lesson.slug}/").status_code == 200
    again = api(coe_staff).post(f"{L}{lesson.slug}/publish/")
    assert again.status_code == 400
    assert "already published" in again.data["detail"]
    assert LessonDelivery.objects.filter(lesson=lesson).count() == 2


# --- Metrics --------------------------------------------------------------------------------------


def test_metrics_for_the_dashboards(coe_staff, leader, template, policy, template_thread, policy_thread):
    Thread.objects.filter(pk=template_thread.pk).update(created_at=timezone.now() - timedelta(hours=10))
    template_thread.refresh_from_db()
    services.thread_triage(actor=coe_staff, thread=template_thread, status="addressed", comment="Done.")
    for user in (coe_staff, leader):
        response = api(user).get(M)
        assert response.status_code == 200, response.data
        times = response.data["response_times"]
        assert (times["threads"], times["answered"], times["closed"]) == (2, 1, 1)
        assert times["median_first_response_hours"] == pytest.approx(10, abs=0.2)
        assert times["median_time_to_addressed_hours"] == pytest.approx(10, abs=0.2)
        items = {row["slug"]: row for row in response.data["per_guidance_item"]}
        assert (items[template.slug]["kind"], items[template.slug]["average_rating"]) == ("template", 2.0)
        assert (items[policy.slug]["threads"], items[policy.slug]["open"]) == (1, 1)
        assert items[policy.slug]["average_rating"] == 4.0
    today = timezone.localdate()
    empty = api(coe_staff).get(M, {"start": (today + timedelta(days=1)).isoformat()}).data
    assert empty["response_times"]["threads"] == 0
    assert empty["response_times"]["median_first_response_hours"] is None
    # A period of whole days, its last day included: from the day the older thread was posted ten hours
    # ago (yesterday, when the test runs before 10:00) to today.
    first = timezone.localtime(template_thread.created_at).date()
    assert api(coe_staff).get(M, {"start": first.isoformat(), "end": today.isoformat()}).data["response_times"][
        "threads"] == 2  # fmt: skip
    before = (first - timedelta(days=1)).isoformat()
    assert api(coe_staff).get(M, {"start": before, "end": before}).data["response_times"]["threads"] == 0


def test_metrics_name_bad_dates_and_refuse_the_teams(coe_staff, team_member, other_team_member):
    response = api(coe_staff).get(M, {"start": "2026-02-01", "end": "2026-01-01"})
    assert response.status_code == 400
    assert "end" in response.data
    assert "start" in api(coe_staff).get(M, {"start": "yesterday"}).data
    assert api(team_member).get(M).status_code == 403
    assert api(other_team_member).get(M).status_code == 403
    assert api().get(M).status_code == 401

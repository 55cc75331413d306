"""The CoE's side of the feedback pages: triage on the thread page, the triage queue with its
filters and quick assignment, and lessons (feed, page, writing, publishing).

Plain access for every persona is in the permission matrix (tests/feedback/access_pages.py).
"""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.contrib.messages import get_messages
from django.http import HttpResponse
from django.urls import reverse
from django.utils import timezone

from apps.core.models import Notification
from apps.feedback import services
from apps.feedback.models import Lesson, LessonDelivery, Thread
from apps.library import services as library
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db

HTMX = {"HX-Request": "true"}


def _text(response: HttpResponse) -> str:
    return response.content.decode()


def _messages(response: HttpResponse) -> list[str]:
    return [str(m) for m in get_messages(response.wsgi_request)]


def _url(name: str, *args: object) -> str:
    return reverse(f"feedback:{name}", args=args)


@pytest.fixture
def template_v11(coe_staff, template):  # type: ignore[no-untyped-def]
    version = library.version_create(actor=coe_staff, template=template, number="1.1.0", body="# Shorter",
                                     changelog="Ten minutes, not an hour.")  # fmt: skip
    return library.version_publish(actor=coe_staff, version=version)


@pytest.fixture
def other_coe(coe_staff):  # type: ignore[no-untyped-def]
    from apps.accounts.roles import COE_STAFF

    return UserFactory(username="carl", first_name="Carl", last_name="Coe", roles=[COE_STAFF])


# --- Triage on the thread page ---------------------------------------------------------------------


class TestTriage:
    def test_acknowledge_with_a_comment_and_an_owner(self, client_for, coe_staff, team_member, template_thread):
        data = {"status": "acknowledged", "owner": coe_staff.pk, "comment": "We will shorten it."}
        response = client_for(coe_staff).post(_url("thread-triage", template_thread.pk), data)
        template_thread.refresh_from_db()
        assert response.status_code == 302
        assert (template_thread.status, template_thread.owner) == ("acknowledged", coe_staff)
        post = template_thread.posts.last()
        assert (post.status_from, post.status_to, post.body) == ("new", "acknowledged", "We will shorten it.")
        assert "its author and followers are told" in _messages(response)[0]
        assert Notification.objects.filter(recipient=team_member, title__contains="acknowledged").exists()
        page = _text(client_for(team_member).get(_url("thread-detail", template_thread.pk)))
        assert "Status new → <strong>acknowledged</strong>" in page
        assert "Cora Staff" in page

    def test_with_htmx_the_whole_page_reloads(self, client_for, coe_staff, template_thread):
        response = client_for(coe_staff).post(_url("thread-triage", template_thread.pk), {"status": "planned"},
                                              headers=HTMX)  # fmt: skip
        assert response["HX-Redirect"] == _url("thread-detail", template_thread.pk)

    def test_addressed_in_a_new_version(self, client_for, coe_staff, team_member, template_thread, template_v11):
        form = _text(client_for(coe_staff).get(_url("thread-detail", template_thread.pk)))
        assert f'value="template:{template_v11.pk}"' in form
        assert "1.1.0 (current)" in form
        data = {"status": "addressed", "addressed_in": f"template:{template_v11.pk}", "comment": "Shorter now."}
        client_for(coe_staff).post(_url("thread-triage", template_thread.pk), data)
        template_thread.refresh_from_db()
        assert template_thread.addressed_in == template_v11
        assert template_thread.closed_at is not None
        assert Notification.objects.filter(recipient=team_member, title__contains="addressed in").exists()
        page = _text(client_for(team_member).get(_url("thread-detail", template_thread.pk)))
        assert reverse("library:version-detail", args=["claims-summary-runbook", "1.1.0"]) in page

    def test_a_thread_on_anything_else_may_link_any_published_version(self, client_for, coe_staff, general_thread,
                                                                      template, policy, draft_template):  # fmt: skip
        form = _text(client_for(coe_staff).get(_url("thread-detail", general_thread.pk)))
        assert 'label="Template: Claims summary runbook"' in form
        assert 'label="Policy: Human oversight"' in form
        assert "Unfinished prompt" not in form  # nothing published
        version = policy.versions.get()
        client_for(coe_staff).post(_url("thread-triage", general_thread.pk),
                                   {"status": "addressed", "addressed_in": f"policy:{version.pk}"})  # fmt: skip
        general_thread.refresh_from_db()
        assert general_thread.addressed_in == version

    def test_declining_needs_a_reason(self, client_for, coe_staff, template_thread):
        response = client_for(coe_staff).post(_url("thread-triage", template_thread.pk), {"status": "declined"},
                                              headers=HTMX)  # fmt: skip
        text = _text(response)
        assert text.lstrip().startswith('<section id="triage"')
        assert "Required when declining." in text
        template_thread.refresh_from_db()
        assert template_thread.status == "new"
        response = client_for(coe_staff).post(_url("thread-triage", template_thread.pk), {"status": "declined"})
        assert response.status_code == 200
        assert "Required when declining." in _text(response)
        assert "<html" in _text(response)

    def test_the_owner_is_among_the_coe_staff(self, client_for, coe_staff, team_member, template_thread):
        response = client_for(coe_staff).post(_url("thread-triage", template_thread.pk),
                                              {"status": "new", "owner": team_member.pk})  # fmt: skip
        assert "Select a valid choice" in _text(response)
        template_thread.refresh_from_db()
        assert template_thread.owner is None

    def test_an_unknown_status_is_refused(self, client_for, coe_staff, template_thread):
        response = client_for(coe_staff).post(_url("thread-triage", template_thread.pk), {"status": "done"})
        assert "Select a valid choice" in _text(response)


# --- The triage queue --------------------------------------------------------------------------------------


def _rows(response: HttpResponse) -> list[str]:
    return [thread.title for thread in response.context["rows"]]


class TestTriageQueue:
    def test_open_threads_the_longest_wait_first(self, client_for, coe_staff, threads):
        Thread.objects.filter(pk=threads["model"].pk).update(created_at=timezone.now() - timedelta(days=10))
        services.thread_triage(actor=coe_staff, thread=threads["general"], status="declined", comment="No.")
        response = client_for(coe_staff).get(_url("triage"))
        rows = _rows(response)
        assert rows[0] == "GPT-4o mini works well"
        assert "Office hours?" not in rows
        assert set(rows) == {"GPT-4o mini works well", "Too long for our claims", "Who counts as a reviewer?",
                             "Our latency doubled"}  # fmt: skip
        assert response.context["open_count"] == 4
        assert response.context["week_old_count"] == 1
        text = _text(response)
        assert "No answer yet" in text
        assert "Open without an owner" in text

    @pytest.mark.parametrize(
        ("query", "expected"),
        [
            ({"status": ""}, 5),
            ({"status": "declined"}, 1),
            ({"kind": "problem"}, 2),
            ({"guidance_area": "security_governance"}, 1),
            ({"subject": "workload"}, 1),
            ({"older_than_days": "7"}, 1),
            ({"owner": "none"}, 3),
            ({"owner": "cora"}, 1),
        ],
    )
    def test_filters(self, client_for, coe_staff, threads, query, expected):
        services.thread_triage(actor=coe_staff, thread=threads["general"], status="declined", comment="No.")
        services.thread_triage(actor=coe_staff, thread=threads["policy"], owner=coe_staff)
        Thread.objects.filter(pk=threads["model"].pk).update(created_at=timezone.now() - timedelta(days=10))
        assert len(_rows(client_for(coe_staff).get(_url("triage"), query))) == expected

    def test_a_bad_age_is_said_and_the_rest_still_filters(self, client_for, coe_staff, threads):
        response = client_for(coe_staff).get(_url("triage"), {"older_than_days": "-3"})
        assert "Ensure this value is greater than or equal to 1." in _text(response)
        assert len(_rows(response)) == 5

    def test_htmx_answers_with_the_results_only(self, client_for, coe_staff, threads):
        text = _text(client_for(coe_staff).get(_url("triage"), {"kind": "problem"}, headers=HTMX))
        assert text.lstrip().startswith('<div id="triage-results">')

    def test_an_empty_queue(self, client_for, coe_staff):
        assert "Nothing in the queue." in _text(client_for(coe_staff).get(_url("triage")))
        text = _text(client_for(coe_staff).get(_url("triage"), {"kind": "success"}))
        assert "Nothing in the queue with these filters." in text

    def test_quick_assignment_in_place(self, client_for, coe_staff, other_coe, template_thread):
        response = client_for(coe_staff).post(_url("thread-triage", template_thread.pk),
                                              {"quick": "1", "owner": other_coe.pk}, headers=HTMX)  # fmt: skip
        text = _text(response)
        assert text.lstrip().startswith(f'<tr id="triage-row-{template_thread.pk}"')
        assert "is now Carl Coe&#x27;s." in text
        template_thread.refresh_from_db()
        assert template_thread.owner == other_coe
        assert template_thread.status == "new"  # assignment alone changes no status
        data = {"quick": "1", "owner": "", "next": "/feedback/triage/?kind=problem"}
        response = client_for(coe_staff).post(_url("thread-triage", template_thread.pk), data)
        assert response["Location"] == "/feedback/triage/?kind=problem"
        template_thread.refresh_from_db()
        assert template_thread.owner is None

    def test_quick_assignment_refuses_a_non_coe_owner(self, client_for, coe_staff, team_member, template_thread):
        response = client_for(coe_staff).post(_url("thread-triage", template_thread.pk),
                                              {"quick": "1", "owner": team_member.pk})  # fmt: skip
        assert response.status_code == 302
        assert "Choose a CoE staff member. Nothing changed." in _messages(response)

    def test_an_outside_next_is_ignored(self, client_for, coe_staff, template_thread):
        response = client_for(coe_staff).post(_url("thread-triage", template_thread.pk),
                                              {"quick": "1", "owner": "", "next": "https://evil.example/"})  # fmt: skip
        assert response["Location"] == _url("triage")


# --- Lessons -------------------------------------------------------------------------------------------------


class TestLessons:
    def test_the_feed_shows_published_lessons_and_drafts_to_the_coe(self, client_for, team_member, coe_staff,
                                                                     lesson):  # fmt: skip
        published = services.lesson_create(actor=coe_staff, title="Office hours", summary="Tuesdays.", body="B",
                                           audience="everyone")  # fmt: skip
        services.lesson_publish(actor=coe_staff, lesson=published)
        text = _text(client_for(team_member).get(_url("lesson-list")))
        assert "Office hours" in text
        assert "Short runbooks win" not in text
        assert _url("lesson-create") not in text
        coe = _text(client_for(coe_staff).get(_url("lesson-list")))
        assert 'id="lesson-drafts"' in coe
        assert "Short runbooks win" in coe

    def test_an_empty_feed(self, client_for, team_member):
        assert "No lesson is published yet." in _text(client_for(team_member).get(_url("lesson-list")))

    def test_a_draft_is_the_coe_s(self, client_for, team_member, coe_staff, lesson, other_workload, workload):
        assert client_for(team_member).get(_url("lesson-detail", lesson.slug)).status_code == 404
        text = _text(client_for(coe_staff).get(_url("lesson-detail", lesson.slug)))
        assert "Publish to 2 people" in text  # the teams of both workloads using the template
        assert "<strong>not</strong>" in text

    def test_writing_a_lesson_from_a_thread(self, client_for, coe_staff, template_thread, template):
        response = client_for(coe_staff).get(_url("lesson-create"), {"thread": template_thread.pk})
        form = response.context["form"]
        assert form.initial["threads"] == [template_thread.pk]
        assert form.initial["template"] == template.slug
        data = {"title": "Short runbooks win", "summary": "Keep them short.", "body": "Ten minutes.",
                "threads": [template_thread.pk], "template": template.slug, "audience": "concerned"}  # fmt: skip
        response = client_for(coe_staff).post(_url("lesson-create"), data)
        lesson = Lesson.objects.get()
        assert response["Location"] == _url("lesson-detail", lesson.slug)
        assert (lesson.template, list(lesson.threads.all())) == (template, [template_thread])
        assert not lesson.is_published

    def test_validation_messages(self, client_for, coe_staff):
        response = client_for(coe_staff).post(_url("lesson-create"), {"audience": "concerned"})
        assert set(response.context["form"].errors) == {"title", "summary", "body"}
        assert "This field is required." in _text(response)
        data = {"title": "T", "summary": "S", "body": "B", "audience": "concerned"}
        text = _text(client_for(coe_staff).post(_url("lesson-create"), data))
        assert "Name the template, policy or model it concerns" in text
        assert not Lesson.objects.exists()

    def test_publishing_reaches_the_other_team_using_the_template(
        self, client_for, coe_staff, team_member, other_team_member, leader, lesson, workload, other_workload
    ):
        response = client_for(coe_staff).post(_url("lesson-publish", lesson.slug))
        assert response["Location"] == _url("lesson-detail", lesson.slug)
        assert "is published and sent to 2 people" in _messages(response)[0]
        assert set(LessonDelivery.objects.values_list("user__username", flat=True)) == {"tina", "otto"}
        assert Notification.objects.filter(recipient=other_team_member, title__contains="Short runbooks win").exists()
        assert not Notification.objects.filter(recipient=leader).exists()
        text = _text(client_for(other_team_member).get(_url("lesson-detail", lesson.slug)))
        assert "Short runbooks win" in text
        assert "Too long for our claims" in text  # the thread, which everyone may read
        again = client_for(coe_staff).post(_url("lesson-publish", lesson.slug))
        assert "This lesson is already published." in _messages(again)

"""The feedback pages for threads: the list and "my threads", opening a thread, the thread page,
live replies, edits within the window, hiding and following.

Plain access for every persona is in the permission matrix (tests/feedback/access_pages.py);
these tests check behaviour. Triage and lessons are in test_views_triage.py, the panel and the
digest preference in test_views_panel.py. State is set up through the services.
"""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.contrib.messages import get_messages
from django.http import HttpResponse
from django.urls import reverse
from django.utils import timezone

from apps.core.models import AuditEvent, Notification
from apps.feedback import services
from apps.feedback.models import Post, PostRevision, Thread

pytestmark = pytest.mark.django_db

HTMX = {"HX-Request": "true"}


def _text(response: HttpResponse) -> str:
    return response.content.decode()


def _messages(response: HttpResponse) -> list[str]:
    return [str(m) for m in get_messages(response.wsgi_request)]


def _url(name: str, *args: object) -> str:
    return reverse(f"feedback:{name}", args=args)


def _titles(response: HttpResponse) -> set[str]:
    return {thread.title for thread in response.context["page"]}


# --- The list of threads -----------------------------------------------------------------------------


class TestThreadList:
    def test_each_persona_sees_the_threads_it_may_read(
        self, client_for, team_member, other_team_member, coe_staff, leader, threads, draft_thread
    ):
        everyone = {"Too long for our claims", "Who counts as a reviewer?", "GPT-4o mini works well", "Office hours?"}
        assert _titles(client_for(team_member).get(_url("thread-list"))) == everyone | {"Our latency doubled"}
        assert _titles(client_for(other_team_member).get(_url("thread-list"))) == everyone
        assert _titles(client_for(leader).get(_url("thread-list"))) == everyone | {"Our latency doubled"}
        assert _titles(client_for(coe_staff).get(_url("thread-list"))) == everyone | {"Our latency doubled",
                                                                                     "Draft notes"}  # fmt: skip

    def test_a_row_says_what_status_about_what_and_the_rating(self, client_for, other_team_member, template_thread):
        text = _text(client_for(other_team_member).get(_url("thread-list")))
        assert _url("thread-detail", template_thread.pk) in text
        assert reverse("library:template-detail", args=["claims-summary-runbook"]) in text
        assert "2/5" in text
        assert "New" in text

    @pytest.mark.parametrize(
        ("query", "expected"),
        [
            ({"kind": "success"}, {"GPT-4o mini works well"}),
            ({"subject": "policy"}, {"Who counts as a reviewer?"}),
            ({"guidance_area": "monitoring"}, {"Too long for our claims"}),
            ({"q": "contractor"}, {"Who counts as a reviewer?"}),
            ({"template": "claims-summary-runbook"}, {"Too long for our claims"}),
            ({"model": "openai-gpt-4o-mini"}, {"GPT-4o mini works well"}),
        ],
    )
    def test_filters_narrow_the_list(self, client_for, team_member, threads, query, expected):
        assert _titles(client_for(team_member).get(_url("thread-list"), query)) == expected

    def test_status_open_leaves_out_closed_threads(self, client_for, coe_staff, threads):
        services.thread_triage(actor=coe_staff, thread=threads["general"], status="declined", comment="No.")
        titles = _titles(client_for(coe_staff).get(_url("thread-list"), {"status": "open"}))
        assert "Office hours?" not in titles
        assert _titles(client_for(coe_staff).get(_url("thread-list"), {"status": "declined"})) == {"Office hours?"}

    def test_htmx_answers_with_the_results_only(self, client_for, team_member, threads):
        response = client_for(team_member).get(_url("thread-list"), {"kind": "question"}, headers=HTMX)
        text = _text(response)
        assert text.lstrip().startswith('<div id="thread-results">')
        assert "<html" not in text
        assert response["Vary"].count("HX-Request") == 1

    def test_no_match_and_no_thread_have_their_own_empty_states(self, client_for, team_member, threads):
        text = _text(client_for(team_member).get(_url("thread-list"), {"q": "nothing like this"}))
        assert "No thread matches these filters." in text
        Thread.objects.all().delete()
        text = _text(client_for(team_member).get(_url("thread-list")))
        assert "No feedback yet." in text
        assert _url("thread-create") in text

    def test_leadership_reads_but_is_not_offered_to_write(self, client_for, leader, threads):
        text = _text(client_for(leader).get(_url("thread-list")))
        assert _url("thread-create") not in text

    def test_pages_of_25(self, client_for, team_member):
        for n in range(26):
            services.thread_open(actor=team_member, title=f"Thread {n}", body="Text")
        response = client_for(team_member).get(_url("thread-list"))
        assert len(response.context["page"]) == 25
        assert "Page 1 of 2" in _text(response)
        assert len(client_for(team_member).get(_url("thread-list"), {"page": 2}).context["page"]) == 1


class TestMyThreads:
    def test_threads_opened_or_followed(self, client_for, team_member, other_team_member, threads):
        assert _titles(client_for(other_team_member).get(_url("my-threads"))) == {
            "Who counts as a reviewer?", "GPT-4o mini works well", "Office hours?"
        }  # fmt: skip
        services.follow(actor=other_team_member, thread=threads["template"])
        assert "Too long for our claims" in _titles(client_for(other_team_member).get(_url("my-threads")))

    def test_the_empty_state_invites_feedback(self, client_for, team_member, threads, leader):
        text = _text(client_for(leader).get(_url("my-threads")))
        assert "You have no threads yet." in text


# --- Opening a thread -------------------------------------------------------------------------------


class TestThreadCreate:
    def test_a_link_from_a_template_prefills_the_subject_and_version(self, client_for, team_member, template):
        response = client_for(team_member).get(_url("thread-create"), {"template": template.slug, "version": "1.0.0"})
        text = _text(response)
        assert "Give feedback on Claims summary runbook" in text
        assert "version 1.0.0" in text
        assert 'type="hidden" name="template" value="claims-summary-runbook"' in text
        assert "How well did the guidance work for you?" in text

    def test_a_team_member_rates_a_template_and_explains(self, client_for, team_member, coe_staff, template):
        url = f"{_url('thread-create')}?template={template.slug}&version=1.0.0"
        data = {"subject": "template", "template": template.slug, "version": "1.0.0", "kind": "problem",
                "title": "Too long for our claims", "body": "Steps take **an hour**.", "rating": "2"}  # fmt: skip
        response = client_for(team_member).post(url, data)
        thread = Thread.objects.get()
        assert response.status_code == 302
        assert response["Location"] == _url("thread-detail", thread.pk)
        assert (thread.subject, thread.template, thread.template_version.number, thread.rating, thread.kind) == (
            "template", template, "1.0.0", 2, "problem"
        )  # fmt: skip
        assert "your feedback is with the CoE" in _messages(response)[0]
        assert Notification.objects.filter(recipient=coe_staff, url=_url("thread-detail", thread.pk)).exists()

    def test_the_form_without_a_link_chooses_the_subject(self, client_for, team_member, policy):
        data = {"subject": "policy", "policy": policy.slug, "kind": "question", "title": "Reviewers?", "body": "Who?"}
        response = client_for(team_member).post(_url("thread-create"), data)
        thread = Thread.objects.get()
        assert response.status_code == 302
        assert (thread.policy, thread.policy_version.number) == (policy, "1.0.0")  # the current version

    def test_about_the_coe_in_general(self, client_for, other_team_member):
        data = {"subject": "general", "kind": "suggestion", "title": "Office hours?", "body": "Weekly."}
        client_for(other_team_member).post(_url("thread-create"), data)
        assert Thread.objects.get().subject == "general"

    def test_validation_messages(self, client_for, team_member, model, template):
        response = client_for(team_member).post(_url("thread-create"), {"subject": "general", "kind": "question"})
        assert response.status_code == 200
        text = _text(response)
        assert "Please correct the fields below." in text
        assert text.count("This field is required.") >= 2
        assert not Thread.objects.exists()
        response = client_for(team_member).post(_url("thread-create"), {"subject": "template", "kind": "question",
                                                                        "title": "T", "body": "B"})  # fmt: skip
        assert "Choose the template it is about." in _text(response)
        data = {"subject": "model", "model": model.slug, "kind": "success", "title": "Fast", "body": "B", "rating": "5"}
        response = client_for(team_member).post(_url("thread-create"), data)
        assert "Only for a policy or a template." in _text(response)
        assert not Thread.objects.exists()

    def test_a_model_link_prefills_the_model(self, client_for, team_member, model):
        response = client_for(team_member).post(
            f"{_url('thread-create')}?model={model.slug}",
            {"subject": "model", "model": model.slug, "kind": "success", "title": "Works", "body": "Cheap."},
        )
        assert response.status_code == 302
        assert Thread.objects.get().ai_model == model

    def test_a_workload_thread_is_for_its_team(self, client_for, team_member, other_team_member, workload):
        assert client_for(team_member).get(_url("thread-create"), {"workload": workload.slug}).status_code == 200
        assert client_for(other_team_member).get(_url("thread-create"), {"workload": workload.slug}).status_code == 403
        data = {"subject": "workload", "workload": workload.slug, "kind": "problem", "title": "Slow", "body": "B"}
        response = client_for(other_team_member).post(_url("thread-create"), data)
        assert "Select a valid choice" in _text(response)  # not among their workloads
        assert not Thread.objects.exists()

    def test_drafts_and_unpublished_versions_are_not_there(self, client_for, team_member, coe_staff, draft_template,
                                                           template):  # fmt: skip
        assert client_for(team_member).get(_url("thread-create"), {"template": draft_template.slug}).status_code == 404
        assert client_for(coe_staff).get(_url("thread-create"), {"template": draft_template.slug}).status_code == 200
        response = client_for(team_member).get(_url("thread-create"), {"template": template.slug, "version": "9.0.0"})
        assert response.status_code == 404
        assert client_for(team_member).get(_url("thread-create"), {"model": "nope"}).status_code == 404

    def test_the_live_preview_renders_safe_markdown(self, client_for, team_member):
        response = client_for(team_member).post(
            _url("thread-create"), {"preview": "1", "body": "**Bold** <script>alert(1)</script>"}, headers=HTMX
        )
        text = _text(response)
        assert "<strong>Bold</strong>" in text
        assert "<script>" not in text
        assert "<form" not in text
        assert not Thread.objects.exists()

    def test_the_preview_button_works_without_javascript(self, client_for, team_member):
        response = client_for(team_member).post(_url("thread-create"), {"preview": "1", "body": "*Hi*"})
        assert "<em>Hi</em>" in _text(response)
        assert not Thread.objects.exists()


# --- The thread page -----------------------------------------------------------------------------------


class TestThreadDetail:
    def test_posts_are_safe_markdown(self, client_for, other_team_member, team_member, template):
        body = "**an hour** <script>alert(1)</script> [x](javascript:alert(1))"
        thread = services.thread_open(actor=team_member, title="T", template=template, body=body)
        text = _text(client_for(other_team_member).get(_url("thread-detail", thread.pk)))
        assert "<strong>an hour</strong>" in text
        assert "<script>alert" not in text
        assert 'href="javascript' not in text

    def test_it_shows_subject_status_rating_and_author(self, client_for, other_team_member, template_thread):
        text = _text(client_for(other_team_member).get(_url("thread-detail", template_thread.pk)))
        assert "Problem about" in text
        assert reverse("library:template-detail", args=["claims-summary-runbook"]) in text
        assert "2/5" in text
        assert "Tina Member" in text
        assert "nobody yet" in text

    def test_workload_threads_are_for_the_team_coe_and_leadership(
        self, client_for, team_member, other_team_member, coe_staff, leader, workload_thread
    ):
        url = _url("thread-detail", workload_thread.pk)
        assert client_for(team_member).get(url).status_code == 200
        assert client_for(coe_staff).get(url).status_code == 200
        assert client_for(leader).get(url).status_code == 200
        assert client_for(other_team_member).get(url).status_code == 404

    def test_threads_on_drafts_are_the_coe_s(self, client_for, team_member, coe_staff, draft_thread):
        assert client_for(team_member).get(_url("thread-detail", draft_thread.pk)).status_code == 404
        assert client_for(coe_staff).get(_url("thread-detail", draft_thread.pk)).status_code == 200

    def test_what_each_persona_is_offered(self, client_for, team_member, coe_staff, leader, template_thread):
        url = _url("thread-detail", template_thread.pk)
        mine = _text(client_for(team_member).get(url))
        assert 'id="reply"' in mine
        assert 'id="triage"' not in mine
        assert "Unfollow" in mine  # the author follows their thread
        coe = _text(client_for(coe_staff).get(url))
        assert 'id="triage"' in coe
        assert "Hide…" in coe
        assert f"{_url('lesson-create')}?thread={template_thread.pk}" in coe
        lead = _text(client_for(leader).get(url))
        assert 'id="reply"' not in lead
        assert "Leadership reads threads" in lead

    def test_hidden_posts_say_so_and_only_the_coe_reads_them(self, client_for, team_member, coe_staff,
                                                             other_team_member, template_thread):  # fmt: skip
        services.post_add(actor=other_team_member, thread=template_thread, body="Rude words")
        post = template_thread.posts.last()
        services.post_hide(actor=coe_staff, post=post, reason="Abusive")
        url = _url("thread-detail", template_thread.pk)
        for user in (team_member, other_team_member):
            text = _text(client_for(user).get(url))
            assert "Hidden by the CoE." in text
            assert "Rude words" not in text
            assert "Abusive" not in text
        text = _text(client_for(coe_staff).get(url))
        assert "Rude words" in text
        assert "Reason: Abusive" in text


class TestReply:
    def test_a_reply_with_htmx_joins_the_thread_in_place(self, client_for, coe_staff, team_member, template_thread):
        response = client_for(coe_staff).post(_url("post-create", template_thread.pk), {"body": "We *see* it."},
                                              headers=HTMX)  # fmt: skip
        text = _text(response)
        post = template_thread.posts.last()
        assert response.status_code == 200
        assert text.lstrip().startswith('<section id="reply"')
        assert 'hx-swap-oob="beforeend:#posts"' in text
        assert f'id="post-{post.pk}"' in text
        assert "<em>see</em>" in text
        assert "We *see* it." not in text  # a blank form comes back
        assert Notification.objects.filter(recipient=team_member, title__contains="replied").exists()

    def test_without_htmx_it_goes_back_to_the_post(self, client_for, other_team_member, template_thread):
        response = client_for(other_team_member).post(_url("post-create", template_thread.pk), {"body": "Same here."})
        post = template_thread.posts.last()
        assert response.status_code == 302
        assert response["Location"] == f"{_url('thread-detail', template_thread.pk)}#post-{post.pk}"
        assert other_team_member in template_thread.followers.all()

    def test_an_empty_reply_is_refused_beside_the_field(self, client_for, team_member, template_thread):
        response = client_for(team_member).post(_url("post-create", template_thread.pk), {"body": " "}, headers=HTMX)
        text = _text(response)
        assert text.lstrip().startswith('<section id="reply"')
        assert "This field is required." in text
        assert template_thread.posts.count() == 1
        response = client_for(team_member).post(_url("post-create", template_thread.pk), {"body": ""})
        assert response.status_code == 200
        assert "This field is required." in _text(response)
        assert "<html" in _text(response)

    def test_the_reply_preview(self, client_for, team_member, template_thread):
        response = client_for(team_member).post(_url("post-create", template_thread.pk),
                                                {"preview": "1", "body": "# Title"}, headers=HTMX)  # fmt: skip
        assert "<h1>Title</h1>" in _text(response)
        assert template_thread.posts.count() == 1

    def test_other_teams_do_not_reply_on_a_workload_thread(self, client_for, other_team_member, workload_thread):
        response = client_for(other_team_member).post(_url("post-create", workload_thread.pk), {"body": "Hi"})
        assert response.status_code == 404


class TestEdit:
    def test_the_author_edits_in_place_and_it_shows_edited(self, client_for, team_member, template_thread):
        post = template_thread.posts.get()
        client = client_for(team_member)
        assert _url("post-edit", post.pk) in _text(client.get(_url("thread-detail", template_thread.pk)))
        form = _text(client.get(_url("post-edit", post.pk), headers=HTMX))
        assert form.lstrip().startswith(f'<article class="feedback-post feedback-post--editing" id="post-{post.pk}"')
        assert "The runbook&#x27;s steps take **an hour**." in form
        response = client.post(_url("post-edit", post.pk), {"body": "It takes *two* hours."}, headers=HTMX)
        text = _text(response)
        assert "<em>two</em>" in text
        assert "edited" in text
        assert list(PostRevision.objects.values_list("body", flat=True)) == ["The runbook's steps take **an hour**."]

    def test_without_htmx_a_page_of_its_own(self, client_for, team_member, template_thread):
        post = template_thread.posts.get()
        assert "Edit your post" in _text(client_for(team_member).get(_url("post-edit", post.pk)))
        response = client_for(team_member).post(_url("post-edit", post.pk), {"body": "Better."})
        assert response["Location"] == f"{_url('thread-detail', template_thread.pk)}#post-{post.pk}"
        post.refresh_from_db()
        assert post.edited_at is not None

    def test_after_the_window_it_is_refused(self, client_for, team_member, template_thread):
        post = template_thread.posts.get()
        Post.objects.filter(pk=post.pk).update(created_at=timezone.now() - timedelta(minutes=31))
        client = client_for(team_member)
        assert _url("post-edit", post.pk) not in _text(client.get(_url("thread-detail", template_thread.pk)))
        response = client.post(_url("post-edit", post.pk), {"body": "Too late"}, headers=HTMX)
        assert "Posts can be edited for 30 minutes; reply instead." in _text(response)
        post.refresh_from_db()
        assert post.edited_at is None

    def test_only_the_author_edits(self, client_for, other_team_member, coe_staff, template_thread):
        post = template_thread.posts.get()
        assert client_for(coe_staff).post(_url("post-edit", post.pk), {"body": "Mine now"}).status_code == 403
        page = _text(client_for(other_team_member).get(_url("thread-detail", template_thread.pk)))
        assert _url("post-edit", post.pk) not in page

    def test_an_empty_edit_is_refused(self, client_for, team_member, template_thread):
        post = template_thread.posts.get()
        response = client_for(team_member).post(_url("post-edit", post.pk), {"body": ""}, headers=HTMX)
        assert "This field is required." in _text(response)


class TestHide:
    def test_the_coe_hides_a_post_in_place(self, client_for, coe_staff, team_member, template_thread):
        post = template_thread.posts.get()
        response = client_for(coe_staff).post(_url("post-hide", post.pk), {"reason": "Abusive"}, headers=HTMX)
        text = _text(response)
        assert text.lstrip().startswith("<article")
        assert "Hidden by the CoE." in text
        assert "Reason: Abusive" in text
        post.refresh_from_db()
        assert post.is_hidden
        assert AuditEvent.objects.filter(action="feedback.post_hide").exists()

    def test_a_reason_is_needed(self, client_for, coe_staff, template_thread):
        post = template_thread.posts.get()
        text = _text(client_for(coe_staff).post(_url("post-hide", post.pk), {"reason": ""}, headers=HTMX))
        assert "This field is required." in text
        response = client_for(coe_staff).post(_url("post-hide", post.pk), {})
        assert response.status_code == 302
        assert "Say why the post is hidden. Nothing changed." in _messages(response)
        post.refresh_from_db()
        assert not post.is_hidden

    def test_without_htmx_back_to_the_post(self, client_for, coe_staff, template_thread):
        post = template_thread.posts.get()
        response = client_for(coe_staff).post(_url("post-hide", post.pk), {"reason": "Spam"})
        assert response["Location"].endswith(f"#post-{post.pk}")
        assert "The post is hidden." in _messages(response)[0]


class TestFollow:
    def test_follow_and_unfollow_in_place(self, client_for, other_team_member, template_thread):
        client = client_for(other_team_member)
        response = client.post(_url("thread-follow", template_thread.pk), {"on": "1"}, headers=HTMX)
        assert response.content.decode().lstrip().startswith('<form id="follow"')
        assert "Unfollow" in _text(response)
        assert other_team_member in template_thread.followers.all()
        response = client.post(_url("thread-follow", template_thread.pk), {"on": "0"}, headers=HTMX)
        assert ">Follow<" in _text(response)
        assert other_team_member not in template_thread.followers.all()

    def test_without_a_choice_it_toggles_and_without_htmx_it_redirects(self, client_for, leader, template_thread):
        response = client_for(leader).post(_url("thread-follow", template_thread.pk))
        assert response.status_code == 302
        assert leader in template_thread.followers.all()
        assert "You follow this thread" in _messages(response)[0]
        client_for(leader).post(_url("thread-follow", template_thread.pk))
        assert leader not in template_thread.followers.all()

    def test_followers_are_told_of_replies(self, client_for, other_team_member, coe_staff, template_thread):
        client_for(other_team_member).post(_url("thread-follow", template_thread.pk), {"on": "1"})
        client_for(coe_staff).post(_url("post-create", template_thread.pk), {"body": "Answer."})
        assert Notification.objects.filter(recipient=other_team_member, title__contains="replied").exists()

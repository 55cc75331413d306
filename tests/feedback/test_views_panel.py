"""The feedback panel other apps' pages load (template, policy, model; the workload page's
Feedback tab), and the digest preference the profile page loads.

Plain access for every persona is in the permission matrix (tests/feedback/access_pages.py).
"""

from __future__ import annotations

import re

import pytest
from django.contrib.messages import get_messages
from django.http import HttpResponse
from django.urls import reverse

from apps.feedback import services
from apps.feedback.models import DigestPreference

pytestmark = pytest.mark.django_db

HTMX = {"HX-Request": "true"}


def _text(response: HttpResponse) -> str:
    return response.content.decode()


def _panel(subject: str, slug: str) -> str:
    return reverse("feedback:panel", args=[subject, slug])


class TestPanel:
    def test_a_template_s_threads_rating_and_a_prefilled_link(self, client_for, other_team_member, team_member,
                                                              template, template_thread):  # fmt: skip
        services.thread_open(actor=other_team_member, title="Works for us", body="Yes.", template=template, rating=5)
        response = client_for(other_team_member).get(_panel("template", template.slug), headers=HTMX)
        text = _text(response)
        assert '<section class="feedback-panel"' in text
        assert "<html" not in text
        assert "2 threads" in text
        assert "rated <strong>3.5/5</strong> on average by 2 team members" in text
        assert "Too long for our claims" in text
        assert f"{reverse('feedback:thread-create')}?template=claims-summary-runbook&amp;version=1.0.0" in text

    def test_without_htmx_a_page_of_its_own(self, client_for, team_member, template):
        text = _text(client_for(team_member).get(_panel("template", template.slug)))
        assert "<h1>Feedback on Claims summary runbook</h1>" in text
        assert "No feedback yet." in text

    def test_a_policy_and_a_model(self, client_for, team_member, policy_thread, model_thread, policy, model):
        text = _text(client_for(team_member).get(_panel("policy", policy.slug), headers=HTMX))
        assert "Who counts as a reviewer?" in text
        assert "?policy=human-oversight&amp;version=1.0.0" in text
        text = _text(client_for(team_member).get(_panel("model", model.slug), headers=HTMX))
        assert "GPT-4o mini works well" in text
        assert "/5" not in text  # no ratings for models
        assert "?model=openai-gpt-4o-mini" in text

    def test_leadership_reads_but_is_not_offered_to_write(self, client_for, leader, template_thread, template):
        text = _text(client_for(leader).get(_panel("template", template.slug), headers=HTMX))
        assert "Too long for our claims" in text
        assert "Give feedback" not in text

    def test_drafts_unknown_items_and_subjects_are_not_there(self, client_for, team_member, coe_staff, draft_template):
        assert client_for(team_member).get(_panel("template", draft_template.slug)).status_code == 404
        assert client_for(coe_staff).get(_panel("template", draft_template.slug)).status_code == 200
        assert client_for(team_member).get(_panel("general", "anything")).status_code == 404
        assert client_for(team_member).get(_panel("model", "nope")).status_code == 404

    def test_more_threads_than_shown_link_to_the_list(self, client_for, team_member, template):
        for n in range(6):
            services.thread_open(actor=team_member, title=f"Thread {n}", body="B", template=template)
        text = _text(client_for(team_member).get(_panel("template", template.slug), headers=HTMX))
        assert "All 6 threads" in text
        assert f"{reverse('feedback:thread-list')}?template=claims-summary-runbook" in text
        assert text.count('<li><a href="/feedback/t/') == 5


class TestWorkloadTab:
    def test_the_team_coe_and_leadership_see_the_tab(self, client_for, team_member, coe_staff, leader,
                                                     other_team_member, workload, workload_thread):  # fmt: skip
        detail = reverse("registry:workload-detail", args=[workload.slug])
        tab = _panel("workload", workload.slug)
        for user in (team_member, coe_staff, leader):
            assert f'id="tab-feedback" href="{tab}"' in _text(client_for(user).get(detail))
            assert "Our latency doubled" in _text(client_for(user).get(tab))
        assert 'id="tab-feedback"' not in _text(client_for(other_team_member).get(detail))
        assert client_for(other_team_member).get(tab).status_code == 403

    def test_the_tab_is_a_workload_page_and_swaps_the_tabs_with_htmx(self, client_for, team_member, workload,
                                                                     workload_thread):  # fmt: skip
        tab = _panel("workload", workload.slug)
        page = _text(client_for(team_member).get(tab))
        assert "<h1>Claims Assistant</h1>" in page
        assert 'aria-current="page">Feedback' in page
        assert f"{reverse('feedback:thread-create')}?workload=claims-assistant" in page
        text = _text(client_for(team_member).get(tab, headers={**HTMX, "HX-Target": "workload-tabs"}))
        assert text.lstrip().startswith('<div id="workload-tabs">')
        assert "Our latency doubled" in text
        text = _text(client_for(team_member).get(tab, headers=HTMX))
        assert text.lstrip().startswith('<section class="feedback-panel"')

    def test_leadership_is_not_offered_to_write(self, client_for, leader, workload):
        assert "Give feedback" not in _text(client_for(leader).get(_panel("workload", workload.slug)))

    def test_old_tab_links_lead_to_the_feedback_tab(self, client_for, team_member, workload):
        response = client_for(team_member).get(reverse("registry:workload-detail", args=[workload.slug]),
                                               {"tab": "feedback"})  # fmt: skip
        assert response.status_code == 302
        assert response["Location"] == _panel("workload", workload.slug)


class TestPagesLoadThePanel:
    def test_template_policy_and_model_pages(self, client_for, team_member, template, policy, model):
        for page, subject, slug in (
            (reverse("library:template-detail", args=[template.slug]), "template", template.slug),
            (reverse("governance:policy-detail", args=[policy.slug]), "policy", policy.slug),
            (reverse("registry:model-detail", args=[model.slug]), "model", model.slug),
        ):
            text = _text(client_for(team_member).get(page))
            assert f'id="feedback-panel" hx-get="{_panel(subject, slug)}" hx-trigger="load"' in text
            assert f'<a href="{_panel(subject, slug)}">' in text  # without JavaScript, a link

    def test_the_profile_page_loads_the_digest_preference(self, client_for, team_member):
        text = _text(client_for(team_member).get(reverse("accounts:profile")))
        assert f'hx-get="{reverse("feedback:digest-preference")}"' in text

    def test_the_nav_leads_to_feedback(self, client_for, team_member):
        text = _text(client_for(team_member).get(reverse("feedback:thread-list")))
        assert f'<a href="{reverse("feedback:thread-list")}" aria-current="page">Feedback</a>' in text


class TestDigestPreference:
    def test_weekly_by_default(self, client_for, team_member):
        response = client_for(team_member).get(reverse("feedback:digest-preference"), headers=HTMX)
        text = _text(response)
        assert text.lstrip().startswith('<section id="digest"')
        assert re.search(r'value="weekly"[^>]*checked', text)
        assert response.context["form"].initial["frequency"] == "weekly"

    def test_choosing_daily_in_place(self, client_for, team_member):
        response = client_for(team_member).post(reverse("feedback:digest-preference"), {"frequency": "daily"},
                                                headers=HTMX)  # fmt: skip
        assert "Saved: the digest comes every morning." in _text(response)
        assert DigestPreference.objects.get(user=team_member).frequency == "daily"

    def test_opting_out_without_javascript(self, client_for, team_member):
        response = client_for(team_member).post(reverse("feedback:digest-preference"), {"frequency": "never"})
        assert response["Location"] == reverse("accounts:profile")
        assert "Saved: no more digests." in str(next(iter(get_messages(response.wsgi_request))))
        assert DigestPreference.objects.get(user=team_member).frequency == "never"

    def test_an_unknown_frequency_is_refused(self, client_for, team_member):
        response = client_for(team_member).post(reverse("feedback:digest-preference"), {"frequency": "hourly"})
        assert response.status_code == 200
        assert "Select a valid choice" in _text(response)
        assert not DigestPreference.objects.exists()

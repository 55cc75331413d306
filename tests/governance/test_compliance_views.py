"""The compliance pages: a workload's Compliance tab, attesting, waivers from request to decision,
high-risk release approval, the compliance matrix and the home-page cards.

Plain access for every persona is in the permission matrix (tests/governance/
access_pages_compliance.py); these tests check behaviour. State is built through the services.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from django.contrib.messages import get_messages
from django.http import HttpResponse
from django.test import RequestFactory
from django.urls import reverse
from django.utils import timezone

from apps.accounts.models import User
from apps.core import attention
from apps.governance import home, services
from apps.governance.models import Attestation, Control, Policy, PolicyVersion, ReleaseApproval, Waiver
from apps.governance.services import State
from apps.registry import gates
from apps.registry import services as registry
from apps.registry.models import AIModel, Release, Workload
from tests.registry.factories import AIModelFactory

pytestmark = pytest.mark.django_db

HTMX = {"HX-Request": "true"}


def _messages(response: HttpResponse) -> list[str]:
    return [str(m) for m in get_messages(response.wsgi_request)]


def _text(response: HttpResponse) -> str:
    return response.content.decode()


def _in_days(days: int) -> str:
    return (timezone.localdate() + timedelta(days=days)).isoformat()


# --- The world: a high-risk workload under three policies --------------------------------------


@pytest.fixture
def model() -> AIModel:
    return AIModelFactory(model_id="gpt-4o-mini", display_name="GPT-4o mini")


@pytest.fixture
def workload(team, team_member, model) -> Workload:
    return registry.workload_register(
        actor=team_member, team=team, name="Claims Triage", ai_models=[model], risk_tier="high",
        lifecycle_stage="production", data_classification="confidential", objective_p95_latency_ms=2000,
    )  # fmt: skip


@pytest.fixture
def other_workload(other_team, other_team_member, model) -> Workload:
    return registry.workload_register(
        actor=other_team_member, team=other_team, name="Lunch Menu Bot", ai_models=[model], risk_tier="minimal"
    )


def _policy(coe: User, title: str, controls: list[dict[str, Any]], number: str = "1.0.0") -> PolicyVersion:
    policy = Policy.objects.filter(title=title).first() or services.policy_create(
        actor=coe, title=title, category="security_governance", summary=f"{title}."
    )
    previous = policy.versions.filter(is_current=True).first()
    version = services.policy_version_create(actor=coe, policy=policy, number=number, body=f"# {title}")
    for fields in controls:
        services.control_add(actor=coe, version=version, **fields)
    services.policy_version_publish(actor=coe, version=version)
    assert previous is None or not PolicyVersion.objects.get(pk=previous.pk).is_current
    return version


def _attestation(key: str, title: str, **extra: Any) -> dict[str, Any]:
    return {"key": key, "title": title, "statement": f"{title} is in place.", "kind": "attestation", **extra}


OVERSIGHT = [
    _attestation("human-review", "Human review", rationale="People stay accountable for decisions."),
    _attestation("incident-runbook", "Incident runbook"),
    _attestation("data-retention", "Data retention"),
    {"key": "latency", "title": "Latency within objective", "statement": "p95 meets the objective.",
     "kind": "automated", "metric": "p95_latency_ms", "operator": "<=", "threshold_source": "objective_p95_latency_ms"},
    {"key": "error-rate", "title": "Error rate", "statement": "Few errors.", "kind": "automated",
     "metric": "error_rate", "operator": "<=", "threshold": "0.05"},
]  # fmt: skip
COST = [
    {"key": "budget", "title": "Within budget", "statement": "Spend stays under 1000.", "kind": "automated",
     "metric": "monthly_cost", "operator": "<=", "threshold": "1000"},
]  # fmt: skip
DISCLOSURE = [_attestation("disclose-ai", "Tell users it is AI", risk_tiers=["minimal"])]


@pytest.fixture
def policies(coe_staff) -> dict[str, PolicyVersion]:
    return {
        "oversight": _policy(coe_staff, "Human oversight", OVERSIGHT),
        "cost": _policy(coe_staff, "Cost control", COST),
        "disclosure": _policy(coe_staff, "Chatbot disclosure", DISCLOSURE),
    }


def control(version: PolicyVersion, key: str) -> Control:
    return version.controls.get(key=key)


@pytest.fixture
def states(policies, workload, team_member, coe_staff) -> dict[str, PolicyVersion]:
    """Each state once: incident-runbook attested, human-review due, data-retention waived,
    latency failing, budget passing, error-rate not yet evaluated."""
    oversight = policies["oversight"]
    services.attest(
        actor=team_member, workload=workload, control=control(oversight, "incident-runbook"),
        answer="On-call rota and runbook in the wiki.", evidence_url="https://wiki.example/runbook",
    )  # fmt: skip
    waiver = services.waiver_request(
        actor=team_member, workload=workload, control=control(oversight, "data-retention"),
        justification="Legal is writing the policy.", ends_on=timezone.localdate() + timedelta(days=60),
    )  # fmt: skip
    services.waiver_decide(actor=coe_staff, waiver=waiver, approve=True)
    services.check_record(workload=workload, metrics={"p95_latency_ms": 2500, "monthly_cost": 400})
    return policies


@pytest.fixture
def draft(workload, team_member, model) -> Release:
    return registry.release_create(actor=team_member, workload=workload, version="1.0.0", ai_models=[model])


def _tab(workload: Workload) -> str:
    return reverse("governance:workload-compliance", args=[workload.slug])


# --- The Compliance tab -----------------------------------------------------------------------


class TestComplianceTab:
    def test_it_shows_every_state_its_detail_and_the_score(self, client_for, team_member, workload, states) -> None:
        response = client_for(team_member).get(_tab(workload))
        assert response.status_code == 200
        text = _text(response)
        assert "3 of 6 controls compliant — 50 %" in text
        for label in State.LABELS.values():
            assert f">{label}</span>" in text, label
        # Failing, with the values the check saw.
        assert "p95_latency_ms = 2500 (breaks &lt;= 2000)" in text
        assert "threshold &lt;= 2000 over 7 days" in text
        assert "monthly_cost = 400, threshold &lt;= 1000 over 7 days." in text  # passing, as people write numbers
        # Attested: who, the answer and the evidence.
        assert "Attested by Tina Member" in text
        assert "On-call rota and runbook in the wiki." in text
        assert 'href="https://wiki.example/runbook"' in text
        # Waived, with the real state underneath.
        assert "Waived until" in text
        assert "Underneath: Attestation due." in text
        assert "Not attested yet." in text
        assert "No error rate measured yet." in text
        # The policy that does not apply to a high-risk workload is not listed.
        assert "Tell users it is AI" not in text

    def test_full_page_has_the_workload_header_and_tabs(self, client_for, team_member, workload, states) -> None:
        text = _text(client_for(team_member).get(_tab(workload)))
        assert "<html" in text
        assert "<h1>Claims Triage</h1>" in text
        assert f'id="tab-compliance" href="{_tab(workload)}"' in text
        assert 'aria-current="page">Compliance</a>' in text

    def test_htmx_answers_with_the_tabs_only(self, client_for, team_member, workload, states) -> None:
        response = client_for(team_member).get(_tab(workload), headers=HTMX)
        text = _text(response)
        assert text.strip().startswith('<div id="workload-tabs">')
        assert "<html" not in text
        assert "3 of 6 controls compliant" in text
        assert "HX-Request" in response["Vary"]

    def test_the_registry_tab_leads_here_for_those_who_may_see_it(
        self, client_for, team_member, other_team_member, workload
    ) -> None:
        detail = reverse("registry:workload-detail", args=[workload.slug])
        assert f'hx-get="{_tab(workload)}"' in _text(client_for(team_member).get(detail))
        assert 'id="tab-compliance"' not in _text(client_for(other_team_member).get(detail))

    def test_the_team_may_attest_and_ask_for_waivers(self, client_for, team_member, workload, states) -> None:
        text = _text(client_for(team_member).get(_tab(workload)))
        oversight = states["oversight"]
        for key in ("human-review", "incident-runbook"):
            assert reverse("governance:attest", args=[workload.slug, control(oversight, key).pk]) in text
        # A waiver for what is not compliant: the due attestation and the failing check, not the waived one.
        for key, offered in (("human-review", True), ("latency", True), ("error-rate", True),
                             ("data-retention", False), ("incident-runbook", False)):  # fmt: skip
            url = reverse("governance:waiver-request", args=[workload.slug, control(oversight, key).pk])
            assert (url in text) is offered, key
        assert reverse("governance:attest", args=[workload.slug, control(oversight, "latency").pk]) not in text

    @pytest.mark.parametrize("persona", ["coe_staff", "leader"])
    def test_others_read_without_attesting(self, request, client_for, workload, states, persona) -> None:
        text = _text(client_for(request.getfixturevalue(persona)).get(_tab(workload)))
        assert "3 of 6 controls compliant" in text
        assert "/attest/" not in text
        assert "/waive/" not in text

    def test_other_team_is_refused(self, client_for, other_team_member, workload, states) -> None:
        assert client_for(other_team_member).get(_tab(workload)).status_code == 403

    def test_a_changed_control_asks_to_attest_again(
        self, client_for, coe_staff, team_member, workload, policies
    ) -> None:
        review = control(policies["oversight"], "human-review")
        services.attest(actor=team_member, workload=workload, control=review, answer="Two-person review.")
        changed = [{**c, "statement": "Two people review every decision."} if c["key"] == "human-review" else c
                   for c in OVERSIGHT]  # fmt: skip
        _policy(coe_staff, "Human oversight", changed, number="2.0.0")
        text = _text(client_for(team_member).get(_tab(workload)))
        assert "The control changed in v2.0.0; attest again." in text
        assert "Last attested by Tina Member" in text

    def test_coe_approves_draft_releases_of_a_high_risk_workload_here(
        self, client_for, coe_staff, team_member, workload, states, draft
    ) -> None:
        approve = reverse("governance:release-approve", args=[draft.pk])
        coe_text = _text(client_for(coe_staff).get(_tab(workload)))
        assert "High-risk workload." in coe_text
        assert "Awaiting CoE approval" in coe_text
        assert approve in coe_text
        team_text = _text(client_for(team_member).get(_tab(workload)))
        assert "Awaiting CoE approval" in team_text
        assert approve not in team_text
        response = client_for(coe_staff).post(approve, {"next": _tab(workload)})
        assert response.status_code == 302
        assert response["Location"] == _tab(workload)
        assert ReleaseApproval.objects.filter(release=draft).exists()

    def test_no_control_applies(self, client_for, other_team_member, other_workload) -> None:
        text = _text(client_for(other_team_member).get(_tab(other_workload)))
        assert "No control of the current policies applies to Lunch Menu Bot." in text


# --- Attesting --------------------------------------------------------------------------------


class TestAttest:
    def test_form_shows_statement_and_rationale(self, client_for, team_member, workload, policies) -> None:
        review = control(policies["oversight"], "human-review")
        text = _text(client_for(team_member).get(reverse("governance:attest", args=[workload.slug, review.pk])))
        assert "Human review is in place." in text
        assert "People stay accountable for decisions." in text
        assert 'name="answer"' in text
        assert 'name="evidence_url"' in text

    def test_attesting_makes_the_control_attested(self, client_for, team_member, workload, policies) -> None:
        review = control(policies["oversight"], "human-review")
        url = reverse("governance:attest", args=[workload.slug, review.pk])
        response = client_for(team_member).post(
            url, {"answer": "A claims handler signs off.", "evidence_url": "wiki.example/review"}
        )
        assert response.status_code == 302
        assert response["Location"] == _tab(workload)
        assert _messages(response) == ["“Human review” is attested for Claims Triage."]
        attestation = Attestation.objects.get(workload=workload, control=review)
        assert (attestation.attested_by, attestation.evidence_url) == (team_member, "https://wiki.example/review")
        status = next(s for s in services.compliance(workload=workload).statuses if s.control == review)
        assert status.state == State.ATTESTED

    def test_htmx_success_navigates_the_whole_page(self, client_for, team_member, workload, policies) -> None:
        review = control(policies["oversight"], "human-review")
        url = reverse("governance:attest", args=[workload.slug, review.pk])
        response = client_for(team_member).post(url, {"answer": "Signed off."}, headers=HTMX)
        assert response.status_code == 200
        assert response["HX-Redirect"] == _tab(workload)

    def test_a_blank_answer_is_refused_and_the_evidence_kept(self, client_for, team_member, workload, policies) -> None:
        review = control(policies["oversight"], "human-review")
        url = reverse("governance:attest", args=[workload.slug, review.pk])
        response = client_for(team_member).post(url, {"answer": "  ", "evidence_url": "https://wiki.example/kept"})
        assert response.status_code == 200
        text = _text(response)
        assert "Say how the workload meets the control." in text
        assert 'value="https://wiki.example/kept"' in text
        assert not Attestation.objects.exists()

    def test_an_automated_check_takes_no_attestation(self, client_for, team_member, workload, policies) -> None:
        latency = control(policies["oversight"], "latency")
        url = reverse("governance:attest", args=[workload.slug, latency.pk])
        assert "is checked automatically" in _text(client_for(team_member).get(url))
        response = client_for(team_member).post(url, {"answer": "Fast enough."})
        assert response.status_code == 200
        assert "is checked automatically; it takes no attestation." in _text(response)
        assert 'value="Fast enough."' in _text(response) or "Fast enough.</textarea>" in _text(response)
        assert not Attestation.objects.exists()

    def test_unknown_control_is_404(self, client_for, team_member, workload, policies) -> None:
        url = reverse("governance:attest", args=[workload.slug, 999_999])
        assert client_for(team_member).get(url).status_code == 404

    def test_coe_staff_do_not_attest_for_a_team(self, client_for, coe_staff, workload, policies) -> None:
        review = control(policies["oversight"], "human-review")
        url = reverse("governance:attest", args=[workload.slug, review.pk])
        assert client_for(coe_staff).post(url, {"answer": "Trust me."}).status_code == 403
        assert not Attestation.objects.exists()


# --- Waivers: request, queue, decision ----------------------------------------------------------


class TestWaivers:
    def test_request_queue_approve_then_waived(self, client_for, team_member, coe_staff, workload, policies) -> None:
        review = control(policies["oversight"], "human-review")
        response = client_for(team_member).post(
            reverse("governance:waiver-request", args=[workload.slug, review.pk]),
            {"justification": "The reviewer starts in May.", "compensating_controls": "Weekly sample audit.",
             "ends_on": _in_days(40)},
        )  # fmt: skip
        assert response.status_code == 302
        assert response["Location"] == _tab(workload)
        waiver = Waiver.objects.get(workload=workload, control_key="human-review")
        assert waiver.status == Waiver.Status.REQUESTED
        assert "Waiver requested until" in _text(client_for(team_member).get(_tab(workload)))

        coe = client_for(coe_staff)
        queue = _text(coe.get(reverse("governance:waiver-queue")))
        for shown in ("Claims Triage", "Claims Automation", "Human review", "The reviewer starts in May.",
                      "Weekly sample audit.", reverse("governance:waiver-decide", args=[waiver.pk])):  # fmt: skip
            assert shown in queue, shown

        response = coe.post(reverse("governance:waiver-decide", args=[waiver.pk]), {"decision": "approve"})
        assert response.status_code == 302
        assert response["Location"] == reverse("governance:waiver-queue")
        assert _messages(response)[0].startswith("Waiver approved: Claims Triage, “Human review”, until")
        waiver.refresh_from_db()
        assert (waiver.status, waiver.decided_by) == (Waiver.Status.APPROVED, coe_staff)

        text = _text(client_for(team_member).get(_tab(workload)))
        assert ">Waived</span>" in text
        assert "Underneath: Attestation due." in text

    def test_reject_without_a_comment_is_refused_with_htmx(self, client_for, coe_staff, workload, states) -> None:
        waiver = self._requested(workload, states)
        url = reverse("governance:waiver-decide", args=[waiver.pk])
        response = client_for(coe_staff).post(url, {"decision": "reject", "comment": " "}, headers=HTMX)
        assert response.status_code == 200
        text = _text(response)
        assert text.strip().startswith("<form")
        assert "This field is required." in text
        waiver.refresh_from_db()
        assert waiver.status == Waiver.Status.REQUESTED

    def test_reject_without_a_comment_is_refused_without_js(self, client_for, coe_staff, workload, states) -> None:
        waiver = self._requested(workload, states)
        url = reverse("governance:waiver-decide", args=[waiver.pk])
        response = client_for(coe_staff).post(url, {"decision": "reject"})
        assert response.status_code == 200
        text = _text(response)
        assert "<html" in text
        assert "This field is required." in text
        assert Waiver.objects.get(pk=waiver.pk).status == Waiver.Status.REQUESTED

    def test_reject_with_a_comment_tells_why(self, client_for, coe_staff, workload, states) -> None:
        waiver = self._requested(workload, states)
        coe = client_for(coe_staff)
        url = reverse("governance:waiver-decide", args=[waiver.pk])
        response = coe.post(url, {"decision": "reject", "comment": "Fix the latency instead."}, headers=HTMX)
        assert response["HX-Redirect"] == reverse("governance:waiver-queue")
        assert Waiver.objects.get(pk=waiver.pk).status == Waiver.Status.REJECTED
        queue = _text(coe.get(reverse("governance:waiver-queue")))
        assert "Rejected</span>" in queue
        assert "Fix the latency instead." in queue
        # Deciding twice: the service refuses, the queue says so.
        again = coe.post(url, {"decision": "approve"})
        assert _messages(again) == ["This waiver is rejected already."]

    def test_queue_oldest_first_and_expiring_ones_marked(
        self, client_for, coe_staff, team_member, workload, states
    ) -> None:
        oversight = states["oversight"]
        first = services.waiver_request(
            actor=team_member, workload=workload, control=control(oversight, "latency"),
            justification="First in.", ends_on=timezone.localdate() + timedelta(days=9),
        )  # fmt: skip
        second = services.waiver_request(
            actor=team_member, workload=workload, control=control(oversight, "error-rate"),
            justification="Second in.", ends_on=timezone.localdate() + timedelta(days=9),
        )  # fmt: skip
        services.waiver_decide(actor=coe_staff, waiver=second, approve=True)
        third = services.waiver_request(
            actor=team_member, workload=workload, control=control(oversight, "human-review"),
            justification="Third in.", ends_on=timezone.localdate() + timedelta(days=30),
        )  # fmt: skip
        text = _text(client_for(coe_staff).get(reverse("governance:waiver-queue")))
        assert text.index("First in.") < text.index("Third in.")
        assert f'id="waiver-{first.pk}"' in text
        assert f'id="waiver-{third.pk}"' in text
        assert "Ends in 9 days" in text  # the approved error-rate waiver
        assert "Ends in 60 days" not in text  # data-retention: not within 14 days

    def test_a_past_end_date_keeps_what_was_typed(self, client_for, team_member, workload, policies) -> None:
        review = control(policies["oversight"], "human-review")
        url = reverse("governance:waiver-request", args=[workload.slug, review.pk])
        yesterday = _in_days(-1)
        response = client_for(team_member).post(
            url, {"justification": "Reviewer on leave.", "compensating_controls": "Spot checks.", "ends_on": yesterday}
        )
        assert response.status_code == 200
        text = _text(response)
        assert "The end date must be in the future." in text
        assert "Reviewer on leave.</textarea>" in text
        assert "Spot checks.</textarea>" in text
        assert f'value="{yesterday}"' in text
        assert not Waiver.objects.exists()

    def test_the_date_input_starts_tomorrow(self, client_for, team_member, workload, policies) -> None:
        review = control(policies["oversight"], "human-review")
        text = _text(client_for(team_member).get(reverse("governance:waiver-request", args=[workload.slug, review.pk])))
        assert 'type="date"' in text
        assert f'min="{_in_days(1)}"' in text

    def test_a_second_request_is_refused_by_the_service(self, client_for, team_member, workload, policies) -> None:
        review = control(policies["oversight"], "human-review")
        url = reverse("governance:waiver-request", args=[workload.slug, review.pk])
        data = {"justification": "Because.", "ends_on": _in_days(20)}
        client_for(team_member).post(url, data)
        response = client_for(team_member).post(url, data)
        assert response.status_code == 200
        assert "There is already an open or approved waiver for this control." in _text(response)
        assert Waiver.objects.count() == 1

    @staticmethod
    def _requested(workload: Workload, states: dict[str, PolicyVersion]) -> Waiver:
        return services.waiver_request(
            actor=None, workload=workload, control=control(states["oversight"], "latency"),
            justification="Provider is slow this month.", ends_on=timezone.localdate() + timedelta(days=20),
        )  # fmt: skip


# --- Approving high-risk releases ----------------------------------------------------------------


class TestApprovals:
    def test_queue_approve_and_the_gate_no_longer_asks(self, client_for, coe_staff, workload, states, draft) -> None:
        assert any("have not approved release 1.0.0" in p for p in gates.problems(draft, None))
        coe = client_for(coe_staff)
        text = _text(coe.get(reverse("governance:approval-queue")))
        for shown in ("Claims Triage", "Release 1.0.0", "GPT-4o mini"):
            assert shown in text
        assert "CoE staff have not approved release 1.0.0 (high-risk workload)." in text
        assert "“Latency within objective” is failing." in text

        response = coe.post(reverse("governance:release-approve", args=[draft.pk]), {"comment": "Looks fine."})
        assert response.status_code == 302
        assert response["Location"] == reverse("governance:approval-queue")
        assert _messages(response)[0].startswith("Release 1.0.0 of Claims Triage is approved.")
        approval = ReleaseApproval.objects.get(release=draft)
        assert (approval.approved_by, approval.comment) == (coe_staff, "Looks fine.")
        problems = gates.problems(draft, None)
        assert not any("have not approved" in p for p in problems)
        assert any("is failing" in p for p in problems)  # the controls still gate it
        text = _text(coe.get(reverse("governance:approval-queue")))
        assert "Approved</span>" in text
        assert "Looks fine." in text

    def test_an_unsafe_next_is_ignored(self, client_for, coe_staff, workload, draft) -> None:
        url = reverse("governance:release-approve", args=[draft.pk])
        response = client_for(coe_staff).post(url, {"next": "https://evil.example/"}, headers=HTMX)
        assert response["HX-Redirect"] == reverse("governance:approval-queue")

    def test_approving_twice_says_so(self, client_for, coe_staff, workload, draft) -> None:
        url = reverse("governance:release-approve", args=[draft.pk])
        client_for(coe_staff).post(url)
        response = client_for(coe_staff).post(url)
        assert _messages(response) == ["Release 1.0.0 of Claims Triage was already approved."]
        assert ReleaseApproval.objects.count() == 1

    def test_only_drafts_of_running_high_risk_workloads_wait(
        self, client_for, coe_staff, team_member, workload, other_workload, model, draft
    ) -> None:
        low = registry.release_create(actor=None, workload=other_workload, version="9.9.9", ai_models=[model])
        text = _text(client_for(coe_staff).get(reverse("governance:approval-queue")))
        assert f'id="release-{draft.pk}"' in text
        assert f'id="release-{low.pk}"' not in text
        registry.workload_retire(actor=team_member, workload=workload)
        text = _text(client_for(coe_staff).get(reverse("governance:approval-queue")))
        assert "No draft release of a high-risk workload is waiting." in text


# --- The compliance matrix --------------------------------------------------------------------------


class TestMatrix:
    @pytest.mark.parametrize("persona", ["coe_staff", "leader"])
    def test_cells_per_workload_and_policy(
        self, request, client_for, workload, other_workload, states, persona
    ) -> None:
        response = client_for(request.getfixturevalue(persona)).get(reverse("governance:compliance-matrix"))
        assert response.status_code == 200
        text = _text(response)
        for title in ("Human oversight", "Cost control", "Chatbot disclosure"):
            assert title in text
        # Claims Triage: oversight 2 of 5 (attested, waived), cost 1 of 1, disclosure does not apply.
        row = text[text.index(">Claims Triage</a>") : text.index("</tr>", text.index(">Claims Triage</a>"))]
        assert "3/6 · 50 %" in row
        assert ">2/5<" in row
        assert ">1/1<" in row
        assert '—<span class="visually-hidden"> none applies</span>' in row
        # The summary row: share of workloads on the page fully compliant per policy.
        assert "Fully compliant" in text
        assert "0 of 1 · 0 %" in text  # oversight: Claims Triage only, not fully compliant

    def test_team_members_are_refused(self, client_for, team_member) -> None:
        assert client_for(team_member).get(reverse("governance:compliance-matrix")).status_code == 403

    def test_filters_in_place_with_htmx(self, client_for, leader, workload, other_workload, states) -> None:
        url = reverse("governance:compliance-matrix")
        response = client_for(leader).get(url, {"risk_tier": "minimal"}, headers=HTMX)
        text = _text(response)
        assert text.strip().startswith('<div id="compliance-matrix">')
        assert "Lunch Menu Bot" in text
        assert "Claims Triage" not in text
        assert "1 workload matches the filters" in text

    def test_retired_workloads_are_left_out(self, client_for, coe_staff, team_member, workload, states) -> None:
        registry.workload_retire(actor=team_member, workload=workload)
        text = _text(client_for(coe_staff).get(reverse("governance:compliance-matrix")))
        assert "Claims Triage" not in text


# --- Who may change: every change page refuses another team and leadership ----------------------


CHANGE_PAGES = ["attest", "waiver-request", "waiver-decide", "release-approve"]


@pytest.mark.parametrize("persona", ["other_team_member", "leader"])
@pytest.mark.parametrize("page", CHANGE_PAGES)
def test_change_pages_refuse_another_team_and_leadership(
    request, client_for, workload, states, draft, team_member, persona, page
) -> None:
    oversight = states["oversight"]
    waiver = services.waiver_request(
        actor=team_member, workload=workload, control=control(oversight, "latency"),
        justification="Slow month.", ends_on=timezone.localdate() + timedelta(days=5),
    )  # fmt: skip
    args = {
        "attest": [workload.slug, control(oversight, "human-review").pk],
        "waiver-request": [workload.slug, control(oversight, "error-rate").pk],
        "waiver-decide": [waiver.pk],
        "release-approve": [draft.pk],
    }[page]
    data = {"answer": "x", "justification": "x", "ends_on": _in_days(5), "decision": "approve", "comment": "x"}
    client = client_for(request.getfixturevalue(persona))
    assert client.post(reverse(f"governance:{page}", args=args), data).status_code == 403
    assert Attestation.objects.filter(control__key="human-review").count() == 0
    assert Waiver.objects.get(pk=waiver.pk).status == Waiver.Status.REQUESTED
    assert not ReleaseApproval.objects.exists()


# --- Home-page cards -----------------------------------------------------------------------------


def _cards(user: User) -> dict[str, attention.AttentionCard]:
    request = RequestFactory().get("/")
    request.user = user
    return {card.title: card for card in attention.cards_for(request)}


class TestHomeCards:
    def test_coe_staff_see_waivers_and_releases_to_decide(self, coe_staff, workload, states, draft) -> None:
        TestWaivers._requested(workload, states)
        cards = _cards(coe_staff)
        waivers = cards["Waivers to decide"]
        assert [item.text for item in waivers.items] == ["Claims Triage: Latency within objective"]
        assert waivers.link_url == reverse("governance:waiver-queue")
        assert waivers.link_text == "Decide 1 waiver"
        releases = cards["High-risk releases awaiting approval"]
        assert [item.text for item in releases.items] == ["Claims Triage 1.0.0"]
        services.release_approve(actor=coe_staff, release=draft)
        assert _cards(coe_staff)["High-risk releases awaiting approval"].items == []
        assert "Controls to attest" not in cards

    def test_team_members_see_their_workloads_with_attestations_due(
        self, team_member, other_team_member, leader, workload, other_workload, states
    ) -> None:
        card = _cards(team_member)["Controls to attest"]
        assert [(i.text, i.url, i.meta) for i in card.items] == [
            ("Claims Triage", _tab(workload), "1 control to attest")
        ]
        assert "Waivers to decide" not in _cards(team_member)
        # Lunch Menu Bot: the three oversight attestations, and "Tell users it is AI" for minimal risk.
        assert [i.meta for i in _cards(other_team_member)["Controls to attest"].items] == ["4 controls to attest"]
        assert "Controls to attest" not in _cards(leader)

    def test_attestations_due_agrees_with_compliance(
        self, coe_staff, team_member, workload, other_workload, policies
    ) -> None:
        oversight = policies["oversight"]
        services.attest(actor=team_member, workload=workload, control=control(oversight, "human-review"), answer="Yes.")
        _policy(coe_staff, "Human oversight",
                [{**c, "statement": "Stricter."} if c["key"] == "incident-runbook" else c for c in OVERSIGHT],
                number="2.0.0")  # fmt: skip
        due = home.attestations_due([workload, other_workload])
        for w in (workload, other_workload):
            expected = sum(s.state == State.ATTESTATION_DUE for s in services.compliance(workload=w).statuses)
            assert due.get(w.pk, 0) == expected
        assert due[workload.pk] == 2  # incident-runbook changed, data-retention never attested

"""The policy pages: what each shows, what each changes, and who is refused.

Plain access for every persona is in the permission matrix (tests/governance/access_pages.py);
these tests check behaviour. State is built through the governance services, as the pages build it.
"""

from __future__ import annotations

import re
from datetime import date
from decimal import Decimal
from html.parser import HTMLParser

import pytest
from django.contrib.messages import get_messages
from django.http import HttpResponse
from django.urls import reverse

from apps.accounts.models import User
from apps.core.models import VersionState
from apps.governance import services
from apps.governance.models import Control, Policy, PolicyVersion

pytestmark = pytest.mark.django_db

HTMX = {"HX-Request": "true"}
XSS_PAYLOADS = [
    "<script>alert(1)</script>",
    "<img src=x onerror=alert(1)>",
    "[x](javascript:alert(1))",
]


def _messages(response: HttpResponse) -> list[str]:
    return [str(m) for m in get_messages(response.wsgi_request)]


def _text(response: HttpResponse) -> str:
    return response.content.decode()


def _url(name: str, *args: str) -> str:
    return reverse(f"governance:{name}", args=args)


def _titles(response: HttpResponse) -> list[str]:
    return [row.policy.title for row in response.context["rows"]]


class _Collector(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.elements: list[tuple[str, dict[str, str | None]]] = []
        self.in_script = False
        self.script_text = ""

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.elements.append((tag, dict(attrs)))
        self.in_script = tag == "script"

    def handle_endtag(self, tag: str) -> None:
        self.in_script = False

    def handle_data(self, data: str) -> None:
        if self.in_script:
            self.script_text += data


def assert_safe(html: str) -> None:
    """What a browser would build: no inline script, no foreign element, no handler, no javascript: link."""
    collector = _Collector()
    collector.feed(html)
    assert not collector.script_text.strip(), collector.script_text
    for tag, attrs in collector.elements:
        assert tag not in {"img", "iframe"}, (tag, attrs)
        if tag == "script":
            assert (attrs.get("src") or "").startswith("/static/"), attrs
        for name, value in attrs.items():
            assert not name.startswith("on"), (tag, name, value)
            assert not (value or "").strip().lower().startswith("javascript:"), (tag, name, value)


# --- State ---------------------------------------------------------------------------------------


@pytest.fixture
def oversight(coe_staff: User) -> Policy:
    """Human oversight: 1.0.0 published and current (an attestation for high-risk, confidential or
    restricted workloads; an automated latency check for all), and a 1.1.0 draft copying them."""
    policy = services.policy_create(actor=coe_staff, title="Human oversight", category="security_governance",
                                    summary="People stay in charge of decisions.", tags=["oversight"])  # fmt: skip
    v1 = services.policy_version_create(
        actor=coe_staff, policy=policy, number="1.0.0", body="# Oversight\n\nA person decides.",
        changelog="First version.", effective_date=date(2025, 7, 1),
        framework_refs=[{"framework": "eu_ai_act", "reference": "Art. 14"},
                        {"framework": "nist_ai_rmf", "reference": "GOVERN 1.2"}],
    )  # fmt: skip
    services.control_add(actor=coe_staff, version=v1, key="human-review", title="Human review",
                         statement="A person reviews every decision.", rationale="Accountability.",
                         kind="attestation", risk_tiers=["high"],
                         data_classifications=["confidential", "restricted"], attestation_valid_days=180)  # fmt: skip
    services.control_add(actor=coe_staff, version=v1, key="latency", title="Latency within objective",
                         statement="p95 latency stays within 2 seconds.", kind="automated",
                         metric="p95_latency_ms", operator="<=", threshold=Decimal("2000"))  # fmt: skip
    services.policy_version_publish(actor=coe_staff, version=v1)
    services.policy_version_create(actor=coe_staff, policy=policy, number="1.1.0", body="# Oversight\n\nSecret draft.",
                                   changelog="Work in progress.", copy_controls_from=v1)  # fmt: skip
    return policy


@pytest.fixture
def unfinished(coe_staff: User) -> Policy:
    """A policy with only an empty draft."""
    policy = services.policy_create(actor=coe_staff, title="Cost ceilings", category="cost", summary="Spend caps.")
    services.policy_version_create(actor=coe_staff, policy=policy, number="1.0.0", body="# Caps")
    return policy


def _version(policy: Policy, number: str) -> PolicyVersion:
    return policy.versions.get(number=number)


# --- The policy list -----------------------------------------------------------------------------


class TestPolicyList:
    def test_it_lists_policies_with_their_current_version(self, client_for, team_member, oversight) -> None:
        response = client_for(team_member).get(_url("policy-list"))
        assert response.status_code == 200
        text = _text(response)
        assert _url("policy-detail", oversight.slug) in text
        assert "Human oversight" in text
        assert "Security and governance" in text
        assert "1.0.0" in text
        assert "effective" in text
        assert "1 Jul 2025" in text
        assert response.context["rows"][0].current.control_count == 2
        assert "EU AI Act Art. 14" in text
        assert "NIST AI RMF GOVERN 1.2" in text
        assert "1.1.0" not in text  # the draft is the CoE's
        assert "New policy" not in text

    def test_policies_with_only_drafts_are_the_coes(self, client_for, team_member, coe_staff, oversight,
                                                    unfinished) -> None:  # fmt: skip
        assert _titles(client_for(team_member).get(_url("policy-list"))) == ["Human oversight"]
        coe = client_for(coe_staff).get(_url("policy-list"))
        assert _titles(coe) == ["Cost ceilings", "Human oversight"]
        assert "No published version" in _text(coe)
        assert _url("policy-create") in _text(coe)
        assert client_for(team_member).get(_url("policy-detail", unfinished.slug)).status_code == 404

    def test_search_and_category_filter(self, client_for, coe_staff, oversight, unfinished) -> None:
        client = client_for(coe_staff)
        assert _titles(client.get(_url("policy-list"), {"q": "in charge"})) == ["Human oversight"]
        assert _titles(client.get(_url("policy-list"), {"q": "ceilings"})) == ["Cost ceilings"]
        assert _titles(client.get(_url("policy-list"), {"category": "cost"})) == ["Cost ceilings"]
        response = client.get(_url("policy-list"), {"q": "nothing like this"})
        assert "No policy matches these filters" in _text(response)

    def test_htmx_gets_only_the_results(self, client_for, team_member, oversight) -> None:
        response = client_for(team_member).get(_url("policy-list"), {"q": "oversight"}, headers=HTMX)
        text = _text(response)
        assert text.lstrip().startswith('<div id="policy-results">')
        assert "<html" not in text
        assert "Human oversight" in text
        assert "HX-Request" in response["Vary"]

    def test_the_whole_page_filters_in_place(self, client_for, team_member) -> None:
        text = _text(client_for(team_member).get(_url("policy-list")))
        assert 'hx-push-url="true"' in text
        assert 'hx-target="#policy-results"' in text
        assert "No policies yet" in text

    def test_the_nav_marks_policies(self, client_for, team_member, oversight) -> None:
        for url in (_url("policy-list"), _url("policy-detail", oversight.slug)):
            text = _text(client_for(team_member).get(url))
            assert f'<a href="{_url("policy-list")}" aria-current="page">Policies</a>' in text


# --- Creating a policy, its versions and controls ------------------------------------------------


class TestCreating:
    def test_the_whole_flow(self, client_for, coe_staff, team_member) -> None:
        """Create a policy → write 1.0.0 → add a control → publish → everyone reads it."""
        coe = client_for(coe_staff)
        response = coe.post(_url("policy-create"), {"title": "Model access", "category": "security_governance",
                                                    "summary": "Who may call which model.",
                                                    "tags": "access, Models"})  # fmt: skip
        policy = Policy.objects.get(title="Model access")
        assert response["Location"] == _url("version-create", policy.slug)
        assert sorted(t.name for t in policy.tags.all()) == ["access", "models"]
        form = _text(coe.get(response["Location"]))
        assert 'value="1.0.0"' in form
        assert "copy_controls" not in form  # nothing to copy yet
        assert reverse("library:markdown-preview") in form

        response = coe.post(_url("version-create", policy.slug), {
            "number": "1.0.0", "body": "# Access\n\nOnly approved models.", "changelog": "First.",
            "effective_date": "2025-09-01", "framework_refs": "EU AI Act: Art. 15\nISO/IEC 42001 Annex A: A.6.2\n",
        })  # fmt: skip
        assert response["Location"] == _url("version-detail", policy.slug, "1.0.0")
        version = _version(policy, "1.0.0")
        assert version.state == VersionState.DRAFT
        assert version.effective_date == date(2025, 9, 1)
        assert version.framework_refs == [{"framework": "eu_ai_act", "reference": "Art. 15"},
                                          {"framework": "iso_42001", "reference": "A.6.2"}]  # fmt: skip

        response = coe.post(_url("control-create", policy.slug, "1.0.0"), {
            "key": "approved-models", "title": "Approved models only", "statement": "Use approved models.",
            "kind": "attestation", "risk_tiers": ["high", "limited"], "data_classifications": ["restricted"],
            "attestation_valid_days": "90",
        })  # fmt: skip
        assert response["Location"] == _url("version-detail", policy.slug, "1.0.0")
        control = version.controls.get()
        assert control.risk_tiers == ["limited", "high"]
        assert control.lifecycle_stages == []
        assert control.attestation_valid_days == 90

        response = coe.post(_url("version-publish", policy.slug, "1.0.0"))
        assert response["Location"] == _url("policy-detail", policy.slug)
        assert "published and current" in " ".join(_messages(response))

        text = _text(client_for(team_member).get(_url("policy-detail", policy.slug)))
        assert "Only approved models." in text
        assert "Approved models only" in text
        assert "Use approved models." in text
        assert "limited, high risk; restricted data; all stages" in text
        assert "90 days" in text
        assert "EU AI Act Art. 15" in text
        assert "ISO/IEC 42001 Annex A A.6.2" in text
        assert "1 Sep 2025" in text

    def test_a_taken_title_is_reported_on_its_field(self, client_for, coe_staff, oversight) -> None:
        response = client_for(coe_staff).post(_url("policy-create"), {
            "title": "Human Oversight", "category": "cost", "summary": "Again.",
        })  # fmt: skip
        assert response.status_code == 200
        assert response.context["form"].errors["title"] == ["Choose another title."]
        assert 'value="Human Oversight"' in _text(response)
        assert Policy.objects.count() == 1

    def test_a_new_version_suggests_a_number_and_copies_the_controls(self, client_for, coe_staff,
                                                                       oversight) -> None:  # fmt: skip
        coe = client_for(coe_staff)
        text = _text(coe.get(_url("version-create", oversight.slug)))
        assert 'value="1.2.0"' in text  # above the 1.1.0 draft
        assert "Copy the controls of version 1.0.0" in text
        assert re.search(r'<input type="checkbox" name="copy_controls"[^>]* checked>', text)
        assert "EU AI Act: Art. 14" in text  # the references of the current version, to edit
        response = coe.post(_url("version-create", oversight.slug), {
            "number": "2.0.0", "body": "# v2", "framework_refs": "eu_ai_act: Art. 14", "copy_controls": "on",
        })  # fmt: skip
        assert response.status_code == 302
        assert sorted(_version(oversight, "2.0.0").controls.values_list("key", flat=True)) == [
            "human-review",
            "latency",
        ]
        assert "with 2 controls of 1.0.0" in " ".join(_messages(response))
        coe.post(_url("version-create", oversight.slug), {"number": "3.0.0", "body": "# v3"})
        assert not _version(oversight, "3.0.0").controls.exists()

    def test_bad_framework_lines_are_reported_and_input_kept(self, client_for, coe_staff, oversight) -> None:
        response = client_for(coe_staff).post(_url("version-create", oversight.slug), {
            "number": "2.0.0", "body": "# v2", "framework_refs": "EU AI Act: Art. 14\nGDPR: Art. 22\nno colon here",
        })  # fmt: skip
        assert response.status_code == 200
        errors = response.context["form"].errors["framework_refs"]
        assert errors[0].startswith("Line 2: “GDPR” is not a framework the portal knows. Use one of: NIST AI RMF")
        assert errors[1].startswith("Line 3: write “framework: reference”")
        assert "GDPR: Art. 22" in _text(response)
        assert not oversight.versions.filter(number="2.0.0").exists()

    def test_a_number_not_above_the_latest_is_refused_on_its_field(self, client_for, coe_staff, oversight) -> None:
        response = client_for(coe_staff).post(_url("version-create", oversight.slug), {"number": "1.0.5"})
        assert response.status_code == 200
        assert "Use a number above 1.1.0" in response.context["form"].errors["number"][0]

    def test_the_preview_button_saves_nothing(self, client_for, coe_staff, oversight) -> None:
        response = client_for(coe_staff).post(_url("version-create", oversight.slug), {
            "number": "2.0.0", "body": "**bold**", "preview": "1",
        })  # fmt: skip
        assert response.status_code == 200
        assert "<strong>bold</strong>" in _text(response)
        assert not oversight.versions.filter(number="2.0.0").exists()


class TestControls:
    def test_an_automated_check_needs_its_threshold(self, client_for, coe_staff, oversight) -> None:
        url = _url("control-create", oversight.slug, "1.1.0")
        response = client_for(coe_staff).post(url, {
            "key": "errors", "title": "Error rate", "statement": "Few errors.", "kind": "automated",
            "metric": "error_rate", "operator": "<=", "threshold_source": "fixed", "window_days": "14",
        })  # fmt: skip
        assert response.status_code == 200
        form = response.context["form"]
        assert form.errors["threshold"] == ["Give a threshold, or take it from the workload's own objective or budget."]
        text = _text(response)
        assert 'value="Error rate"' in text
        assert 'value="14"' in text
        response = client_for(coe_staff).post(url, {
            "key": "errors", "title": "Error rate", "statement": "Few errors.", "kind": "automated",
            "metric": "error_rate", "operator": "<=", "threshold": "0.02", "threshold_source": "fixed",
            "window_days": "14", "attestation_valid_days": "30",
        })  # fmt: skip
        assert response.status_code == 302
        control = _version(oversight, "1.1.0").controls.get(key="errors")
        assert control.describe_check() == "error_rate <= 0.02 over 14 days"
        assert control.attestation_valid_days is None  # a field of the other kind is not kept

    def test_a_key_taken_in_the_version_is_refused(self, client_for, coe_staff, oversight) -> None:
        response = client_for(coe_staff).post(_url("control-create", oversight.slug, "1.1.0"), {
            "key": "latency", "title": "Again", "statement": "x", "kind": "attestation",
        })  # fmt: skip
        assert response.context["form"].errors["key"] == ["Use another key."]

    def test_edit_a_control_of_a_draft(self, client_for, coe_staff, oversight) -> None:
        coe = client_for(coe_staff)
        url = _url("control-edit", oversight.slug, "1.1.0", "latency")
        form = _text(coe.get(url))
        assert 'value="2000"' in form
        assert 'name="key"' not in form
        response = coe.post(url, {
            "title": "Latency within objective", "statement": "p95 within the workload's objective.",
            "kind": "automated", "metric": "p95_latency_ms", "operator": "<=",
            "threshold_source": "objective_p95_latency_ms", "window_days": "7", "lifecycle_stages": ["production"],
        })  # fmt: skip
        assert response["Location"] == _url("version-detail", oversight.slug, "1.1.0")
        control = _version(oversight, "1.1.0").controls.get(key="latency")
        assert control.threshold_source == "objective_p95_latency_ms"
        assert control.lifecycle_stages == ["production"]
        page = _text(coe.get(response["Location"]))
        assert "p95_latency_ms &lt;= the workload&#x27;s p95 latency objective over 7 days" in page
        assert "all risk tiers; all data; production stage" in page

    def test_controls_of_a_published_version_do_not_change(self, client_for, coe_staff, oversight) -> None:
        coe = client_for(coe_staff)
        response = coe.get(_url("control-edit", oversight.slug, "1.0.0", "latency"))
        assert response.status_code == 200
        assert "Version 1.0.0 is published, so its controls cannot change." in _text(response)
        assert coe.post(_url("control-create", oversight.slug, "1.0.0"), {"title": "x"}).status_code == 409
        assert _version(oversight, "1.0.0").controls.count() == 2

    def test_an_unknown_control_is_not_there(self, client_for, coe_staff, oversight) -> None:
        assert client_for(coe_staff).get(_url("control-edit", oversight.slug, "1.1.0", "nope")).status_code == 404


# --- Reading -------------------------------------------------------------------------------------


class TestPolicyDetail:
    def test_everyone_reads_the_current_version_and_its_controls(self, client_for, team_member, oversight) -> None:
        response = client_for(team_member).get(_url("policy-detail", oversight.slug))
        text = _text(response)
        assert "People stay in charge of decisions." in text
        assert "<h1>Oversight</h1>" in text  # the body, rendered
        assert "1 Jul 2025" in text
        assert "EU AI Act Art. 14" in text
        assert "Human review" in text
        assert "A person reviews every decision." in text
        assert "Accountability." in text
        assert "high risk; confidential, restricted data; all stages" in text
        assert "180 days" in text
        assert "p95_latency_ms &lt;= 2000 over 7 days" in text
        assert "all risk tiers; all data; all stages" in text
        assert [v.number for v in response.context["versions"]] == ["1.0.0"]
        assert "Secret draft" not in text
        assert _url("version-create", oversight.slug) not in text
        assert _url("version-publish", oversight.slug, "1.1.0") not in text

    def test_coe_staff_see_drafts_and_their_actions(self, client_for, coe_staff, oversight) -> None:
        response = client_for(coe_staff).get(_url("policy-detail", oversight.slug))
        text = _text(response)
        assert [v.number for v in response.context["versions"]] == ["1.1.0", "1.0.0"]
        assert _url("version-create", oversight.slug) in text
        assert f'action="{_url("version-publish", oversight.slug, "1.1.0")}"' in text
        assert _url("version-diff", oversight.slug) in text  # the compare form


class TestVersionDetail:
    def test_a_draft_is_not_there_for_teams(self, client_for, team_member, leader, oversight) -> None:
        for user in (team_member, leader):
            assert client_for(user).get(_url("version-detail", oversight.slug, "1.1.0")).status_code == 404
        assert client_for(team_member).get(_url("version-detail", oversight.slug, "1.0.0")).status_code == 200

    def test_coe_staff_edit_a_draft_from_its_page(self, client_for, coe_staff, oversight) -> None:
        text = _text(client_for(coe_staff).get(_url("version-detail", oversight.slug, "1.1.0")))
        assert "Secret draft." in text
        assert "Add a control" in text
        assert _url("control-create", oversight.slug, "1.1.0") in text
        assert _url("control-edit", oversight.slug, "1.1.0", "human-review") in text
        assert 'hx-confirm="Publish version 1.1.0 of “Human oversight”?' in text

    def test_a_published_version_has_no_edit_links(self, client_for, coe_staff, oversight) -> None:
        text = _text(client_for(coe_staff).get(_url("version-detail", oversight.slug, "1.0.0")))
        assert "Human review" in text
        assert _url("control-edit", oversight.slug, "1.0.0", "human-review") not in text
        assert _url("version-publish", oversight.slug, "1.0.0") not in text


class TestPublishing:
    def test_publishing_without_controls_is_refused(self, client_for, coe_staff, unfinished) -> None:
        coe = client_for(coe_staff)
        response = coe.post(_url("version-publish", unfinished.slug, "1.0.0"))
        assert response["Location"] == _url("version-detail", unfinished.slug, "1.0.0")
        assert _messages(response) == [
            "Version 1.0.0 cannot be published: A policy version needs at least one control."
        ]
        assert _version(unfinished, "1.0.0").state == VersionState.DRAFT

    def test_a_refusal_goes_back_to_the_page_it_came_from(self, client_for, coe_staff, unfinished) -> None:
        detail = _url("policy-detail", unfinished.slug)
        response = client_for(coe_staff).post(_url("version-publish", unfinished.slug, "1.0.0"), {"next": detail})
        assert response["Location"] == detail
        elsewhere = client_for(coe_staff).post(_url("version-publish", unfinished.slug, "1.0.0"),
                                               {"next": "https://evil.example/"})  # fmt: skip
        assert elsewhere["Location"] == _url("version-detail", unfinished.slug, "1.0.0")

    def test_htmx_publishes_and_navigates(self, client_for, coe_staff, team_member, oversight) -> None:
        response = client_for(coe_staff).post(_url("version-publish", oversight.slug, "1.1.0"), headers=HTMX)
        assert response.status_code == 200
        assert response["HX-Redirect"] == _url("policy-detail", oversight.slug)
        assert _version(oversight, "1.1.0").is_current
        assert "Secret draft." in _text(client_for(team_member).get(_url("policy-detail", oversight.slug)))

    def test_a_published_version_is_not_published_again(self, client_for, coe_staff, oversight) -> None:
        response = client_for(coe_staff).post(_url("version-publish", oversight.slug, "1.0.0"), headers=HTMX)
        assert response["HX-Redirect"] == _url("version-detail", oversight.slug, "1.0.0")
        assert "already" in " ".join(_messages(response))


class TestDiff:
    @pytest.fixture
    def changed(self, coe_staff: User, oversight: Policy) -> Policy:
        """1.1.0: human-review extended to limited risk with a shorter validity; latency removed;
        logging added; then published."""
        draft = _version(oversight, "1.1.0")
        services.control_update(actor=coe_staff, control=draft.controls.get(key="human-review"),
                                risk_tiers=["limited", "high"], attestation_valid_days=90,
                                rationale="Reworded.")  # fmt: skip
        draft.controls.get(key="latency").delete()
        services.control_add(actor=coe_staff, version=draft, key="logging", title="Decision logging",
                             statement="Decisions are logged.", kind="attestation")  # fmt: skip
        services.policy_version_publish(actor=coe_staff, version=draft)
        return oversight

    def test_the_controls_diff_says_what_to_attest_again(self, client_for, team_member, changed) -> None:
        response = client_for(team_member).get(_url("version-diff", changed.slug), {"from": "1.0.0", "to": "1.1.0"})
        assert response.status_code == 200
        diff = response.context["controls"]
        assert [row.control.key for row in diff.added] == ["logging"]
        assert [row.control.key for row in diff.removed] == ["latency"]
        assert [c.new.key for c in diff.changed] == ["human-review"]
        assert [f.label for f in diff.changed[0].fields] == ["Risk tiers", "Attestation valid for (days)"]
        text = _text(response)
        assert "1 added · 1 removed · 1 changed" in text
        assert "Changed: attest again" in text
        assert "Changed: risk tiers, attestation valid for (days)." in text
        assert "<del>high</del>" in text
        assert "<ins>limited, high</ins>" in text
        assert "<del>180</del>" in text
        assert "<ins>90</ins>" in text
        assert "Decision logging" in text
        # the text diff too
        assert response.context["changed"] == 1
        assert "<ins>Secret draft.</ins>" in text

    def test_the_same_controls_are_said_to_hold(self, client_for, coe_staff, oversight) -> None:
        response = client_for(coe_staff).get(_url("version-diff", oversight.slug), {"from": "1.0.0", "to": "1.1.0"})
        assert "The controls are the same." in _text(response)

    def test_a_rationale_change_alone_asks_for_nothing(self, client_for, coe_staff, oversight) -> None:
        draft = _version(oversight, "1.1.0")
        services.control_update(actor=coe_staff, control=draft.controls.get(key="human-review"), rationale="Why.")
        response = client_for(coe_staff).get(_url("version-diff", oversight.slug), {"from": "1.0.0", "to": "1.1.0"})
        diff = response.context["controls"]
        assert diff.changed == []
        assert [c.key for c in diff.reworded] == ["human-review"]

    def test_teams_cannot_compare_with_a_draft(self, client_for, team_member, oversight) -> None:
        response = client_for(team_member).get(_url("version-diff", oversight.slug), {"from": "1.0.0", "to": "1.1.0"})
        assert response.status_code == 404
        assert "There is no version 1.1.0 of this policy to compare." in _text(response)
        only_one = client_for(team_member).get(_url("version-diff", oversight.slug))
        assert "nothing to compare yet" in _text(only_one)

    def test_a_bad_number_is_a_bad_request(self, client_for, team_member, oversight) -> None:
        assert client_for(team_member).get(_url("version-diff", oversight.slug), {"to": "x"}).status_code == 400


# --- Who may write -----------------------------------------------------------------------------


COE_PAGES = [
    ("get", "policy-create", ()),
    ("post", "policy-create", ()),
    ("get", "version-create", ("human-oversight",)),
    ("post", "version-create", ("human-oversight",)),
    ("post", "version-publish", ("human-oversight", "1.1.0")),
    ("get", "control-create", ("human-oversight", "1.1.0")),
    ("post", "control-create", ("human-oversight", "1.1.0")),
    ("get", "control-edit", ("human-oversight", "1.1.0", "latency")),
    ("post", "control-edit", ("human-oversight", "1.1.0", "latency")),
]


@pytest.mark.parametrize("persona", ["team_member", "leader"], indirect=True)
@pytest.mark.parametrize(("method", "name", "args"), COE_PAGES)
def test_coe_pages_refuse_others(client_for, persona, oversight, method, name, args) -> None:
    response = getattr(client_for(persona), method)(_url(name, *args), {"title": "x", "number": "9.0.0"})
    assert response.status_code == 403
    assert Policy.objects.count() == 1
    assert not oversight.versions.filter(number="9.0.0").exists()
    assert _version(oversight, "1.1.0").state == VersionState.DRAFT


# --- Safety --------------------------------------------------------------------------------------


@pytest.mark.parametrize("payload", XSS_PAYLOADS)
def test_hostile_text_renders_harmless(client_for, coe_staff, team_member, oversight, payload) -> None:
    coe = client_for(coe_staff)
    response = coe.post(_url("version-create", oversight.slug), {
        "number": "2.0.0", "body": f"# Hostile\n\n{payload}", "changelog": payload, "copy_controls": "on",
    })  # fmt: skip
    assert response.status_code == 302
    version = _version(oversight, "2.0.0")
    response = coe.post(_url("control-create", oversight.slug, "2.0.0"), {
        "key": "hostile", "title": payload, "statement": payload, "rationale": payload, "kind": "attestation",
    })  # fmt: skip
    assert response.status_code == 302
    assert version.controls.get(key="hostile").statement == payload
    services.policy_version_publish(actor=coe_staff, version=version)
    pages = [
        _url("policy-list"),
        _url("policy-detail", oversight.slug),
        _url("version-detail", oversight.slug, "2.0.0"),
        _url("version-diff", oversight.slug) + "?from=1.0.0&to=2.0.0",
    ]
    for url in pages:
        for user in (team_member, coe_staff):
            response = client_for(user).get(url)
            assert response.status_code == 200, url
            assert_safe(_text(response))
    assert_safe(_text(coe.get(_url("control-edit", oversight.slug, "1.1.0", "latency"))))
    assert_safe(_text(coe.post(reverse("library:markdown-preview"), {"body": payload})))
    refused = coe.post(_url("version-create", oversight.slug), {"number": "bad", "body": payload, "changelog": payload})
    assert refused.status_code == 200
    assert_safe(_text(refused))
    assert Control.objects.filter(key="hostile").count() == 1

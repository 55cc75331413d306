"""The governance API: policies, versions and controls; compliance, attestations, waivers and
the release approval the high-risk gate asks for."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal
from typing import Any

import pytest
from django.utils import timezone
from rest_framework.test import APIClient

from apps.accounts import services as account_services
from apps.core.models import AuditEvent
from apps.governance import services
from apps.governance.models import Attestation, Control, Policy, ReleaseApproval, Waiver
from apps.registry import services as registry
from apps.registry.models import Release
from tests.registry.factories import AIModelFactory

pytestmark = pytest.mark.django_db

P = "/api/v1/policies/"
W = "/api/v1/waivers/"


def api(user=None) -> APIClient:  # type: ignore[no-untyped-def]
    client = APIClient()
    if user is not None:
        client.force_authenticate(user)
    return client


def in_days(days: int) -> str:
    return (timezone.localdate() + timedelta(days=days)).isoformat()


@pytest.fixture
def model():
    return AIModelFactory(model_id="gpt-4o-mini", display_name="GPT-4o mini")


@pytest.fixture
def workload(team, team_member, model):
    """High-risk and in production, with a p95 latency objective of 2000 ms."""
    return registry.workload_register(
        actor=team_member, team=team, name="Claims Triage", ai_models=[model], risk_tier="high",
        lifecycle_stage="production", objective_p95_latency_ms=2000, monthly_budget=Decimal("1000"),
    )  # fmt: skip


@pytest.fixture
def other_workload(other_team, other_team_member, model):
    return registry.workload_register(actor=other_team_member, team=other_team, name="Service Bot",
                                      ai_models=[model], risk_tier="high")  # fmt: skip


REVIEW = {"key": "human-review", "title": "Human review", "statement": "A person reviews every decision.",
          "kind": "attestation", "risk_tiers": ["high"]}  # fmt: skip
LATENCY = {"key": "latency", "title": "Latency within objective", "statement": "p95 meets the objective.",
           "kind": "automated", "metric": "p95_latency_ms", "operator": "<=",
           "threshold_source": "objective_p95_latency_ms"}  # fmt: skip


def create_published(coe) -> str:  # type: ignore[no-untyped-def]
    """Through the API: a policy with v1.0.0 (an attestation for high-risk, an automated check), published."""
    client = api(coe)
    response = client.post(P, {"title": "Human oversight", "category": "security_governance",
                               "summary": "People stay in charge.", "tags": ["oversight"]})  # fmt: skip
    assert response.status_code == 201, response.json()
    slug = response.json()["slug"]
    assert response.json()["current_version"] is None
    response = client.post(f"{P}{slug}/versions/", {
        "number": "1.0.0", "body": "# Human oversight", "effective_date": in_days(30),
        "framework_refs": [{"framework": "eu_ai_act", "reference": "Art. 14"}],
    })  # fmt: skip
    assert response.status_code == 201, response.json()
    assert response.json()["state"] == "draft"
    for control in (REVIEW, LATENCY):
        response = client.post(f"{P}{slug}/versions/1.0.0/controls/", control)
        assert response.status_code == 201, response.json()
    assert response.json()["check"] == "p95_latency_ms <= the workload's p95 latency objective over 7 days"
    response = client.post(f"{P}{slug}/versions/1.0.0/publish/")
    assert response.status_code == 200, response.json()
    assert (response.json()["state"], response.json()["is_current"]) == ("published", True)
    assert [c["key"] for c in response.json()["controls"]] == ["human-review", "latency"]
    return slug


def attest(user, workload, policy: str, key: str = "human-review") -> Any:  # type: ignore[no-untyped-def]
    return api(user).post(f"/api/v1/workloads/{workload.slug}/attestations/", {
        "policy": policy, "control": key, "answer": "A claims handler reviews every triage decision.",
        "evidence_url": "https://wiki.example.com/claims/review",
    })  # fmt: skip


def states(user, workload) -> dict[str, str]:  # type: ignore[no-untyped-def]
    response = api(user).get(f"/api/v1/workloads/{workload.slug}/compliance/")
    assert response.status_code == 200, response.json()
    return {c["key"]: c["state"] for c in response.json()["controls"]}


class TestPolicies:
    def test_coe_writes_a_policy_and_everyone_reads_it(self, coe_staff, team_member) -> None:
        slug = create_published(coe_staff)
        body = api(team_member).get(f"{P}{slug}/").json()
        assert body["current_version"]["number"] == "1.0.0"
        assert body["tags"] == ["oversight"]
        assert api(team_member).get(P, {"q": "oversight"}).json()["count"] == 1
        assert api(team_member).get(P, {"category": "cost"}).json()["count"] == 0
        version = api(team_member).get(f"{P}{slug}/versions/1.0.0/").json()
        assert version["framework_refs"] == [{"framework": "eu_ai_act", "reference": "Art. 14"}]
        assert version["controls"][0]["risk_tiers"] == ["high"]
        control = api(team_member).get(f"{P}{slug}/versions/1.0.0/controls/latency/").json()
        assert control["kind"] == "automated"

    def test_drafts_are_the_coes(self, coe_staff, team_member) -> None:
        slug = create_published(coe_staff)
        api(coe_staff).post(P, {"title": "Unpublished", "category": "cost", "summary": "Later."})
        response = api(coe_staff).post(f"{P}{slug}/versions/", {"number": "1.1.0", "copy_controls": True})
        assert [c["key"] for c in response.json()["controls"]] == ["human-review", "latency"]
        assert api(coe_staff).get(P).json()["count"] == 2
        assert api(team_member).get(P).json()["count"] == 1
        assert api(team_member).get(f"{P}unpublished/").status_code == 404
        assert [v["number"] for v in api(team_member).get(f"{P}{slug}/versions/").json()["results"]] == ["1.0.0"]
        assert [v["number"] for v in api(coe_staff).get(f"{P}{slug}/versions/").json()["results"]] == [
            "1.1.0", "1.0.0",
        ]  # fmt: skip
        assert api(team_member).get(f"{P}{slug}/versions/1.1.0/").status_code == 404
        assert api(team_member).get(f"{P}{slug}/versions/1.1.0/controls/").status_code == 404

    def test_writes_by_anyone_else_are_refused(self, coe_staff, team_member) -> None:
        slug = create_published(coe_staff)
        client = api(team_member)
        assert client.post(P, {"title": "Mine", "category": "cost", "summary": "x"}).status_code == 403
        assert client.post(f"{P}{slug}/versions/", {"number": "2.0.0"}).status_code == 403
        assert client.post(f"{P}{slug}/versions/1.0.0/publish/").status_code == 403
        assert client.post(f"{P}{slug}/versions/1.0.0/controls/", REVIEW).status_code == 403
        assert client.patch(f"{P}{slug}/versions/1.0.0/controls/latency/", {"title": "x"}).status_code == 403
        assert Policy.objects.count() == 1
        assert Control.objects.count() == 2

    def test_bad_input_names_its_fields(self, coe_staff) -> None:
        slug = create_published(coe_staff)
        client = api(coe_staff)
        response = client.post(P, {"title": "", "category": "nonsense"})
        assert {"title", "category", "summary"} <= response.json().keys()
        response = client.post(P, {"title": "Human oversight", "category": "cost", "summary": "Again."})
        assert (response.status_code, list(response.json())) == (400, ["detail", "title"])
        response = client.post(f"{P}{slug}/versions/", {"number": "0.9.0"})
        assert response.status_code == 400
        assert "number" in response.json()
        response = client.post(f"{P}{slug}/versions/", {"number": "2.0.0", "framework_refs": [{"framework": "x"}]})
        assert response.status_code == 400
        assert "framework_refs" in response.json()
        client.post(P, {"title": "Cost caps", "category": "cost", "summary": "Spend less."})
        response = client.post(f"{P}cost-caps/versions/", {"number": "1.0.0", "copy_controls": True})
        assert response.status_code == 400
        assert "copy_controls" in response.json()
        client.post(f"{P}{slug}/versions/", {"number": "1.1.0", "copy_controls": True})
        cost = {"title": "Cost", "statement": "Within budget.", "kind": "automated"}
        response = client.post(f"{P}{slug}/versions/1.1.0/controls/", {**cost, "risk_tiers": ["huge"]})
        assert response.status_code == 400
        assert "risk_tiers" in response.json()
        response = client.post(f"{P}{slug}/versions/1.1.0/controls/", cost)
        assert response.status_code == 400
        assert {"metric", "operator", "threshold"} <= response.json().keys()
        response = client.post(f"{P}{slug}/versions/1.1.0/controls/", {**REVIEW, "kind": "manual"})
        assert response.status_code == 400
        assert "kind" in response.json()
        response = client.post(f"{P}{slug}/versions/1.1.0/controls/", REVIEW)
        assert response.status_code == 400
        assert "key" in response.json()
        response = client.post(f"{P}cost-caps/versions/", {"number": "1.0.0"})
        response = client.post(f"{P}cost-caps/versions/1.0.0/publish/")
        assert response.status_code == 400
        assert "body" in response.json()

    def test_a_published_versions_controls_never_change(self, coe_staff) -> None:
        slug = create_published(coe_staff)
        client = api(coe_staff)
        response = client.patch(f"{P}{slug}/versions/1.0.0/controls/human-review/", {"title": "Changed"})
        assert response.status_code == 400
        assert client.post(f"{P}{slug}/versions/1.0.0/controls/", {**REVIEW, "key": "new"}).status_code == 400
        assert client.post(f"{P}{slug}/versions/1.0.0/publish/").status_code == 400


class TestComplianceAndAttestation:
    def test_attest_then_a_changed_control_is_due_again(self, coe_staff, team_member, leader, workload) -> None:
        slug = create_published(coe_staff)
        assert states(team_member, workload) == {"human-review": "attestation_due", "latency": "not_evaluated"}
        response = attest(team_member, workload, slug)
        assert response.status_code == 201, response.json()
        assert (response.json()["policy"], response.json()["version"], response.json()["control"]) == (
            slug, "1.0.0", "human-review",
        )  # fmt: skip
        assert response.json()["attested_by"] == team_member.username
        body = api(leader).get(f"/api/v1/workloads/{workload.slug}/compliance/").json()
        assert body["workload"] == workload.slug
        assert body["score"] == 0.5
        assert body["counts"]["attested"] == 1
        assert body["counts"]["not_evaluated"] == 1
        review = next(c for c in body["controls"] if c["key"] == "human-review")
        assert review["attestation"]["answer"].startswith("A claims handler")
        assert (review["policy"], review["version"], review["kind"], review["waiver"]) == (
            slug, "1.0.0", "attestation", None,
        )  # fmt: skip
        listed = api(coe_staff).get(f"/api/v1/workloads/{workload.slug}/attestations/").json()
        assert listed["count"] == 1

        # A new version changes the control: the old answer no longer holds.
        client = api(coe_staff)
        client.post(f"{P}{slug}/versions/", {"number": "1.1.0", "body": "# Stricter", "changelog": "Stricter.",
                                             "copy_controls": True})  # fmt: skip
        response = client.patch(f"{P}{slug}/versions/1.1.0/controls/human-review/",
                                {"statement": "Two people review every decision."})  # fmt: skip
        assert response.status_code == 200, response.json()
        assert client.post(f"{P}{slug}/versions/1.1.0/publish/").status_code == 200
        body = api(team_member).get(f"/api/v1/workloads/{workload.slug}/compliance/").json()
        review = next(c for c in body["controls"] if c["key"] == "human-review")
        assert (review["state"], review["version"]) == ("attestation_due", "1.1.0")
        assert "changed in v1.1.0" in review["detail"]

    def test_automated_results_show_their_evidence(self, coe_staff, team_member, workload) -> None:
        create_published(coe_staff)
        services.check_record(workload=workload, metrics={"p95_latency_ms": 2400})
        body = api(team_member).get(f"/api/v1/workloads/{workload.slug}/compliance/").json()
        latency = next(c for c in body["controls"] if c["key"] == "latency")
        assert latency["state"] == "failing"
        assert latency["result"]["state"] == "failing"
        assert latency["result"]["observed"]["value"] == "2400"
        assert latency["result"]["observed"]["threshold"] == "2000"

    def test_unknown_policy_or_control_names_the_field(self, coe_staff, team_member, workload) -> None:
        slug = create_published(coe_staff)
        response = attest(team_member, workload, "no-such-policy")
        assert response.status_code == 400
        assert "policy" in response.json()
        response = attest(team_member, workload, slug, key="no-such-control")
        assert response.status_code == 400
        assert "control" in response.json()
        response = api(team_member).post(f"/api/v1/workloads/{workload.slug}/attestations/",
                                         {"policy": slug, "control": "human-review", "answer": " ",
                                          "evidence_url": "not a url"})  # fmt: skip
        assert response.status_code == 400
        assert {"answer", "evidence_url"} <= response.json().keys()
        response = attest(team_member, workload, slug, key="latency")
        assert response.status_code == 400
        assert "automatically" in response.json()["detail"]
        assert not Attestation.objects.exists()

    def test_another_team_is_refused_and_nothing_is_stored(self, coe_staff, other_team_member, workload) -> None:
        slug = create_published(coe_staff)
        audit_before = AuditEvent.objects.count()
        assert attest(other_team_member, workload, slug).status_code == 403
        assert attest(coe_staff, workload, slug).status_code == 403  # the CoE does not attest for teams
        response = api(other_team_member).post(W, {
            "workload": workload.slug, "policy": slug, "control": "human-review", "justification": "Because.",
            "ends_on": in_days(30),
        })  # fmt: skip
        assert response.status_code == 403
        assert api(other_team_member).get(f"/api/v1/workloads/{workload.slug}/compliance/").status_code == 403
        assert api(other_team_member).get(f"/api/v1/workloads/{workload.slug}/attestations/").status_code == 403
        assert not Attestation.objects.exists()
        assert not Waiver.objects.exists()
        assert AuditEvent.objects.count() == audit_before
        assert api(coe_staff).get("/api/v1/workloads/no-such/compliance/").status_code == 404
        assert api().get(f"/api/v1/workloads/{workload.slug}/compliance/").status_code == 401


class TestWaivers:
    def request_waiver(self, user, workload, slug: str, key: str = "human-review") -> Any:  # type: ignore[no-untyped-def]
        return api(user).post(W, {
            "workload": workload.slug, "policy": slug, "control": key,
            "justification": "The second reviewer starts next month.", "compensating_controls": "Spot checks.",
            "ends_on": in_days(30),
        })  # fmt: skip

    def test_requested_by_the_team_approved_by_the_coe(self, coe_staff, team_member, leader, workload) -> None:
        slug = create_published(coe_staff)
        response = self.request_waiver(team_member, workload, slug)
        assert response.status_code == 201, response.json()
        waiver = response.json()
        assert (waiver["status"], waiver["control"], waiver["requested_by"]) == (
            "requested", "human-review", team_member.username,
        )  # fmt: skip
        assert api(team_member).patch(f"{W}{waiver['id']}/", {"decision": "approve"}).status_code == 403
        assert api(leader).patch(f"{W}{waiver['id']}/", {"decision": "approve"}).status_code == 403
        response = api(coe_staff).patch(f"{W}{waiver['id']}/", {"decision": "approve", "comment": "Until then."})
        assert response.status_code == 200, response.json()
        assert (response.json()["status"], response.json()["decided_by"]) == ("approved", coe_staff.username)
        body = api(team_member).get(f"/api/v1/workloads/{workload.slug}/compliance/").json()
        review = next(c for c in body["controls"] if c["key"] == "human-review")
        assert (review["state"], review["real_state"]) == ("waived", "attestation_due")
        assert review["waiver"]["id"] == waiver["id"]
        response = api(coe_staff).patch(f"{W}{waiver['id']}/", {"decision": "reject", "comment": "Changed mind."})
        assert response.status_code == 400  # decided already

    def test_reject_needs_a_comment_and_nothing_else_is_writable(self, coe_staff, team_member, workload) -> None:
        slug = create_published(coe_staff)
        waiver = self.request_waiver(team_member, workload, slug).json()
        response = api(coe_staff).patch(f"{W}{waiver['id']}/", {"decision": "reject"})
        assert (response.status_code, list(response.json())) == (400, ["detail", "comment"])
        response = api(coe_staff).patch(f"{W}{waiver['id']}/", {"status": "approved", "ends_on": in_days(300)})
        assert response.status_code == 400
        assert {"status", "ends_on", "decision"} <= response.json().keys()
        assert Waiver.objects.get().status == Waiver.Status.REQUESTED
        response = api(coe_staff).patch(f"{W}{waiver['id']}/", {"decision": "reject", "comment": "Hire first."})
        assert response.json()["status"] == "rejected"

    def test_who_sees_which_waivers(self, coe_staff, team_member, other_team_member, leader, workload,
                                    other_workload) -> None:  # fmt: skip
        slug = create_published(coe_staff)
        mine = self.request_waiver(team_member, workload, slug).json()
        theirs = self.request_waiver(other_team_member, other_workload, slug).json()
        assert [w["id"] for w in api(team_member).get(W).json()["results"]] == [mine["id"]]
        assert {w["id"] for w in api(leader).get(W).json()["results"]} == {mine["id"], theirs["id"]}
        assert api(coe_staff).get(W, {"workload": other_workload.slug}).json()["count"] == 1
        assert api(coe_staff).get(W, {"status": "approved"}).json()["count"] == 0
        assert api(coe_staff).get(W, {"status": "bogus"}).status_code == 400
        assert api(team_member).get(f"{W}{theirs['id']}/").status_code == 404
        assert api(leader).get(f"{W}{theirs['id']}/").status_code == 200

    def test_bad_requests_name_their_fields(self, coe_staff, team_member, workload) -> None:
        slug = create_published(coe_staff)
        response = api(team_member).post(W, {"workload": workload.slug, "policy": slug, "control": "human-review",
                                             "justification": "", "ends_on": "soon"})  # fmt: skip
        assert response.status_code == 400
        assert {"justification", "ends_on"} <= response.json().keys()
        response = api(team_member).post(W, {"workload": "nope", "policy": slug, "control": "human-review",
                                             "justification": "Why.", "ends_on": in_days(5)})  # fmt: skip
        assert response.status_code == 400
        assert "workload" in response.json()
        response = api(team_member).post(W, {"workload": workload.slug, "policy": slug, "control": "human-review",
                                             "justification": "Why.", "ends_on": in_days(900)})  # fmt: skip
        assert response.status_code == 400
        assert "ends_on" in response.json()
        assert not Waiver.objects.exists()


class TestHighRiskRelease:
    def test_promotion_waits_for_approval_and_controls(self, coe_staff, team_member, model, workload) -> None:
        slug = create_published(coe_staff)
        draft = registry.release_create(actor=team_member, workload=workload, version="1.1.0", ai_models=[model])
        promote = f"/api/v1/workloads/{workload.slug}/releases/{draft.pk}/promote/"
        approve = f"/api/v1/workloads/{workload.slug}/releases/{draft.pk}/approve/"

        response = api(team_member).post(promote)
        assert response.status_code == 400
        reasons = " ".join(response.json()["gates"])
        assert "have not approved release 1.1.0" in reasons
        assert "Human review" in reasons
        assert "Latency within objective" in reasons

        assert api(team_member).post(approve, {"comment": "Looks fine."}).status_code == 403
        response = api(coe_staff).post(approve, {"comment": "Evaluation report reviewed."})
        assert response.status_code == 200, response.json()
        assert response.json()["release"] == draft.pk
        assert (response.json()["approved_by"], response.json()["comment"]) == (
            coe_staff.username, "Evaluation report reviewed.",
        )  # fmt: skip
        assert response.json()["approved_at"]
        assert ReleaseApproval.objects.filter(release=draft).count() == 1

        response = api(team_member).post(promote)
        assert response.status_code == 400
        assert "have not approved" not in " ".join(response.json()["gates"])

        assert attest(team_member, workload, slug).status_code == 201
        services.check_record(workload=workload, metrics={"p95_latency_ms": 1500})
        response = api(team_member).post(promote)
        assert response.status_code == 200, response.json()
        assert response.json()["status"] == Release.Status.LIVE
        # A live release is no longer a draft to approve; an unknown release is not there.
        assert api(coe_staff).post(approve).status_code == 400
        missing = f"/api/v1/workloads/{workload.slug}/releases/999999/approve/"
        assert api(coe_staff).post(missing).status_code == 404


def test_a_personal_token_works(coe_staff, team_member, workload) -> None:
    slug = create_published(coe_staff)
    _, raw = account_services.token_create(user=team_member, name="CI")
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {raw}")
    assert client.get(P).json()["count"] == 1
    response = client.post(f"/api/v1/workloads/{workload.slug}/attestations/",
                           {"policy": slug, "control": "human-review", "answer": "Reviewed by a handler."})  # fmt: skip
    assert response.status_code == 201
    assert client.get(f"/api/v1/workloads/{workload.slug}/compliance/").json()["counts"]["attested"] == 1
    bad = APIClient()
    bad.credentials(HTTP_AUTHORIZATION="Token not-a-token")
    assert bad.get(P).status_code == 401

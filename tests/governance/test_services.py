"""Governance services: policies and controls, attestations, automated checks, waivers,
compliance, and the high-risk release gate."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import pytest
from django.utils import timezone

from apps.core.exceptions import ApplicationError
from apps.core.models import Notification
from apps.governance import services
from apps.governance.models import CheckResult, Control, ReleaseApproval
from apps.governance.services import State
from apps.registry import services as registry
from tests.registry.factories import AIModelFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def model():
    return AIModelFactory(model_id="gpt-4o-mini", display_name="GPT-4o mini")


@pytest.fixture
def high_risk(team, team_member, model):
    return registry.workload_register(
        actor=team_member, team=team, name="Claims Triage", ai_models=[model], risk_tier="high",
        lifecycle_stage="production", data_classification="confidential", objective_p95_latency_ms=2000,
        monthly_budget=Decimal("1000"),
    )  # fmt: skip


@pytest.fixture
def minimal(other_team, other_team_member, model):
    return registry.workload_register(
        actor=other_team_member, team=other_team, name="Lunch Menu Bot", ai_models=[model], risk_tier="minimal"
    )


def publish_policy(coe, *, attest_statement="A person reviews every decision.", automated=True, previous=None,
                   number="1.0.0"):  # type: ignore[no-untyped-def]  # fmt: skip
    if previous is None:
        policy = services.policy_create(actor=coe, title="Human oversight", category="security_governance",
                                        summary="People stay in charge of decisions.")  # fmt: skip
    else:
        policy = previous.policy
    version = services.policy_version_create(
        actor=coe, policy=policy, number=number, body="# Human oversight\n\nPeople decide.",
        changelog="" if previous is None else "Tightens the review control.",
        framework_refs=[{"framework": "eu_ai_act", "reference": "Art. 14"}],
    )  # fmt: skip
    services.control_add(actor=coe, version=version, key="human-review", title="Human review",
                         statement=attest_statement, kind="attestation", risk_tiers=["high"])  # fmt: skip
    if automated:
        services.control_add(actor=coe, version=version, key="latency", title="Latency within objective",
                             statement="p95 latency meets the workload's objective.", kind="automated",
                             metric="p95_latency_ms", operator="<=", threshold_source="objective_p95_latency_ms",
                             risk_tiers=["high", "limited"])  # fmt: skip
    return services.policy_version_publish(actor=coe, version=version)


class TestEvaluate:
    @pytest.fixture
    def control(self, coe_staff):
        version = publish_policy(coe_staff)
        return version.controls.get(key="latency")

    def test_meets_and_breaks_the_workloads_own_objective(self, control, high_risk) -> None:
        ok = services.evaluate(control=control, metrics={"p95_latency_ms": 1800}, workload=high_risk)
        assert (ok.state, ok.observed["value"], ok.observed["threshold"]) == (State.PASSING, "1800", "2000")
        bad = services.evaluate(control=control, metrics={"p95_latency_ms": 2500.5}, workload=high_risk)
        assert bad.state == State.FAILING
        assert "breaks <= 2000" in bad.detail

    @pytest.mark.parametrize("metrics", [{}, {"p95_latency_ms": None}, {"p95_latency_ms": float("nan")},
                                         {"p95_latency_ms": "n/a"}, {"error_rate": 0.1}])  # fmt: skip
    def test_missing_metrics_are_not_evaluated_never_a_silent_pass(self, control, high_risk, metrics) -> None:
        outcome = services.evaluate(control=control, metrics=metrics, workload=high_risk)
        assert outcome.state == State.NOT_EVALUATED
        assert outcome.detail == "No p95 latency (ms) measured yet."

    def test_missing_threshold_is_not_evaluated(self, control, minimal) -> None:
        outcome = services.evaluate(control=control, metrics={"p95_latency_ms": 10}, workload=minimal)
        assert outcome.state == State.NOT_EVALUATED
        assert outcome.detail == "No threshold: the workload's p95 latency objective is not set."

    @pytest.mark.parametrize(("operator", "value", "state"), [
        ("<=", "0.01", State.PASSING), ("<", "0.01", State.FAILING), (">=", "0.01", State.PASSING),
        (">", "0.02", State.PASSING), (">", "0.01", State.FAILING),
    ])  # fmt: skip
    def test_fixed_thresholds_and_operators(self, coe_staff, high_risk, operator, value, state) -> None:
        control = Control(kind="automated", metric="safety_flag_rate", operator=operator,
                          threshold=Decimal("0.01"), threshold_source="fixed")  # fmt: skip
        assert (
            services.evaluate(control=control, metrics={"safety_flag_rate": value}, workload=high_risk).state == state
        )

    def test_check_record_stores_evidence_and_notifies_once_on_turning_failing(
        self, control, high_risk, team_member, coe_staff
    ) -> None:
        services.check_record(workload=high_risk, metrics={"p95_latency_ms": 1000})
        services.check_record(workload=high_risk, metrics={"p95_latency_ms": 3000})
        services.check_record(workload=high_risk, metrics={"p95_latency_ms": 3100})
        assert list(CheckResult.objects.order_by("id").values_list("state", flat=True)) == [
            State.PASSING, State.FAILING, State.FAILING,
        ]  # fmt: skip
        assert CheckResult.objects.order_by("id").last().observed["value"] == "3100"
        notes = Notification.objects.filter(title__contains="is failing")
        assert sorted(n.recipient.username for n in notes) == ["cora", "tina"]


class TestControls:
    def test_automated_controls_need_metric_operator_and_threshold(self, coe_staff) -> None:
        policy = services.policy_create(actor=coe_staff, title="Cost", category="cost", summary="Stay in budget.")
        version = services.policy_version_create(actor=coe_staff, policy=policy, number="1.0.0", body="x")
        with pytest.raises(ApplicationError) as refused:
            services.control_add(actor=coe_staff, version=version, title="Budget", statement="s", kind="automated")
        assert {"metric", "operator", "threshold"} <= set(refused.value.field_errors)
        with pytest.raises(ApplicationError) as bad_tier:
            services.control_add(actor=coe_staff, version=version, title="T", statement="s", kind="attestation",
                                 risk_tiers=["huge"])  # fmt: skip
        assert "risk_tiers" in bad_tier.value.field_errors

    def test_a_version_without_controls_is_not_published(self, coe_staff) -> None:
        policy = services.policy_create(actor=coe_staff, title="Cost", category="cost", summary="Stay in budget.")
        version = services.policy_version_create(actor=coe_staff, policy=policy, number="1.0.0", body="x")
        with pytest.raises(ApplicationError, match="at least one control"):
            services.policy_version_publish(actor=coe_staff, version=version)

    def test_published_controls_do_not_change(self, coe_staff) -> None:
        control = publish_policy(coe_staff).controls.first()
        with pytest.raises(ApplicationError, match="published version"):
            services.control_update(actor=coe_staff, control=control, statement="Looser.")

    def test_applicability(self, coe_staff, high_risk, minimal) -> None:
        publish_policy(coe_staff)
        assert [c.key for c in services.applicable_controls(workload=high_risk)] == ["human-review", "latency"]
        assert services.applicable_controls(workload=minimal) == []


class TestAttestationAndCompliance:
    def test_attest_then_a_new_version_changing_the_control_makes_it_due(self, coe_staff, team_member,
                                                                        high_risk) -> None:  # fmt: skip
        v1 = publish_policy(coe_staff, automated=False)
        control = v1.controls.get(key="human-review")
        assert services.compliance(workload=high_risk).statuses[0].state == State.ATTESTATION_DUE
        services.attest(actor=team_member, workload=high_risk, control=control, answer="Handlers confirm each queue.",
                        evidence_url="https://wiki.example.org/claims/review")  # fmt: skip
        report = services.compliance(workload=high_risk)
        assert ([s.state for s in report.statuses], report.score) == ([State.ATTESTED], 1.0)

        v2 = publish_policy(coe_staff, automated=False, previous=v1, number="2.0.0",
                            attest_statement="A person reviews every decision within one working day.")  # fmt: skip
        status = services.compliance(workload=high_risk).statuses[0]
        assert status.state == State.ATTESTATION_DUE
        assert status.detail == "The control changed in v2.0.0; attest again."
        note = Notification.objects.filter(recipient=team_member, title__startswith="Human oversight v2.0.0").get()
        assert "**Claims Triage**: attest Human review" in note.body
        services.attest(actor=team_member, workload=high_risk, control=v2.controls.get(key="human-review"),
                        answer="Within a day now.")  # fmt: skip
        assert services.compliance(workload=high_risk).statuses[0].state == State.ATTESTED

    def test_an_unchanged_control_keeps_its_attestation_across_versions(self, coe_staff, team_member,
                                                                       high_risk) -> None:  # fmt: skip
        v1 = publish_policy(coe_staff, automated=False)
        services.attest(actor=team_member, workload=high_risk, control=v1.controls.get(), answer="Yes.")
        publish_policy(coe_staff, automated=False, previous=v1, number="1.1.0")
        assert services.compliance(workload=high_risk).statuses[0].state == State.ATTESTED

    def test_attestations_expire(self, coe_staff, team_member, high_risk) -> None:
        version = publish_policy(coe_staff, automated=False)
        control = version.controls.get()
        Control.objects.filter(pk=control.pk).update(attestation_valid_days=30)
        control.refresh_from_db()
        attestation = services.attest(actor=team_member, workload=high_risk, control=control, answer="Yes.")
        assert attestation.content_hash == control.content_hash
        later = timezone.now() + timedelta(days=31)
        status = services.compliance(workload=high_risk, now=later).statuses[0]
        assert status.state == State.ATTESTATION_DUE
        assert "expired" in status.detail

    def test_attesting_an_automated_or_inapplicable_control_is_refused(self, coe_staff, team_member, high_risk,
                                                                      minimal) -> None:  # fmt: skip
        version = publish_policy(coe_staff)
        with pytest.raises(ApplicationError, match="checked automatically"):
            services.attest(actor=team_member, workload=high_risk, control=version.controls.get(key="latency"),
                            answer="x")  # fmt: skip
        with pytest.raises(ApplicationError, match="does not apply"):
            services.attest(actor=team_member, workload=minimal, control=version.controls.get(key="human-review"),
                            answer="x")  # fmt: skip


class TestWaivers:
    def test_requested_approved_counts_as_compliant_then_expires(self, coe_staff, team_member, high_risk) -> None:
        version = publish_policy(coe_staff, automated=False)
        control = version.controls.get()
        today = timezone.localdate()
        waiver = services.waiver_request(actor=team_member, workload=high_risk, control=control,
                                         justification="Reviewer hired next month.",
                                         compensating_controls="Daily sample audit.",
                                         ends_on=today + timedelta(days=10))  # fmt: skip
        assert services.compliance(workload=high_risk).statuses[0].state == State.ATTESTATION_DUE  # not yet approved
        with pytest.raises(ApplicationError, match="why the waiver is rejected"):
            services.waiver_decide(actor=coe_staff, waiver=waiver, approve=False)
        services.waiver_decide(actor=coe_staff, waiver=waiver, approve=True, comment="Until the hire starts.")
        status = services.compliance(workload=high_risk).statuses[0]
        assert (status.state, status.real_state, status.waiver) == (State.WAIVED, State.ATTESTATION_DUE, waiver)

        # A week before the end, one reminder, however often the task runs.
        assert services.waivers_remind(today=today + timedelta(days=4)) == 1
        assert services.waivers_remind(today=today + timedelta(days=5)) == 0
        # Expired: the real state counts again.
        after = timezone.now() + timedelta(days=11)
        assert services.compliance(workload=high_risk, now=after).statuses[0].state == State.ATTESTATION_DUE

    def test_bad_requests_are_refused_and_store_nothing(self, coe_staff, team_member, high_risk) -> None:
        control = publish_policy(coe_staff, automated=False).controls.get()
        today = timezone.localdate()
        with pytest.raises(ApplicationError) as refused:
            services.waiver_request(actor=team_member, workload=high_risk, control=control, justification="",
                                    ends_on=today)  # fmt: skip
        assert set(refused.value.field_errors) == {"justification", "ends_on"}
        services.waiver_request(actor=team_member, workload=high_risk, control=control, justification="x",
                                ends_on=today + timedelta(days=5))  # fmt: skip
        with pytest.raises(ApplicationError, match="already an open"):
            services.waiver_request(actor=team_member, workload=high_risk, control=control, justification="y",
                                    ends_on=today + timedelta(days=5))  # fmt: skip


class TestHighRiskGate:
    def test_refused_with_reasons_then_allowed_after_approval_and_passing_controls(
        self, coe_staff, team_member, high_risk, model
    ) -> None:
        version = publish_policy(coe_staff)
        release = registry.release_create(actor=team_member, workload=high_risk, version="1.0.0", ai_models=[model])
        with pytest.raises(ApplicationError) as refused:
            registry.release_promote(actor=team_member, release=release)
        assert refused.value.field_errors["gates"] == [
            "CoE staff have not approved release 1.0.0 (high-risk workload).",
            "Human oversight: “Human review” is attestation due.",
            "Human oversight: “Latency within objective” is not yet evaluated.",
        ]
        services.release_approve(actor=coe_staff, release=release, comment="Reviewed the eval report.")
        services.attest(actor=team_member, workload=high_risk, control=version.controls.get(key="human-review"),
                        answer="Handlers confirm.")  # fmt: skip
        services.check_record(workload=high_risk, metrics={"p95_latency_ms": 1500})
        promoted = registry.release_promote(actor=team_member, release=release)
        assert promoted.status == "live"
        assert ReleaseApproval.objects.get(release=release).approved_by == coe_staff

    def test_other_risk_tiers_are_not_gated_by_governance(self, coe_staff, other_team_member, minimal, model) -> None:
        publish_policy(coe_staff)
        release = registry.release_create(actor=other_team_member, workload=minimal, version="1.0.0",
                                          ai_models=[model])  # fmt: skip
        assert registry.release_promote(actor=other_team_member, release=release).status == "live"


def test_the_reminder_task_runs_the_service(coe_staff, team_member, high_risk) -> None:
    from apps.governance.tasks import waivers_remind_task

    control = publish_policy(coe_staff, automated=False).controls.get()
    waiver = services.waiver_request(actor=team_member, workload=high_risk, control=control, justification="x",
                                     ends_on=timezone.localdate() + timedelta(days=3))  # fmt: skip
    services.waiver_decide(actor=coe_staff, waiver=waiver, approve=True)
    waivers_remind_task.apply()
    waivers_remind_task.apply()  # a second run reminds nobody again
    assert Notification.objects.filter(recipient=team_member, title__startswith="Waiver ends on").count() == 1


def test_rolling_back_a_high_risk_workload_is_not_held_up(coe_staff, team_member, high_risk, model) -> None:
    from apps.registry import gates

    with gates.suspended():  # two releases that went live before governance's rules
        first = registry.release_create(actor=team_member, workload=high_risk, version="1.0.0", ai_models=[model])
        registry.release_promote(actor=team_member, release=first)
        second = registry.release_create(actor=team_member, workload=high_risk, version="1.1.0", ai_models=[model])
        registry.release_promote(actor=team_member, release=second)
    publish_policy(coe_staff)  # its controls are not met, and nothing is approved
    assert registry.release_rollback(actor=team_member, release=first, reason="Quality fell").status == "live"


def test_a_request_whose_end_date_has_passed_cannot_be_approved(coe_staff, team_member, high_risk) -> None:
    from apps.governance.models import Waiver

    control = publish_policy(coe_staff, automated=False).controls.get()
    waiver = services.waiver_request(actor=team_member, workload=high_risk, control=control, justification="x",
                                     ends_on=timezone.localdate() + timedelta(days=2))  # fmt: skip
    Waiver.objects.filter(pk=waiver.pk).update(ends_on=timezone.localdate() - timedelta(days=1))
    with pytest.raises(ApplicationError, match="end date has passed"):
        services.waiver_decide(actor=coe_staff, waiver=waiver, approve=True)
    assert (
        services.waiver_decide(actor=coe_staff, waiver=waiver, approve=False, comment="Ask again.").status == "rejected"
    )

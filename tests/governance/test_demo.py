"""Governance's demo data (``manage.py seed_demo``): idempotent, realistic, and showing every
compliance state somewhere in the demo portfolio."""

from __future__ import annotations

from io import StringIO

import pytest
from django.core.management import call_command
from django.utils import timezone

from apps.core.models import AuditEvent, GuidanceArea, Notification, VersionState
from apps.governance import services
from apps.governance.models import (
    Attestation,
    CheckResult,
    Control,
    Framework,
    Policy,
    PolicyVersion,
    ReleaseApproval,
    Waiver,
)
from apps.governance.services import State
from apps.registry.models import Release, RiskTier, Workload

pytestmark = pytest.mark.django_db

MODELS = (
    Policy, PolicyVersion, Control, Attestation, CheckResult, Waiver, ReleaseApproval, Notification, AuditEvent,
)  # fmt: skip


def _seed() -> None:
    call_command("seed_demo", stdout=StringIO())


def _counts() -> dict[str, int]:
    return {model.__name__: model.objects.count() for model in MODELS}


@pytest.fixture
def seeded(db: None) -> None:
    _seed()


def _statuses() -> list[services.ControlStatus]:
    return [status for workload in Workload.objects.all() for status in services.compliance(workload=workload).statuses]


def test_seeding_twice_creates_nothing_new(db: None) -> None:
    _seed()
    first = _counts()
    _seed()
    assert _counts() == first
    assert first["Attestation"] > 0
    assert first["CheckResult"] > 0


def test_policies_cover_every_area_with_both_kinds_of_control(seeded: None) -> None:
    assert Policy.objects.count() >= 6
    assert set(Policy.objects.values_list("category", flat=True)) == set(GuidanceArea.values)
    assert set(Control.objects.values_list("kind", flat=True)) == set(Control.Kind.values)
    for policy in Policy.objects.select_related("owner"):
        assert policy.owner is not None
        assert policy.owner.username == "coe"
        assert policy.versions.filter(is_current=True, state=VersionState.PUBLISHED).count() == 1, policy
    for version in PolicyVersion.objects.select_related("policy"):
        lines = version.body.splitlines()
        assert 15 <= len(lines) <= 40, f"{version}: {len(lines)} lines"
        assert lines[0] == f"# {version.policy.title}"
        assert version.effective_date is not None
        assert version.framework_refs
        assert {ref["framework"] for ref in version.framework_refs} <= set(Framework.values)
        assert 2 <= version.controls.count() <= 4, version
    for control in Control.objects.filter(kind=Control.Kind.AUTOMATED):
        assert control.metric
        assert control.operator
    assert Control.objects.filter(kind=Control.Kind.ATTESTATION, attestation_valid_days__isnull=False).exists()
    assert Control.objects.filter(kind=Control.Kind.AUTOMATED).exclude(threshold_source="fixed").exists()


def test_a_policy_has_two_published_versions_and_v2_changes_an_attestation(seeded: None) -> None:
    policy = next(p for p in Policy.objects.all() if p.versions.filter(state=VersionState.PUBLISHED).count() >= 2)
    older, newer = policy.versions.order_by("major", "minor", "patch")[:2]
    assert newer.is_current
    assert not older.is_current
    assert older.published_at < newer.published_at
    assert newer.changelog.strip()
    old_hashes = {c.key: c.content_hash for c in older.controls.filter(kind=Control.Kind.ATTESTATION)}
    changed = [
        c for c in newer.controls.filter(kind=Control.Kind.ATTESTATION) if old_hashes.get(c.key) != c.content_hash
    ]
    assert changed
    # Attestations given on v1 of the changed control now fall due.
    due = [
        s for s in _statuses()
        if s.control in changed and s.state == State.ATTESTATION_DUE and s.attestation is not None
    ]  # fmt: skip
    assert due
    assert all(s.attestation.control.policy_version == older for s in due)


def test_every_compliance_state_appears(seeded: None) -> None:
    states = {status.state for status in _statuses()}
    assert states >= {
        State.PASSING,
        State.FAILING,
        State.ATTESTED,
        State.ATTESTATION_DUE,
        State.WAIVED,
        State.NOT_EVALUATED,
    }
    # Mostly passing: only a few automated controls fail.
    results = [s for s in _statuses() if s.control.kind == Control.Kind.AUTOMATED and s.result is not None]
    assert sum(s.state == State.FAILING for s in results) < sum(s.state == State.PASSING for s in results) / 5


def test_attestations_are_by_team_owners(seeded: None) -> None:
    for attestation in Attestation.objects.select_related("workload", "attested_by"):
        assert attestation.attested_by is not None
        assert attestation.attested_by.memberships.filter(team=attestation.workload.team_id, role="owner").exists()
        assert attestation.workload.lifecycle_stage in {"pilot", "production"}


def test_waivers_requested_approved_and_expired(seeded: None) -> None:
    today = timezone.localdate()
    assert Waiver.objects.filter(status=Waiver.Status.REQUESTED).count() == 1
    assert Waiver.objects.filter(status=Waiver.Status.APPROVED, ends_on__gte=today).exists()
    expired = Waiver.objects.get(status=Waiver.Status.APPROVED, ends_on__lt=today)
    status = next(
        s
        for s in services.compliance(workload=expired.workload).statuses
        if s.control.key == expired.control_key and s.control.policy_version.policy_id == expired.policy_id
    )
    assert status.waiver is None
    assert status.state != State.WAIVED
    latest = (
        CheckResult.objects.filter(
            workload=expired.workload, control__key=expired.control_key,
            control__policy_version__policy=expired.policy,
        )
        .order_by("-evaluated_at", "-id")
        .first()
    )  # fmt: skip
    assert latest is not None
    assert status.state == latest.state == State.FAILING
    # The active waiver covers a control that is really failing.
    waived = [s for s in _statuses() if s.state == State.WAIVED]
    assert waived
    assert all(s.real_state == State.FAILING and s.waiver.ends_on >= today for s in waived)


def test_one_high_risk_draft_approved_another_waiting(seeded: None) -> None:
    drafts = Release.objects.filter(status=Release.Status.DRAFT, workload__risk_tier=RiskTier.HIGH)
    approved = drafts.filter(governance_approval__isnull=False)
    assert approved.count() >= 1
    assert all(r.governance_approval.approved_by.username == "coe" for r in approved)
    assert drafts.filter(governance_approval__isnull=True).exists()

"""Governance: policies in versions, controls, attestations, automated checks, waivers,
compliance per workload, and the high-risk release gate.

Automated controls are evaluated against a plain mapping of metrics (``evaluate``), so telemetry's
scoring can call ``check_record`` with what it computed and tests can call it with numbers. A
missing metric or threshold gives "not yet evaluated", never a silent pass.
"""

from __future__ import annotations

import functools
import math
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal, InvalidOperation
from typing import Any

from django.db import connection, transaction
from django.db.models import DateTimeField, F, OuterRef, Q, QuerySet, Subquery, Value, Window
from django.db.models.base import ModelState
from django.db.models.functions import Coalesce, Greatest, Least, RowNumber
from django.http import HttpRequest
from django.utils import timezone
from django.utils.text import slugify

from apps.accounts.models import User
from apps.accounts.roles import COE_STAFF
from apps.core import locks, versioning
from apps.core.exceptions import ApplicationError
from apps.core.models import Tag, VersionState
from apps.core.services import audit_record, notification_send
from apps.registry.models import LifecycleStage, Release, RiskTier, Workload

from .models import (
    CHOICE_SETS,
    Attestation,
    CheckResult,
    ComplianceScore,
    Control,
    Framework,
    Policy,
    PolicyVersion,
    ReleaseApproval,
    ThresholdSource,
    Waiver,
)

MAX_WAIVER_DAYS = 366
REMIND_DAYS_BEFORE = 7


class State:
    """A control's state for one workload."""

    PASSING = "passing"
    FAILING = "failing"
    ATTESTED = "attested"
    ATTESTATION_DUE = "attestation_due"
    WAIVED = "waived"
    NOT_EVALUATED = "not_evaluated"

    LABELS = {
        PASSING: "Passing",
        FAILING: "Failing",
        ATTESTED: "Attested",
        ATTESTATION_DUE: "Attestation due",
        WAIVED: "Waived",
        NOT_EVALUATED: "Not yet evaluated",
    }
    COMPLIANT = {PASSING, ATTESTED, WAIVED}


# --- Policies and controls ----------------------------------------------------------------


@transaction.atomic
def policy_create(
    *, actor: User | None, title: str, category: str, summary: str, tags: Iterable[str] = (),
    request: HttpRequest | None = None,
) -> Policy:  # fmt: skip
    slug = slugify(title)[:160]
    if not slug:
        raise ApplicationError("A policy needs a title.", field_errors={"title": ["This field is required."]})
    if Policy.objects.filter(slug=slug).exists():
        raise ApplicationError("A policy with this title exists.", field_errors={"title": ["Choose another title."]})
    policy = Policy(title=title.strip(), slug=slug, category=category, summary=summary.strip(), owner=actor)
    _clean(policy, exclude=["owner"])
    policy.save()
    policy.tags.set(Tag.objects.get_or_create(name=slugify(t)[:50])[0] for t in tags if slugify(t))
    audit_record(actor=actor, action="policy.create", target=policy, request=request)
    return policy


def _clean(instance: Any, exclude: list[str]) -> None:
    from django.core.exceptions import ValidationError

    try:
        instance.full_clean(exclude=exclude, validate_unique=False, validate_constraints=False)
    except ValidationError as exc:
        errors = {f: [str(m) for m in ms] for f, ms in exc.message_dict.items()}
        raise ApplicationError("Please correct the highlighted fields.", field_errors=errors) from exc


def _check_refs(refs: Any) -> list[dict[str, str]]:
    if refs is None:
        return []
    if not isinstance(refs, list) or not all(isinstance(r, dict) for r in refs):
        raise ApplicationError("Framework references must be a list of {framework, reference}.",
                               field_errors={"framework_refs": ["Give a list of {framework, reference}."]})  # fmt: skip
    clean = []
    for ref in refs:
        framework, reference = str(ref.get("framework", "")), str(ref.get("reference", "")).strip()
        if framework not in Framework.values or not reference:
            raise ApplicationError(
                "Each framework reference names a known framework and a reference.",
                field_errors={"framework_refs": [f"Framework one of {', '.join(Framework.values)}, and a reference."]},
            )
        clean.append({"framework": framework, "reference": reference[:120]})
    return clean


def policy_version_create(
    *, actor: User | None, policy: Policy, number: str, body: str = "", changelog: str = "",
    effective_date: date | None = None, framework_refs: Any = None, copy_controls_from: PolicyVersion | None = None,
    request: HttpRequest | None = None,
) -> PolicyVersion:  # fmt: skip
    """A new draft; ``copy_controls_from`` carries the controls over so the CoE edits, not retypes."""
    with transaction.atomic():
        version = versioning.version_create(
            model=PolicyVersion, document=policy, number=number, actor=actor, body=body, changelog=changelog,
            effective_date=effective_date, framework_refs=_check_refs(framework_refs), request=request,
        )  # fmt: skip
        if copy_controls_from is not None:
            for control in copy_controls_from.controls.all():
                control.pk = None
                control.policy_version = version
                control.save()
    return version


CONTROL_FIELDS = {
    "key", "title", "statement", "rationale", "risk_tiers", "data_classifications", "lifecycle_stages", "kind",
    "attestation_valid_days", "metric", "operator", "threshold", "threshold_source", "window_days",
}  # fmt: skip


def _validate_control(control: Control) -> None:
    errors: dict[str, list[str]] = {}
    for name, allowed in CHOICE_SETS.items():
        values = getattr(control, name)
        if not isinstance(values, list) or any(v not in allowed for v in values):
            errors[name] = [f"Choose from: {', '.join(sorted(allowed))} (empty for all)."]
    if control.kind == Control.Kind.AUTOMATED:
        if not control.metric:
            errors["metric"] = ["An automated check names the metric it reads."]
        if not control.operator:
            errors["operator"] = ["Choose how the metric compares with the threshold."]
        if control.threshold_source == ThresholdSource.FIXED and control.threshold is None:
            errors["threshold"] = ["Give a threshold, or take it from the workload's own objective or budget."]
    if errors:
        raise ApplicationError("Please correct the control.", field_errors=errors)
    _clean(control, exclude=["policy_version"])


@transaction.atomic
def control_add(
    *, actor: User | None, version: PolicyVersion, request: HttpRequest | None = None, **fields: Any
) -> Control:
    unknown = set(fields) - CONTROL_FIELDS
    if unknown:
        raise ApplicationError(f"Unknown fields: {', '.join(sorted(unknown))}.")
    version = PolicyVersion.objects.select_for_update().get(pk=version.pk)
    if not version.is_editable:
        raise ApplicationError(f"Version {version.number} is published; add controls to a new version.")
    fields["key"] = slugify(fields.get("key") or fields.get("title", ""))[:80]
    if version.controls.filter(key=fields["key"]).exists():
        raise ApplicationError(
            "A control with this key exists in this version.", field_errors={"key": ["Use another key."]}
        )
    control = Control(policy_version=version, **fields)
    _validate_control(control)
    control.save()
    audit_record(actor=actor, action="policy.control_add", target=version.policy,
                 changes={"number": version.number, "key": control.key}, request=request)  # fmt: skip
    return control


@transaction.atomic
def control_update(
    *, actor: User | None, control: Control, request: HttpRequest | None = None, **fields: Any
) -> Control:
    unknown = set(fields) - (CONTROL_FIELDS - {"key"})
    if unknown:
        raise ApplicationError(f"These fields cannot be changed: {', '.join(sorted(unknown))}.")
    control = Control.objects.select_related("policy_version__policy").get(pk=control.pk)
    if not control.policy_version.is_editable:
        raise ApplicationError("This control belongs to a published version; change it in a new version.")
    for name, value in fields.items():
        setattr(control, name, value)
    _validate_control(control)
    control.save()
    audit_record(actor=actor, action="policy.control_update", target=control.policy_version.policy,
                 changes={"number": control.policy_version.number, "key": control.key, "fields": sorted(fields)},
                 request=request)  # fmt: skip
    return control


def _publish_check(version: PolicyVersion) -> list[str]:
    problems = []
    if not version.body.strip():
        problems.append("The body is empty.")
    if not version.controls.exists():
        problems.append("A policy version needs at least one control.")
    return problems


def policy_version_publish(
    *, actor: User | None, version: PolicyVersion, request: HttpRequest | None = None
) -> PolicyVersion:
    """Publish and make current; the publish hook tells the teams what they must (re-)attest."""
    return versioning.version_publish(version=version, actor=actor, check=_publish_check, request=request)


# --- Applicability and automated evaluation ------------------------------------------------


def current_controls() -> QuerySet[Control]:
    return Control.objects.filter(
        policy_version__is_current=True, policy_version__state=VersionState.PUBLISHED
    ).select_related("policy_version__policy")


def applicable_controls(*, workload: Workload, controls: Iterable[Control] | None = None) -> list[Control]:
    if workload.lifecycle_stage == LifecycleStage.RETIRED:
        return []
    pool = current_controls() if controls is None else controls
    return [control for control in pool if control.applies_to(workload)]


@dataclass(frozen=True)
class Outcome:
    state: str
    observed: dict[str, Any]
    detail: str


def _number(value: Any) -> Decimal | None:
    if value is None or isinstance(value, bool):
        return None
    try:
        number = Decimal(str(value))
    except (InvalidOperation, ValueError):
        return None
    return number if number.is_finite() and not (isinstance(value, float) and math.isnan(value)) else None


def _plain(number: Decimal) -> str:
    """2000, not 2E+3; 0.01, not 0.0100."""
    return format(number.normalize(), "f")


COMPARE = {
    "<=": lambda a, b: a <= b,
    "<": lambda a, b: a < b,
    ">=": lambda a, b: a >= b,
    ">": lambda a, b: a > b,
}


def evaluate(*, control: Control, metrics: Mapping[str, Any], workload: Workload) -> Outcome:
    """Evaluate one automated control against a mapping of metric name → value."""
    if control.kind != Control.Kind.AUTOMATED:
        raise ApplicationError(f"{control.title} is not an automated check.")
    observed: dict[str, Any] = {
        "metric": control.metric, "operator": control.operator, "window_days": control.window_days,
        "threshold_source": control.threshold_source,
    }  # fmt: skip
    value = _number(metrics.get(control.metric))
    observed["value"] = str(value) if value is not None else None
    if value is None:
        return Outcome(State.NOT_EVALUATED, observed, f"No {control.get_metric_display().lower()} measured yet.")
    if control.threshold_source == ThresholdSource.FIXED:
        threshold = _number(control.threshold)
    else:
        threshold = _number(getattr(workload, control.threshold_source))
    observed["threshold"] = str(threshold) if threshold is not None else None
    if threshold is None:
        label = ThresholdSource(control.threshold_source).label.lower()
        return Outcome(State.NOT_EVALUATED, observed, f"No threshold: {label} is not set.")
    passed = COMPARE[control.operator](value, threshold)
    verdict = "meets" if passed else "breaks"
    detail = f"{control.metric} = {_plain(value)} ({verdict} {control.operator} {_plain(threshold)})"
    return Outcome(State.PASSING if passed else State.FAILING, observed, detail)


@transaction.atomic
def check_record(*, workload: Workload, metrics: Mapping[str, Any]) -> list[CheckResult]:
    """Evaluate every applicable automated control and store each result as evidence. A control
    that turns failing tells the owning team and the CoE."""
    results = []
    for control in applicable_controls(workload=workload):
        if control.kind != Control.Kind.AUTOMATED:
            continue
        outcome = evaluate(control=control, metrics=metrics, workload=workload)
        previous = _latest_result(workload=workload, control=control)
        result = CheckResult.objects.create(
            workload=workload, control=control, state=outcome.state, observed=outcome.observed, detail=outcome.detail
        )
        results.append(result)
        if outcome.state == State.FAILING and (previous is None or previous.state != State.FAILING):
            _notify_failing(workload=workload, control=control, outcome=outcome)
    return results


def _latest_result(*, workload: Workload, control: Control) -> CheckResult | None:
    """The newest result for this control's key in this policy, whichever version evaluated it."""
    return (
        CheckResult.objects.filter(
            workload=workload, control__key=control.key, control__policy_version__policy=control.policy_version.policy
        )
        .order_by("-evaluated_at", "-id")
        .first()
    )


def _coe_staff() -> QuerySet[User]:
    return User.objects.filter(groups__name=COE_STAFF, is_active=True)


def _team_members(workload: Workload) -> QuerySet[User]:
    return User.objects.filter(memberships__team=workload.team_id, is_active=True)


def _notify_failing(*, workload: Workload, control: Control, outcome: Outcome) -> None:
    from django.urls import reverse

    notification_send(
        recipients=[*_team_members(workload), *_coe_staff()],
        title=f"{workload.name}: “{control.title}” is failing",
        body=f"{control.policy_version.policy.title}: {control.describe_check()}.\n\nSeen: {outcome.detail}.",
        url=reverse("registry:workload-detail", args=[workload.slug]),
    )


def check_recorder(*, workload: Workload) -> Callable[[Mapping[str, Any]], list[CheckResult]]:
    """``check_record`` for one workload called day after day (telemetry scores a workload's days in
    one pass): its automated controls and each one's latest state are read once, then kept as the
    results are recorded. Each call records and notifies as ``check_record`` does."""
    controls = [c for c in applicable_controls(workload=workload) if c.kind == Control.Kind.AUTOMATED]
    latest = {}
    for control in controls:
        previous = _latest_result(workload=workload, control=control)
        latest[control.pk] = previous.state if previous is not None else None

    def record(metrics: Mapping[str, Any]) -> list[CheckResult]:
        if not controls:
            return []
        results = []
        with transaction.atomic():
            for control in controls:
                outcome = evaluate(control=control, metrics=metrics, workload=workload)
                result = CheckResult.objects.create(
                    workload=workload, control=control, state=outcome.state, observed=outcome.observed,
                    detail=outcome.detail,
                )  # fmt: skip
                results.append(result)
                if outcome.state == State.FAILING and latest[control.pk] != State.FAILING:
                    _notify_failing(workload=workload, control=control, outcome=outcome)
                latest[control.pk] = outcome.state
        return results

    return record


# --- Attestations -------------------------------------------------------------------------


@transaction.atomic
def attest(
    *, actor: User | None, workload: Workload, control: Control, answer: str, evidence_url: str = "",
    request: HttpRequest | None = None,
) -> Attestation:  # fmt: skip
    control = Control.objects.select_related("policy_version__policy").get(pk=control.pk)
    if control.kind != Control.Kind.ATTESTATION:
        raise ApplicationError(f"“{control.title}” is checked automatically; it takes no attestation.")
    if not control.policy_version.is_current:
        raise ApplicationError("This control is not in the current version of its policy.")
    if not control.applies_to(workload):
        raise ApplicationError(f"“{control.title}” does not apply to {workload.name}.")
    if not answer.strip():
        raise ApplicationError(
            "Say how the workload meets the control.", field_errors={"answer": ["This field is required."]}
        )
    expires_at = (
        timezone.now() + timedelta(days=control.attestation_valid_days) if control.attestation_valid_days else None
    )
    attestation = Attestation(
        workload=workload, control=control, answer=answer.strip(), evidence_url=evidence_url, attested_by=actor,
        expires_at=expires_at, content_hash=control.content_hash,
    )  # fmt: skip
    _clean(attestation, exclude=["workload", "control", "attested_by"])
    attestation.save()
    audit_record(actor=actor, action="attestation.create", target=workload,
                 changes={"policy": control.policy_version.policy.slug, "control": control.key,
                          "version": control.policy_version.number}, request=request)  # fmt: skip
    return attestation


# --- Waivers ------------------------------------------------------------------------------


def _day(moment: date | datetime) -> str:
    """5 Mar 2026, as the templates write dates."""
    return _day_text(moment.year, moment.month, moment.day)


@functools.lru_cache(maxsize=4096)
def _day_text(year: int, month: int, day: int) -> str:
    """``_day`` of one calendar day, formatted once (dashboards write hundreds of the same few days)."""
    return f"{day} {date(year, month, day):%b %Y}"


def _control_title(waiver: Waiver) -> str:
    control = current_controls().filter(policy_version__policy=waiver.policy_id, key=waiver.control_key).first()
    return control.title if control else waiver.control_key


def _active_waiver(*, workload: Workload, control: Control, today: date) -> Waiver | None:
    return Waiver.objects.filter(
        workload=workload, policy=control.policy_version.policy, control_key=control.key,
        status=Waiver.Status.APPROVED, ends_on__gte=today,
    ).first()  # fmt: skip


@transaction.atomic
def waiver_request(
    *, actor: User | None, workload: Workload, control: Control, justification: str, ends_on: date,
    compensating_controls: str = "", request: HttpRequest | None = None,
) -> Waiver:  # fmt: skip
    control = Control.objects.select_related("policy_version__policy").get(pk=control.pk)  # as stored now
    today = timezone.localdate()
    errors: dict[str, list[str]] = {}
    if not justification.strip():
        errors["justification"] = ["Say why the control cannot be met for now."]
    if ends_on <= today:
        errors["ends_on"] = ["The end date must be in the future."]
    elif ends_on > today + timedelta(days=MAX_WAIVER_DAYS):
        errors["ends_on"] = ["A waiver lasts a year at most; ask again when it ends."]
    if errors:
        raise ApplicationError("Please correct the waiver request.", field_errors=errors)
    if not control.applies_to(workload) or not control.policy_version.is_current:
        raise ApplicationError(f"“{control.title}” does not apply to {workload.name}.")
    open_waiver = Waiver.objects.filter(
        workload=workload, policy=control.policy_version.policy, control_key=control.key, ends_on__gte=today,
        status__in=[Waiver.Status.REQUESTED, Waiver.Status.APPROVED],
    ).exists()  # fmt: skip
    if open_waiver:
        raise ApplicationError("There is already an open or approved waiver for this control.")
    waiver = Waiver.objects.create(
        workload=workload, policy=control.policy_version.policy, control_key=control.key,
        justification=justification.strip(), compensating_controls=compensating_controls.strip(), ends_on=ends_on,
        requested_by=actor,
    )  # fmt: skip
    audit_record(actor=actor, action="waiver.request", target=workload,
                 changes={"control": control.key, "ends_on": ends_on.isoformat()}, request=request)  # fmt: skip
    notification_send(recipients=_coe_staff(), title=f"Waiver requested: {workload.name}, “{control.title}”",
                      body=waiver.justification)  # fmt: skip
    return waiver


@transaction.atomic
def waiver_decide(
    *, actor: User | None, waiver: Waiver, approve: bool, comment: str = "", request: HttpRequest | None = None
) -> Waiver:
    waiver = Waiver.objects.select_for_update().select_related("workload").get(pk=waiver.pk)
    if waiver.status != Waiver.Status.REQUESTED:
        raise ApplicationError(f"This waiver is {waiver.get_status_display().lower()} already.")
    if approve and waiver.ends_on < timezone.localdate():
        raise ApplicationError("Its end date has passed: reject it, and the team can ask again with a new date.")
    if not approve and not comment.strip():
        raise ApplicationError("Say why the waiver is rejected.", field_errors={"comment": ["This field is required."]})
    waiver.status = Waiver.Status.APPROVED if approve else Waiver.Status.REJECTED
    waiver.decided_by, waiver.decided_at, waiver.decision_comment = actor, timezone.now(), comment.strip()
    waiver.save()
    audit_record(actor=actor, action=f"waiver.{'approve' if approve else 'reject'}", target=waiver.workload,
                 changes={"control": waiver.control_key, "comment": comment}, request=request)  # fmt: skip
    notification_send(
        recipients=_team_members(waiver.workload),
        title=f"Waiver {waiver.get_status_display().lower()}: {waiver.workload.name}, “{_control_title(waiver)}”",
        body=comment or f"It holds until {_day(waiver.ends_on)}.",
    )
    return waiver


def waivers_remind(*, today: date | None = None) -> int:
    """Beat task: tell teams a week before an approved waiver ends (once per waiver)."""
    today = today or timezone.localdate()
    due = Waiver.objects.filter(
        status=Waiver.Status.APPROVED, reminded_at__isnull=True,
        ends_on__gte=today, ends_on__lte=today + timedelta(days=REMIND_DAYS_BEFORE),
    ).select_related("workload")  # fmt: skip
    count = 0
    for waiver in due:
        # Claim the waiver with a conditional update, so two workers never remind twice.
        if Waiver.objects.filter(pk=waiver.pk, reminded_at__isnull=True).update(reminded_at=timezone.now()):
            notification_send(
                recipients=_team_members(waiver.workload),
                title=f"Waiver ends on {_day(waiver.ends_on)}: {waiver.workload.name}, “{_control_title(waiver)}”",
                body="After that the control's real state counts again. Meet the control, or ask for a new waiver.",
            )
            count += 1
    return count


# --- Compliance -----------------------------------------------------------------------------


@dataclass
class ControlStatus:
    control: Control
    state: str
    detail: str = ""
    attestation: Attestation | None = None
    waiver: Waiver | None = None
    result: CheckResult | None = None
    real_state: str = ""

    @property
    def label(self) -> str:
        return State.LABELS[self.state]

    @property
    def compliant(self) -> bool:
        return self.state in State.COMPLIANT


@dataclass
class Compliance:
    workload: Workload
    statuses: list[ControlStatus] = field(default_factory=list)

    @property
    def score(self) -> float | None:
        """Share of applicable controls that pass, are attested or waived (None: none apply)."""
        if not self.statuses:
            return None
        return sum(s.compliant for s in self.statuses) / len(self.statuses)

    def counts(self) -> dict[str, int]:
        counts = dict.fromkeys(State.LABELS, 0)
        for status in self.statuses:
            counts[status.state] += 1
        return counts


def _latest_attestation(workload: Workload, control: Control) -> Attestation | None:
    """The newest attestation for this control's key in this policy, whichever version it answered."""
    return (
        Attestation.objects.filter(
            workload=workload, control__key=control.key, control__policy_version__policy=control.policy_version.policy
        )
        .select_related("control__policy_version")
        .order_by("-attested_at", "-id")
        .first()
    )


def _attestation_valid(answered: str, expires_at: datetime | None, control_hash: str, now: datetime) -> bool:
    """Whether an attestation still counts: it answered this very control (``answered``, its content
    hash, is the control's) and has not expired."""
    return answered == control_hash and (expires_at is None or expires_at > now)


def _attestation_status(
    control: Control, latest: Attestation | None, now: datetime, content_hash: str | None = None
) -> tuple[str, str]:
    """``content_hash``: the control's, when the caller computed it once for many workloads."""
    if latest is None:
        return State.ATTESTATION_DUE, "Not attested yet."
    content_hash = content_hash or control.content_hash
    if _attestation_valid(latest.content_hash, latest.expires_at, content_hash, now):
        return State.ATTESTED, f"Attested on {_day(latest.attested_at)}."
    if latest.content_hash != content_hash:
        return State.ATTESTATION_DUE, f"The control changed in v{control.policy_version.number}; attest again."
    return State.ATTESTATION_DUE, f"The attestation expired on {_day(latest.expires_at)}."


def _status(
    control: Control, *, attestation: Attestation | None, result: CheckResult | None, waiver: Waiver | None,
    now: datetime, content_hash: str | None = None,
) -> ControlStatus:  # fmt: skip
    """One control's status from the newest attestation or check result and the active waiver."""
    if control.kind == Control.Kind.ATTESTATION:
        state, detail = _attestation_status(control, attestation, now, content_hash)
        status = ControlStatus(control, state, detail, attestation=attestation)
    elif result is None:
        status = ControlStatus(control, State.NOT_EVALUATED, "Not evaluated yet.")
    else:
        status = ControlStatus(control, result.state, result.detail, result=result)
    if waiver is not None and status.state not in {State.PASSING, State.ATTESTED}:
        status.real_state, status.state, status.waiver = status.state, State.WAIVED, waiver
        status.detail = f"Waived until {_day(waiver.ends_on)}."
    return status


def compliance(*, workload: Workload, now: datetime | None = None) -> Compliance:
    now = now or timezone.now()
    today = timezone.localdate(now)
    report = Compliance(workload=workload)
    for control in applicable_controls(workload=workload):
        attested = control.kind == Control.Kind.ATTESTATION
        status = _status(
            control,
            attestation=_latest_attestation(workload, control) if attested else None,
            result=None if attested else _latest_result(workload=workload, control=control),
            waiver=_active_waiver(workload=workload, control=control, today=today),
            now=now,
        )
        report.statuses.append(status)
    return report


# (workload id, policy id, control key): what attestations, results and waivers follow across versions
ControlRef = tuple[int, int, str]
EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
NEVER = datetime(9999, 12, 31, tzinfo=UTC)


def _ref(control: Control) -> tuple[int, str]:
    return control.policy_version.policy_id, control.key


def _versions(controls: Iterable[Control]) -> dict[tuple[int, str], list[Control]]:
    """Every version's control of each (policy, key) of ``controls``, by (policy, key). One query."""
    refs = {_ref(c) for c in controls}
    if not refs:
        return {}
    found: dict[tuple[int, str], list[Control]] = {}
    every = Control.objects.filter(
        policy_version__policy_id__in={p for p, _ in refs}, key__in={k for _, k in refs}
    ).select_related("policy_version")
    for control in every:
        found.setdefault(_ref(control), []).append(control)
    return found


def _attestation_controls(versions: dict[tuple[int, str], list[Control]]) -> dict[int, Control]:
    return {c.pk: c for cs in versions.values() for c in cs if c.kind == Control.Kind.ATTESTATION}


def _newest_attestation_query(ids: list[int], control_ids: Iterable[int]) -> QuerySet[Attestation]:
    """The newest attestation per (workload, policy, control key) among these controls' (the versions of
    each): ROW_NUMBER() over each group (SQLite 3.25+, PostgreSQL)."""
    return (
        Attestation.objects.filter(workload_id__in=ids, control_id__in=control_ids)
        .annotate(
            rank=Window(
                RowNumber(),
                partition_by=[F("workload_id"), F("control__policy_version__policy_id"), F("control__key")],
                order_by=[F("attested_at").desc(), F("id").desc()],
            )
        )
        .filter(rank=1)
    )


def _newest_attestations(
    ids: list[int], versions: dict[tuple[int, str], list[Control]]
) -> dict[ControlRef, Attestation]:
    """The newest attestation per (workload, policy, control key), whichever version it answered: one
    query, ROW_NUMBER() over each group (SQLite 3.25+, PostgreSQL). A workload attests a control a
    few times a year, so reading them all is cheap."""
    by_id = _attestation_controls(versions)
    if not by_id:
        return {}
    cache = Attestation._meta.get_field("control").set_cached_value
    refs = {pk: _ref(control) for pk, control in by_id.items()}
    found = {}
    for attestation in _newest_attestation_query(ids, by_id):
        cache(attestation, by_id[attestation.control_id])  # with its version, as compliance() reads it
        found[(attestation.workload_id, *refs[attestation.control_id])] = attestation
    return found


def _newest_result_id(control_ids: list[int]) -> Subquery:
    """The id of a workload's (``OuterRef("pk")``) newest result of any of these controls (the versions of
    one control): an index probe ((workload, control, -evaluated_at)) per version, then the newest of
    those few. Reading a key's results across versions at once would sort its whole history."""

    def probe(control_id: int, workload: OuterRef) -> Subquery:
        return Subquery(
            CheckResult.objects.filter(workload=workload, control_id=control_id)
            .order_by("-evaluated_at", "-id")
            .values("pk")[:1]
        )

    if len(control_ids) == 1:
        return probe(control_ids[0], OuterRef("pk"))
    either = Q()
    for control_id in control_ids:
        either |= Q(pk=probe(control_id, OuterRef(OuterRef("pk"))))
    return Subquery(CheckResult.objects.filter(either).order_by("-evaluated_at", "-id").values("pk")[:1])


# What compliance reads of a check result, in the model's field order (``from_db`` wants it); ``observed``
# (the evidence, JSON) is left deferred.
RESULT_FIELDS = tuple(f.attname for f in CheckResult._meta.concrete_fields if f.attname != "observed")


def _pg_array(ids: Iterable[int]) -> str:
    """A PostgreSQL array literal of whole numbers ('{1,2,3}'), for a ``%s::bigint[]`` parameter: psycopg
    adapts a long Python list item by item, which costs more than the query."""
    return "{" + ",".join(str(int(i)) for i in ids) + "}"


# The newest result of each (workload, key) over the versions of its control: per (workload, version)
# an index probe ((workload, control, -evaluated_at)), then the newest of each key's few probes.
NEWEST_RESULTS_SQL = """
SELECT DISTINCT ON (p.workload_id, p.key_no) {columns}
FROM unnest(%s::bigint[], %s::bigint[], %s::int[]) AS p(workload_id, control_id, key_no)
CROSS JOIN LATERAL (
    SELECT {inner} FROM {table} AS r
    WHERE r.workload_id = p.workload_id AND r.control_id = p.control_id
    ORDER BY r.evaluated_at DESC, r.id DESC
    LIMIT 1
) AS r
ORDER BY p.workload_id, p.key_no, r.evaluated_at DESC, r.id DESC
"""


def _newest_results(
    applicable: Mapping[int, list[Control]], versions: dict[tuple[int, str], list[Control]]
) -> dict[ControlRef, CheckResult]:
    """The newest check result per (workload, policy, control key) of the automated controls that apply,
    whichever version evaluated it. Results pile up daily, so only the newest of each are read, by index
    probes: one query, whose cost does not grow with the results' history (``_newest_results_sql`` on
    PostgreSQL, ``_newest_results_orm`` elsewhere)."""
    keys = {
        _ref(control): [version.pk for version in versions[_ref(control)]]
        for controls in {id(found): found for found in applicable.values()}.values()  # shared lists: once each
        for control in controls
        if control.kind == Control.Kind.AUTOMATED
    }
    if not keys:
        return {}
    if connection.vendor == "postgresql":
        found = _newest_results_sql(applicable, versions)
    else:
        found = _newest_results_orm(list(applicable), list(keys.values()))
    by_id = {c.pk: c for ref in keys for c in versions[ref]}
    refs = {c.pk: ref for ref in keys for c in versions[ref]}
    cache = CheckResult._meta.get_field("control").set_cached_value
    results = {}
    for result in found:
        policy_id, key = refs[result.control_id]
        cache(result, by_id[result.control_id])  # with its version, as compliance() reads it
        results[(result.workload_id, policy_id, key)] = result
    return results


def _newest_results_sql(
    applicable: Mapping[int, list[Control]], versions: dict[tuple[int, str], list[Control]]
) -> list[CheckResult]:
    """PostgreSQL: one statement probing exactly the (workload, version) pairs of the automated controls
    that apply, and keeping the newest per (workload, key)."""
    rows = _newest_result_rows(applicable, versions, RESULT_FIELDS)
    return _loaded_results(rows, connection.alias)


def _newest_result_rows(
    applicable: Mapping[int, list[Control]], versions: dict[tuple[int, str], list[Control]], columns: Iterable[str]
) -> list[tuple[Any, ...]]:
    """``_newest_results_sql``'s statement, answering ``columns`` of each newest result as tuples."""
    keys: dict[tuple[int, str], int] = {}  # (policy, key) → its number in the query
    probes: dict[int, list[tuple[int, int]]] = {}  # current control → (version, key number) to probe
    workload_ids: list[int] = []
    control_ids: list[int] = []
    key_nos: list[int] = []
    for pk, controls in applicable.items():
        for control in controls:
            if control.pk not in probes:
                ref = _ref(control)
                automated = control.kind == Control.Kind.AUTOMATED
                key_no = keys.setdefault(ref, len(keys)) if automated else -1
                probes[control.pk] = [(version.pk, key_no) for version in versions[ref]] if automated else []
            for version_id, key_no in probes[control.pk]:
                workload_ids.append(pk)
                control_ids.append(version_id)
                key_nos.append(key_no)
    inner = dict.fromkeys(["id", "evaluated_at", *columns])  # what the outer query orders by, too
    sql = NEWEST_RESULTS_SQL.format(
        columns=", ".join(f"r.{name}" for name in columns),
        inner=", ".join(f"r.{name}" for name in inner),
        table=CheckResult._meta.db_table,
    )
    with connection.cursor() as cursor:
        cursor.execute(sql, [_pg_array(workload_ids), _pg_array(control_ids), _pg_array(key_nos)])
        return cursor.fetchall()


def _loaded_results(rows: list[tuple[Any, ...]], alias: str) -> list[CheckResult]:
    """Check results from rows of ``RESULT_FIELDS``, as ``CheckResult.from_db`` makes them (loaded from
    ``alias``, ``observed`` deferred), but filled in as unpickling fills a model instance, without
    ``__init__`` setting each field through its descriptor: a dashboard loads a thousand at once, and
    that took longer than the query. CheckResult has no pre_init/post_init receivers to miss."""
    new = CheckResult.__new__
    loaded = []
    for row in rows:
        result = new(CheckResult)
        result._state = ModelState()
        result._state.adding, result._state.db = False, alias
        result.__dict__.update(zip(RESULT_FIELDS, row, strict=True))
        loaded.append(result)
    return loaded


def _newest_results_orm(ids: list[int], keys: list[list[int]]) -> QuerySet[CheckResult]:
    """Any database: for every workload and key (the ids of its control's versions), a subquery probing
    each version, under one UNION ALL."""
    workloads = Workload.objects.filter(pk__in=ids).order_by()
    probes = [workloads.annotate(newest=_newest_result_id(control_ids)).values("newest") for control_ids in keys]
    newest = probes[0].union(*probes[1:], all=True)
    return CheckResult.objects.filter(pk__in=newest).only(*RESULT_FIELDS).order_by()


def _active_waiver_query(ids: list[int], controls: list[Control], today: date) -> QuerySet[Waiver]:
    return Waiver.objects.filter(
        workload_id__in=ids, status=Waiver.Status.APPROVED, ends_on__gte=today,
        policy_id__in={c.policy_version.policy_id for c in controls}, control_key__in={c.key for c in controls},
    )  # fmt: skip


def _active_waivers(ids: list[int], controls: list[Control], today: date) -> dict[ControlRef, Waiver]:
    active = _active_waiver_query(ids, controls, today).order_by("-requested_at", "-id")
    waivers: dict[ControlRef, Waiver] = {}
    for waiver in active:  # the newest first, the one compliance() takes
        waivers.setdefault((waiver.workload_id, waiver.policy_id, waiver.control_key), waiver)
    return waivers


def _applicable_many(workloads: list[Workload], controls: list[Control]) -> dict[int, list[Control]]:
    """``applicable_controls`` of each workload, by id. A control reads only a workload's risk tier, data
    classification and stage, so each combination is checked once (the lists are shared: read them only)."""
    kinds: dict[tuple[str, str, str], list[Control]] = {}
    applicable = {}
    for workload in workloads:
        kind = (workload.risk_tier, workload.data_classification, workload.lifecycle_stage)
        if kind not in kinds:
            kinds[kind] = applicable_controls(workload=workload, controls=controls)
        applicable[workload.pk] = kinds[kind]
    return applicable


def compliance_many(*, workloads: Iterable[Workload], now: datetime | None = None) -> dict[int, Compliance]:
    """``compliance()`` of many workloads, by workload id, in five queries however many there are and
    however long their history (dashboards): the current controls; every version's control of their
    keys; the newest attestations; the newest check results; the active waivers. The check results
    leave their ``observed`` evidence deferred (read on access)."""
    now = now or timezone.now()
    workloads = list(workloads)
    reports = {workload.pk: Compliance(workload=workload) for workload in workloads}
    if not workloads:
        return reports
    controls = list(current_controls())
    applicable = {pk: found for pk, found in _applicable_many(workloads, controls).items() if found}
    if not applicable:
        return reports
    ids = list(applicable)
    versions = _versions(controls)
    attestations = _newest_attestations(ids, versions)
    results = _newest_results(applicable, versions)
    waivers = _active_waivers(ids, controls, timezone.localdate(now))
    refs = {control.pk: _ref(control) for control in controls}
    hashes = {control.pk: control.content_hash for control in controls if control.kind == Control.Kind.ATTESTATION}
    for pk, found in applicable.items():
        statuses = reports[pk].statuses
        for control in found:
            ref = (pk, *refs[control.pk])
            statuses.append(
                _status(control, attestation=attestations.get(ref), result=results.get(ref), waiver=waivers.get(ref),
                        now=now, content_hash=hashes.get(control.pk))
            )  # fmt: skip
    return reports


def compliance_scores(*, workloads: Iterable[Workload], now: datetime | None = None) -> dict[int, tuple[int, int]]:
    """Per workload id: how many of the controls that apply to it are compliant (passing, attested or
    waived), and how many apply; ``compliance_many``'s score without its statuses, for views that only
    count (the portfolio's risk × compliance). The same queries, but reading the few columns a count
    needs as tuples: no model instances, no details. ``(0, 0)``: no control applies."""
    now = now or timezone.now()
    workloads = list(workloads)
    scores = dict.fromkeys((workload.pk for workload in workloads), (0, 0))
    controls = list(current_controls()) if workloads else []
    applicable = {pk: found for pk, found in _applicable_many(workloads, controls).items() if found}
    if not applicable:
        return scores
    ids = list(applicable)
    versions = _versions(controls)
    refs = {c.pk: ref for ref, cs in versions.items() for c in cs}
    attested: set[ControlRef] = set()
    hashes = {control.pk: control.content_hash for control in controls if control.kind == Control.Kind.ATTESTATION}
    current = {_ref(control): control.pk for control in controls}
    if by_id := _attestation_controls(versions):
        answers = _newest_attestation_query(ids, by_id).values_list(
            "workload_id", "control_id", "content_hash", "expires_at"
        )
        for workload_id, control_id, answered, expires_at in answers:
            ref = refs[control_id]
            if _attestation_valid(answered, expires_at, hashes[current[ref]], now):
                attested.add((workload_id, *ref))
    passing = {
        (workload_id, *refs[control_id])
        for workload_id, control_id, state in _newest_result_states(applicable, versions)
        if state in State.COMPLIANT
    }
    waived = set(
        _active_waiver_query(ids, controls, timezone.localdate(now)).values_list("workload_id", "policy_id",
                                                                                  "control_key")
    )  # fmt: skip
    own = {control.pk: _ref(control) for control in controls}
    for pk, found in applicable.items():
        compliant = 0
        for control in found:
            ref = (pk, *own[control.pk])
            compliant += ref in waived or ref in (attested if control.kind == Control.Kind.ATTESTATION else passing)
        scores[pk] = (compliant, len(found))
    return scores


# How old a stored count may be and still be read (``stored_compliance_scores``): beat rebuilds them every
# five minutes; older ones (beat stopped, or a workload new since) are counted live.
SCORES_FRESH_FOR = timedelta(minutes=30)


def compliance_scores_refresh(*, now: datetime | None = None) -> int:
    """Count every workload's compliance (``compliance_scores``) and store the counts
    (``ComplianceScore``), replacing the previous ones in one transaction. Returns how many were stored."""
    now = now or timezone.now()
    with transaction.atomic():
        locks.hold("governance.compliance-scores")  # two rebuilds at once take turns
        scores = compliance_scores(workloads=Workload.objects.order_by("pk"), now=now)
        ComplianceScore.objects.all().delete()
        ComplianceScore.objects.bulk_create(
            [ComplianceScore(workload_id=pk, compliant=compliant, applicable=applicable, refreshed_at=now)
             for pk, (compliant, applicable) in scores.items()],
            batch_size=1000,
        )  # fmt: skip
    return len(scores)


def stored_compliance_scores(
    *, workloads: Iterable[Workload], now: datetime | None = None
) -> tuple[dict[int, tuple[int, int]], datetime | None]:
    """``compliance_scores`` of ``workloads`` read from the stored counts where they are fresh (at most
    ``SCORES_FRESH_FOR`` old), the others counted live; and when the oldest stored count read was made
    (None: all were counted live). One query when every count is stored and fresh."""
    now = now or timezone.now()
    workloads = list(workloads)
    stored = ComplianceScore.objects.filter(
        workload_id__in=[w.pk for w in workloads], refreshed_at__gte=now - SCORES_FRESH_FOR
    ).values_list("workload_id", "compliant", "applicable", "refreshed_at")
    scores: dict[int, tuple[int, int]] = {}
    oldest = None
    for workload_id, compliant, applicable, refreshed_at in stored:
        scores[workload_id] = (compliant, applicable)
        oldest = refreshed_at if oldest is None else min(oldest, refreshed_at)
    missing = [w for w in workloads if w.pk not in scores]
    if missing:
        scores.update(compliance_scores(workloads=missing, now=now))
    return scores, oldest


def _newest_result_states(
    applicable: Mapping[int, list[Control]], versions: dict[tuple[int, str], list[Control]]
) -> list[tuple[int, int, str]]:
    """(workload, control version, state) of the newest result per (workload, key) of the automated
    controls that apply."""
    keys = [
        [version.pk for version in versions[_ref(control)]]
        for control in {c.pk: c for found in applicable.values() for c in found}.values()
        if control.kind == Control.Kind.AUTOMATED
    ]
    if not keys:
        return []
    if connection.vendor == "postgresql":
        return _newest_result_rows(applicable, versions, ("workload_id", "control_id", "state"))
    return list(_newest_results_orm(list(applicable), keys).values_list("workload_id", "control_id", "state"))


def _per_version(control_ids: list[int], newest: Callable[[int], Subquery], *, fallback: datetime) -> Any:
    """The latest (``fallback`` EPOCH) or earliest (``fallback`` NEVER) of one time per version: each an
    ordered index probe of its own ((workload, control, -evaluated_at)); a probe across versions would
    sort the workload's history. ``fallback`` stands for "none"."""
    found = [Coalesce(newest(control_id), Value(fallback), output_field=DateTimeField()) for control_id in control_ids]
    if len(found) == 1:
        return found[0]
    return Greatest(*found) if fallback == EPOCH else Least(*found)


# Per failing check (its newest result's id, workload and current control): every version of the control
# (same policy, same key); per version, an index probe for the newest result that was not failing; the
# newest of those ends the previous run (EPOCH if none); then per version a probe for the first result
# after it, and the earliest of those began the run (NEVER if none).
FAILING_SINCE_SQL = """
WITH probe AS (
    SELECT f.result_id, f.workload_id, v.id AS control_id,
        (SELECT r.evaluated_at FROM {results} AS r
         WHERE r.workload_id = f.workload_id AND r.control_id = v.id AND r.state <> %s
         ORDER BY r.evaluated_at DESC LIMIT 1) AS ok
    FROM unnest(%s::bigint[], %s::bigint[], %s::bigint[]) AS f(result_id, workload_id, current_id)
    JOIN {controls} AS c ON c.id = f.current_id
    JOIN {versions} AS cv ON cv.id = c.policy_version_id
    JOIN {versions} AS pv ON pv.policy_id = cv.policy_id
    JOIN {controls} AS v ON v.policy_version_id = pv.id AND v.key = c.key
), run AS (
    SELECT result_id, COALESCE(MAX(ok), %s) AS ok FROM probe GROUP BY result_id
)
SELECT run.result_id, COALESCE(MIN(first.evaluated_at), %s)
FROM run
JOIN probe USING (result_id)
LEFT JOIN LATERAL (
    SELECT r.evaluated_at FROM {results} AS r
    WHERE r.workload_id = probe.workload_id AND r.control_id = probe.control_id AND r.evaluated_at > run.ok
    ORDER BY r.evaluated_at
    LIMIT 1
) AS first ON TRUE
GROUP BY run.result_id
"""


def failing_since(*, statuses: Iterable[ControlStatus]) -> dict[int, datetime]:
    """When each failing automated check began failing, by its newest result's id: the first of the
    unbroken run of failing results that ends with it, whichever versions evaluated them. Index probes
    per workload and version for the newest result that was not failing and the first after it,
    reading no more than the failing runs: one statement on PostgreSQL (``_failing_since_sql``);
    elsewhere two queries, the controls' versions and the probes as annotations (``_failing_since_orm``)."""
    failing = [s for s in statuses if s.result is not None and s.result.state == CheckResult.State.FAILING]
    if not failing:
        return {}
    if connection.vendor == "postgresql":
        return _failing_since_sql(failing)
    return _failing_since_orm(failing)


def _failing_since_sql(failing: list[ControlStatus]) -> dict[int, datetime]:
    sql = FAILING_SINCE_SQL.format(
        results=CheckResult._meta.db_table, controls=Control._meta.db_table, versions=PolicyVersion._meta.db_table
    )
    params = [
        CheckResult.State.FAILING.value,
        _pg_array(s.result.pk for s in failing), _pg_array(s.result.workload_id for s in failing),
        _pg_array(s.control.pk for s in failing),
        EPOCH, NEVER,
    ]  # fmt: skip
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return dict(cursor.fetchall())


def _failing_since_orm(failing: list[ControlStatus]) -> dict[int, datetime]:
    versions = _versions(s.control for s in failing)
    keys = list(versions)
    results = CheckResult.objects.filter(workload=OuterRef("pk"))
    annotations: dict[str, Any] = {}
    for i, key in enumerate(keys):
        ids = [c.pk for c in versions[key]]
        annotations[f"ok_{i}"] = _per_version(
            ids,
            lambda control_id: Subquery(
                results.filter(control_id=control_id)
                .exclude(state=CheckResult.State.FAILING)
                .order_by("-evaluated_at")
                .values("evaluated_at")[:1]
            ),
            fallback=EPOCH,
        )
        annotations[f"since_{i}"] = _per_version(
            ids,
            lambda control_id, i=i: Subquery(
                results.filter(control_id=control_id, evaluated_at__gt=OuterRef(f"ok_{i}"))
                .order_by("evaluated_at")
                .values("evaluated_at")[:1]
            ),
            fallback=NEVER,
        )
    rows = (
        Workload.objects.filter(pk__in={s.result.workload_id for s in failing})
        .order_by()
        .annotate(**annotations)
        .values("pk", *(f"since_{i}" for i in range(len(keys))))
    )
    since = {(row["pk"], *key): row[f"since_{i}"] for row in rows for i, key in enumerate(keys)}
    return {s.result.pk: since[(s.result.workload_id, *_ref(s.control))] for s in failing}


# --- Release approval and the high-risk gate ---------------------------------------------------


@transaction.atomic
def release_approve(
    *, actor: User | None, release: Release, comment: str = "", request: HttpRequest | None = None
) -> ReleaseApproval:
    release = Release.objects.select_related("workload").get(pk=release.pk)
    if release.status != Release.Status.DRAFT:
        raise ApplicationError(f"Release {release.version} is {release.get_status_display().lower()}; approve drafts.")
    approval, created = ReleaseApproval.objects.get_or_create(
        release=release, defaults={"approved_by": actor, "comment": comment}
    )
    if created:
        audit_record(actor=actor, action="release.approve", target=release,
                     changes={"workload": release.workload.slug, "comment": comment}, request=request)  # fmt: skip
    return approval


def high_risk_gate(release: Release, actor: User | None) -> list[str]:
    """Registered into the registry's release gates: a high-risk workload's release needs CoE
    approval, and every applicable control passing, attested or waived."""
    workload = release.workload
    if workload.risk_tier != RiskTier.HIGH:
        return []
    if release.has_been_live:
        # A rollback returns to a release that went live before: it is how a team gets out of
        # trouble, and it is not held up by attestations or a new approval.
        return []
    problems = []
    if not ReleaseApproval.objects.filter(release=release).exists():
        problems.append(f"CoE staff have not approved release {release.version} (high-risk workload).")
    for status in compliance(workload=workload).statuses:
        if not status.compliant:
            problems.append(f"{status.control.policy_version.policy.title}: “{status.control.title}” is "
                            f"{status.label.lower()}.")  # fmt: skip
    return problems


def notify_policy_published(version: PolicyVersion, previous: PolicyVersion | None) -> None:
    """Publish hook: tell each member of a team whose workloads the new version applies to, once,
    which attestation controls they must (re-)attest, workload by workload."""
    from django.urls import reverse

    before = {c.key: c.content_hash for c in previous.controls.all()} if previous else {}
    controls = list(version.controls.all())
    per_user: dict[int, tuple[User, list[str]]] = {}
    workloads = Workload.objects.exclude(lifecycle_stage=LifecycleStage.RETIRED).select_related("team")
    members: dict[int, list[User]] = {}
    for workload in workloads:
        applicable = [c for c in controls if c.applies_to(workload)]
        if not applicable:
            continue
        to_attest = [
            c.title for c in applicable if c.kind == Control.Kind.ATTESTATION and before.get(c.key) != c.content_hash
        ]
        line = f"- **{workload.name}**: " + (
            "attest " + ", ".join(to_attest) if to_attest else "nothing to attest again"
        )
        if workload.team_id not in members:
            members[workload.team_id] = list(_team_members(workload))
        for user in members[workload.team_id]:
            per_user.setdefault(user.pk, (user, []))[1].append(line)
    for user, lines in per_user.values():
        notification_send(
            recipients=[user],
            title=f"{version.policy.title} v{version.number} applies to your workloads",
            body=f"{version.changelog or 'A new version of the policy is published.'}\n\n" + "\n".join(lines),
            url=reverse("governance:policy-detail", args=[version.policy.slug]),
        )

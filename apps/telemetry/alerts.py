"""Alerts: what scoring found that a person should look at. One open alert per key and workload;
raising it again while open changes nothing, so scoring can run as often as it likes. A new alert
notifies the owning team and the CoE (failing controls are notified by governance itself)."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date

from django.db import IntegrityError, transaction
from django.db.models import Q
from django.urls import reverse
from django.utils import timezone

from apps.accounts.models import User
from apps.accounts.roles import COE_STAFF
from apps.core.services import notification_send
from apps.governance.models import CheckResult
from apps.registry.models import Workload

from .models import Alert, Scorecard
from .stats import PSI_MODERATE, PSI_SIGNIFICANT

Kind, Severity = Alert.Kind, Alert.Severity


def recipients(workload: Workload) -> list[User]:
    team = User.objects.filter(memberships__team=workload.team_id, is_active=True)
    coe = User.objects.filter(groups__name=COE_STAFF, is_active=True)
    return list({user.pk: user for user in [*team, *coe]}.values())


def alert_raise(
    *, workload: Workload, kind: str, key: str, title: str, detail: str = "", severity: str = Severity.WARNING,
    day: date | None = None, notify: bool = True,
) -> Alert | None:  # fmt: skip
    """Open an alert unless one with this key is open; return the new alert, or None."""
    if Alert.objects.filter(workload=workload, key=key, resolved_at__isnull=True).exists():
        return None
    try:
        with transaction.atomic():
            alert = Alert.objects.create(
                workload=workload, kind=kind, key=key, title=title, detail=detail, severity=severity, day=day
            )
    except IntegrityError:  # raised at the same moment by another worker
        return None
    if notify:
        notification_send(
            recipients=recipients(workload),
            title=title,
            body=detail,
            url=reverse("telemetry:workload-telemetry", args=[workload.slug]),
        )
    return alert


def alert_resolve(*, workload: Workload, key: str, actor: User | None = None) -> int:
    return Alert.objects.filter(workload=workload, key=key, resolved_at__isnull=True).update(
        resolved_at=timezone.now(), resolved_by=actor
    )


def from_controls(*, workload: Workload, results: Iterable[CheckResult], day: date) -> None:
    """A failing control opens an alert (governance has already notified); a passing one closes it."""
    for result in results:
        control = result.control
        key = f"control:{control.policy_version.policy_id}:{control.key}"
        if result.state == CheckResult.State.FAILING:
            alert_raise(
                workload=workload, kind=Kind.CONTROL, key=key, severity=Severity.CRITICAL, day=day, notify=False,
                title=f"{workload.name}: “{control.title}” is failing", detail=result.detail,
            )  # fmt: skip
        elif result.state == CheckResult.State.PASSING:
            alert_resolve(workload=workload, key=key)


def from_scorecard(*, workload: Workload, card: Scorecard) -> None:
    day = card.day
    _close_what_has_passed(workload=workload, card=card)
    for anomaly in card.anomalies:
        alert_raise(
            workload=workload, kind=Kind.ANOMALY, key=f"anomaly:{day}:{anomaly['metric']}", day=day,
            title=f"{workload.name}: {anomaly['label'].lower()} {anomaly['direction']} on {day:%d %b}",
            detail=f"{anomaly['label']} was {anomaly['value']:g} against a median of {anomaly['median']:g} "
            f"over the previous two weeks (robust z = {anomaly['z']:g}).",
        )  # fmt: skip
    if card.budget_burn is not None:
        for threshold in (1.0, 0.8):
            if card.budget_burn >= threshold:
                alert_raise(
                    workload=workload, kind=Kind.BUDGET, key=f"budget:{day:%Y-%m}:{int(threshold * 100)}", day=day,
                    severity=Severity.CRITICAL if threshold >= 1 else Severity.WARNING,
                    title=f"{workload.name} has spent {card.budget_burn:.0%} of its {day:%B} budget",
                    detail=f"{card.month_to_date_cost:.2f} {workload.currency} spent by {day:%d %b} against a "
                    f"budget of {workload.monthly_budget:.2f}; the month is heading for {card.month_end_forecast:.2f}.",
                )  # fmt: skip
                break
    score = card.drift_score
    if score is not None and score >= PSI_SIGNIFICANT:
        drift = card.drift
        alert_raise(
            workload=workload, kind=Kind.DRIFT, key=f"drift:{drift.get('release')}", day=day,
            title=f"{workload.name}: behaviour drifting from release {drift.get('release')}'s baseline",
            detail=f"PSI {score:.2f} on {day:%d %b} (latency {drift.get('latency_psi')}, quality "
            f"{drift.get('quality_psi')}); ≥ 0.25 is a significant shift.",
        )  # fmt: skip
    regression = card.regression
    if regression.get("recommend_rollback"):
        alert_raise(
            workload=workload, kind=Kind.ROLLBACK, key=f"rollback:{regression['release']}", day=day,
            severity=Severity.CRITICAL,
            title=f"{workload.name}: release {regression['release']} is worse than {regression['previous']} — "
            f"consider rolling back",
            detail="Since it went live: " + "; ".join(regression["findings"]) + ".",
        )  # fmt: skip


def _close_what_has_passed(*, workload: Workload, card: Scorecard) -> int:
    """Close alerts that a later scorecard shows are over, so the open list stays what needs looking
    at (``resolved_by`` stays empty: closed by the portal):

    - an anomaly, once a later complete day has the same metric scored and not anomalous;
    - a budget alert of a month before this card's month;
    - drift, once the live release has changed (a new baseline) or a later day's PSI is below 0.1
      (the usual "no change" line: below the 0.25 that raises it, so it does not flap);
    - a rollback recommendation, once that release is no longer live (rolled back or replaced).
    """
    day = card.day
    open_before = Alert.objects.filter(workload=workload, resolved_at__isnull=True, day__lt=day)
    closed = Q(pk__in=[])
    anomalous = {anomaly["metric"] for anomaly in card.anomalies}
    for alert in open_before.filter(kind__in=[Kind.ANOMALY, Kind.BUDGET]).only("pk", "kind", "key"):
        if alert.kind == Kind.ANOMALY:  # anomaly:<day>:<metric>
            metric = alert.key.rsplit(":", 1)[-1]
            if card.complete and metric not in anomalous and getattr(card, metric, None) is not None:
                closed |= Q(pk=alert.pk)
        elif alert.key.split(":")[1] < f"{day:%Y-%m}":  # budget:<YYYY-MM>:<percent>
            closed |= Q(pk=alert.pk)
    live = workload.live_release.version if workload.live_release_id else None
    if live is not None:
        closed |= Q(kind=Kind.DRIFT) & ~Q(key=f"drift:{live}") | Q(kind=Kind.ROLLBACK) & ~Q(key=f"rollback:{live}")
        if card.drift_score is not None and card.drift_score < PSI_MODERATE:
            closed |= Q(kind=Kind.DRIFT, key=f"drift:{live}")
    return open_before.filter(closed).update(resolved_at=timezone.now())

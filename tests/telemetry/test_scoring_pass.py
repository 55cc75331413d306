"""Scoring a workload's days in one pass (``scoring.score_days``, the task
``score_workload_days_task``) gives what scoring them one by one gives: the same scorecards,
check results, alerts and monthly rollups. On PostgreSQL, the windows summed from rollups read
once are the windows the rows give, and the monthly rows summed by the database are the rows summed
in Python, float for float."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest
from django.db import connection
from django.utils import timezone

from apps.core.models import Notification
from apps.governance import services as governance
from apps.governance.models import CheckResult
from apps.registry import services as registry
from apps.registry.models import Release, ReleaseEvent
from apps.telemetry import rollups, scoring, tasks
from apps.telemetry.models import Alert, HourlyRollup, MonthlyModelRollup, Scorecard, WeeklyMoney

from .helpers import roll, send, send_day

pytestmark = pytest.mark.django_db

DAYS = 12  # scored: the last 12 days and today


def _ago(days: int):  # type: ignore[no-untyped-def]
    return timezone.now().date() - timedelta(days=days)


def _workload(team, team_member, model, name):  # type: ignore[no-untyped-def]
    return registry.workload_register(
        actor=team_member, team=team, name=name, ai_models=[model], risk_tier="limited",
        lifecycle_stage="production", objective_p95_latency_ms=2000, monthly_budget=Decimal("100"),
        value_per_request=Decimal("0.50"),
    )  # fmt: skip


def _release(workload, actor, version, *, days_ago, model):  # type: ignore[no-untyped-def]
    release = registry.release_promote(
        actor=actor, release=registry.release_create(actor=actor, workload=workload, version=version, ai_models=[model])
    )
    when = timezone.now() - timedelta(days=days_ago)
    ReleaseEvent.objects.filter(release=release).update(at=when)
    Release.objects.filter(pk=release.pk).update(promoted_at=when)
    return release


def _history(workload, actor, model) -> None:  # type: ignore[no-untyped-def]
    """A release for a week and more, then a worse one for the last five days and today: a volume
    spike, a day of errors, a second model, drift against the new release's first three days."""
    _release(workload, actor, "1.0.0", days_ago=DAYS + 2, model=model)
    for n in range(DAYS + 1, 5, -1):
        send_day(workload, _ago(n), n=160 if n != 6 else 900, release="1.0.0", latency=650 + 10 * n,
                 error_rate=0.01 if n != 8 else 0.2, quality=0.85, flagged_rate=0.01, seed=n)  # fmt: skip
        send_day(workload, _ago(n), n=20, model="mystery-model", release="1.0.0", seed=100 + n)
    _release(workload, actor, "2.0.0", days_ago=5, model=model)
    for n in range(5, -1, -1):
        send_day(workload, _ago(n), n=250, release="2.0.0", latency=1700 + 40 * n, error_rate=0.1, quality=0.6,
                 seed=n)  # fmt: skip
    roll()


def _control(actor) -> None:  # type: ignore[no-untyped-def]
    policy = governance.policy_create(actor=actor, title="Reliability", category="security_governance",
                                      summary="Workloads stay reliable.")  # fmt: skip
    version = governance.policy_version_create(actor=actor, policy=policy, number="1.0.0", body="# Reliability")
    governance.control_add(actor=actor, version=version, key="errors", title="Error rate under 2 %",
                           statement="Errors stay rare.", kind="automated", metric="error_rate", operator="<=",
                           threshold=Decimal("0.02"))  # fmt: skip
    governance.control_add(actor=actor, version=version, key="p95", title="p95 under the objective",
                           statement="Fast enough.", kind="automated", metric="p95_latency_ms", operator="<=",
                           threshold_source="objective_p95_latency_ms")  # fmt: skip
    governance.policy_version_publish(actor=actor, version=version)


def _outcome(workload) -> dict[str, list]:  # type: ignore[no-untyped-def]
    """What scoring left for the workload, without ids and the workload's own name and ids."""
    skip = {"id", "workload_id", "computed_at"}
    fields = [f.attname for f in Scorecard._meta.concrete_fields if f.attname not in skip]
    cards = []
    for row in Scorecard.objects.filter(workload=workload).order_by("day").values(*fields):
        row["regression"].pop("previous_id", None)  # the workload's own release, promoted at its own moment
        row["regression"].pop("since", None)
        cards.append(row)
    monthly_fields = [f.attname for f in MonthlyModelRollup._meta.concrete_fields if f.attname not in skip]
    weekly_fields = [f.attname for f in WeeklyMoney._meta.concrete_fields if f.attname not in skip]
    return {
        "cards": cards,
        "checks": list(
            CheckResult.objects.filter(workload=workload)
            .order_by("id")
            .values_list("control__key", "state", "observed", "detail")
        ),
        "alerts": sorted(
            (
                alert.kind,
                alert.key,
                alert.day,
                alert.severity,
                alert.is_open,
                alert.title.replace(workload.name, "W"),
                alert.detail,
            )
            for alert in Alert.objects.filter(workload=workload)
        ),
        "notifications": sorted(
            (notification.recipient_id, notification.title.replace(workload.name, "W"), notification.body)
            for notification in Notification.objects.filter(title__startswith=workload.name)
        ),
        "monthly": sorted(MonthlyModelRollup.objects.filter(workload=workload).values(*monthly_fields), key=repr),
        "weekly": sorted(WeeklyMoney.objects.filter(workload=workload).values(*weekly_fields), key=repr),
    }


def test_one_pass_over_a_workloads_days_scores_them_as_scoring_day_by_day_does(team, team_member, coe_staff,
                                                                                priced_model):  # fmt: skip
    _control(coe_staff)
    one_by_one = _workload(team, team_member, priced_model, "Day by day")
    in_a_pass = _workload(team, team_member, priced_model, "In one pass")
    for workload in (one_by_one, in_a_pass):
        _history(workload, team_member, priced_model)
    now = timezone.now()
    days = [_ago(n) for n in range(DAYS, -1, -1)]
    for day in days:
        scoring.score_day(workload=one_by_one, day=day, evaluate_controls=day < now.date(), now=now)
    cards = scoring.score_days(workload=in_a_pass, days=reversed(days), now=now)  # any order: oldest first

    assert [card.day for card in cards] == days
    expected, got = _outcome(one_by_one), _outcome(in_a_pass)
    assert got["cards"] == expected["cards"]
    assert got["checks"] == expected["checks"]
    assert got["alerts"] == expected["alerts"]
    assert got["notifications"] == expected["notifications"]
    assert got["monthly"] == expected["monthly"]
    assert got["weekly"] == expected["weekly"]
    # Each week's money summary sums that week's scorecards.
    weeks = {}
    for card in got["cards"]:
        week = weeks.setdefault(card["day"] - timedelta(days=card["day"].weekday()), [Decimal(0), Decimal(0), 0, 0])
        week[0], week[1], week[2], week[3] = week[0] + card["cost"], week[1] + card["value"], week[2] + card[
            "requests"], week[3] + 1  # fmt: skip
    assert {(row["week"], row["cost"], row["value"], row["requests"], row["days"]) for row in got["weekly"]} == {
        (week, *sums) for week, sums in weeks.items()
    }
    # The history exercised what a pass shares: anomalies, drift, the regression check, failing
    # and passing controls (not on today, still running), two models and releases in the months.
    assert {"anomaly", "rollback", "control"} <= {alert[0] for alert in got["alerts"]}
    assert any(card["drift_score"] is not None for card in got["cards"])
    assert {state for _, state, _, _ in got["checks"]} == {CheckResult.State.FAILING, CheckResult.State.PASSING}
    assert len(got["checks"]) == 2 * DAYS
    assert any("is failing" in title for _, title, _ in got["notifications"])  # governance told the team
    model_releases = {(row["model_name"], row["release"]) for row in got["monthly"]}
    assert model_releases == {("gpt-4o-mini", "1.0.0"), ("gpt-4o-mini", "2.0.0"), ("mystery-model", "1.0.0")}


def test_the_task_scores_the_days_it_is_given(workload, team_member, priced_model):
    _history(workload, team_member, priced_model)
    days = [_ago(2).isoformat(), _ago(1).isoformat(), _ago(0).isoformat()]
    assert tasks.score_workload_days_task.apply(args=[workload.pk, days]).get() == 3
    assert list(Scorecard.objects.filter(workload=workload).order_by("day").values_list("day", "complete")) == [
        (_ago(2), True), (_ago(1), True), (_ago(0), False),
    ]  # fmt: skip
    assert MonthlyModelRollup.objects.filter(workload=workload, month=_ago(0).replace(day=1)).exists()
    ids = list(Scorecard.objects.filter(workload=workload).order_by("day").values_list("id", flat=True))
    cards = scoring.score_days(workload=workload, days=[_ago(1), _ago(0)])  # again: the same rows, updated
    assert [card.pk for card in cards] == ids[1:]
    assert Scorecard.objects.filter(workload=workload).count() == 3
    assert tasks.score_workload_days_task.apply(args=[0, days]).get() == 0  # a workload since deleted


postgresql_only = pytest.mark.skipif(connection.vendor != "postgresql", reason="the PostgreSQL paths")


@postgresql_only
def test_windows_summed_from_rollups_read_once_are_the_windows_of_the_rows(workload, team_member, priced_model):
    _history(workload, team_member, priced_model)
    shared = scoring._SharedRollups(workload.pk)
    start = datetime.combine(_ago(DAYS + 2), datetime.min.time(), tzinfo=UTC)
    hours = [start + timedelta(hours=h) for h in range(0, 24 * (DAYS + 4), 7)]
    spans = [(a, b) for a in hours[::3] for b in hours[1::4] if a <= b]
    assert len(spans) > 100
    for index, (a, b) in enumerate(spans):
        for release in (None, "1.0.0", "2.0.0", "3.0.0"):
            rows = scoring.window(workload, a, b, release=release)  # not in a pass: the rows, one by one
            assert shared.window(a, b, release) == rows, (index, release)
    assert shared.window(start, start + timedelta(days=30), None).requests == sum(
        HourlyRollup.objects.filter(workload=workload).values_list("requests", flat=True)
    )


@postgresql_only
def test_the_monthly_rows_summed_by_the_database_are_those_summed_in_python(workload, other_workload):
    month = _ago(0).replace(day=1)
    for day in range(3):
        at = datetime(month.year, month.month, 1 + day, 9, tzinfo=UTC)
        for seed, (model, release) in enumerate([("gpt-4o-mini", "1.0.0"), ("gpt-4o-mini", "1.1.0"),
                                                 ("mystery-model", "1.0.0")]):  # fmt: skip
            send(workload, at=at, n=7 + seed, model=model, release=release, latency=333.3 + seed, seed=day + seed)
            send(workload, at=at + timedelta(hours=5), n=3, model=model, release=release, seed=10 + day)
    send(other_workload, at=datetime(month.year, month.month, 1, 9, tzinfo=UTC), n=5)
    roll()
    start = datetime(month.year, month.month, 1, tzinfo=UTC)
    end = (start + timedelta(days=32)).replace(day=1)
    fields = [f.attname for f in MonthlyModelRollup._meta.concrete_fields if f.attname != "id"]

    def rows(made: list[MonthlyModelRollup]) -> list[tuple]:
        return sorted((tuple(getattr(row, name) for name in fields) for row in made), key=repr)

    in_sql = rows(rollups._period_rows(MonthlyModelRollup, workload.pk, start, end))
    assert len(in_sql) == 3
    in_python = rows(rollups._period_rows_python(MonthlyModelRollup, workload.pk, start, end))
    assert repr(in_sql) == repr(in_python)  # float for float
    assert rollups.monthly_refresh(workload_id=workload.pk, month=month) == 3

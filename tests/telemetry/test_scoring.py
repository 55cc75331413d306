"""Daily scorecards: money, latency against the objective, rates, anomalies, drift, the post-release
regression check, governance's controls and the alerts they raise."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal

import pytest
from django.utils import timezone

from apps.core.models import Notification
from apps.governance import services as governance
from apps.governance.models import CheckResult
from apps.registry import services as registry
from apps.registry.models import Release, ReleaseEvent
from apps.telemetry import scoring
from apps.telemetry.models import Alert, Scorecard
from apps.telemetry.scoring import score_day
from tests.registry.factories import WorkloadFactory

from .helpers import roll, send_day

pytestmark = pytest.mark.django_db


def today() -> date:
    return timezone.now().date()


def ago(days: int) -> date:
    return today() - timedelta(days=days)


def score_history(workload, days: range, **kwargs):  # type: ignore[no-untyped-def]
    """Send steady traffic for each day ``days`` ago, then score each day in order."""
    for n in days:
        send_day(workload, ago(n), seed=n, **kwargs)
    roll()
    return [score_day(workload=workload, day=ago(n), evaluate_controls=False) for n in sorted(days, reverse=True)]


def test_a_scorecard_prices_values_and_measures_the_day(workload):
    send_day(workload, ago(1), n=100, error_rate=0.1, flagged_rate=0.02, latency=1500)
    roll()
    card = score_day(workload=workload, day=ago(1), evaluate_controls=False)
    assert card.complete
    assert (card.requests, card.errors) == (100, 10)
    assert card.token_cost == Decimal("0.0450")  # 100 × 0.00045
    assert card.cost == card.token_cost  # no fixed run cost declared
    assert card.value == Decimal("45.0000")  # 90 successes × 0.50
    assert card.roi == pytest.approx((45 - 0.045) / 0.045, rel=1e-3)
    assert card.error_rate == 0.1
    assert card.safety_flag_rate == 0.02
    assert 1300 < card.latency_p50_ms < 1700
    assert card.latency_p95_ms <= card.latency_p99_ms
    assert card.latency_objective_met is True  # objective 2,000 ms
    assert card.quality_score == pytest.approx(0.8, abs=0.02)
    assert card.metrics["error_rate"] == 0.1
    assert card.metrics["window_days"] == 7


def test_budget_burn_and_forecast_count_the_fixed_run_cost(workload, team_member):
    workload = registry.workload_update(actor=team_member, workload=workload, fixed_monthly_run_cost=Decimal("300"),
                                        monthly_budget=Decimal("400"))  # fmt: skip
    day = ago(1)
    send_day(workload, day, n=10)
    roll()
    card = score_day(workload=workload, day=day, evaluate_controls=False)
    import calendar

    days_in_month = calendar.monthrange(day.year, day.month)[1]
    assert card.fixed_cost == pytest.approx(Decimal(300) / days_in_month, abs=Decimal("0.0001"))
    expected_mtd = Decimal("0.0045") + Decimal(300) * day.day / days_in_month
    assert card.month_to_date_cost == pytest.approx(expected_mtd, abs=Decimal("0.001"))
    assert card.budget_burn == pytest.approx(float(expected_mtd / 400), abs=1e-3)
    assert card.month_end_forecast >= Decimal(300)


def test_overspending_raises_budget_alerts_once(workload, team_member):
    if today().day == 1:
        pytest.skip("The first day of a month: no earlier day in it to spend on.")
    workload = registry.workload_update(actor=team_member, workload=workload, monthly_budget=Decimal("0.01"))
    send_day(workload, ago(1), n=50)
    roll()
    score_day(workload=workload, day=ago(1), evaluate_controls=False)
    score_day(workload=workload, day=ago(1), evaluate_controls=False)
    budget = Alert.objects.filter(workload=workload, kind=Alert.Kind.BUDGET)
    assert budget.count() == 1
    assert budget.get().severity == Alert.Severity.CRITICAL  # past 100 %: the 80 % alert is implied
    assert Notification.objects.filter(recipient=team_member, title__contains="budget").count() == 1


def test_an_injected_anomaly_is_flagged(workload, team_member, coe_staff):
    score_history(workload, range(15, 1, -1), n=200)
    send_day(workload, ago(1), n=200, error_rate=0.3, seed=99)
    roll()
    card = score_day(workload=workload, day=ago(1), evaluate_controls=False)
    metrics = {a["metric"] for a in card.anomalies}
    assert "error_rate" in metrics
    assert "requests" not in metrics  # volume was as usual
    alert = Alert.objects.get(workload=workload, kind=Alert.Kind.ANOMALY, key__endswith="error_rate")
    assert "Error rate" in alert.detail
    assert Notification.objects.filter(recipient=coe_staff, title=alert.title).exists()
    assert Notification.objects.filter(recipient=team_member, title=alert.title).exists()


def test_steady_days_raise_no_anomaly(workload):
    cards = score_history(workload, range(16, 0, -1), n=200)
    assert all(card.anomalies == [] for card in cards)
    assert not Alert.objects.filter(kind=Alert.Kind.ANOMALY).exists()


def _release(workload, actor, version, *, days_ago, model):  # type: ignore[no-untyped-def]
    release = registry.release_create(actor=actor, workload=workload, version=version, ai_models=[model])
    release = registry.release_promote(actor=actor, release=release)
    when = timezone.now() - timedelta(days=days_ago)
    ReleaseEvent.objects.filter(release=release).update(at=when)  # as if promoted then
    Release.objects.filter(pk=release.pk).update(promoted_at=when)
    return release


def test_a_clearly_worse_release_gets_a_rollback_recommendation(workload, team_member, priced_model):
    old = _release(workload, team_member, "1.0.0", days_ago=10, model=priced_model)
    for n in range(9, 3, -1):
        send_day(workload, ago(n), n=150, release="1.0.0", error_rate=0.01, latency=700, seed=n)
    new = _release(workload, team_member, "2.0.0", days_ago=3, model=priced_model)
    for n in (2, 1):
        send_day(workload, ago(n), n=150, release="2.0.0", error_rate=0.12, latency=1600, quality=0.6, seed=n)
    roll()
    card = score_day(workload=workload, day=ago(1), evaluate_controls=False)
    regression = card.regression
    assert regression["release"] == "2.0.0"
    assert regression["previous"] == "1.0.0"
    assert regression["previous_id"] == old.pk
    assert regression["recommend_rollback"] is True
    assert len(regression["findings"]) == 3  # error rate, p95 and quality
    alert = Alert.objects.get(workload=workload, kind=Alert.Kind.ROLLBACK)
    assert "2.0.0" in alert.title
    assert alert.severity == Alert.Severity.CRITICAL
    assert new.pk != old.pk


def test_a_release_as_good_as_the_last_is_not_flagged(workload, team_member, priced_model):
    _release(workload, team_member, "1.0.0", days_ago=10, model=priced_model)
    for n in range(9, 3, -1):
        send_day(workload, ago(n), n=150, release="1.0.0", seed=n)
    _release(workload, team_member, "1.1.0", days_ago=3, model=priced_model)
    for n in (2, 1):
        send_day(workload, ago(n), n=150, release="1.1.0", seed=n + 50)
    roll()
    card = score_day(workload=workload, day=ago(1), evaluate_controls=False)
    assert card.regression["recommend_rollback"] is False
    assert card.regression["findings"] == []


def test_drift_from_the_release_baseline(workload, team_member, priced_model):
    _release(workload, team_member, "1.0.0", days_ago=12, model=priced_model)
    for n in range(11, 7, -1):  # the baseline: the release's first three days
        send_day(workload, ago(n), n=300, latency=600, quality=0.85, seed=n)
    send_day(workload, ago(2), n=300, latency=620, quality=0.85, seed=2)
    send_day(workload, ago(1), n=300, latency=1800, quality=0.6, seed=1)
    roll()
    calm = score_day(workload=workload, day=ago(2), evaluate_controls=False)
    assert calm.drift_score < 0.1
    drifted = score_day(workload=workload, day=ago(1), evaluate_controls=False)
    assert drifted.drift_score >= 0.25
    assert drifted.drift["latency_psi"] >= 0.25
    assert drifted.drift["quality_psi"] >= 0.25
    assert Alert.objects.filter(workload=workload, kind=Alert.Kind.DRIFT).count() == 1


def test_no_drift_without_a_live_release(workload):
    send_day(workload, ago(1), n=10)
    roll()
    card = score_day(workload=workload, day=ago(1), evaluate_controls=False)
    assert card.drift_score is None
    assert "No live release" in card.drift["reason"]


def test_scoring_hands_metrics_to_governance_and_alerts_on_failing_controls(workload, coe_staff):
    policy = governance.policy_create(actor=coe_staff, title="Reliability", category="security_governance",
                                      summary="Workloads stay reliable.")  # fmt: skip
    version = governance.policy_version_create(actor=coe_staff, policy=policy, number="1.0.0", body="# Reliability")
    governance.control_add(actor=coe_staff, version=version, key="errors", title="Error rate under 5 %",
                           statement="Errors stay rare.", kind="automated", metric="error_rate", operator="<=",
                           threshold=Decimal("0.05"))  # fmt: skip
    governance.policy_version_publish(actor=coe_staff, version=version)
    send_day(workload, ago(9), n=100, error_rate=0.2)
    roll()
    score_day(workload=workload, day=ago(9))
    result = CheckResult.objects.get(workload=workload, control__key="errors")
    assert result.state == CheckResult.State.FAILING
    assert result.observed["value"] == "0.2"
    alert = Alert.objects.get(workload=workload, kind=Alert.Kind.CONTROL)
    assert alert.is_open
    assert alert.severity == Alert.Severity.CRITICAL
    # The errors stop: once the bad day leaves the trailing week, the control passes, the alert closes.
    send_day(workload, ago(3), n=100, error_rate=0.01, seed=3)
    roll()
    score_day(workload=workload, day=ago(1))
    latest = CheckResult.objects.filter(workload=workload, control__key="errors").order_by("-id").first()
    assert latest.state == CheckResult.State.PASSING
    alert.refresh_from_db()
    assert not alert.is_open


def test_scoring_twice_gives_the_same_scorecard(workload):
    send_day(workload, ago(1), n=50)
    roll()
    first = score_day(workload=workload, day=ago(1), evaluate_controls=False)
    second = score_day(workload=workload, day=ago(1), evaluate_controls=False)
    assert Scorecard.objects.filter(workload=workload).count() == 1
    fields = ["requests", "cost", "value", "roi", "latency_p95_ms", "anomalies", "drift", "regression", "metrics"]
    assert [getattr(first, f) for f in fields] == [getattr(second, f) for f in fields]


def test_today_is_scored_as_an_incomplete_day(workload):
    from .helpers import send

    send(workload, at=timezone.now() - timedelta(minutes=30), n=5, spread_seconds=60)
    roll()
    card = score_day(workload=workload, day=(timezone.now() - timedelta(minutes=30)).date(), evaluate_controls=False)
    assert card.complete is (card.day < today())
    assert card.requests == 5


# --- Alerts close once a later scorecard shows they are over ----------------------------------


def test_an_anomaly_alert_closes_when_a_later_day_is_normal(workload):
    score_history(workload, range(16, 2, -1), n=200)
    send_day(workload, ago(2), n=200, error_rate=0.3, seed=98)
    send_day(workload, ago(1), n=200, seed=97)
    roll()
    score_day(workload=workload, day=ago(2), evaluate_controls=False)
    alert = Alert.objects.get(workload=workload, kind=Alert.Kind.ANOMALY, key__endswith="error_rate")
    assert alert.is_open
    score_day(workload=workload, day=ago(2), evaluate_controls=False)  # the same day again: still open
    alert.refresh_from_db()
    assert alert.is_open
    normal = score_day(workload=workload, day=ago(1), evaluate_controls=False)
    assert "error_rate" not in {a["metric"] for a in normal.anomalies}
    alert.refresh_from_db()
    assert not alert.is_open
    assert alert.resolved_by is None  # closed by the portal, not by a person


def test_drift_closes_when_behaviour_settles_and_a_rollback_advice_when_the_release_is_rolled_back(
    workload, team_member, priced_model
):
    old = _release(workload, team_member, "1.0.0", days_ago=12, model=priced_model)
    for n in range(11, 7, -1):
        send_day(workload, ago(n), n=300, latency=600, quality=0.85, release="1.0.0", seed=n)
    send_day(workload, ago(3), n=300, latency=1800, quality=0.6, release="1.0.0", seed=3)
    send_day(workload, ago(2), n=300, latency=600, quality=0.85, release="1.0.0", seed=2)
    roll()
    score_day(workload=workload, day=ago(3), evaluate_controls=False)
    drift = Alert.objects.get(workload=workload, kind=Alert.Kind.DRIFT)
    assert drift.is_open
    settled = score_day(workload=workload, day=ago(2), evaluate_controls=False)
    assert settled.drift_score < 0.1
    drift.refresh_from_db()
    assert not drift.is_open

    # A worse release, then rolled back: its advice closes at the next scoring.
    went_live = datetime.combine(ago(1), time(0), tzinfo=UTC) - timedelta(hours=1)  # before yesterday's traffic
    _release(workload, team_member, "2.0.0", days_ago=(timezone.now() - went_live) / timedelta(days=1),
             model=priced_model)  # fmt: skip
    send_day(workload, ago(1), n=150, release="2.0.0", error_rate=0.2, latency=2000, seed=1)
    roll()
    score_day(workload=workload, day=ago(1), evaluate_controls=False)
    advice = Alert.objects.get(workload=workload, kind=Alert.Kind.ROLLBACK)
    assert advice.is_open
    registry.release_rollback(actor=team_member, release=old, reason="Worse latency and errors.")
    score_day(workload=workload, day=today(), evaluate_controls=False)
    advice.refresh_from_db()
    assert not advice.is_open


def test_last_months_budget_alert_closes_in_a_new_month(workload):
    first = today().replace(day=1)
    last_month = first - timedelta(days=1)
    old = Alert.objects.create(workload=workload, kind=Alert.Kind.BUDGET, key=f"budget:{last_month:%Y-%m}:100",
                               title="Over budget", day=last_month)  # fmt: skip
    this_month = Alert.objects.create(workload=workload, kind=Alert.Kind.BUDGET, key=f"budget:{first:%Y-%m}:80",
                                      title="Near budget", day=first)  # fmt: skip
    score_day(workload=workload, day=today(), evaluate_controls=False)
    old.refresh_from_db()
    this_month.refresh_from_db()
    assert not old.is_open
    assert this_month.is_open  # this month's stays open


def test_money_is_in_the_workload_currency_at_the_day_rate(workload, team_member, coe_staff):
    workload = registry.workload_update(actor=team_member, workload=workload, currency="EUR")
    send_day(workload, ago(1), n=100)
    roll()
    unconverted = score_day(workload=workload, day=ago(1), evaluate_controls=False)
    assert (unconverted.currency, unconverted.usd_rate) == ("EUR", None)
    assert unconverted.token_cost == Decimal("0.0450")  # no rate: counted as dollars, and the card says so
    registry.exchange_rate_add(actor=coe_staff, currency="EUR", effective_from=ago(1), per_usd=Decimal("0.9"))
    card = score_day(workload=workload, day=ago(1), evaluate_controls=False)
    assert card.usd_rate == Decimal("0.9")
    assert card.token_cost == Decimal("0.0405")  # 0.045 USD × 0.9
    assert card.value == Decimal("50.0000")  # 100 successes × 0.50 EUR: value is already in euros
    assert card.roi == pytest.approx((50 - 0.0405) / 0.0405, rel=1e-3)


def test_yesterday_left_unfinished_by_a_lost_daily_run_is_found_after_its_time(workload, other_workload):
    """The daily run finalises yesterday at 00:20; where it was lost (a broker restart took its tasks),
    the quarter-hourly task finds the workloads whose yesterday is not final, from 00:50 on."""
    quiet = WorkloadFactory(name="Quiet Workload", team=workload.team)  # no telemetry yesterday
    for each in (workload, other_workload):
        send_day(each, ago(1), n=20)
    roll()
    midnight = datetime.combine(today(), time.min, tzinfo=UTC)
    # Scored while yesterday still ran (the quarter-hourly task at 23:45): not final.
    for each in (workload, other_workload):
        score_day(workload=each, day=ago(1), evaluate_controls=False, now=midnight - timedelta(minutes=15))
    assert scoring.unfinished_yesterday(now=midnight + timedelta(minutes=40)) == []  # the daily run may come
    late = midnight + timedelta(minutes=50)
    assert sorted(scoring.unfinished_yesterday(now=late)) == sorted([workload.pk, other_workload.pk])
    score_day(workload=workload, day=ago(1), evaluate_controls=True, now=late)  # what the catch-up runs
    assert Scorecard.objects.get(workload=workload, day=ago(1)).complete
    assert scoring.unfinished_yesterday(now=late) == [other_workload.pk]
    assert quiet.pk not in scoring.unfinished_yesterday(now=late)

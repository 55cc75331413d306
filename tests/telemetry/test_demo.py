"""Telemetry's demo data (``manage.py seed_demo``): a month of calls through the real ingestion path,
rolled up and scored, telling the stories it promises, and idempotent."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator
from datetime import timedelta
from decimal import Decimal
from io import StringIO

import pytest
from django.core.management import call_command
from django.db import transaction
from django.db.models import Min
from django.test import override_settings
from django.utils import timezone

from apps.core.models import AuditEvent, Notification
from apps.governance.models import CheckResult
from apps.registry.models import Release, ReleaseEvent, Workload
from apps.telemetry import demo
from apps.telemetry.models import Alert, Event, HourlyRollup, IngestionKey, RollupPending, Scorecard
from apps.telemetry.stats import PSI_SIGNIFICANT

MODELS = (
    Event, HourlyRollup, Scorecard, Alert, IngestionKey, CheckResult, Notification, AuditEvent, Release, ReleaseEvent,
)  # fmt: skip


def _seed() -> None:
    call_command("seed_demo", stdout=StringIO())


def _counts() -> dict[str, int]:
    return {model.__name__: model.objects.count() for model in MODELS}


@pytest.fixture(scope="module")
def seeded(django_db_setup: None, django_db_blocker) -> Iterator[None]:  # type: ignore[no-untyped-def]
    """Seed once for the module (a month of telemetry takes a while), in a transaction rolled back
    after its last test; each test runs inside it and rolls back its own changes."""
    with (
        override_settings(DEMO_TELEMETRY_DAYS=demo.DEFAULT_DAYS),
        django_db_blocker.unblock(),
        transaction.atomic(),
    ):
        _seed()
        yield
        transaction.set_rollback(True)


def _workload(name: str) -> Workload:
    return Workload.objects.select_related("live_release").get(name=name)


def _story(name: str) -> demo.Story:
    return next(story for story in demo.STORIES if story.workload == name)


def _latest(workload: Workload) -> Scorecard:
    return Scorecard.objects.filter(workload=workload).order_by("-day").first()


def _latest_complete(workload: Workload) -> Scorecard:
    """Yesterday's card: today's holds only the hours since midnight UTC (none at all at 00:30)."""
    return Scorecard.objects.filter(workload=workload, complete=True).order_by("-day").first()


@pytest.mark.usefixtures("seeded")
class TestTheMonth:
    def test_every_story_has_a_month_of_calls_rolled_up_and_scored(self, db: None) -> None:
        today = timezone.now().date()
        found = demo.demo_workloads()
        assert [story.workload for story, _ in found] == [story.workload for story in demo.STORIES]
        for story, workload in found:
            days = list(Scorecard.objects.filter(workload=workload).order_by("day").values_list("day", flat=True))
            assert days == [today - timedelta(days=n) for n in range(demo.DEFAULT_DAYS, -1, -1)], workload
            events = Event.objects.filter(workload=workload)
            assert set(events.values_list("source", flat=True)) == {story.source}
            # A few hundred to a couple of thousand calls a day; every hour rolled up.
            complete = Scorecard.objects.filter(workload=workload, complete=True)
            assert all(100 <= card.requests <= 2500 for card in complete), workload
            assert sum(card.requests for card in Scorecard.objects.filter(workload=workload)) == events.count()
            rolled = {
                hour.date() for hour in HourlyRollup.objects.filter(workload=workload).values_list("hour", flat=True)
            }
            # Every day with calls is rolled up: every past day, and today once it has had calls.
            assert rolled == {hour.date() for hour in events.values_list("hour", flat=True)}
            assert set(days[:-1]) <= rolled
        assert not RollupPending.objects.exists()
        # Office hours: busier at eleven than at three in the morning.
        hours = Counter(
            moment.hour
            for moment in Event.objects.filter(workload=_workload("Developer Portal Search")).values_list(
                "timestamp", flat=True
            )
        )
        assert hours[11] > 5 * hours[3]

    def test_calls_are_priced_from_the_catalogue_except_the_unknown_reranker(self, db: None) -> None:
        for _, workload in demo.demo_workloads():
            events = Event.objects.filter(workload=workload)
            unpriced = set(events.filter(cost__isnull=True).values_list("model_name", flat=True))
            assert unpriced <= {"rerank-v3.5"}, workload
            assert events.filter(cost__gt=0).exists()
        search = _workload("Developer Portal Search")
        assert Event.objects.filter(workload=search, model_name="rerank-v3.5", cost__isnull=True).exists()
        assert _latest_complete(search).unpriced_requests > 0

    def test_each_workload_has_a_simulator_key_and_no_raw_key_is_kept(self, db: None) -> None:
        for _, workload in demo.demo_workloads():
            keys = IngestionKey.objects.filter(workload=workload, name=demo.SIMULATOR_KEY, revoked_at__isnull=True)
            assert keys.count() == 1
            key = keys.get()
            assert len(key.digest) == 64
            assert key.hint.startswith(IngestionKey.PREFIX)

    def test_steady_workloads_stay_within_their_checks(self, db: None) -> None:
        for name in ("Claims Triage Assistant", "Claims Letter Summariser"):
            workload = _workload(name)
            card = _latest(workload)
            assert card.drift.get("score") is None or card.drift["score"] < PSI_SIGNIFICANT
            assert not card.regression.get("recommend_rollback")
            assert not Alert.objects.filter(workload=workload, resolved_at__isnull=True).exclude(kind="anomaly")
            assert not _failing_now(workload), name


def _failing_now(workload: Workload) -> list[str]:
    """The keys of the automated controls whose newest result fails."""
    latest: dict[str, str] = {}
    for key, state in (
        CheckResult.objects.filter(workload=workload)
        .order_by("evaluated_at", "pk")
        .values_list("control__key", "state")
    ):
        latest[key] = state
    return sorted(key for key, state in latest.items() if state == CheckResult.State.FAILING)


@pytest.mark.usefixtures("seeded")
class TestTheStories:
    def test_a_release_that_drifts_gets_a_rollback_recommendation(self, db: None) -> None:
        workload = _workload("Customer Email Reply Drafts")
        release = workload.live_release
        assert release.version == "2.0.1"
        went_live = ReleaseEvent.objects.get(release=release, kind=ReleaseEvent.Kind.PROMOTED).at
        assert timedelta(days=9) < timezone.now() - went_live < timedelta(days=11)
        assert release.promoted_at == went_live
        timeline = list(workload.release_events.order_by("at", "pk").values_list("pk", flat=True))
        assert timeline == sorted(timeline)
        # Its calls carry the release label: 1.1.0 before, 2.0.1 since.
        events = Event.objects.filter(workload=workload)
        assert not events.filter(timestamp__lt=went_live).exclude(release="1.1.0").exists()
        assert not events.filter(timestamp__gt=went_live).exclude(release="2.0.1").exists()

        card = _latest_complete(workload)
        assert card.drift["release"] == "2.0.1"
        assert card.drift_score >= PSI_SIGNIFICANT
        assert card.regression["recommend_rollback"] is True
        assert card.regression["previous"] == "1.1.0"
        assert len(card.regression["findings"]) >= 2
        open_alerts = Alert.objects.filter(workload=workload, resolved_at__isnull=True)
        assert open_alerts.filter(kind=Alert.Kind.DRIFT, key="drift:2.0.1").exists()
        assert open_alerts.filter(kind=Alert.Kind.ROLLBACK, key="rollback:2.0.1").exists()
        assert {"quality-score", "p95-latency"} <= set(_failing_now(workload))
        # Days before it went live have no post-release check of it (they are scored after the fact).
        before = Scorecard.objects.filter(workload=workload, day__lt=went_live.date())
        assert before.exists()
        assert not any(card.regression for card in before)
        # Fine for its first days: the drift began four days after it went live.
        first_days = Scorecard.objects.filter(workload=workload, day__gt=went_live.date(),
                                              day__lt=(went_live + timedelta(days=4)).date())  # fmt: skip
        assert first_days.exists()
        assert all(card.quality_score > 0.85 for card in first_days)

    def test_the_overspender_raises_budget_alerts_and_fails_its_budget_check(self, db: None) -> None:
        workload = _workload("Expense Policy Q&A")
        assert workload.live_release.version == "1.1.0"
        budget = Alert.objects.filter(workload=workload, kind=Alert.Kind.BUDGET)
        assert budget.exists()
        assert {alert.key.rsplit(":", 1)[1] for alert in budget} & {"80", "100"}
        card = _latest(workload)
        assert Decimal(card.metrics["monthly_cost"]) > workload.monthly_budget * Decimal("1.4")
        assert card.month_end_forecast > workload.monthly_budget
        assert "within-budget" in _failing_now(workload)
        # Cost per day rose with 1.1.0.
        went_live = workload.live_release.promoted_at.date()
        before = Scorecard.objects.filter(workload=workload, day__lt=went_live).order_by("-day").first()
        after = Scorecard.objects.filter(workload=workload, day__gt=went_live, complete=True).order_by("day").first()
        assert after.token_cost > 10 * before.token_cost

    def test_the_outage_day_is_an_anomaly(self, db: None) -> None:
        workload = _workload("Developer Portal Search")
        first = Scorecard.objects.filter(workload=workload).aggregate(first=Min("day"))["first"]
        outage = first + timedelta(days=_story(workload.name).outage_day)
        card = Scorecard.objects.get(workload=workload, day=outage)
        assert card.error_rate > 0.05
        assert "error_rate" in {anomaly["metric"] for anomaly in card.anomalies}
        alert = Alert.objects.get(workload=workload, kind=Alert.Kind.ANOMALY, key=f"anomaly:{outage}:error_rate")
        assert alert.day == outage
        # Closed by the portal once the next day was normal again.
        assert alert.resolved_by is None
        assert timedelta(0) < alert.resolved_at - alert.created_at <= timedelta(days=1)
        assert Alert.objects.filter(kind=Alert.Kind.ANOMALY, resolved_at__isnull=True).exists()
        assert "error-rate" not in _failing_now(workload)  # a week later, it has recovered
        if outage >= demo._controls_from(first):
            # The error-rate check failed the day after (scored just after midnight), then recovered.
            control = Alert.objects.get(workload=workload, kind=Alert.Kind.CONTROL, key__endswith=":error-rate")
            assert control.created_at.date() == outage + timedelta(days=1)
            assert control.resolved_at is not None

    def test_governance_results_are_recorded_day_by_day(self, db: None) -> None:
        today = timezone.now().date()
        for _, workload in demo.demo_workloads():
            results = CheckResult.objects.filter(workload=workload, evaluated_at__date__gte=today - timedelta(days=20))
            days = {moment.date() for moment in results.values_list("evaluated_at", flat=True)}
            assert len(days) >= min(20, today.day - 1), workload  # from the 2nd: the 1st is scored on the 2nd
            assert results.filter(evaluated_at__date=today).exists()

    def test_only_a_few_recent_notifications_are_kept(self, db: None) -> None:
        names = [story.workload for story in demo.STORIES]
        kept = [n for n in Notification.objects.all() if any(n.title.startswith(name) for name in names)]
        headlines = Alert.objects.filter(resolved_at__isnull=True, kind__in=demo.KEPT_NOTICES)
        assert {n.title for n in kept} <= set(headlines.values_list("title", flat=True))
        assert all(timezone.now() - n.created_at <= demo.KEEP_NOTIFICATIONS for n in kept)
        assert len({(n.recipient_id, n.title) for n in kept}) == len(kept)  # once per person
        assert 0 < len({n.title for n in kept}) <= 4
        rollback = Alert.objects.get(kind=Alert.Kind.ROLLBACK, workload__name="Customer Email Reply Drafts")
        assert {n.created_at for n in kept if n.title == rollback.title} == {rollback.created_at}


@pytest.mark.usefixtures("seeded")
def test_seeding_again_writes_nothing(db: None) -> None:
    # Since the module's seeding, a workload that sends at night may have had a call fall due, which a
    # re-run rightly tops up (and scores): catch up first, then a re-run at once must write nothing.
    _seed()
    first = _counts()
    _seed()
    assert _counts() == first


@pytest.mark.usefixtures("seeded")
def test_seeding_after_a_gap_fills_it_with_the_same_calls(db: None) -> None:
    workload = _workload("Claims Letter Summariser")
    since = timezone.now() - timedelta(days=2)
    gone = Event.objects.filter(workload=workload, timestamp__gt=since)
    keys = set(gone.values_list("event_key", flat=True))
    assert keys
    newest = max(gone.values_list("timestamp", flat=True))
    gone.delete()
    Scorecard.objects.filter(workload=workload, day__gte=since.date()).delete()
    _seed()
    refilled = Event.objects.filter(workload=workload, timestamp__gt=since)
    assert set(refilled.filter(timestamp__lte=newest).values_list("event_key", flat=True)) == keys
    assert Scorecard.objects.filter(workload=workload, day__gte=since.date()).count() == 3

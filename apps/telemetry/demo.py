"""Demo telemetry for ``make run``: a month of GenAI calls for six live demo workloads, stored through
the real ingestion path (``events_store``), rolled up and scored day by day with governance's
controls evaluated, so the panels and dashboards have a history; ``simulator.py`` continues the same
traffic live through the HTTP endpoints.

The stories, on top of the registry and governance demos:

- steady: Claims Triage Assistant, Claims Letter Summariser, Contact Centre Agent Assist (whose p95
  has been over its 2.5 s objective since streaming suggestions, as governance's demo says) and
  Developer Portal Search, which also calls a reranker the catalogue does not price (its calls stay
  unpriced, and the panel says so);
- drift after a release: Customer Email Reply Drafts 2.0.1 (the draft the registry demo left) went
  live ten days ago; four days later the provider moved the ``gpt-4o`` alias to a new snapshot and
  replies grew longer, slower and worse: drift against 2.0.1's first three days, a failing
  post-release regression check and a rollback recommendation;
- overspending: Expense Policy Q&A 1.1.0 opened the pilot to all staff with a much larger retrieval
  context 18 days ago; it spends about twice its $300 monthly budget (budget alerts, a failing
  budget control);
- an anomaly: a three-hour OpenAI outage on Developer Portal Search twenty days into the history (an
  error spike, and a failing error-rate control that recovers a week later).

The calls are drawn from a seeded random generator per workload and hour, so the same hour always
holds the same calls (with the same event ids): the simulator and a later top-up write the same
events, and ingestion's idempotency keeps them once. Traffic follows office hours, a little lower
at weekends (scoring's anomaly check compares each day with the previous two weeks whatever the
weekday, so real weekend dips would be flagged).

Each day is scored as the daily task would have scored it just after midnight, and what that
recorded (governance's check results, alerts raised and closed, scorecards) is dated to then. Two
things are trimmed so the demo reads like a portal in use, not a replay: the notifications of a
month of alerts (only the last week's drift, rollback and budget headlines stay) and anomaly alerts
older than three days (closed by the team).

``seed()`` is idempotent: releases it promotes are skipped once live, the "demo simulator" ingestion
key is created only when the workload has no active one, and history is written only from the
workload's newest event onwards, when that is more than an hour old (so running it again right away
writes nothing, and running it days later fills the gap). ``DEMO_TELEMETRY_DAYS`` (a setting,
default 30; 0 skips the history) sets how far back a fresh database starts.
"""

from __future__ import annotations

import math
import random
from bisect import bisect_right
from dataclasses import dataclass, field, replace
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

from django.conf import settings
from django.db.models import F, Max, Min
from django.utils import timezone

from apps.accounts.models import Membership, User
from apps.core.models import Notification
from apps.governance.models import CheckResult
from apps.governance.services import compliance_scores_refresh
from apps.library.models import TemplateVersion
from apps.registry import services as registry
from apps.registry.models import AIModel, Release, ReleaseEvent, Workload

from . import services
from .ingest import EventIn, events_store
from .models import Alert, Event, IngestionKey, Scorecard, Source
from .rollups import category_refresh, rollup_pending
from .scoring import day_bounds, score_day

SIMULATOR_KEY = "demo simulator"
DEFAULT_DAYS = 30
TOP_UP_AFTER = timedelta(hours=1)  # a newer history is left alone
SCORED_AFTER = timedelta(minutes=15)  # the daily scoring task runs just after midnight (UTC)
KEEP_NOTIFICATIONS = timedelta(days=7)
KEPT_NOTICES = (Alert.Kind.DRIFT, Alert.Kind.ROLLBACK, Alert.Kind.BUDGET)
ANOMALIES_LEFT_OPEN = timedelta(days=3)  # older anomaly alerts were looked at and closed by the team
EPOCH = datetime(2000, 1, 1, tzinfo=UTC)

# Share of a day's requests in each hour (UTC): the demo organisation works in Western Europe.
OFFICE_HOURS = (
    0.02, 0.02, 0.02, 0.02, 0.03, 0.06, 0.2, 0.55, 0.9, 1.0, 1.0, 0.95,
    0.8, 0.9, 1.0, 0.95, 0.8, 0.5, 0.3, 0.15, 0.1, 0.06, 0.04, 0.03,
)  # fmt: skip
LONG_HOURS = (  # contact centre and claims intake: early till late
    0.06, 0.04, 0.03, 0.03, 0.05, 0.1, 0.3, 0.6, 0.85, 1.0, 1.0, 0.95,
    0.9, 0.95, 1.0, 0.95, 0.9, 0.8, 0.7, 0.6, 0.45, 0.3, 0.2, 0.1,
)  # fmt: skip
WEEKEND = 0.93
DAY_TO_DAY = 0.04  # sigma of the log-normal factor of each day's volume
OUTAGE_HOURS = range(9, 12)
OUTAGE_ERROR_RATE = 0.7
ERRORS = {
    "openai": ("RateLimitError", "APITimeoutError", "InternalServerError"),
    "anthropic": ("RateLimitError", "OverloadedError", "APITimeoutError"),
    "cohere": ("TooManyRequestsError",),
}


def history_days() -> int:
    return max(0, int(getattr(settings, "DEMO_TELEMETRY_DAYS", DEFAULT_DAYS)))


# --- The traffic ------------------------------------------------------------------------------


@dataclass(frozen=True)
class Call:
    """One kind of model call a request makes, with the medians of what it costs and yields."""

    operation: str
    provider: str
    model: str  # gen_ai.request.model
    response_model: str  # gen_ai.response.model: what the catalogue prices
    input_tokens: int
    output_tokens: int
    latency_ms: float
    latency_spread: float = 0.3  # sigma of the log-normal latency
    share: float = 1.0  # of requests that make this call
    error_rate: float = 0.005
    evaluated: float = 0.0  # share of calls an LLM-as-judge scores
    quality: float = 0.0
    quality_spread: float = 0.07
    rated: float = 0.0  # share of calls a user rates, thumbs up or down
    flag_rate: float = 0.0  # share the safety filter flags
    flag: str = "pii"


def embeddings(input_tokens: int, latency_ms: float) -> Call:
    return Call("embeddings", "openai", "text-embedding-3-small", "text-embedding-3-small", input_tokens, 0,
                latency_ms, latency_spread=0.25, error_rate=0.001)  # fmt: skip


@dataclass(frozen=True)
class Behaviour:
    per_day: int  # requests on a weekday
    calls: tuple[Call, ...]


@dataclass(frozen=True)
class Drift:
    """From ``after_days`` after ``release`` went live, the workload behaves like this."""

    release: str
    after_days: float
    behaviour: Behaviour


@dataclass(frozen=True)
class NewRelease:
    """A release this demo takes live (creating it unless the registry demo left it as a draft),
    dated ``days_ago`` days before the first seed at ``at`` (UTC)."""

    version: str
    days_ago: int
    at: time
    created_days_before: int = 2
    changelog: str = ""
    config: dict[str, Any] = field(default_factory=dict)
    models: tuple[str, ...] = ()  # catalogue model ids
    templates: tuple[str, ...] = ()  # "slug@number"


@dataclass(frozen=True)
class Story:
    workload: str  # its name in apps.registry.demo
    service: str  # OpenTelemetry service.name
    transport: str  # how the simulator sends it: "otlp" (the OpenTelemetry SDK) or "native" (JSON API)
    hours: tuple[float, ...]
    behaviours: dict[str, Behaviour]  # by release label; the first also serves labels not listed
    release: NewRelease | None = None
    drift: Drift | None = None
    outage_day: int | None = None  # days after the first day of history
    outage_provider: str = "openai"
    request_name: str = "handle request"  # the OTLP root span of a request (not a GenAI call: dropped)

    @property
    def source(self) -> str:
        return Source.OTLP if self.transport == "otlp" else Source.NATIVE

    def behaviour(self, release: str, live_for: timedelta) -> Behaviour:
        drift = self.drift
        if drift and release == drift.release and live_for >= timedelta(days=drift.after_days):
            return drift.behaviour
        return self.behaviours.get(release) or next(iter(self.behaviours.values()))


GPT_4O_MINI = Call("chat", "openai", "gpt-4o-mini", "gpt-4o-mini-2024-07-18", 1800, 300, 2000, error_rate=0.008,
                   evaluated=0.6, quality=0.87, rated=0.1)  # fmt: skip
EMAIL_201 = Call("chat", "openai", "gpt-4o", "gpt-4o-2024-08-06", 2100, 320, 2100, error_rate=0.006, evaluated=0.6,
                 quality=0.89, rated=0.1)  # fmt: skip
# The gpt-4o alias moved to a newer snapshot: twice the words, twice the wait, timeouts, worse replies.
EMAIL_201_DRIFTED = replace(EMAIL_201, response_model="gpt-4o-2024-11-20", output_tokens=880, latency_ms=5200,
                            latency_spread=0.45, error_rate=0.05, quality=0.64, quality_spread=0.12)  # fmt: skip
SONNET = Call("chat", "anthropic", "claude-sonnet-4-20250514", "claude-sonnet-4-20250514", 2400, 160, 1200,
              latency_spread=0.38, evaluated=0.3, quality=0.84, rated=0.15, flag_rate=0.005)  # fmt: skip
HAIKU = Call("chat", "anthropic", "claude-3-5-haiku", "claude-3-5-haiku-20241022", 3000, 300, 1200, evaluated=0.35,
             quality=0.88, rated=0.08)  # fmt: skip

STORIES = (
    Story(
        "Claims Triage Assistant", "claims-triage", "otlp", LONG_HOURS,
        {"1.2.0": Behaviour(170, (
            embeddings(1200, 110),
            Call("chat", "openai", "gpt-4o", "gpt-4o-2024-08-06", 3800, 420, 1900, latency_spread=0.35,
                 error_rate=0.006, evaluated=0.5, quality=0.89),
        ))},
        request_name="triage claim",
    ),
    Story(
        "Claims Letter Summariser", "claims-letter-summariser", "native", OFFICE_HOURS,
        {"1.1.0": Behaviour(170, (
            Call("chat", "openai", "gpt-4o-mini", "gpt-4o-mini-2024-07-18", 5200, 480, 1500, evaluated=0.4,
                 quality=0.86),
        ))},
    ),
    Story(
        "Contact Centre Agent Assist", "agent-assist", "otlp", LONG_HOURS,
        {
            "1.1.0": Behaviour(380, (SONNET,)),
            # Streaming suggestions: the tail got slower than the 2.5 s objective.
            "1.2.0": Behaviour(380, (replace(SONNET, latency_ms=1450, latency_spread=0.42),)),
        },
        request_name="suggest answer",
    ),
    Story(
        "Developer Portal Search", "devportal-search", "native", OFFICE_HOURS,
        {"1.2.0": Behaviour(170, (
            embeddings(30, 70),
            Call("chat", "openai", "gpt-4o-mini", "gpt-4o-mini-2024-07-18", 2600, 300, 1100, latency_spread=0.35,
                 error_rate=0.003, evaluated=0.3, quality=0.84, rated=0.05),
            # Not in the catalogue: stored unpriced.
            Call("rerank", "cohere", "rerank-v3.5", "rerank-v3.5", 4000, 0, 220, share=0.25, error_rate=0.002),
        ))},
        outage_day=20,
    ),
    Story(
        "Customer Email Reply Drafts", "email-reply-drafts", "otlp", OFFICE_HOURS,
        {"1.1.0": Behaviour(340, (GPT_4O_MINI,)), "2.0.1": Behaviour(340, (EMAIL_201,))},
        release=NewRelease("2.0.1", days_ago=10, at=time(9, 40)),
        drift=Drift("2.0.1", 4, Behaviour(340, (EMAIL_201_DRIFTED,))),
        request_name="draft reply",
    ),
    Story(
        "Expense Policy Q&A", "expense-policy-qa", "native", OFFICE_HOURS,
        {
            "1.0.0": Behaviour(90, (embeddings(40, 90), HAIKU)),
            "1.1.0": Behaviour(430, (embeddings(40, 90), replace(HAIKU, input_tokens=36_000, output_tokens=2800,
                                                                  latency_ms=1450, quality=0.9))),
        },
        release=NewRelease(
            "1.1.0", days_ago=18, at=time(8, 15), created_days_before=1,
            changelog="Open to all staff (was: the finance team). Answers quote the whole policy section; "
            "`top_k` 4 → 12.",
            config={"temperature": 0.1, "max_tokens": 1200, "retrieval": {"top_k": 12}},
            models=("claude-3-5-haiku", "text-embedding-3-small"), templates=("grounded-answer-prompt@1.1.0",),
        ),
    ),
)  # fmt: skip


@dataclass(slots=True)
class CallRecord:
    """One generated call, whatever it is sent as."""

    key: str
    at: datetime
    call: Call
    release: str
    input_tokens: int
    output_tokens: int
    latency_ms: float
    error_type: str
    quality: float | None
    rating: int | None
    flags: list[str]
    request: str  # the calls of one request share it (the OTLP trace)

    @property
    def end(self) -> datetime:
        return self.at + timedelta(milliseconds=self.latency_ms)

    def event(self, story: Story) -> EventIn:
        call = self.call
        attributes = {}
        if story.transport == "otlp":  # what OTLP ingestion keeps of a span
            attributes = {"service.name": story.service, "span_name": f"{call.operation} {call.model}"}
        return EventIn(
            event_key=self.key, timestamp=self.at, model_name=call.response_model, provider=call.provider,
            operation=call.operation, input_tokens=self.input_tokens, output_tokens=self.output_tokens,
            latency_ms=round(self.latency_ms, 1), is_error=bool(self.error_type), error_type=self.error_type,
            release=self.release, quality_score=self.quality, user_rating=self.rating, safety_flags=list(self.flags),
            attributes=attributes,
        )  # fmt: skip


@dataclass
class Timeline:
    """Which release was live when, from the workload's release events."""

    starts: list[datetime]
    versions: list[str]
    fallback: str

    @classmethod
    def of(cls, workload: Workload) -> Timeline:
        rows = list(
            ReleaseEvent.objects.filter(
                workload=workload, kind__in=[ReleaseEvent.Kind.PROMOTED, ReleaseEvent.Kind.ROLLED_BACK]
            )
            .order_by("at", "pk")
            .values_list("at", "release__version")
        )
        live = Release.objects.filter(pk=workload.live_release_id).values_list("version", flat=True).first()
        return cls([at for at, _ in rows], [version for _, version in rows], live or "")

    def at(self, moment: datetime) -> tuple[str, datetime]:
        """The release live at ``moment`` and since when."""
        index = bisect_right(self.starts, moment)
        if index == 0:
            return (self.versions[0] if self.versions else self.fallback), EPOCH
        return self.versions[index - 1], self.starts[index - 1]


def _poisson(rng: random.Random, mean: float) -> int:
    if mean <= 0:
        return 0
    if mean > 40:
        return max(0, round(rng.gauss(mean, math.sqrt(mean))))
    limit, count, product = math.exp(-mean), 0, rng.random()
    while product > limit:
        count += 1
        product *= rng.random()
    return count


class Traffic:
    """The calls a story's workload makes: hour by hour for the history and the simulator, or a
    handful on demand."""

    def __init__(self, story: Story, workload: Workload, *, history_start: date | None = None) -> None:
        self.story = story
        self.slug = workload.slug
        self.timeline = Timeline.of(workload)
        self.outage_day = (
            history_start + timedelta(days=story.outage_day)
            if history_start is not None and story.outage_day is not None
            else None
        )
        self._weights = [weight / sum(story.hours) for weight in story.hours]

    def between(self, start: datetime, end: datetime) -> list[CallRecord]:
        """The calls that started in (start, end]."""
        records: list[CallRecord] = []
        hour = start.replace(minute=0, second=0, microsecond=0)
        while hour <= end:
            records += [r for r in self.hour(hour) if start < r.at <= end]
            hour += timedelta(hours=1)
        return records

    def hour(self, hour: datetime) -> list[CallRecord]:
        day = hour.date()
        factor = random.Random(f"{self.slug}:{day}").lognormvariate(0, DAY_TO_DAY)
        if day.weekday() >= 5:
            factor *= WEEKEND
        rng = random.Random(f"{self.slug}:{hour:%Y-%m-%dT%H}")
        release, since = self.timeline.at(hour)
        mean = self.story.behaviour(release, hour - since).per_day * self._weights[hour.hour] * factor
        outage = day == self.outage_day and hour.hour in OUTAGE_HOURS
        records: list[CallRecord] = []
        for index in range(_poisson(rng, mean)):
            at = hour + timedelta(seconds=rng.random() * 3600)
            records += self.request(rng, at, f"demo-{hour:%Y%m%d%H}-{index:04d}", outage=outage)
        return records

    def request(self, rng: random.Random, at: datetime, key: str, *, outage: bool = False) -> list[CallRecord]:
        """The calls of one request made at ``at``, one after the other."""
        release, since = self.timeline.at(at)
        records = []
        for index, call in enumerate(self.story.behaviour(release, at - since).calls):
            if call.share < 1 and rng.random() >= call.share:
                continue
            record = _call(rng, call, at, f"{key}-{index}", release, key,
                           outage=outage and call.provider == self.story.outage_provider)  # fmt: skip
            records.append(record)
            at = record.end
        return records


def _call(
    rng: random.Random, call: Call, at: datetime, key: str, release: str, request: str, *, outage: bool
) -> CallRecord:
    input_tokens = max(1, round(call.input_tokens * rng.lognormvariate(0, 0.35)))
    output_tokens = round(call.output_tokens * rng.lognormvariate(0, 0.4))
    latency = call.latency_ms * rng.lognormvariate(0, call.latency_spread)
    error = ""
    if rng.random() < (OUTAGE_ERROR_RATE if outage else call.error_rate):
        error = rng.choice(ERRORS.get(call.provider, ("error",)))
        output_tokens = 0
        latency = 30_000.0 if error.endswith("TimeoutError") else latency * 0.25
    quality, rating, flags = None, None, []
    if not error:
        if rng.random() < call.evaluated:
            quality = round(min(1.0, max(0.0, rng.gauss(call.quality, call.quality_spread))), 3)
        if rng.random() < call.rated:
            rating = 1 if rng.random() < call.quality else -1
        if rng.random() < call.flag_rate:
            flags = [call.flag]
    return CallRecord(key, at, call, release, input_tokens, output_tokens, latency, error, quality, rating, flags,
                      request)  # fmt: skip


# --- Seeding ------------------------------------------------------------------------------------


def _owner(workload: Workload) -> User | None:
    membership = (
        Membership.objects.filter(team=workload.team_id, role=Membership.Role.OWNER)
        .select_related("user")
        .order_by("user__username")
        .first()
    )
    return membership.user if membership else None


def demo_workloads() -> list[tuple[Story, Workload]]:
    """The stories whose workload exists and is live (pilot or production, with a live release)."""
    found = []
    for story in STORIES:
        workload = (
            Workload.objects.select_related("team", "live_release")
            .filter(name=story.workload, lifecycle_stage__in=["pilot", "production"], live_release__isnull=False)
            .first()
        )
        if workload is not None:
            found.append((story, workload))
    return found


def _play_release(story: Story, workload: Workload, today: date) -> None:
    """Take the story's release live, as its team's owner, through the registry's services and
    gates; then date it as the story says. No service sets past dates, so this is a plain ORM update
    of the timestamps they just wrote (the audit trail keeps the real ones), as the registry demo does."""
    spec = story.release
    if spec is None:
        return
    release = workload.releases.filter(version=spec.version).first()
    if release is not None and release.promoted_at is not None:
        return  # live already, or was
    owner = _owner(workload)
    if release is None:
        templates = []
        for ref in spec.templates:
            slug, number = ref.split("@")
            templates += list(TemplateVersion.objects.filter(template__slug=slug, number=number))
        release = registry.release_create(
            actor=owner, workload=workload, version=spec.version, changelog=spec.changelog, config=spec.config,
            ai_models=AIModel.objects.filter(model_id__in=spec.models), template_versions=templates,
        )  # fmt: skip
    registry.release_promote(actor=owner, release=release)
    live = datetime.combine(today - timedelta(days=spec.days_ago), spec.at, tzinfo=UTC)
    created = live - timedelta(days=spec.created_days_before)
    # Keep the workload's timeline in order: after everything that happened before.
    before = ReleaseEvent.objects.filter(workload=workload).exclude(release=release).aggregate(last=Max("at"))["last"]
    if before is not None and created <= before:
        created = before + timedelta(hours=1)
        live = max(live, created + timedelta(hours=1))
    ReleaseEvent.objects.filter(release=release, kind=ReleaseEvent.Kind.CREATED).update(at=created)
    ReleaseEvent.objects.filter(release=release, kind=ReleaseEvent.Kind.PROMOTED).update(at=live)
    Release.objects.filter(pk=release.pk).update(created_at=created, promoted_at=live)


def _ensure_key(workload: Workload) -> None:
    """The key the simulator uses; it rotates it at start, so the raw value is not kept anywhere."""
    if not IngestionKey.objects.filter(workload=workload, name=SIMULATOR_KEY, revoked_at__isnull=True).exists():
        services.key_create(workload=workload, name=SIMULATOR_KEY, actor=None)


def _history_start(workload: Workload, today: date) -> date:
    first = Scorecard.objects.filter(workload=workload).aggregate(first=Min("day"))["first"]
    return first or today - timedelta(days=history_days())


def _fill_from(workload: Workload, now: datetime) -> datetime | None:
    """Where the history of this workload needs writing from, or None if it is recent."""
    oldest = day_bounds(now.date() - timedelta(days=history_days()))[0]
    latest = Event.objects.filter(workload=workload).aggregate(latest=Max("timestamp"))["latest"]
    if latest is None:
        scored = Scorecard.objects.filter(workload=workload).aggregate(last=Max("day"))["last"]
        latest = day_bounds(scored)[1] if scored else None
    if latest is not None and now - latest < TOP_UP_AFTER:
        return None
    return max(latest or oldest, oldest)


def _store(story: Story, workload: Workload, start: datetime, end: datetime, history_start: date) -> int:
    traffic = Traffic(story, workload, history_start=history_start)
    stored = 0
    day = start.date()
    while day <= end.date():
        day_start, day_end = day_bounds(day)
        records = traffic.between(max(start, day_start), min(end, day_end))
        if records:
            events = [record.event(story) for record in records]
            stored += events_store(workload_id=workload.pk, events=events, source=story.source).accepted
        day += timedelta(days=1)
    return stored


def _controls_from(history_start: date) -> date:
    """The first day of the history's first full month. Governance's budget and ROI checks read
    month-to-date figures, which in a month the history only partly covers would miss the days
    before it (and fail ROI for want of value), so controls are evaluated from then on."""
    if history_start.day == 1:
        return history_start
    return (history_start.replace(day=28) + timedelta(days=4)).replace(day=1)


def _score(workload: Workload, first: date, now: datetime, *, controls_from: date) -> None:
    """Score each day as the daily task would have, just after it ended (today: now), and date what
    that recorded (check results, alerts raised or closed) to that moment."""
    day = first
    while day <= now.date():
        scored_at = min(day_bounds(day)[1] + SCORED_AFTER, now)
        results = CheckResult.objects.aggregate(last=Max("pk"))["last"] or 0
        alerts = Alert.objects.aggregate(last=Max("pk"))["last"] or 0
        wall = timezone.now()
        score_day(workload=workload, day=day, evaluate_controls=day >= controls_from, now=scored_at)
        if scored_at < now:
            CheckResult.objects.filter(pk__gt=results).update(evaluated_at=scored_at)
            Alert.objects.filter(pk__gt=alerts).update(created_at=scored_at)
            Alert.objects.filter(workload=workload, resolved_at__gte=wall).update(resolved_at=scored_at)
        day += timedelta(days=1)


def _keep_recent_notifications(after: int, now: datetime) -> None:
    """Replaying a month of scoring sends what it would have sent day by day: a notice per alert and
    per control turning failing, to the team and the CoE (over a hundred in all). Today they would
    bury the demo inboxes, so they are dropped (as the governance demo drops its replay's), except
    one notice per person for each drift, rollback or budget alert raised in the last week and still
    open: the stories' headlines, dated when they were raised."""
    recent = Alert.objects.filter(
        resolved_at__isnull=True, created_at__gte=now - KEEP_NOTIFICATIONS, kind__in=KEPT_NOTICES
    )
    raised = dict(recent.values_list("title", "created_at"))
    keep: dict[str, list[int]] = {}
    seen: set[tuple[int, str]] = set()
    drop = []
    for pk, recipient, title in (
        Notification.objects.filter(pk__gt=after).order_by("pk").values_list("pk", "recipient_id", "title")
    ):
        if title in raised and (recipient, title) not in seen:
            seen.add((recipient, title))
            keep.setdefault(title, []).append(pk)
        else:
            drop.append(pk)
    for start in range(0, len(drop), 500):
        Notification.objects.filter(pk__in=drop[start : start + 500]).delete()
    for title, pks in keep.items():
        Notification.objects.filter(pk__in=pks).update(created_at=raised[title])


def _close_old_anomalies(workload: Workload, now: datetime) -> None:
    """Anomaly alerts close on their own once a later day is normal; a lasting shift raises one a
    day until it becomes the norm. The team looked at those still open after three days a few
    hours after they were raised; the recent ones stay open."""
    old = Alert.objects.filter(
        workload=workload, kind=Alert.Kind.ANOMALY, resolved_at__isnull=True, created_at__lt=now - ANOMALIES_LEFT_OPEN
    )
    old.update(resolved_at=F("created_at") + timedelta(hours=3), resolved_by=_owner(workload))


def seed() -> list[tuple[str, str, str]]:
    now = timezone.now()
    today = now.date()
    for story, workload in demo_workloads():
        _play_release(story, workload, today)
        _ensure_key(workload)
    if not history_days():
        return []
    stories = demo_workloads()  # with the releases just taken live
    notifications = Notification.objects.aggregate(last=Max("pk"))["last"] or 0
    todo = []
    for story, workload in stories:
        start = _fill_from(workload, now)
        if start is None:
            continue
        history_start = _history_start(workload, today)
        if not Scorecard.objects.filter(workload=workload).exists():
            # The governance demo's hand-written check results for this workload stand in for the
            # telemetry it had no way to see; now there is telemetry, date them before it begins.
            CheckResult.objects.filter(workload=workload).update(
                evaluated_at=day_bounds(history_start)[0] - timedelta(days=1)
            )
        stored = _store(story, workload, start, now, history_start)
        # Nothing new (a quiet hour since the last run) leaves the scorecards as they are: scoring
        # again would only record the same check results twice.
        if stored or not Scorecard.objects.filter(workload=workload, day=today).exists():
            todo.append((workload, start.date(), _controls_from(history_start)))
    if not todo:
        return []
    rollup_pending()
    for workload, first, controls_from in todo:
        _score(workload, first, now, controls_from=controls_from)
        _close_old_anomalies(workload, now)
    category_refresh()  # the model comparison's rows across workloads, as the beat task rebuilds them
    compliance_scores_refresh()  # the portfolio's compliance counts, as the beat task stores them
    _keep_recent_notifications(notifications, now)
    return []

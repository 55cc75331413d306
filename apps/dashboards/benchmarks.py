"""The dashboards' benchmark (issue 8, "Measure"): a year of telemetry seeded as the workers would
have left it, and the dashboards timed on it (``manage.py bench_dashboards``).

Seeding writes no raw events: it writes what the rollup and scoring workers produce from them
(``HourlyRollup`` per workload, hour, model and release; ``MonthlyModelRollup``; a ``Scorecard``
per workload and day with traffic, with the trailing metrics handed to governance; the
``CheckResult`` of every automated control on every complete day; alerts), and around it the
registry (teams, a priced catalogue, exchange rates, workloads, releases with promotions and
rollbacks), governance (policies, controls, attestations, waivers), the library (templates in
versions, adoptions) and feedback (threads, posts), so every dashboard has something to read.

How the events fall: each workload has a size (log-normal), a stage (production busiest,
development quiet, proposed none), an active span (pilots started lately, retired ones stopped),
a working-day rhythm in its own time zone (or round the clock for support and agents), growth
over the year and hour-to-hour noise. The expected counts are scaled to the requested total and
rounded systematically, so the total is exact. Within an hour each event picks one of the
workload's models by the live release's mix and draws its latency bucket, error, quality score,
rating and safety flag from the model's profile, worse for a release that regressed. Rows are
written with COPY on PostgreSQL (``bulk_create`` elsewhere, for the tests' small runs), and the
scorecards are computed from the same sums the rollups hold, as ``telemetry.scoring`` computes
them (money, month to date, forecast, percentiles from the merged histogram, anomalies, drift,
regression, trailing metrics), so the numbers agree with the rows.

``manage.py bench`` collects every app's ``BENCHMARKS``; the dashboards need a year of data and
their own database, so they have none there and run from ``bench_dashboards``.
"""

from __future__ import annotations

import calendar
import contextlib
import itertools
import json
import math
import random
import time
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any

from django.contrib.auth.models import Group
from django.db import connection, models
from django.utils import timezone

from apps.accounts.models import Membership, Team, User
from apps.accounts.roles import COE_STAFF, LEADERSHIP
from apps.accounts.services import roles_ensure
from apps.core.models import GuidanceArea, VersionState
from apps.feedback.models import Post, Subject, Thread
from apps.governance import services as governance
from apps.governance.models import (
    Attestation,
    CheckResult,
    Control,
    Metric,
    Policy,
    PolicyVersion,
    ThresholdSource,
    Waiver,
)
from apps.library.models import Template, TemplateVersion
from apps.registry.models import (
    BASE_CURRENCY,
    Adoption,
    AIModel,
    DataClassification,
    ExchangeRate,
    LifecycleStage,
    ModelPrice,
    Release,
    ReleaseEvent,
    RiskTier,
    UseCaseCategory,
    Workload,
)
from apps.registry.selectors import Rates
from apps.telemetry import stats
from apps.telemetry.models import (
    LATENCY_BUCKETS,
    QUALITY_BUCKETS,
    Alert,
    DailyModelRollup,
    HourlyRollup,
    MonthlyCategoryRollup,
    MonthlyModelRollup,
    Scorecard,
    WeeklyMoney,
    latency_bucket_bounds,
)
from apps.telemetry.money import week_of
from apps.telemetry.rollups import category_refresh
from apps.telemetry.scoring import (
    ANOMALY_HISTORY_DAYS,
    ANOMALY_LABELS,
    ANOMALY_METRICS,
    ANOMALY_MIN_HISTORY,
    DRIFT_MIN_REQUESTS,
    METRIC_WINDOW_DAYS,
    RATE_MIN_REQUESTS,
    REGRESSION_LOOKBACK_DAYS,
    REGRESSION_MIN_REQUESTS,
    REGRESSION_WINDOW_DAYS,
)

BENCHMARKS: list[Any] = []  # see the module's docstring: bench_dashboards runs these

REFERENCE_EVENTS = 10_000_000  # budgets are set for this volume, so the registry is the same at every size
PREFIX = "bench-"
LEADER_USERNAME = "bench-leader"
COE_USERNAME = "bench-coe"


# --- The organisation -------------------------------------------------------------------------


@dataclass(frozen=True)
class CatalogueModel:
    provider: str
    model_id: str
    name: str
    price_in: float  # US dollars per million tokens
    price_out: float
    latency_ms: float  # median
    quality: float  # mean evaluation score
    error_rate: float


CATALOGUE = (
    CatalogueModel("openai", "gpt-4o", "GPT-4o", 2.50, 10.00, 900, 0.86, 0.008),
    CatalogueModel("openai", "gpt-4o-mini", "GPT-4o mini", 0.15, 0.60, 550, 0.78, 0.010),
    CatalogueModel("anthropic", "claude-3-5-sonnet", "Claude 3.5 Sonnet", 3.00, 15.00, 1100, 0.88, 0.006),
    CatalogueModel("anthropic", "claude-3-5-haiku", "Claude 3.5 Haiku", 0.80, 4.00, 600, 0.80, 0.009),
    CatalogueModel("google", "gemini-1.5-pro", "Gemini 1.5 Pro", 1.25, 5.00, 1000, 0.84, 0.012),
    CatalogueModel("google", "gemini-1.5-flash", "Gemini 1.5 Flash", 0.075, 0.30, 400, 0.76, 0.015),
    CatalogueModel("aws.bedrock", "meta.llama3-1-70b", "Llama 3.1 70B", 0.72, 0.72, 800, 0.79, 0.020),
    CatalogueModel("mistral", "mistral-large", "Mistral Large", 2.00, 6.00, 850, 0.82, 0.011),
)
PRICE_CUT = (0, 0.6, 0.5)  # catalogue index, when in the year (share), new price as a share of the old one

TEAM_NAMES = (
    "Claims Automation",
    "Customer Service AI",
    "Underwriting Assist",
    "Finance Analytics",
    "HR Self-Service",
    "Legal Review",
    "Marketing Content",
    "Developer Productivity",
    "Risk Intelligence",
    "Procurement Bots",
    "Knowledge Search",
    "Field Operations",
)
CURRENCIES = (("USD", 60), ("EUR", 25), ("GBP", 15))
BASE_RATES = {"EUR": 0.92, "GBP": 0.79}
STAGES = (
    (LifecycleStage.PRODUCTION, 50),
    (LifecycleStage.PILOT, 20),
    (LifecycleStage.DEVELOPMENT, 12),
    (LifecycleStage.PROPOSED, 6),
    (LifecycleStage.RETIRED, 12),
)
STAGE_TRAFFIC = {
    LifecycleStage.PRODUCTION: 1.0,
    LifecycleStage.PILOT: 0.35,
    LifecycleStage.DEVELOPMENT: 0.08,
    LifecycleStage.RETIRED: 0.6,
    LifecycleStage.PROPOSED: 0.0,
}
RISKS = ((RiskTier.MINIMAL, 35), (RiskTier.LIMITED, 40), (RiskTier.HIGH, 25))
CLASSIFICATIONS = (
    (DataClassification.PUBLIC, 10),
    (DataClassification.INTERNAL, 50),
    (DataClassification.CONFIDENTIAL, 30),
    (DataClassification.RESTRICTED, 10),
)
CATEGORIES = list(UseCaseCategory.values)
TOKENS_IN = {
    "customer_support": 900,
    "content_generation": 700,
    "code_assistance": 1800,
    "document_processing": 3200,
    "search_knowledge": 2400,
    "analytics": 1500,
    "agents": 2800,
    "other": 1000,
}
ROUND_THE_CLOCK = {"customer_support", "agents"}
QUALITY_SAMPLED = 0.2  # share of events an evaluator scored
RATED = 0.03
SAFETY_FLAGGED = 0.003


def _pick(rng: random.Random, weighted: Iterable[tuple[Any, float]]) -> Any:
    values, weights = zip(*weighted, strict=True)
    return rng.choices(values, weights=weights)[0]


# --- Latency and quality profiles ---------------------------------------------------------------

_BOUNDS = [latency_bucket_bounds(i) for i in range(LATENCY_BUCKETS)]
MID_MS = [0.5] + [math.sqrt(low * high) for low, high in _BOUNDS[1:]]
BUCKETS = range(LATENCY_BUCKETS)
_LATENCY_SIGMA = 0.55


_latency_cache: dict[float, list[float]] = {}


def latency_cum_weights(median_ms: float) -> list[float]:
    """Cumulative weights of the latency buckets for a log-normal latency with this median."""
    key = round(median_ms, 1)
    cached = _latency_cache.get(key)
    if cached is None:
        scale = _LATENCY_SIGMA * math.sqrt(2)

        def cdf(ms: float) -> float:
            return 0.5 * (1 + math.erf((math.log(ms) - math.log(key)) / scale)) if ms > 0 else 0.0

        probs = [cdf(_BOUNDS[0][1])]
        probs += [cdf(high) - cdf(low) for low, high in _BOUNDS[1:-1]]
        probs.append(1 - cdf(_BOUNDS[-1][0]))
        cached = _latency_cache[key] = list(itertools.accumulate(probs))
    return cached


# --- Plans: what each workload does over the year ----------------------------------------------

PROMOTED, ROLLED_BACK = ReleaseEvent.Kind.PROMOTED, ReleaseEvent.Kind.ROLLED_BACK


@dataclass
class ReleasePlan:
    version: str
    weights: tuple[float, ...]  # share of traffic per workload model
    regress: bool = False
    promoted_hour: int | None = None  # hour index from the window's start; negative: before it
    rolled_back: bool = False
    obj: Release | None = None


@dataclass
class WorkloadPlan:
    index: int
    team: int
    stage: str
    risk: str
    classification: str
    category: str
    currency: str
    models: list[int]  # catalogue indexes, primary first
    size: float
    tz: int
    first_hour: int  # traffic from this hour index …
    last_hour: int  # … up to this one, excluded
    quality_shift: float
    releases: list[ReleasePlan] = field(default_factory=list)
    segments: list[tuple[int, int]] = field(default_factory=list)  # (from hour, release index)
    events: list[tuple[int, str, int, int | None]] = field(default_factory=list)  # (hour, kind, release, previous)
    counts: list[int] = field(default_factory=list)  # events per hour from first_hour
    obj: Workload | None = None

    @property
    def slug(self) -> str:
        return f"{PREFIX}workload-{self.index:03d}"

    def release_at(self, hour: int) -> int | None:
        """Index of the release live at this hour."""
        found = None
        for start, release in self.segments:
            if start > hour:
                break
            found = release
        return found


def _week_profile(tz: int, round_the_clock: bool, start_weekday: int) -> list[float]:
    """Relative traffic by hour of the week (hour 0 = the window's first hour, a UTC midnight)."""
    profile = []
    for hour in range(168):
        local = hour + tz
        weekday = (start_weekday + local // 24) % 7
        clock = local % 24
        if round_the_clock:
            daily = 0.55 + 0.45 * math.sin(math.pi * max(0, clock - 6) / 18) if clock >= 6 else 0.45
            week = 0.8 if weekday >= 5 else 1.0
        else:
            daily = 1.0 if 9 <= clock < 17 else 0.55 if clock in (7, 8, 17, 18, 19) else 0.08
            week = 0.25 if weekday >= 5 else 1.0
        profile.append(daily * week)
    return profile


def _versions() -> Iterator[str]:
    major, minor = 1, 0
    while True:
        yield f"{major}.{minor}.0"
        if minor >= 3:
            major, minor = major + 1, 0
        else:
            minor += 1


def _base_weights(count: int) -> tuple[float, ...]:
    return (0.7, 0.3) if count == 2 else (0.6, 0.3, 0.1)


def plan_organisation(*, workloads: int, teams: int, days: int, n_hours: int, rng: random.Random) -> list[WorkloadPlan]:
    plans = []
    for i in range(workloads):
        stage = LifecycleStage.PRODUCTION if i < 2 else _pick(rng, STAGES)
        risk = _pick(rng, RISKS)
        models_ = rng.sample(range(len(CATALOGUE)), rng.choice((2, 2, 3)))
        if stage == LifecycleStage.PRODUCTION:
            first = 0 if rng.random() < 0.7 else rng.randrange(0, max(1, n_hours // 2))
            last = n_hours
        elif stage == LifecycleStage.PILOT:
            first, last = max(0, n_hours - 24 * rng.randint(30, 120)), n_hours
        elif stage == LifecycleStage.DEVELOPMENT:
            first, last = max(0, n_hours - 24 * rng.randint(10, 60)), n_hours
        elif stage == LifecycleStage.RETIRED:
            first, last = 0, max(24, int(n_hours * rng.uniform(0.3, 0.8)))
        else:
            first = last = n_hours
        category = CATEGORIES[i % len(CATEGORIES)] if i < len(CATEGORIES) else rng.choice(CATEGORIES)
        plans.append(
            WorkloadPlan(
                index=i,
                team=i % teams if i < teams else rng.choices(range(teams), weights=range(teams + 2, 2, -1))[0],
                stage=stage,
                risk=risk,
                classification=_pick(rng, CLASSIFICATIONS),
                category=category,
                currency=_pick(rng, CURRENCIES),
                models=models_,
                size=rng.lognormvariate(0, 1.0),
                tz=rng.choice((0, 1, -5, 8)),
                first_hour=first,
                last_hour=last,
                quality_shift=rng.uniform(-0.04, 0.04),
            )
        )
    if plans:
        plans[0].size = max(p.size for p in plans) * 1.5  # the busiest: the operations page's workload
    for plan in plans:
        _plan_releases(plan, n_hours=n_hours, rng=rng)
    return plans


def _plan_releases(plan: WorkloadPlan, *, n_hours: int, rng: random.Random) -> None:
    versions = _versions()
    base = _base_weights(len(plan.models))
    if plan.stage == LifecycleStage.PROPOSED:
        plan.releases.append(ReleasePlan("0.1.0", base))  # a draft, never live
        return
    # (hour, regresses, rolled back after hours or None)
    promotions: list[tuple[int, bool, int | None]] = []
    count = {LifecycleStage.PRODUCTION: rng.randint(2, 6), LifecycleStage.PILOT: rng.randint(1, 3)}.get(
        plan.stage, rng.randint(1, 2)
    )
    until = plan.last_hour
    if plan.index in (0, 1) and n_hours >= 24 * 21:
        # The busiest workload: a release ten days ago that regressed, rolled back two days later.
        # The second: a regression four days ago, still live (scoring recommends a rollback).
        forced = (n_hours - 24 * 10 + 9, True, 46) if plan.index == 0 else (n_hours - 24 * 4 + 10, True, None)
        promotions.append(forced)
        until = forced[0] - 24 * 4  # the others before it, their rollbacks and checks done
        count -= 1
    for _ in range(max(0, count - 1)):
        if until - plan.first_hour > 24 * 8:
            regress = rng.random() < 0.12
            back = rng.randint(20, 72) if regress and rng.random() < 0.6 else None
            promotions.append((plan.first_hour + rng.randrange(48, until - plan.first_hour - 72), regress, back))
    promotions.sort()
    kept: list[tuple[int, bool, int | None]] = []
    busy_until = plan.first_hour + 48
    for hour, regress, back in promotions:
        if hour < busy_until or hour >= plan.last_hour - 12:
            continue
        kept.append((hour, regress, back))
        busy_until = hour + (back or 0) + 72
    first_promotion = plan.first_hour - (24 * rng.randint(10, 200) if plan.first_hour == 0 else 0)
    plan.releases.append(ReleasePlan(next(versions), base, promoted_hour=first_promotion))
    plan.segments.append((first_promotion, 0))
    plan.events.append((first_promotion, PROMOTED, 0, None))
    current = 0
    for hour, regress, back in kept:
        weights = plan.releases[current].weights
        if rng.random() < 0.3:
            weights = (weights[1], weights[0], *weights[2:])
        index = len(plan.releases)
        plan.releases.append(ReleasePlan(next(versions), weights, regress=regress, promoted_hour=hour))
        plan.segments.append((hour, index))
        plan.events.append((hour, PROMOTED, index, current))
        if back is not None and hour + back < plan.last_hour:
            plan.releases[index].rolled_back = True
            plan.segments.append((hour + back, current))
            plan.events.append((hour + back, ROLLED_BACK, current, index))
        else:
            current = index
    if rng.random() < 0.15 and plan.stage != LifecycleStage.RETIRED:
        plan.releases.append(ReleasePlan(next(versions), base))  # a draft in the making


def plan_counts(plans: list[WorkloadPlan], *, events: int, n_hours: int, start_weekday: int, seed: int) -> None:
    """Each workload's events per hour: sizes × rhythm × growth × noise, scaled to ``events`` and
    rounded systematically (the total is exact)."""
    raw: list[list[float]] = []
    total = 0.0
    for plan in plans:
        rng = random.Random(seed * 7919 + plan.index)
        factor = plan.size * STAGE_TRAFFIC[plan.stage]
        week = _week_profile(plan.tz, plan.category in ROUND_THE_CLOCK, start_weekday)
        values = (
            [
                factor * week[hour % 168] * (0.6 + 0.8 * hour / n_hours) * rng.lognormvariate(0, 0.3)
                for hour in range(plan.first_hour, plan.last_hour)
            ]
            if factor
            else []
        )
        total += sum(values)
        raw.append(values)
    scale = events / total if total else 0.0
    accumulated = 0.5
    stored = 0
    for plan, values in zip(plans, raw, strict=True):
        counts = []
        for value in values:
            after = accumulated + value * scale
            counts.append(int(after) - int(accumulated))
            accumulated = after
        plan.counts = counts
        stored += sum(counts)
    if stored != events and plans and plans[0].counts:  # float rounding: at most an event or two
        busiest = plans[0].counts
        hour = max(range(len(busiest)), key=busiest.__getitem__)
        busiest[hour] += events - stored


def expected_monthly_token_cost(plans: list[WorkloadPlan], *, n_hours: int, start_weekday: int) -> dict[int, float]:
    """Each workload's token cost per month (USD) at REFERENCE_EVENTS, from its share of the traffic:
    budgets are set from it, the same at every size."""
    shares = {}
    for plan in plans:
        factor = plan.size * STAGE_TRAFFIC[plan.stage]
        week = _week_profile(plan.tz, plan.category in ROUND_THE_CLOCK, start_weekday)
        shares[plan.index] = factor * sum(week[h % 168] for h in range(plan.first_hour, plan.last_hour))
    total = sum(shares.values()) or 1.0
    costs = {}
    for plan in plans:
        per_event = sum(
            w * (TOKENS_IN[plan.category] * CATALOGUE[m].price_in + 300 * CATALOGUE[m].price_out) / 1e6
            for w, m in zip(_base_weights(len(plan.models)), plan.models, strict=False)
        )
        active_months = max(1.0, (plan.last_hour - plan.first_hour) / (24 * 30.4))
        costs[plan.index] = REFERENCE_EVENTS * shares[plan.index] / total * per_event / active_months
    return costs


# --- Writing rows ------------------------------------------------------------------------------


@contextlib.contextmanager
def explicit_timestamps(*model_classes: type[models.Model]) -> Iterator[None]:
    """Let ``bulk_create`` keep the timestamps given (a year of history) and stamp only the ones
    left empty, instead of stamping every ``auto_now``/``auto_now_add`` field with the present."""
    patched = []

    def keep(f: models.DateField) -> Callable[[models.Model, bool], Any]:
        def pre_save(instance: models.Model, add: bool) -> Any:
            value = getattr(instance, f.attname)
            if value is None:
                value = timezone.now()
                setattr(instance, f.attname, value)
            return value

        return pre_save

    for model in model_classes:
        for f in model._meta.concrete_fields:
            if isinstance(f, models.DateField) and (f.auto_now or f.auto_now_add):
                f.pre_save = keep(f)  # type: ignore[method-assign]
                patched.append(f)
    try:
        yield
    finally:
        for f in patched:
            del f.pre_save


def _escape(text: str) -> str:
    if "\\" in text or "\t" in text or "\n" in text or "\r" in text:
        text = text.replace("\\", "\\\\").replace("\t", "\\t").replace("\n", "\\n").replace("\r", "\\r")
    return text


def _copy_value(value: Any) -> str:
    if value is None:
        return "\\N"
    if value is True:
        return "t"
    if value is False:
        return "f"
    if isinstance(value, dict | list):
        return _escape(json.dumps(value))
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, str):
        return _escape(value)
    return str(value)


class _Reader:
    """A file psycopg2's ``copy_expert`` reads from, filled from an iterator of text chunks: the
    rows are made while PostgreSQL parses the ones before."""

    def __init__(self, chunks: Iterator[str]) -> None:
        self.chunks = chunks
        self.rest = ""

    def read(self, size: int = 1 << 20) -> str:
        parts, have = [self.rest], len(self.rest)
        while have < size:
            chunk = next(self.chunks, None)
            if chunk is None:
                break
            parts.append(chunk)
            have += len(chunk)
        data = "".join(parts)
        self.rest = data[size:]
        return data[:size]

    readline = read


def _chunks(lines: Iterable[str], per_chunk: int = 2000) -> Iterator[str]:
    batch: list[str] = []
    for line in lines:
        batch.append(line)
        if len(batch) >= per_chunk:
            yield "".join(batch)
            batch = []
    if batch:
        yield "".join(batch)


def copy_lines(table: str, columns: list[str], lines: Iterable[str]) -> None:
    with connection.cursor() as cursor:
        sql = f"COPY {table} ({', '.join(columns)}) FROM STDIN"
        cursor.cursor.copy_expert(sql, _Reader(_chunks(lines)), size=1 << 20)


WEEKLY_COLUMNS = ["workload_id", "week", "currency", "usd_rate", "cost", "value", "requests", "errors", "days",
                  "unconverted"]  # fmt: skip


def weekly_money(scorecards: list[tuple[Any, ...]]) -> list[tuple[Any, ...]]:
    """The weekly money summary of the seeded scorecards, as ``telemetry.money.weekly_money_refresh``
    sums it (a test checks they agree)."""
    at = {name: SCORECARD_COLUMNS.index(name) for name in
          ("workload_id", "day", "currency", "usd_rate", "cost", "value", "requests", "errors")}  # fmt: skip
    weeks: dict[tuple[Any, ...], list[Any]] = {}
    for card in scorecards:
        day, currency, rate = card[at["day"]], card[at["currency"]], card[at["usd_rate"]]
        key = (card[at["workload_id"]], week_of(day), currency, rate)
        row = weeks.setdefault(key, [Decimal(0), Decimal(0), 0, 0, 0, 0])
        row[0] += card[at["cost"]]
        row[1] += card[at["value"]]
        row[2] += card[at["requests"]]
        row[3] += card[at["errors"]]
        row[4] += 1
        row[5] += rate is None and currency != BASE_CURRENCY
    return [(*key, *row) for key, row in weeks.items()]


def write_rows(model: type[models.Model], columns: list[str], rows: Iterable[tuple[Any, ...]]) -> int:
    """Insert rows (values by column attname): COPY on PostgreSQL, ``bulk_create`` elsewhere."""
    count = 0
    if connection.vendor == "postgresql":

        def lines() -> Iterator[str]:
            nonlocal count
            for row in rows:
                count += 1
                yield "\t".join(map(_copy_value, row)) + "\n"

        copy_lines(model._meta.db_table, columns, lines())
        return count
    with explicit_timestamps(model):
        batch = []
        for row in rows:
            batch.append(model(**dict(zip(columns, row, strict=True))))
            if len(batch) >= 2000:
                model.objects.bulk_create(batch)
                count += len(batch)
                batch = []
        model.objects.bulk_create(batch)
        count += len(batch)
    return count


# --- The registry, governance and library around the telemetry ---------------------------------


def _day_at(start: datetime, hour: int) -> datetime:
    return start + timedelta(hours=hour)


def seed_people(teams: int) -> tuple[list[Team], list[User], User, User]:
    """Teams with an owner each, a leader and a CoE staff member (no usable passwords)."""
    groups = roles_ensure()
    team_rows = [
        Team(
            name=TEAM_NAMES[i % len(TEAM_NAMES)] + (f" {i // len(TEAM_NAMES) + 1}" if i >= len(TEAM_NAMES) else ""),
            slug=f"{PREFIX}team-{i:02d}",
        )
        for i in range(teams)
    ]
    Team.objects.bulk_create(team_rows)
    team_list = list(Team.objects.filter(slug__startswith=f"{PREFIX}team-").order_by("slug"))
    unusable = "!"  # as set_unusable_password() leaves it: nobody signs in as these
    owners = [
        User(username=f"{PREFIX}owner-{i:02d}", first_name="Owner", last_name=f"{i:02d}", password=unusable)
        for i in range(teams)
    ]
    leader = User(username=LEADER_USERNAME, first_name="Bench", last_name="Leader", password=unusable)
    coe = User(username=COE_USERNAME, first_name="Bench", last_name="CoE", password=unusable, is_staff=True)
    User.objects.bulk_create([*owners, leader, coe])
    users = {u.username: u for u in User.objects.filter(username__startswith=PREFIX)}
    owners = [users[o.username] for o in owners]
    Membership.objects.bulk_create(
        [Membership(user=o, team=t, role=Membership.Role.OWNER) for o, t in zip(owners, team_list, strict=True)]
    )
    leader, coe = users[LEADER_USERNAME], users[COE_USERNAME]
    groups[LEADERSHIP].user_set.add(leader)
    Group.objects.get(name=COE_STAFF).user_set.add(coe)
    return team_list, owners, leader, coe


def seed_catalogue(start: datetime, n_hours: int) -> tuple[list[AIModel], list[list[tuple[int, float, float]]]]:
    """The catalogue with its prices; per model, the prices over the window: (from hour, in, out)."""
    AIModel.objects.bulk_create(
        [
            AIModel(
                slug=f"{PREFIX}{m.provider}-{m.model_id}".replace(".", "-"),
                provider=m.provider,
                model_id=m.model_id,
                display_name=m.name,
                approval_status=AIModel.ApprovalStatus.APPROVED,
                max_data_classification=DataClassification.RESTRICTED,
            )
            for m in CATALOGUE
        ]
    )
    by_key = {(m.provider, m.model_id): m for m in AIModel.objects.filter(slug__startswith=PREFIX)}
    rows = [by_key[m.provider, m.model_id] for m in CATALOGUE]
    prices: list[list[tuple[int, float, float]]] = [[(-(10**9), m.price_in, m.price_out)] for m in CATALOGUE]
    price_rows = [
        ModelPrice(
            model=row,
            effective_from=start - timedelta(days=400),
            input_per_million=Decimal(str(m.price_in)),
            output_per_million=Decimal(str(m.price_out)),
            note="Benchmark list price",
        )
        for row, m in zip(rows, CATALOGUE, strict=True)
    ]
    index, when, ratio = PRICE_CUT
    cut_hour = int(n_hours * when)
    model = CATALOGUE[index]
    new_in, new_out = round(model.price_in * ratio, 4), round(model.price_out * ratio, 4)
    prices[index].append((cut_hour, new_in, new_out))
    price_rows.append(
        ModelPrice(
            model=rows[index],
            effective_from=_day_at(start, cut_hour),
            input_per_million=Decimal(str(new_in)),
            output_per_million=Decimal(str(new_out)),
            note="Benchmark price cut",
        )
    )
    ModelPrice.objects.bulk_create(price_rows)
    return rows, prices


def seed_rates(start_day: date, days: int) -> None:
    """A rate per currency per month, wandering a little."""
    rng = random.Random(3)
    rows = []
    for currency, base in BASE_RATES.items():
        month = date(start_day.year, start_day.month, 1)
        rate = base
        while month <= start_day + timedelta(days=days):
            rows.append(
                ExchangeRate(
                    currency=currency, effective_from=month, per_usd=Decimal(f"{rate:.6f}"), note="Benchmark rate"
                )
            )
            rate *= rng.uniform(0.985, 1.015)
            month = date(month.year + month.month // 12, month.month % 12 + 1, 1)
    ExchangeRate.objects.bulk_create(rows)


def seed_workloads(
    plans: list[WorkloadPlan],
    *,
    team_list: list[Team],
    catalogue: list[AIModel],
    monthly_tokens: dict[int, float],
    start: datetime,
    n_hours: int,
    rng: random.Random,
) -> None:
    """The workloads, their releases and release timelines, and the models each one uses."""
    rows = []
    for plan in plans:
        currency_rate = BASE_RATES.get(plan.currency, 1.0)
        fixed_run = Decimal(rng.choice((50, 100, 200, 400, 800, 1500)))
        minutes = rng.random() < 0.25
        token_month = Decimal(f"{monthly_tokens[plan.index] * currency_rate:.2f}")
        created = _day_at(start, min(plan.first_hour, n_hours - 1)) - timedelta(days=rng.randint(20, 120))
        retired = plan.stage == LifecycleStage.RETIRED
        rows.append(
            Workload(
                name=f"Bench workload {plan.index:03d}",
                slug=plan.slug,
                team=team_list[plan.team],
                description="A benchmark workload.",
                business_owner=f"Owner {plan.index:03d}",
                lifecycle_stage=plan.stage,
                risk_tier=plan.risk,
                data_classification=plan.classification,
                use_case_category=plan.category,
                currency=plan.currency,
                value_per_request=None if minutes else Decimal(f"{rng.uniform(0.05, 1.2):.2f}"),
                minutes_saved_per_request=Decimal(rng.choice((2, 4, 6, 10, 15))) if minutes else None,
                loaded_hourly_rate=Decimal(rng.choice((40, 60, 85, 120))) if minutes else None,
                fixed_monthly_value=Decimal(rng.choice((500, 1000, 2500))) if rng.random() < 0.3 else Decimal(0),
                fixed_monthly_run_cost=fixed_run,
                monthly_budget=((fixed_run + token_month) * Decimal(f"{rng.uniform(0.8, 1.6):.2f}")).quantize(
                    Decimal(1)
                )
                if rng.random() < 0.9
                else None,
                target_roi=Decimal(rng.choice(("0.5", "1.0", "1.5", "2.0", "3.0"))),
                objective_p95_latency_ms=rng.choice((1500, 2000, 2500, 3000, 4000)),
                objective_min_quality=Decimal(rng.choice(("0.70", "0.75", "0.80"))) if rng.random() < 0.6 else None,
                objective_max_error_rate=Decimal(rng.choice(("0.02", "0.03", "0.05"))) if rng.random() < 0.7 else None,
                created_at=created,
                retired_at=_day_at(start, plan.last_hour) if retired else None,
            )
        )
    with explicit_timestamps(Workload):
        Workload.objects.bulk_create(rows)
    by_slug = {w.slug: w for w in Workload.objects.filter(slug__startswith=PREFIX)}
    release_rows = []
    for plan in plans:
        plan.obj = by_slug[plan.slug]
        live = plan.segments[-1][1] if plan.segments else None
        restored = {r for _, kind, r, _ in plan.events if kind == ROLLED_BACK}
        for index, release in enumerate(plan.releases):
            if release.promoted_hour is None:
                status = Release.Status.DRAFT
            elif index == live:
                status = Release.Status.LIVE
            elif release.rolled_back:
                status = Release.Status.ROLLED_BACK
            else:
                status = Release.Status.SUPERSEDED
            promoted_at = None if release.promoted_hour is None else _day_at(start, release.promoted_hour)
            created_at = (promoted_at or _day_at(start, n_hours - 1)) - timedelta(days=2)
            note = " (restored by a rollback later)" if index in restored else ""
            release.obj = Release(
                workload=plan.obj,
                version=release.version,
                status=status,
                promoted_at=promoted_at,
                created_at=created_at,
                changelog=f"Benchmark release {release.version}{note}.",
                config={"temperature": 0.2, "mix": list(release.weights)},
            )
            release_rows.append(release.obj)
    with explicit_timestamps(Release):
        Release.objects.bulk_create(release_rows)
    release_models, workload_models, events = [], [], []
    for plan in plans:
        used = set()
        for release in plan.releases:
            for share, model_index in zip(release.weights, plan.models, strict=False):
                if share > 0:
                    release_models.append(
                        Release.ai_models.through(release_id=release.obj.pk, aimodel_id=catalogue[model_index].pk)
                    )
                    used.add(model_index)
        workload_models += [
            Workload.ai_models.through(workload_id=plan.obj.pk, aimodel_id=catalogue[m].pk) for m in sorted(used)
        ]
        for hour, kind, index, previous in plan.events:
            release = plan.releases[index].obj
            before = plan.releases[previous].obj if previous is not None else None
            at = _day_at(start, hour)
            events.append(
                ReleaseEvent(workload=plan.obj, release=release, kind=ReleaseEvent.Kind.CREATED, at=release.created_at)
                if kind == PROMOTED
                else None
            )
            events.append(
                ReleaseEvent(
                    workload=plan.obj,
                    release=release,
                    previous=before,
                    kind=kind,
                    at=at,
                    reason="p95 latency and error rate regressed after the release." if kind == ROLLED_BACK else "",
                )
            )
        live = plan.segments[-1][1] if plan.segments else None
        plan.obj.live_release = plan.releases[live].obj if live is not None else None
    Release.ai_models.through.objects.bulk_create(release_models)
    Workload.ai_models.through.objects.bulk_create(workload_models)
    with explicit_timestamps(ReleaseEvent):
        ReleaseEvent.objects.bulk_create([e for e in events if e is not None])
    Workload.objects.bulk_update([p.obj for p in plans], ["live_release"])


POLICIES: tuple[tuple[str, str, tuple[dict[str, Any], ...]], ...] = (
    (
        "Human oversight",
        GuidanceArea.SECURITY_GOVERNANCE,
        (
            {
                "key": "human-review",
                "kind": "attestation",
                "risk_tiers": [RiskTier.HIGH],
                "attestation_valid_days": 180,
            },
            {"key": "dpia", "kind": "attestation", "data_classifications": ["confidential", "restricted"]},
            {
                "key": "safety-flags",
                "kind": "automated",
                "metric": Metric.SAFETY_FLAG_RATE,
                "operator": "<=",
                "threshold": Decimal("0.005"),
            },
        ),
    ),
    (
        "Reliable operations",
        GuidanceArea.INFRASTRUCTURE,
        (
            {"key": "runbook", "kind": "attestation", "lifecycle_stages": [LifecycleStage.PRODUCTION]},
            {
                "key": "latency-objective",
                "kind": "automated",
                "metric": Metric.P95_LATENCY_MS,
                "operator": "<=",
                "threshold_source": ThresholdSource.P95_OBJECTIVE,
            },
        ),
    ),
    (
        "Cost discipline",
        GuidanceArea.COST,
        (
            {
                "key": "budget",
                "kind": "automated",
                "metric": Metric.MONTHLY_COST,
                "operator": "<=",
                "threshold_source": ThresholdSource.BUDGET,
            },
            {
                "key": "roi-target",
                "kind": "automated",
                "metric": Metric.ROI,
                "operator": ">=",
                "threshold_source": ThresholdSource.TARGET_ROI,
                "lifecycle_stages": [LifecycleStage.PRODUCTION],
            },
        ),
    ),
    (
        "Monitoring and evaluation",
        GuidanceArea.MONITORING,
        (
            {
                "key": "error-objective",
                "kind": "automated",
                "metric": Metric.ERROR_RATE,
                "operator": "<=",
                "threshold_source": ThresholdSource.ERROR_OBJECTIVE,
            },
            {
                "key": "quality-minimum",
                "kind": "automated",
                "metric": Metric.QUALITY_SCORE,
                "operator": ">=",
                "threshold_source": ThresholdSource.QUALITY_OBJECTIVE,
            },
            {
                "key": "drift",
                "kind": "automated",
                "metric": Metric.DRIFT_SCORE,
                "operator": "<",
                "threshold": Decimal("0.25"),
            },
            {"key": "eval-rubric", "kind": "attestation", "attestation_valid_days": 365},
        ),
    ),
)


def seed_governance(*, coe: User, start: datetime) -> tuple[list[Control], dict[int, Control]]:
    """Four policies, the first in two versions (v2 tightened human review: attestations on v1 fall
    due). Returns the current controls and, by current control id, the v1 control it replaced."""
    controls: list[Control] = []
    replaced: dict[int, Control] = {}
    for number, (title, area, specs) in enumerate(POLICIES):
        policy = Policy.objects.create(
            title=title,
            slug=f"{PREFIX}{number}-{title.lower().replace(' ', '-')}",
            category=area,
            summary=f"{title}: what every workload must do.",
            owner=coe,
        )
        versions = ("1.0.0", "2.0.0") if number == 0 else ("1.0.0",)
        previous: dict[str, Control] = {}
        for v, label in enumerate(versions):
            current = v == len(versions) - 1
            published = start + timedelta(days=30 * v - 60)
            version = PolicyVersion.objects.create(
                policy=policy,
                number=label,
                major=int(label[0]),
                state=VersionState.PUBLISHED if current else VersionState.DEPRECATED,
                is_current=current,
                body=f"# {title}\n\nBenchmark policy.",
                published_at=published,
                published_by=coe,
                effective_date=(published + timedelta(days=30)).date(),
            )
            made = {}
            for spec in specs:
                extra = dict(spec)
                if number == 0 and spec["key"] == "human-review" and current:
                    extra["attestation_valid_days"] = 90  # the tightened control
                control = Control.objects.create(
                    policy_version=version,
                    title=spec["key"].replace("-", " ").capitalize(),
                    statement=f"The workload meets {spec['key']}.",
                    **extra,
                )
                made[spec["key"]] = control
                if current:
                    controls.append(control)
                    if spec["key"] in previous:
                        replaced[control.pk] = previous[spec["key"]]
            previous = made
    return list(governance.current_controls().filter(pk__in=[c.pk for c in controls])), replaced


def seed_library(*, coe: User, start: datetime, n_days: int, rng: random.Random) -> list[list[TemplateVersion]]:
    """Templates in one to four published versions; returns each template's versions, oldest first."""
    kinds = [
        Template.Kind.PROMPT,
        Template.Kind.RUNBOOK,
        Template.Kind.BLUEPRINT,
        Template.Kind.RUBRIC,
        Template.Kind.CHECKLIST,
        Template.Kind.TRAINING,
    ]
    areas = list(GuidanceArea.values)
    Template.objects.bulk_create(
        [
            Template(
                title=f"Bench template {i:02d}",
                slug=f"{PREFIX}template-{i:02d}",
                kind=kinds[i % len(kinds)],
                category=areas[i % len(areas)],
                summary="A benchmark template.",
                owner=coe,
            )
            for i in range(14)
        ]
    )
    templates = list(Template.objects.filter(slug__startswith=PREFIX).order_by("slug"))
    rows = []
    for template in templates:
        count = rng.randint(1, 4)
        days = sorted(rng.sample(range(-120, max(n_days - 5, 1)), count))
        for n, day in enumerate(days):
            at = start + timedelta(days=day)
            rows.append(
                TemplateVersion(
                    template=template,
                    number=f"{n + 1}.0.0",
                    major=n + 1,
                    state=VersionState.PUBLISHED,
                    is_current=n == count - 1,
                    body="Benchmark body.",
                    changelog=f"Version {n + 1}.",
                    created_at=at,
                    published_at=at,
                    published_by=coe,
                )
            )
    with explicit_timestamps(TemplateVersion):
        TemplateVersion.objects.bulk_create(rows)
    versions: dict[int, list[TemplateVersion]] = {}
    for version in TemplateVersion.objects.filter(template__in=templates).order_by("template_id", "major"):
        versions.setdefault(version.template_id, []).append(version)
    return [versions[t.pk] for t in templates]


# --- Telemetry: hourly rollups, then scorecards from the same sums ------------------------------

HOURLY_COLUMNS = [
    "workload_id",
    "hour",
    "model_name",
    "ai_model_id",
    "release",
    "requests",
    "errors",
    "input_tokens",
    "output_tokens",
    "cost",
    "unpriced_requests",
    "latency_sum_ms",
    "latency_hist",
    "quality_sum",
    "quality_count",
    "quality_hist",
    "ratings_up",
    "ratings_down",
    "ratings_count",
    "safety_flagged",
]
MONTHLY_COLUMNS = [
    "workload_id",
    "month",
    "model_name",
    "ai_model_id",
    "release",
    "requests",
    "errors",
    "input_tokens",
    "output_tokens",
    "cost",
    "unpriced_requests",
    "latency_sum_ms",
    "latency_hist",
    "quality_sum",
    "quality_count",
    "safety_flagged",
]
DAILY_COLUMNS = ["day" if name == "month" else name for name in MONTHLY_COLUMNS]
SCORECARD_COLUMNS = [
    "workload_id",
    "day",
    "complete",
    "requests",
    "errors",
    "input_tokens",
    "output_tokens",
    "unpriced_requests",
    "currency",
    "usd_rate",
    "token_cost",
    "fixed_cost",
    "cost",
    "value",
    "roi",
    "month_to_date_cost",
    "month_to_date_value",
    "month_end_forecast",
    "budget_burn",
    "latency_p50_ms",
    "latency_p95_ms",
    "latency_p99_ms",
    "latency_objective_met",
    "error_rate",
    "safety_flag_rate",
    "quality_score",
    "satisfaction",
    "anomalies",
    "drift",
    "drift_score",
    "regression",
    "metrics",
    "computed_at",
]
CHECK_COLUMNS = ["workload_id", "control_id", "state", "observed", "detail", "evaluated_at"]
Q4 = Decimal("0.0001")
MICRO = Decimal("0.000001")


def _money(micros: int) -> Decimal:
    return Decimal(micros).scaleb(-6)


def _micros_text(micros: int) -> str:
    return f"{micros // 1_000_000}.{micros % 1_000_000:06d}"


def _r(value: float | None, places: int = 4) -> float | None:
    return None if value is None else round(value, places)


class Day:
    """A workload's day, summed from its rollup rows as they are made."""

    __slots__ = (
        "cost",
        "errors",
        "flagged",
        "hist",
        "quality_count",
        "quality_sum",
        "ratings_count",
        "ratings_up",
        "releases",
        "requests",
        "tokens_in",
        "tokens_out",
    )

    def __init__(self) -> None:
        self.requests = self.errors = self.tokens_in = self.tokens_out = self.cost = self.flagged = 0
        self.quality_sum = 0.0
        self.quality_count = self.ratings_up = self.ratings_count = 0
        self.hist = [0] * LATENCY_BUCKETS
        # release index → [requests, errors, latency hist, quality sum, quality count, quality hist]
        self.releases: dict[int, list[Any]] = {}


@dataclass
class SeedReport:
    events: int
    workloads: int
    teams: int
    days: int
    start: datetime
    now: datetime
    hourly_rows: int = 0
    monthly_rows: int = 0
    daily_rows: int = 0
    scorecards: int = 0
    check_results: int = 0
    alerts: int = 0
    releases: int = 0
    seconds: dict[str, float] = field(default_factory=dict)
    busiest: str = ""

    @property
    def total_s(self) -> float:
        return sum(self.seconds.values())


class TelemetryWriter:
    """Makes every workload's rollup rows hour by hour and, from the same sums, its monthly rows,
    scorecards and check results."""

    def __init__(
        self,
        *,
        plans: list[WorkloadPlan],
        catalogue: list[AIModel],
        prices: list[list[tuple[int, float, float]]],
        controls: list[Control],
        start: datetime,
        n_hours: int,
        now: datetime,
        seed: int,
    ) -> None:
        self.plans, self.catalogue, self.prices, self.controls = plans, catalogue, prices, controls
        self.start, self.n_hours, self.now, self.seed = start, n_hours, now, seed
        self.n_days = (n_hours + 23) // 24
        self.hour_text = [(start + timedelta(hours=h)).isoformat() for h in range(n_hours)]
        self.rates = Rates()
        self.rates.per_usd("EUR", start.date())  # read now: no query may run while COPY streams
        self.scorecards: list[tuple[Any, ...]] = []
        self.monthly: list[tuple[Any, ...]] = []
        self.daily: list[tuple[Any, ...]] = []
        self.checks: list[tuple[Any, ...]] = []
        self.last_cards: dict[int, list[dict[str, Any]]] = {}  # workload index → its last days' cards
        self.release_first_hour: dict[tuple[int, int], int] = {}

    # The rows ----------------------------------------------------------------------------------

    def hourly(self) -> Iterator[tuple[Any, ...]]:
        for plan in self.plans:
            if plan.counts and sum(plan.counts):
                yield from self._workload(plan)

    def _workload(self, plan: WorkloadPlan) -> Iterator[tuple[Any, ...]]:
        rng = random.Random(self.seed * 104729 + plan.index)
        rand, choices, gauss, uniform = rng.random, rng.choices, rng.gauss, rng.uniform
        workload_id = plan.obj.pk
        days = [Day() for _ in range(self.n_days)]
        model_days: dict[tuple[int, int, str], list[Any]] = {}
        tokens_in_mean = TOKENS_IN[plan.category]
        self._months  # noqa: B018 (fills _month_of_day)
        models_ = plan.models
        names = [CATALOGUE[m].model_id for m in models_]
        ai_ids = [self.catalogue[m].pk for m in models_]
        segment = 0
        for offset, count in enumerate(plan.counts):
            if not count:
                continue
            hour = plan.first_hour + offset
            while segment + 1 < len(plan.segments) and plan.segments[segment + 1][0] <= hour:
                segment += 1
            release_index = plan.segments[segment][1]
            release = plan.releases[release_index]
            self.release_first_hour.setdefault((plan.index, release_index), hour)
            day = days[hour // 24]
            rel = day.releases.get(release_index)
            if rel is None:
                rel = day.releases[release_index] = [0, 0, [0] * LATENCY_BUCKETS, 0.0, 0, [0] * QUALITY_BUCKETS]
            split = [0] * len(models_)
            for k in choices(range(len(models_)), weights=release.weights, k=count):
                split[k] += 1
            worse = release.regress
            for k, m in enumerate(split):
                if not m:
                    continue
                model = CATALOGUE[models_[k]]
                buckets = choices(
                    BUCKETS, cum_weights=latency_cum_weights(model.latency_ms * (1.7 if worse else 1.0)), k=m
                )
                hist = [0] * LATENCY_BUCKETS
                latency_sum = 0.0
                for b in buckets:
                    hist[b] += 1
                    latency_sum += MID_MS[b]
                p_error = model.error_rate * (3.5 if worse else 1.0)
                q_mean = model.quality + plan.quality_shift - (0.12 if worse else 0.0)
                p_up = 0.65 if worse else 0.82
                errors = flagged = quality_count = ratings_up = ratings_count = 0
                quality_sum = 0.0
                quality_hist = [0] * QUALITY_BUCKETS
                for _ in range(m):
                    if rand() < p_error:
                        errors += 1
                    if rand() < QUALITY_SAMPLED:
                        score = round(min(1.0, max(0.0, gauss(q_mean, 0.08))), 3)
                        quality_sum += score
                        quality_count += 1
                        quality_hist[min(QUALITY_BUCKETS - 1, int(score * QUALITY_BUCKETS))] += 1
                    if rand() < RATED:
                        ratings_count += 1
                        if rand() < p_up:
                            ratings_up += 1
                    if rand() < SAFETY_FLAGGED:
                        flagged += 1
                tokens_in = int(m * tokens_in_mean * uniform(0.85, 1.15))
                tokens_out = int((m - errors) * 300 * uniform(0.7, 1.3))
                price_in, price_out = self._price(models_[k], hour)
                cost = round(tokens_in * price_in + tokens_out * price_out)  # micro-dollars
                latency_sum = round(latency_sum, 1)
                yield (
                    workload_id,
                    hour,
                    names[k],
                    ai_ids[k],
                    release.version,
                    m,
                    errors,
                    tokens_in,
                    tokens_out,
                    cost,
                    latency_sum,
                    hist,
                    quality_sum,
                    quality_count,
                    quality_hist,
                    ratings_up,
                    ratings_count - ratings_up,
                    ratings_count,
                    flagged,
                )
                # The day, the release's day and the model's month.
                day.requests += m
                day.errors += errors
                day.tokens_in += tokens_in
                day.tokens_out += tokens_out
                day.cost += cost
                day.flagged += flagged
                day.quality_sum += quality_sum
                day.quality_count += quality_count
                day.ratings_up += ratings_up
                day.ratings_count += ratings_count
                rel[0] += m
                rel[1] += errors
                rel[3] += quality_sum
                rel[4] += quality_count
                day_hist, rel_hist, rel_quality = day.hist, rel[2], rel[5]
                for b in buckets:
                    day_hist[b] += 1
                    rel_hist[b] += 1
                for b, n in enumerate(quality_hist):
                    if n:
                        rel_quality[b] += n
                model_day_key = (hour // 24, k, release.version)
                model_day = model_days.get(model_day_key)
                if model_day is None:
                    model_day = model_days[model_day_key] = [0, 0, 0, 0, 0, 0.0, [0] * LATENCY_BUCKETS, 0.0, 0, 0]
                model_day[0] += m
                model_day[1] += errors
                model_day[2] += tokens_in
                model_day[3] += tokens_out
                model_day[4] += cost
                model_day[5] += latency_sum
                model_day_hist = model_day[6]
                for b in buckets:
                    model_day_hist[b] += 1
                model_day[7] += quality_sum
                model_day[8] += quality_count
                model_day[9] += flagged
        # The daily rows, and the monthly ones summed from them, as scoring leaves both.
        months: dict[tuple[int, int, str], list[Any]] = {}
        for (day_index, k, version), sums in sorted(model_days.items()):
            self.daily.append(self._model_row(workload_id, self.start.date() + timedelta(days=day_index),
                                              names[k], ai_ids[k], version, sums))  # fmt: skip
            month = months.get((self._month_of_day[day_index], k, version))
            if month is None:
                months[self._month_of_day[day_index], k, version] = [*sums[:6], list(sums[6]), *sums[7:]]
                continue
            for index in (0, 1, 2, 3, 4, 5, 7, 8, 9):
                month[index] += sums[index]
            month_hist = month[6]
            for b, n in enumerate(sums[6]):
                if n:
                    month_hist[b] += n
        for (month_index, k, version), sums in sorted(months.items()):
            self.monthly.append(
                self._model_row(workload_id, self._months[month_index], names[k], ai_ids[k], version, sums)
            )
        self._score(plan, days)

    @staticmethod
    def _model_row(
        workload_id: int, period: date, name: str, ai_id: int, version: str, sums: list[Any]
    ) -> tuple[Any, ...]:
        """A monthly or daily rollup row (MONTHLY_COLUMNS, the period in the month's place)."""
        requests, errors, tokens_in, tokens_out, cost, latency_sum, hist, quality_sum, quality_count, flagged = sums
        return (
            workload_id, period, name, ai_id, version, requests, errors, tokens_in, tokens_out, _money(cost), 0,
            round(latency_sum, 1), hist, quality_sum, quality_count, flagged,
        )  # fmt: skip

    def _price(self, model_index: int, hour: int) -> tuple[float, float]:
        prices = self.prices[model_index]
        if len(prices) == 1:
            return prices[0][1], prices[0][2]
        found = prices[0]
        for entry in prices:
            if entry[0] <= hour:
                found = entry
        return found[1], found[2]

    @property
    def _months(self) -> list[date]:
        if not hasattr(self, "_month_list"):
            first = self.start.date().replace(day=1)
            months, month = [], first
            while month <= (self.start + timedelta(hours=self.n_hours)).date():
                months.append(month)
                month = date(month.year + month.month // 12, month.month % 12 + 1, 1)
            self._month_list = months
            self._month_of_day = []
            for d in range(self.n_days):
                day = self.start.date() + timedelta(days=d)
                self._month_of_day.append((day.year - first.year) * 12 + day.month - first.month)
        return self._month_list

    # The scorecards ----------------------------------------------------------------------------

    def _score(self, plan: WorkloadPlan, days: list[Day]) -> None:
        workload = plan.obj
        per_request = workload.effective_value_per_request or Decimal(0)
        fixed_run, fixed_value, budget = (
            workload.fixed_monthly_run_cost,
            workload.fixed_monthly_value,
            workload.monthly_budget,
        )
        objective = workload.objective_p95_latency_ms
        controls = [
            c
            for c in governance.applicable_controls(workload=workload, controls=self.controls)
            if c.kind == Control.Kind.AUTOMATED
        ]
        history: list[tuple[int, dict[str, Any]]] = []  # (day index, anomaly metrics) of complete days
        week_hist = [0] * LATENCY_BUCKETS
        week = [0, 0, 0, 0.0, 0]  # requests, errors, flagged, quality sum, quality count
        mtd_cost = mtd_requests = mtd_errors = 0
        cards = self.last_cards.setdefault(plan.index, [])
        for d, agg in enumerate(days):
            day = self.start.date() + timedelta(days=d)
            if day.day == 1 or d == 0:
                mtd_cost = mtd_requests = mtd_errors = 0
            mtd_cost += agg.cost
            mtd_requests += agg.requests
            mtd_errors += agg.errors
            week[0] += agg.requests
            week[1] += agg.errors
            week[2] += agg.flagged
            week[3] += agg.quality_sum
            week[4] += agg.quality_count
            if agg.requests:
                week_hist = [a + b for a, b in zip(week_hist, agg.hist, strict=True)]
            if d >= METRIC_WINDOW_DAYS:
                old = days[d - METRIC_WINDOW_DAYS]
                week[0] -= old.requests
                week[1] -= old.errors
                week[2] -= old.flagged
                week[3] -= old.quality_sum
                week[4] -= old.quality_count
                if old.requests:
                    week_hist = [a - b for a, b in zip(week_hist, old.hist, strict=True)]
            if not agg.requests:
                continue
            day_start = datetime(day.year, day.month, day.day, tzinfo=UTC)
            day_end = day_start + timedelta(days=1)
            complete = day_end <= self.now
            days_in_month = calendar.monthrange(day.year, day.month)[1]
            usd_rate = self.rates.per_usd(workload.currency, day)
            fx = usd_rate if usd_rate is not None else Decimal(1)
            token_cost = _money(agg.cost) * fx
            fixed_cost = fixed_run / days_in_month
            cost = token_cost + fixed_cost
            value = per_request * (agg.requests - agg.errors) + fixed_value / days_in_month
            roi = float((value - cost) / cost) if cost else None
            month_start = datetime(day.year, day.month, 1, tzinfo=UTC)
            elapsed = max((min(day_end, self.now) - month_start).total_seconds() / 86400, 1 / 24)
            mtd_token_cost = _money(mtd_cost) * fx
            mtd_cost_total = mtd_token_cost + fixed_run * day.day / days_in_month
            mtd_value = per_request * (mtd_requests - mtd_errors) + fixed_value * day.day / days_in_month
            forecast = mtd_token_cost / Decimal(str(elapsed)) * days_in_month + fixed_run
            burn = float(mtd_cost_total / budget) if budget else None
            p50, p95, p99 = (stats.percentile(agg.hist, q) for q in (0.5, 0.95, 0.99))
            values: dict[str, Any] = {
                "requests": agg.requests,
                "token_cost": token_cost,
                "error_rate": _r(agg.errors / agg.requests),
                "latency_p95_ms": _r(p95, 1),
                "safety_flag_rate": _r(agg.flagged / agg.requests),
                "quality_score": _r(agg.quality_sum / agg.quality_count) if agg.quality_count else None,
            }
            anomalies = self._anomalies(values, history, d, complete)
            live = plan.release_at(min(self.n_hours - 1, (d + 1) * 24 - 1))
            drift = self._drift(plan, days, d, live)
            regression = self._regression(plan, days, d, min(day_end, self.now))
            mtd_roi = round(float((mtd_value - mtd_cost_total) / mtd_cost_total), 4) if mtd_cost_total else None
            metrics = {
                "window_days": METRIC_WINDOW_DAYS,
                "requests": week[0],
                "error_rate": _r(week[1] / week[0]) if week[0] else None,
                "safety_flag_rate": _r(week[2] / week[0]) if week[0] else None,
                "p95_latency_ms": _r(stats.percentile(week_hist, 0.95), 1),
                "quality_score": _r(week[3] / week[4]) if week[4] else None,
                "monthly_cost": str(forecast.quantize(Decimal("0.01"))),
                "roi": mtd_roi,
                "drift_score": drift.get("score"),
            }
            self.scorecards.append(
                (
                    workload.pk,
                    day,
                    complete,
                    agg.requests,
                    agg.errors,
                    agg.tokens_in,
                    agg.tokens_out,
                    0,
                    workload.currency,
                    usd_rate,
                    token_cost.quantize(Q4),
                    fixed_cost.quantize(Q4),
                    cost.quantize(Q4),
                    value.quantize(Q4),
                    _r(roi),
                    mtd_cost_total.quantize(Q4),
                    mtd_value.quantize(Q4),
                    forecast.quantize(Q4),
                    _r(burn),
                    _r(p50, 1),
                    _r(p95, 1),
                    _r(p99, 1),
                    None if objective is None or p95 is None else p95 <= objective,
                    values["error_rate"],
                    values["safety_flag_rate"],
                    values["quality_score"],
                    _r(agg.ratings_up / agg.ratings_count) if agg.ratings_count else None,
                    anomalies,
                    drift,
                    drift.get("score"),
                    regression,
                    metrics,
                    min(day_end + timedelta(minutes=10), self.now),
                )
            )
            if complete:
                history.append((d, values))
                evaluated_at = min(day_end + timedelta(minutes=15), self.now)
                for control in controls:
                    outcome = governance.evaluate(control=control, metrics=metrics, workload=workload)
                    self.checks.append(
                        (workload.pk, control.pk, outcome.state, outcome.observed, outcome.detail, evaluated_at)
                    )
            cards.append(
                {
                    "day": day,
                    "anomalies": anomalies,
                    "drift": drift,
                    "regression": regression,
                    "burn": burn,
                    "complete": complete,
                }
            )
            del cards[:-14]

    def _anomalies(
        self, values: dict[str, Any], history: list[tuple[int, dict[str, Any]]], d: int, complete: bool
    ) -> list[dict[str, Any]]:
        """As scoring.anomalies, over the complete days of the last two weeks."""
        past_days = [v for day, v in history if day >= d - ANOMALY_HISTORY_DAYS]
        if len(past_days) < ANOMALY_MIN_HISTORY:
            return []
        found = []
        for metric, (direction, floor, complete_only) in ANOMALY_METRICS.items():
            if complete_only and not complete:
                continue
            if metric not in ("requests", "token_cost") and values["requests"] < RATE_MIN_REQUESTS:
                continue
            value = values[metric]
            past = [float(row[metric]) for row in past_days if row[metric] is not None]
            if value is None or len(past) < ANOMALY_MIN_HISTORY:
                continue
            z, centre, _ = stats.robust_z(float(value), past, floor=floor)
            if abs(z) >= stats.Z_THRESHOLD and (direction == 0 or z * direction > 0):
                found.append(
                    {
                        "metric": metric,
                        "label": ANOMALY_LABELS[metric],
                        "value": round(float(value), 4),
                        "median": round(centre, 4),
                        "z": round(z, 2),
                        "direction": "up" if z > 0 else "down",
                    }
                )
        return found

    def _drift(self, plan: WorkloadPlan, days: list[Day], d: int, live: int | None) -> dict[str, Any]:
        """As scoring.drift, with the baseline taken by whole days (the release's first three)."""
        if live is None:
            return {"reason": "No live release to compare against."}
        version = plan.releases[live].version
        first = self.release_first_hour.get((plan.index, live))
        if first is None:
            return {"release": version, "reason": f"No telemetry labelled {version} yet."}
        baseline_start = self.start + timedelta(hours=first)
        baseline_end = baseline_start + timedelta(hours=72)
        result: dict[str, Any] = {
            "release": version,
            "baseline_start": baseline_start.isoformat(),
            "baseline_end": baseline_end.isoformat(),
        }
        if d * 24 < first + 72:
            result["reason"] = "Still inside the release's baseline window."
            return result
        base_hist, base_quality, base_q = [0] * LATENCY_BUCKETS, [0] * QUALITY_BUCKETS, 0
        for day in days[first // 24 : first // 24 + 3]:
            rel = day.releases.get(live)
            if rel:
                base_hist = [a + b for a, b in zip(base_hist, rel[2], strict=True)]
                base_quality = [a + b for a, b in zip(base_quality, rel[5], strict=True)]
                base_q += rel[4]
        current = days[d].releases.get(live)
        if current is None or sum(base_hist) < DRIFT_MIN_REQUESTS or current[0] < DRIFT_MIN_REQUESTS:
            result["reason"] = f"Fewer than {DRIFT_MIN_REQUESTS} timed requests in the baseline or today."
            return result
        latency_psi = stats.psi(stats.coarsen(current[2], 4), stats.coarsen(base_hist, 4))
        quality_psi = None
        if base_q >= DRIFT_MIN_REQUESTS and current[4] >= DRIFT_MIN_REQUESTS:
            quality_psi = stats.psi(current[5], base_quality)
        scores = [s for s in (latency_psi, quality_psi) if s is not None]
        result.update(
            latency_psi=_r(latency_psi),
            quality_psi=_r(quality_psi),
            score=_r(max(scores)) if scores else None,
            baseline_p95_ms=_r(stats.percentile(base_hist, 0.95), 1),
            current_p95_ms=_r(stats.percentile(current[2], 0.95), 1),
        )
        return result

    def _regression(self, plan: WorkloadPlan, days: list[Day], d: int, now: datetime) -> dict[str, Any]:
        """As scoring.regression, by whole days: the release that went live last against the one
        it replaced over the week before."""
        hour_now = int((now - self.start).total_seconds() // 3600)
        event = None
        for item in plan.events:
            if item[0] <= hour_now:
                event = item
        if event is None or event[3] is None:
            return {}
        hour, _, index, previous = event
        since = self.start + timedelta(hours=hour)
        if now - since > timedelta(days=REGRESSION_WINDOW_DAYS):
            return {}
        release, before = plan.releases[index], plan.releases[previous]
        result: dict[str, Any] = {
            "release": release.version,
            "previous": before.version,
            "previous_id": before.obj.pk if before.obj else None,
            "since": since.isoformat(),
            "findings": [],
            "recommend_rollback": False,
        }
        first_day = max(0, hour // 24)
        new, old = [0, 0, [0] * LATENCY_BUCKETS, 0.0, 0], [0, 0, [0] * LATENCY_BUCKETS, 0.0, 0]
        for side, which, span in (
            (new, index, range(first_day, d + 1)),
            (old, previous, range(max(0, first_day - REGRESSION_LOOKBACK_DAYS), first_day + 1)),
        ):
            for day_index in span:
                rel = days[day_index].releases.get(which)
                if rel:
                    side[0] += rel[0]
                    side[1] += rel[1]
                    side[2] = [a + b for a, b in zip(side[2], rel[2], strict=True)]
                    side[3] += rel[3]
                    side[4] += rel[4]
        if new[0] < REGRESSION_MIN_REQUESTS or old[0] < REGRESSION_MIN_REQUESTS:
            result["reason"] = f"Fewer than {REGRESSION_MIN_REQUESTS} requests on one side so far."
            return result
        findings = []
        new_rate, old_rate = new[1] / new[0], old[1] / old[0]
        if new_rate > max(2 * old_rate, old_rate + 0.02):
            findings.append(f"error rate {new_rate:.1%} against {old_rate:.1%}")
        new_p95, old_p95 = stats.percentile(new[2], 0.95), stats.percentile(old[2], 0.95)
        if new_p95 and old_p95 and new_p95 > 1.5 * old_p95:
            findings.append(f"p95 latency {new_p95:.0f} ms against {old_p95:.0f} ms")
        new_q = new[3] / new[4] if new[4] else None
        old_q = old[3] / old[4] if old[4] else None
        if new_q is not None and old_q is not None and new_q < old_q - 0.1:
            findings.append(f"quality {new_q:.2f} against {old_q:.2f}")
        result.update(
            findings=findings, recommend_rollback=bool(findings), new_requests=new[0], previous_requests=old[0]
        )
        return result


_COUNTS = [str(n) for n in range(100_000)]  # ints as text by lookup: five times quicker than str() per cell


def _hourly_line(row: tuple[Any, ...], hour_text: list[str]) -> str:
    (
        workload_id,
        hour,
        name,
        ai_id,
        release,
        requests,
        errors,
        tokens_in,
        tokens_out,
        cost,
        latency_sum,
        hist,
        quality_sum,
        quality_count,
        quality_hist,
        up,
        down,
        ratings,
        flagged,
    ) = row
    latency = ",".join([_COUNTS[c] for c in hist])
    quality = ",".join([_COUNTS[c] for c in quality_hist])
    return (
        f"{workload_id}\t{hour_text[hour]}\t{name}\t{ai_id}\t{release}\t{requests}\t{errors}\t{tokens_in}\t"
        f"{tokens_out}\t{_micros_text(cost)}\t0\t{latency_sum!r}\t[{latency}]\t{quality_sum!r}\t"
        f"{quality_count}\t[{quality}]\t{up}\t{down}\t{ratings}\t{flagged}\n"
    )


def write_hourly(writer: TelemetryWriter) -> int:
    rows = writer.hourly()
    if connection.vendor == "postgresql":
        count = 0
        hour_text = writer.hour_text

        def lines() -> Iterator[str]:
            nonlocal count
            for row in rows:
                count += 1
                yield _hourly_line(row, hour_text)

        copy_lines(HourlyRollup._meta.db_table, HOURLY_COLUMNS, lines())
        return count
    start = writer.start
    return write_rows(
        HourlyRollup,
        HOURLY_COLUMNS,
        ((r[0], start + timedelta(hours=r[1]), *r[2:9], _money(r[9]), 0, *r[10:]) for r in rows),
    )


# --- Alerts, attestations, waivers, adoptions, feedback ----------------------------------------


def seed_alerts(writer: TelemetryWriter) -> int:
    """What alerts.py leaves open from the last days' scorecards (anomalies of the last week, this
    month's budget, drift, rollback advice, failing controls) and, for the older anomalies, closed ones."""
    now = writer.now
    rows = []
    latest_checks: dict[tuple[int, int], tuple[str, datetime]] = {}
    for workload_id, control_id, state, _, _, at in writer.checks:
        latest_checks[workload_id, control_id] = (state, at)
    controls = {c.pk: c for c in writer.controls}
    for plan in writer.plans:
        cards = writer.last_cards.get(plan.index) or []
        wid = plan.obj.pk
        opened: set[str] = set()

        def add(
            kind: str,
            key: str,
            title: str,
            day: date,
            *,
            severity: str = Alert.Severity.WARNING,
            resolved: datetime | None = None,
            wid: int = wid,
            opened: set[str] = opened,
        ) -> None:
            if resolved is None:
                if key in opened:
                    return
                opened.add(key)
            created = datetime(day.year, day.month, day.day, tzinfo=UTC) + timedelta(days=1, minutes=20)
            rows.append(
                Alert(
                    workload_id=wid,
                    kind=kind,
                    severity=severity,
                    key=key,
                    title=title,
                    detail="Raised by the benchmark's scoring.",
                    day=day,
                    created_at=min(created, now),
                    resolved_at=resolved,
                )
            )

        for card in cards:
            recent = (now.date() - card["day"]).days <= 7
            for anomaly in card["anomalies"]:
                created = datetime.combine(card["day"], datetime.min.time(), tzinfo=UTC) + timedelta(days=2)
                add(
                    Alert.Kind.ANOMALY,
                    f"anomaly:{card['day']}:{anomaly['metric']}",
                    f"{anomaly['label']} {anomaly['direction']} on {card['day']}",
                    card["day"],
                    resolved=None if recent else min(created, now),
                )
        if cards:
            last = cards[-1]
            if last["burn"] is not None and last["burn"] >= 0.8 and last["day"].month == now.month:
                threshold = 100 if last["burn"] >= 1 else 80
                add(
                    Alert.Kind.BUDGET,
                    f"budget:{last['day']:%Y-%m}:{threshold}",
                    f"Budget {threshold} % used",
                    last["day"],
                    severity=Alert.Severity.CRITICAL if threshold == 100 else Alert.Severity.WARNING,
                )
            if (last["drift"].get("score") or 0) >= 0.25:
                add(
                    Alert.Kind.DRIFT,
                    f"drift:{last['drift']['release']}",
                    "Drift against the release's baseline",
                    last["day"],
                )
            if last["regression"].get("recommend_rollback"):
                add(
                    Alert.Kind.ROLLBACK,
                    f"rollback:{last['regression']['release']}",
                    f"Roll back {last['regression']['release']}?",
                    last["day"],
                    severity=Alert.Severity.CRITICAL,
                )
        for (workload_id, control_id), (state, at) in latest_checks.items():
            if workload_id == wid and state == "failing":
                control = controls[control_id]
                add(
                    Alert.Kind.CONTROL,
                    f"control:{control.policy_version.policy_id}:{control.key}",
                    f"Failing: {control.title}",
                    at.date(),
                    severity=Alert.Severity.CRITICAL,
                )
    with explicit_timestamps(Alert):
        Alert.objects.bulk_create(rows, batch_size=1000)
    return len(rows)


def seed_attestations_and_waivers(
    *,
    plans: list[WorkloadPlan],
    controls: list[Control],
    replaced: dict[int, Control],
    owners: list[User],
    coe: User,
    writer: TelemetryWriter,
    rng: random.Random,
) -> None:
    """Most applicable attestation controls attested (some on the old version, some expired); waivers
    for some failing checks and missing attestations: approved (a few ending soon), requested, rejected."""
    now, today = writer.now, writer.now.date()
    latest: dict[tuple[int, int], str] = {}
    for workload_id, control_id, state, *_ in writer.checks:
        latest[workload_id, control_id] = state
    attestations, waivers = [], []
    for plan in plans:
        workload, owner = plan.obj, owners[plan.team]
        for control in governance.applicable_controls(workload=workload, controls=controls):
            due = False
            if control.kind == Control.Kind.ATTESTATION:
                roll = rng.random()
                if roll < 0.7:
                    at = now - timedelta(days=rng.randint(1, 80))
                    attested = replaced.get(control.pk, control) if rng.random() < 0.15 else control
                    expires = (
                        at + timedelta(days=attested.attestation_valid_days)
                        if attested.attestation_valid_days
                        else None
                    )
                    if rng.random() < 0.1 and attested.attestation_valid_days:
                        at = now - timedelta(days=attested.attestation_valid_days + rng.randint(1, 30))
                        expires = at + timedelta(days=attested.attestation_valid_days)
                    attestations.append(
                        Attestation(
                            workload=workload,
                            control=attested,
                            answer="We do this.",
                            attested_by=owner,
                            attested_at=at,
                            expires_at=expires,
                            content_hash=attested.content_hash,
                        )
                    )
                    due = attested is not control or (expires is not None and expires <= now)
                else:
                    due = True
            else:
                due = latest.get((workload.pk, control.pk)) == "failing"
            if due and rng.random() < 0.3:
                status = _pick(
                    rng, ((Waiver.Status.APPROVED, 60), (Waiver.Status.REQUESTED, 25), (Waiver.Status.REJECTED, 15))
                )
                requested = now - timedelta(days=rng.randint(2, 90))
                ends = today + timedelta(days=rng.choice((-20, -3, 4, 9, 13, 30, 60, 120)))
                waivers.append(
                    Waiver(
                        workload=workload,
                        policy_id=control.policy_version.policy_id,
                        control_key=control.key,
                        justification="Fix planned next quarter.",
                        ends_on=ends,
                        status=status,
                        requested_by=owner,
                        requested_at=requested,
                        decided_by=None if status == Waiver.Status.REQUESTED else coe,
                        decided_at=None if status == Waiver.Status.REQUESTED else requested + timedelta(days=2),
                        decision_comment=""
                        if status != Waiver.Status.REJECTED
                        else "Not without compensating controls.",
                    )
                )
    with explicit_timestamps(Attestation, Waiver):
        Attestation.objects.bulk_create(attestations, batch_size=1000)
        Waiver.objects.bulk_create(waivers, batch_size=1000)


def seed_adoptions(
    *,
    plans: list[WorkloadPlan],
    versions: list[list[TemplateVersion]],
    owners: list[User],
    now: datetime,
    rng: random.Random,
) -> None:
    """Prompt templates through the live releases; other templates adopted explicitly, often a
    version or two behind the current one."""
    prompts = [v for v in versions if v[0].template.kind == Template.Kind.PROMPT]
    others = [v for v in versions if v[0].template.kind != Template.Kind.PROMPT]
    links, adoptions = [], []
    for plan in plans:
        live = plan.obj.live_release
        if live is not None and prompts:
            chain = rng.choice(prompts)
            version = chain[rng.randrange(len(chain))]
            links.append(Release.template_versions.through(release_id=live.pk, templateversion_id=version.pk))
        if plan.stage == LifecycleStage.PROPOSED:
            continue
        for chain in rng.sample(others, min(len(others), rng.randint(0, 4))):
            index = len(chain) - 1 - min(len(chain) - 1, _pick(rng, ((0, 55), (1, 30), (2, 15))))
            version = chain[index]
            adopted = max(version.published_at or now, now - timedelta(days=rng.randint(1, 300)))
            adoptions.append(
                Adoption(
                    workload=plan.obj,
                    template=version.template,
                    version=version,
                    note="Benchmark adoption.",
                    adopted_at=min(adopted, now),
                    adopted_by=owners[plan.team],
                )
            )
    Release.template_versions.through.objects.bulk_create(links)
    with explicit_timestamps(Adoption):
        Adoption.objects.bulk_create(adoptions)


def seed_feedback(
    *,
    plans: list[WorkloadPlan],
    versions: list[list[TemplateVersion]],
    catalogue: list[AIModel],
    owners: list[User],
    coe: User,
    start: datetime,
    now: datetime,
    rng: random.Random,
) -> None:
    """About two threads per workload over the year, on templates, policies, workloads, models and
    the CoE, with the CoE's first answers, closures, ratings and one to four posts each."""
    policies = list(Policy.objects.filter(slug__startswith=PREFIX).prefetch_related("versions"))
    span = (now - start).total_seconds()
    threads = []
    for n in range(max(4, 2 * len(plans))):
        plan = plans[n % len(plans)]
        subject = _pick(
            rng,
            (
                (Subject.TEMPLATE, 40),
                (Subject.POLICY, 25),
                (Subject.WORKLOAD, 15),
                (Subject.MODEL, 10),
                (Subject.GENERAL, 10),
            ),
        )
        created = start + timedelta(seconds=rng.random() * span)
        status = _pick(
            rng,
            (
                (Thread.Status.NEW, 15),
                (Thread.Status.ACKNOWLEDGED, 15),
                (Thread.Status.PLANNED, 10),
                (Thread.Status.ADDRESSED, 45),
                (Thread.Status.DECLINED, 15),
            ),
        )
        answered = (
            None if status == Thread.Status.NEW else min(now, created + timedelta(hours=rng.lognormvariate(3, 1)))
        )
        closed = None
        if status in (Thread.Status.ADDRESSED, Thread.Status.DECLINED):
            closed = min(now, (answered or created) + timedelta(hours=rng.lognormvariate(4.5, 1)))
        thread = Thread(
            title=f"Benchmark thread {n}",
            kind=rng.choice(Thread.Kind.values),
            subject=subject,
            status=status,
            author=owners[plan.team],
            owner=coe if answered else None,
            created_at=created,
            last_activity_at=closed or answered or created,
            first_response_at=answered,
            closed_at=closed,
        )
        if subject == Subject.TEMPLATE:
            chain = rng.choice(versions)
            thread.template, thread.template_version = chain[0].template, rng.choice(chain)
            thread.guidance_area = chain[0].template.category
            thread.rating = rng.randint(1, 5) if rng.random() < 0.6 else None
            if status == Thread.Status.ADDRESSED:
                thread.addressed_template_version = chain[-1]
        elif subject == Subject.POLICY:
            policy = rng.choice(policies)
            thread.policy, thread.guidance_area = policy, policy.category
            thread.policy_version = policy.versions.all()[0]
            thread.rating = rng.randint(1, 5) if rng.random() < 0.6 else None
        elif subject == Subject.WORKLOAD:
            thread.workload = plan.obj
        elif subject == Subject.MODEL:
            thread.ai_model = rng.choice(catalogue)
        threads.append(thread)
    with explicit_timestamps(Thread):
        Thread.objects.bulk_create(threads)
    posts = []
    for thread in threads:
        posts.append(Post(thread=thread, author=thread.author, body="What we saw.", created_at=thread.created_at))
        if thread.first_response_at:
            posts.append(
                Post(
                    thread=thread,
                    author=coe,
                    body="Thanks, looking.",
                    created_at=thread.first_response_at,
                    status_from=Thread.Status.NEW,
                    status_to=Thread.Status.ACKNOWLEDGED,
                )
            )
        for _ in range(rng.randint(0, 2)):
            posts.append(
                Post(thread=thread, author=thread.author, body="More detail.", created_at=thread.last_activity_at)
            )
    with explicit_timestamps(Post):
        Post.objects.bulk_create(posts, batch_size=1000)


# --- All of it ----------------------------------------------------------------------------------


def seed(
    *,
    events: int,
    workloads: int = 200,
    teams: int = 12,
    days: int = 365,
    now: datetime | None = None,
    seed: int = 8,
    say: Callable[[str], None] | None = None,
) -> SeedReport:
    """Seed the organisation and ``events`` events' worth of telemetry over ``days`` days ending at
    ``now``'s hour, into the current database (which should hold nothing of the benchmark's yet)."""
    say = say or (lambda message: None)
    now = (now or timezone.now()).astimezone(UTC)
    start = datetime.combine(now.date() - timedelta(days=days - 1), datetime.min.time(), tzinfo=UTC)
    n_hours = int((now.replace(minute=0, second=0, microsecond=0) - start).total_seconds() // 3600) + 1
    rng = random.Random(seed)
    report = SeedReport(events=events, workloads=workloads, teams=teams, days=days, start=start, now=now)
    clock = time.perf_counter()

    def lap(name: str) -> None:
        nonlocal clock
        report.seconds[name] = time.perf_counter() - clock
        say(f"  {name}: {report.seconds[name]:.1f} s")
        clock = time.perf_counter()

    plans = plan_organisation(workloads=workloads, teams=teams, days=days, n_hours=n_hours, rng=rng)
    plan_counts(plans, events=events, n_hours=n_hours, start_weekday=start.weekday(), seed=seed)
    monthly_tokens = expected_monthly_token_cost(plans, n_hours=n_hours, start_weekday=start.weekday())
    team_list, owners, _leader, coe = seed_people(teams)
    catalogue, prices = seed_catalogue(start, n_hours)
    seed_rates(start.date(), days)
    seed_workloads(
        plans,
        team_list=team_list,
        catalogue=catalogue,
        monthly_tokens=monthly_tokens,
        start=start,
        n_hours=n_hours,
        rng=rng,
    )
    controls, replaced = seed_governance(coe=coe, start=start)
    versions = seed_library(coe=coe, start=start, n_days=days, rng=rng)
    report.releases = sum(len(p.releases) for p in plans)
    report.busiest = plans[0].slug if plans else ""
    lap("registry, governance, library")

    writer = TelemetryWriter(
        plans=plans,
        catalogue=catalogue,
        prices=prices,
        controls=controls,
        start=start,
        n_hours=n_hours,
        now=now,
        seed=seed,
    )
    report.hourly_rows = write_hourly(writer)
    lap("hourly rollups and scoring")
    report.monthly_rows = write_rows(MonthlyModelRollup, MONTHLY_COLUMNS, writer.monthly)
    report.daily_rows = write_rows(DailyModelRollup, DAILY_COLUMNS, writer.daily)
    category_refresh()  # what the beat task rebuilds from the monthly rows
    report.scorecards = write_rows(Scorecard, SCORECARD_COLUMNS, writer.scorecards)
    write_rows(WeeklyMoney, WEEKLY_COLUMNS, weekly_money(writer.scorecards))
    report.check_results = write_rows(CheckResult, CHECK_COLUMNS, writer.checks)
    lap("monthly rollups, scorecards, check results")
    report.alerts = seed_alerts(writer)
    seed_attestations_and_waivers(
        plans=plans, controls=controls, replaced=replaced, owners=owners, coe=coe, writer=writer, rng=rng
    )
    governance.compliance_scores_refresh()  # the portfolio's compliance counts, as the beat task stores them
    seed_adoptions(plans=plans, versions=versions, owners=owners, now=now, rng=rng)
    seed_feedback(
        plans=plans, versions=versions, catalogue=catalogue, owners=owners, coe=coe, start=start, now=now, rng=rng
    )
    lap("alerts, attestations, waivers, adoptions, feedback")
    if connection.vendor == "postgresql":
        # As autovacuum would after a bulk load: hint bits set, visibility map and statistics fresh.
        # (Inside a transaction, as in the tests, VACUUM cannot run: statistics only.)
        with connection.cursor() as cursor:
            if not connection.in_atomic_block:
                for model in (
                    HourlyRollup,
                    MonthlyModelRollup,
                    DailyModelRollup,
                    MonthlyCategoryRollup,
                    Scorecard,
                    WeeklyMoney,
                    CheckResult,
                ):
                    cursor.execute(f"VACUUM ANALYZE {model._meta.db_table}")
            cursor.execute("ANALYZE")
        lap("vacuum and analyze")
    return report


def leader() -> User:
    return User.objects.get(username=LEADER_USERNAME)


def busiest_workload() -> Workload:
    """The workload with the most requests over the year (the operations page's)."""
    top = Scorecard.objects.values("workload_id").annotate(n=models.Sum("requests")).order_by("-n").first()
    return (
        Workload.objects.get(pk=top["workload_id"]) if top else Workload.objects.filter(slug__startswith=PREFIX).first()
    )

"""Telemetry benchmarks.

- ``BENCHMARKS`` (run by ``manage.py bench``, in process): the pages and API that read telemetry,
  on workloads with rolled-up, scored events.
- The seeds and the timed rollup-and-scoring run that ``manage.py bench_ingest`` uses; the
  ingestion load itself (gunicorn, concurrent senders, the peer) lives in that command.

Events are bulk-loaded with one ``INSERT … SELECT generate_series`` on PostgreSQL (a million rows
in seconds; through the HTTP path they would take a minute and time nothing the rollup cares
about) and marked for the rollup as ingestion marks them; elsewhere they go through the write
path (``_insert_generic``).
"""

from __future__ import annotations

import multiprocessing
import random
import time
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any

from django.db import connection, connections
from django.urls import NoReverseMatch, reverse
from django.utils import timezone

from apps.accounts.models import Membership, Team, User
from apps.core.management.commands.bench import Benchmark, Case
from apps.registry.models import (
    AIModel,
    DataClassification,
    LifecycleStage,
    ModelPrice,
    Release,
    ReleaseEvent,
    Workload,
)

from . import loadgen, rollups, scoring, services
from .ingest import EventIn, Pricer, _insert_generic, _row, pending_mark
from .models import Event, HourlyRollup, IngestionKey, RollupPending, Scorecard

TEAM_SLUG = "telemetry-bench"
PREFIX = "telemetry-bench-"


# --- Seeds -------------------------------------------------------------------------------------------


def bench_team() -> Team:
    team, _ = Team.objects.get_or_create(slug=TEAM_SLUG, defaults={"name": "Telemetry bench"})
    return team


def bench_catalogue() -> list[AIModel]:
    """The models the load generator calls, priced (the load's last model stays unpriced)."""
    models = []
    for provider, model_id, aliases, price_in, price_out in loadgen.PRICED:
        model, created = AIModel.objects.get_or_create(
            provider=provider, model_id=model_id,
            defaults={"slug": f"{PREFIX}{provider}-{model_id}".replace(".", "-"), "display_name": model_id,
                      "aliases": aliases, "approval_status": AIModel.ApprovalStatus.APPROVED,
                      "max_data_classification": DataClassification.RESTRICTED},
        )  # fmt: skip
        if created:
            ModelPrice.objects.create(
                model=model, effective_from=datetime(2024, 1, 1, tzinfo=UTC), input_per_million=Decimal(price_in),
                output_per_million=Decimal(price_out), note="Benchmark price",
            )  # fmt: skip
        models.append(model)
    # The load names Gemini's provider "gcp.gemini"; the catalogue says "google": resolved by name.
    return models


def bench_workloads(count: int, *, label: str = "w") -> list[Workload]:
    """``count`` production workloads with a budget, an objective and a value per request."""
    team = bench_team()
    existing = {w.slug: w for w in Workload.objects.filter(slug__startswith=f"{PREFIX}{label}-")}
    new = [
        Workload(
            team=team,
            name=f"Telemetry bench {label} {i:03d}",
            slug=f"{PREFIX}{label}-{i:03d}",
            lifecycle_stage=LifecycleStage.PRODUCTION,
            data_classification=DataClassification.INTERNAL,
            value_per_request=Decimal("0.40"),
            fixed_monthly_run_cost=Decimal(300),
            monthly_budget=Decimal(3000),
            objective_p95_latency_ms=2500,
            business_owner="Bench Owner",
        )
        for i in range(count)
        if f"{PREFIX}{label}-{i:03d}" not in existing
    ]
    Workload.objects.bulk_create(new)
    return list(Workload.objects.filter(slug__startswith=f"{PREFIX}{label}-").order_by("slug")[:count])


def bench_key(workload: Workload) -> str:
    """A fresh ingestion key's raw value for the workload."""
    _, raw = services.key_create(workload=workload, name=f"bench {IngestionKey.objects.count() + 1}", actor=None)
    return raw


def with_releases(workloads: list[Workload], *, promoted_at: datetime) -> None:
    """Each workload ran 0.9.0, then 1.0.0 went live at ``promoted_at``: scoring's drift and
    regression checks have a baseline and a previous release to compare with."""
    for workload in workloads:
        if workload.live_release_id:
            continue
        old = Release.objects.create(workload=workload, version="0.9.0", status=Release.Status.SUPERSEDED,
                                     promoted_at=promoted_at - timedelta(days=30))  # fmt: skip
        new = Release.objects.create(workload=workload, version="1.0.0", status=Release.Status.LIVE,
                                     promoted_at=promoted_at)  # fmt: skip
        event = ReleaseEvent.objects.create(workload=workload, release=new, previous=old,
                                            kind=ReleaseEvent.Kind.PROMOTED)  # fmt: skip
        ReleaseEvent.objects.filter(pk=event.pk).update(at=promoted_at)  # ``at`` is auto_now_add
        workload.live_release = new
        workload.save(update_fields=["live_release"])


def load_events(workloads: list[Workload], *, events: int, start: datetime, end: datetime, promoted_at: datetime,
                seed: float = 0.42) -> int:  # fmt: skip
    """Bulk-load ``events`` events spread evenly over the workloads and uniformly over
    [start, end), priced, with the latency, quality, rating, error and safety mix the load
    generator sends; mark every (workload, hour) for the rollup as ingestion does. Returns the
    number of events stored."""
    models = bench_catalogue()
    if connection.vendor != "postgresql":
        return _load_events_generic(workloads, models, events=events, start=start, end=end, promoted_at=promoted_at)
    prices = {p.model_id: p for p in ModelPrice.objects.filter(model__in=models)}
    # (model id or NULL, provider, name, input price, output price); the last one is not in the catalogue.
    catalogue = [(m.pk, m.provider, m.model_id, prices[m.pk].input_per_million, prices[m.pk].output_per_million)
                 for m in models] + [(None, "aws.bedrock", "meta.llama3-1-70b", None, None)]  # fmt: skip
    with connection.cursor() as cursor:
        cursor.execute("SELECT setseed(%s)", [seed])
        cursor.execute(
            """
            WITH w AS (SELECT array_agg(id ORDER BY id) AS ids FROM registry_workload WHERE id = ANY(%(workloads)s)),
                 m AS (SELECT * FROM unnest(%(model_ids)s::bigint[], %(providers)s::text[], %(names)s::text[],
                                            %(price_in)s::numeric[], %(price_out)s::numeric[])
                                 WITH ORDINALITY AS m(id, provider, name, price_in, price_out, n)),
                 g AS (SELECT g, %(start)s::timestamptz + random() * (%(end)s::timestamptz - %(start)s::timestamptz)
                                 AS ts,
                              1 + floor(random() * 5)::int AS model_n,
                              exp(6.6 + 0.6 * sqrt(-2 * ln(1 - random())) * cos(2 * pi() * random())) AS latency,
                              random() < 0.02 AS is_error,
                              50 + floor(random() * 3950)::int AS tokens_in,
                              10 + floor(random() * 890)::int AS tokens_out,
                              CASE WHEN random() < 0.1 THEN round((0.55 + random() * 0.45)::numeric, 3)::float END
                                 AS quality,
                              CASE WHEN random() < 0.05 THEN (ARRAY[-1, 1, 1, 1])[1 + floor(random() * 4)::int] END
                                 AS rating,
                              random() < 0.003 AS flagged
                       FROM generate_series(1, %(events)s) AS g)
            INSERT INTO telemetry_event (workload_id, event_key, timestamp, hour, received_at, source, operation,
                provider, model_name, ai_model_id, release, input_tokens, output_tokens, latency_ms, latency_bucket,
                is_error, error_type, cost, quality_score, quality_bucket, user_rating, safety_flags, safety_flagged,
                attributes)
            SELECT w.ids[1 + g.g %% array_length(w.ids, 1)], 'bench-' || g.g, g.ts, date_trunc('hour', g.ts), g.ts,
                   'otlp', 'chat', m.provider, m.name, m.id,
                   CASE WHEN g.ts < %(promoted_at)s THEN '0.9.0' ELSE '1.0.0' END,
                   g.tokens_in, CASE WHEN g.is_error THEN 0 ELSE g.tokens_out END, g.latency,
                   CASE WHEN g.latency < 1 THEN 0 ELSE least(71, 1 + floor(log(2, g.latency::numeric) * 4)) END,
                   g.is_error, CASE WHEN g.is_error THEN 'RateLimitError' ELSE '' END,
                   round((g.tokens_in * m.price_in
                          + CASE WHEN g.is_error THEN 0 ELSE g.tokens_out END * m.price_out) / 1000000, 8),
                   g.quality, CASE WHEN g.quality IS NOT NULL THEN least(9, floor(g.quality * 10)) END, g.rating,
                   CASE WHEN g.flagged THEN '["toxicity"]'::jsonb ELSE '[]'::jsonb END, g.flagged,
                   jsonb_build_object('trace_id', md5(g.g::text), 'span_name', 'chat ' || m.name)
            FROM g CROSS JOIN w JOIN m ON m.n = g.model_n
            """,
            {
                "workloads": [w.pk for w in workloads], "model_ids": [c[0] for c in catalogue],
                "providers": [c[1] for c in catalogue], "names": [c[2] for c in catalogue],
                "price_in": [c[3] for c in catalogue], "price_out": [c[4] for c in catalogue],
                "start": start, "end": end, "events": events, "promoted_at": promoted_at,
            },
        )  # fmt: skip
        stored = cursor.rowcount
        cursor.execute(
            "INSERT INTO telemetry_rolluppending (workload_id, hour, version) "
            "SELECT DISTINCT workload_id, hour, 1 FROM telemetry_event WHERE workload_id = ANY(%s) "
            "ON CONFLICT (workload_id, hour) DO UPDATE SET version = telemetry_rolluppending.version + 1",
            [[w.pk for w in workloads]],
        )
        # As autovacuum does after a bulk insert: hint bits set and statistics fresh, so the timed
        # rollup reads the table as it would an hour later, not as the loader left it.
        cursor.execute("VACUUM ANALYZE telemetry_event")
        cursor.execute("ANALYZE telemetry_rolluppending")
    return stored


def _load_events_generic(workloads, models, *, events, start, end, promoted_at) -> int:  # type: ignore[no-untyped-def]
    """SQLite: the same mix through the write path, slower; for trying the benchmark out."""
    rng = random.Random(42)
    pricer = Pricer()
    now = timezone.now()
    span = (end - start).total_seconds()
    stored = 0
    per_workload = events // len(workloads)
    for workload in workloads:
        rows, hours = [], set()
        for n in range(per_workload):
            at = start + timedelta(seconds=rng.random() * span)
            model = models[n % len(models)]
            error = rng.random() < 0.02
            event = EventIn(
                event_key=f"bench-{n}", timestamp=at, model_name=model.model_id, provider=model.provider,
                operation="chat", input_tokens=rng.randrange(50, 4000), output_tokens=0 if error else 300,
                latency_ms=rng.lognormvariate(6.6, 0.6), is_error=error, error_type="RateLimitError" if error else "",
                release="0.9.0" if at < promoted_at else "1.0.0",
                quality_score=round(rng.uniform(0.55, 1), 3) if rng.random() < 0.1 else None,
            )  # fmt: skip
            rows.append(_row(workload.pk, event, "otlp", now, model, pricer.cost(model, event)))
            hours.add(rows[-1][3])
        stored += _insert_generic(workload.pk, rows)
        pending_mark(workload_id=workload.pk, hours=sorted(hours))
    return stored


# --- Rollup and scoring, timed -----------------------------------------------------------------------


@dataclass
class RollupTiming:
    events: int
    workloads: int
    days: int
    windows: int
    rollup_rows: int
    scorecards: int
    load_s: float
    rollup_s: float
    score_s: float

    @property
    def total_s(self) -> float:
        return self.rollup_s + self.score_s


def rollup_and_score(
    workloads: list[Workload], days: list[date], *, now: datetime, processes: int = 1
) -> tuple[int, float, float]:
    """What the beat tasks do for this history: roll up every marked window, then score every
    workload's days in one pass each, oldest first (anomalies read the days before), governance's
    controls evaluated on complete days: ``scoring.score_days``, what ``score_workload_days_task``
    runs. With ``processes`` > 1 the workloads are shared among that many worker processes, each
    with its own database connection, as Celery's workers on the ``scoring`` queue share them.
    Returns (windows rolled up, rollup s, scoring s)."""
    start = time.perf_counter()
    windows = 0
    while done := rollups.rollup_pending():
        windows += done
    rolled = time.perf_counter()
    ids = [workload.pk for workload in workloads]
    if processes > 1:
        connections.close_all()  # each worker process opens its own
        with multiprocessing.get_context("fork").Pool(processes) as pool:
            list(pool.imap_unordered(_score_workload, [(pk, days, now) for pk in ids]))
    else:
        for pk in ids:
            _score_workload((pk, days, now))
    return windows, rolled - start, time.perf_counter() - rolled


def _score_workload(job: tuple[int, list[date], datetime]) -> int:
    workload_id, days, now = job
    return len(scoring.score_days(workload=Workload(pk=workload_id), days=days, evaluate_controls=True, now=now))


def rollup_benchmark(
    *, events: int = 1_000_000, workloads: int = 50, days: int = 7, processes: int = 2
) -> RollupTiming:
    """Load ``events`` over ``days`` days (ending now) across ``workloads`` workloads, then time
    the rollup and the scoring of every workload and day."""
    now = timezone.now()
    start = (now - timedelta(days=days)).replace(minute=0, second=0, microsecond=0)
    promoted_at = now - timedelta(days=3)
    # An ingestion run before this one (the same database) left its own events and marks: they are
    # not this benchmark's to roll up (a million events in a few hours would be timed with it).
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute(f"TRUNCATE {Event._meta.db_table}, {RollupPending._meta.db_table}")
    else:
        RollupPending.objects.all().delete()
        Event.objects.all().delete()
    chosen = bench_workloads(workloads, label="rollup")
    with_releases(chosen, promoted_at=promoted_at)
    begin = time.perf_counter()
    stored = load_events(chosen, events=events, start=start, end=now, promoted_at=promoted_at)
    load_s = time.perf_counter() - begin
    day_list = [start.date() + timedelta(days=n) for n in range((now.date() - start.date()).days + 1)]
    windows, rollup_s, score_s = rollup_and_score(chosen, day_list, now=now, processes=processes)
    ids = [w.pk for w in chosen]
    return RollupTiming(
        events=stored, workloads=len(chosen), days=len(day_list), windows=windows,
        rollup_rows=HourlyRollup.objects.filter(workload_id__in=ids).count(),
        scorecards=Scorecard.objects.filter(workload_id__in=ids).count(), load_s=load_s, rollup_s=rollup_s,
        score_s=score_s,
    )  # fmt: skip


# --- manage.py bench: reading telemetry --------------------------------------------------------------


def _reverse(name: str, *args: Any) -> str | None:
    try:
        return reverse(name, args=args)
    except NoReverseMatch:
        return None


def _seed_reads(size: int) -> list[Case]:
    """``size`` events on each of five workloads over two weeks, rolled up and scored; then the
    pages and API that show one workload's telemetry."""
    now = timezone.now()
    chosen = bench_workloads(5, label="reads")
    start = (now - timedelta(days=14)).replace(minute=0, second=0, microsecond=0)
    promoted_at = now - timedelta(days=3)
    with_releases(chosen, promoted_at=promoted_at)
    have = Event.objects.filter(workload__in=chosen).count()
    if have < size * len(chosen):
        Event.objects.filter(workload__in=chosen).delete()
        RollupPending.objects.filter(workload__in=chosen).delete()
        load_events(chosen, events=size * len(chosen), start=start, end=now, promoted_at=promoted_at)
        days = [start.date() + timedelta(days=n) for n in range((now.date() - start.date()).days + 1)]
        rollup_and_score(chosen, days, now=now)
    user, _ = User.objects.get_or_create(username="bench-telemetry-member", defaults={"first_name": "Bench"})
    Membership.objects.get_or_create(user=user, team=bench_team(), defaults={"role": Membership.Role.OWNER})
    workload = chosen[0]
    cases = []
    for label, name in (
        ("workload telemetry page", "telemetry:workload-telemetry"),
        ("GET /api/v1/workloads/…/scorecards/", "api:scorecard-list"),
        ("GET /api/v1/workloads/…/alerts/", "api:alert-list"),
    ):
        url = _reverse(name, workload.slug)
        if url:
            cases.append(Case(label, url, user))
    return cases


BENCHMARKS = [Benchmark("telemetry", _seed_reads, sizes=(20_000,))]

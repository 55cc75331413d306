"""Making telemetry for tests through the real write path (no mocks): events_store, then rollups."""

from __future__ import annotations

import random
from datetime import UTC, date, datetime, time, timedelta

from apps.telemetry.ingest import EventIn, events_store
from apps.telemetry.rollups import rollup_pending

_counter = iter(range(10**9))


def send(workload, *, at: datetime, n: int, model: str = "gpt-4o-mini", release: str = "1.0.0",
         latency: float = 800.0, error_rate: float = 0.0, quality: float | None = 0.8, jitter: float = 0.1,
         flagged_rate: float = 0.0, input_tokens: int = 1000, output_tokens: int = 500, seed: int = 7,
         spread_seconds: int = 3000) -> int:  # type: ignore[no-untyped-def]  # fmt: skip
    """Store ``n`` events around ``at`` (spread over the following ``spread_seconds``)."""
    rng = random.Random(seed)
    events = []
    for i in range(n):
        is_error = i < round(n * error_rate)
        flags = ["pii"] if i < round(n * flagged_rate) else []
        events.append(
            EventIn(
                event_key=f"t-{next(_counter)}",
                timestamp=at + timedelta(seconds=rng.randint(0, spread_seconds)),
                model_name=model,
                provider="openai",
                operation="chat",
                input_tokens=input_tokens,
                output_tokens=output_tokens,
                latency_ms=latency * rng.uniform(1 - jitter, 1 + jitter),
                is_error=is_error,
                error_type="Timeout" if is_error else "",
                release=release,
                quality_score=None if quality is None else min(1.0, max(0.0, rng.gauss(quality, 0.03))),
                user_rating=rng.choice([-1, 1, 1, 1]),
                safety_flags=flags,
            )
        )
    return events_store(workload_id=workload.pk, events=events, source="native").accepted


def day_start(day: date) -> datetime:
    return datetime.combine(day, time(9), tzinfo=UTC)


def send_day(workload, day: date, **kwargs) -> int:  # type: ignore[no-untyped-def]
    return send(workload, at=day_start(day), **kwargs)


def roll() -> int:
    return rollup_pending()

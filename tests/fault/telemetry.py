"""What the fault tests send, and a sender that behaves as a careful exporter does: the same batch
(same ids) again after any failure, until it is acknowledged."""

from __future__ import annotations

import http.client
import json
import threading
import time
from collections import Counter
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

NATIVE_PATH = "/api/v1/telemetry/events"
OTLP_PATH = "/v1/traces"
MODELS = ("gpt-4o-mini", "gpt-4o-mini-2024-07-18", "unknown-model")
# The statuses a sender may retry: OTLP/HTTP's retryable set (the OpenTelemetry SDK's exporters retry
# these and drop a batch on any other). The portal must answer an outage with one of them.
RETRYABLE = {429, 502, 503, 504}


@dataclass
class Batch:
    path: str
    body: bytes
    ids: list[str]


def event_id(batch: int, n: int) -> str:
    """Unique, and a valid 8-byte span id in hex for OTLP."""
    return f"{batch:08x}{n:08x}"


def native_batch(batch: int, size: int, *, start: datetime, span_minutes: int = 240) -> Batch:
    """``size`` events spread over ``span_minutes`` from ``start``: several hours, models and releases."""
    events = []
    for n in range(size):
        at = start + timedelta(minutes=(batch * 7 + n) % span_minutes)
        events.append({
            "event_id": event_id(batch, n), "timestamp": at.isoformat(), "operation": "chat", "provider": "openai",
            "model": MODELS[n % len(MODELS)], "input_tokens": 100 + n, "output_tokens": 20 + batch % 50,
            "latency_ms": 50.0 + (batch * 31 + n * 17) % 3000, "status": "error" if n % 11 == 0 else "ok",
            "release": f"1.{batch % 2}.0", "quality_score": ((batch + n) % 10) / 10, "user_rating": (n % 3) - 1,
            "safety_flags": ["pii"] if n % 13 == 0 else [],
        })  # fmt: skip
    return Batch(NATIVE_PATH, json.dumps({"events": events}).encode(), [e["event_id"] for e in events])


def otlp_batch(batch: int, size: int, *, start: datetime, span_minutes: int = 240) -> Batch:
    """OTLP/JSON as an SDK sends it: hex ids, nanosecond times, GenAI attributes."""

    def attr(key: str, value: str | int) -> dict:
        return {"key": key, "value": {"intValue": str(value)} if isinstance(value, int) else {"stringValue": value}}

    spans = []
    for n in range(size):
        at = start + timedelta(minutes=(batch * 7 + n) % span_minutes)
        begin = int(at.timestamp() * 1e9)
        spans.append({
            "traceId": f"{batch:016x}{n:016x}", "spanId": event_id(batch, n), "name": "chat gpt-4o-mini",
            "startTimeUnixNano": str(begin), "endTimeUnixNano": str(begin + (40 + n) * 1_000_000),
            "status": {"code": 2 if n % 11 == 0 else 1},
            "attributes": [attr("gen_ai.operation.name", "chat"), attr("gen_ai.provider.name", "openai"),
                           attr("gen_ai.request.model", MODELS[n % len(MODELS)]),
                           attr("gen_ai.usage.input_tokens", 100 + n), attr("gen_ai.usage.output_tokens", 20)],
        })  # fmt: skip
    body = {"resourceSpans": [{"resource": {"attributes": [attr("service.version", "1.0.0")]},
                               "scopeSpans": [{"spans": spans}]}]}  # fmt: skip
    return Batch(OTLP_PATH, json.dumps(body).encode(), [span["spanId"] for span in spans])


def hour_start(hours_ago: int = 0) -> datetime:
    now = datetime.now(UTC).replace(minute=0, second=0, microsecond=0)
    return now - timedelta(hours=hours_ago)


def today_window() -> tuple[datetime, int]:
    """A start and a span in minutes inside today (UTC) and not in the future: up to three hours back,
    at least a minute."""
    now = datetime.now(UTC)
    start = max(now.replace(hour=0, minute=0, second=0, microsecond=0), now - timedelta(hours=3))
    return start, max(1, int((now - start).total_seconds() // 60) - 1)


def client(broker_url: str):  # type: ignore[no-untyped-def]
    """A Celery app that only sends, to the throwaway broker: what beat or a web process does."""
    from celery import Celery

    app = Celery("fault-client", broker=broker_url)
    app.conf.task_serializer = "json"
    app.conf.broker_connection_retry_on_startup = True
    return app


@dataclass
class Sender:
    """Sends its batches in order, one at a time, each until acknowledged (2xx): on any other answer
    or a connection error the same bytes go again after a short pause. Runs in a thread."""

    port: int
    key: str
    batches: list[Batch]
    pause: float = 0.2
    deadline_s: float = 90.0
    acknowledged: list[int] = field(default_factory=list)
    answers: list[dict] = field(default_factory=list)  # the 2xx bodies of the native batches
    statuses: Counter = field(default_factory=Counter)
    failures: Counter = field(default_factory=Counter)  # non-2xx statuses and connection errors
    attempts: int = 0

    def __post_init__(self) -> None:
        self.thread = threading.Thread(target=self._run, daemon=True)

    def start(self) -> Sender:
        self.thread.start()
        return self

    def join(self, timeout: float) -> None:
        self.thread.join(timeout)

    def _post(self, batch: Batch) -> tuple[int, bytes]:
        conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=30)
        try:
            headers = {"Authorization": f"Bearer {self.key}", "Content-Type": "application/json",
                       "X-Forwarded-Proto": "https"}  # fmt: skip
            conn.request("POST", batch.path, body=batch.body, headers=headers)
            response = conn.getresponse()
            return response.status, response.read()
        finally:
            conn.close()

    def _run(self) -> None:
        deadline = time.monotonic() + self.deadline_s
        for index, batch in enumerate(self.batches):
            while time.monotonic() < deadline:
                self.attempts += 1
                try:
                    status, body = self._post(batch)
                except OSError as exc:
                    self.failures[type(exc).__name__] += 1
                    time.sleep(self.pause)
                    continue
                self.statuses[status] += 1
                if 200 <= status < 300:
                    self.acknowledged.append(index)
                    if batch.path == NATIVE_PATH:
                        self.answers.append(json.loads(body))
                    break
                self.failures[status] += 1
                time.sleep(self.pause)
            else:
                return

    @property
    def done(self) -> bool:
        return len(self.acknowledged) == len(self.batches)

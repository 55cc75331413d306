"""The demo's live telemetry (``manage.py simulate_telemetry``, started by ``make run``): the traffic
of ``demo.py``'s stories, continued in real time and sent through the portal's real HTTP endpoints,
so the panels and dashboards move while someone looks at them.

- Workloads whose story says ``otlp`` report as an instrumented service does: spans built by the
  OpenTelemetry SDK (GenAI semantic conventions: ``gen_ai.operation.name``, ``gen_ai.provider.name``,
  request and response model, token usage, ``error.type`` and an error status on failures,
  ``gen_ai.evaluation.result`` events for quality scores and safety checks), with the live release
  as the resource's ``service.version``, exported by the OTLP/HTTP exporter to ``/v1/traces``. Each
  request is a root span (dropped by the portal: not a GenAI call) with a span per model call.
- The others post the native JSON batch to ``/api/v1/telemetry/events``.

Each round sends the calls the stories put between the previous round and now (the same calls, with
the same ids, that the demo seed would write for that time), so the drifting workload keeps
drifting and the overspender keeps spending; a workload rolled back in the portal behaves as the
release it went back to. ``--calls N`` sends N calls per workload each round instead.

At start the simulator revokes each demo workload's "demo simulator" ingestion keys and creates a
fresh one, kept in memory only. It waits for the web server, keeps what it could not send for the
next round (resending is harmless: ingestion is idempotent), logs one line per round and stops
cleanly when told to.
"""

from __future__ import annotations

import abc
import json
import logging
import random
import threading
import urllib.error
import urllib.request
import uuid
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any
from urllib.parse import urlsplit

from django.db import DatabaseError, close_old_connections
from django.db.models import Max
from django.utils import timezone
from opentelemetry import trace
from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import ReadableSpan, TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor, SpanExportResult
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import SpanKind, Status, StatusCode

from apps.registry.models import Workload

from . import services
from .demo import SIMULATOR_KEY, CallRecord, Story, Timeline, Traffic, demo_workloads
from .models import Event, IngestionKey

logger = logging.getLogger(__name__)

CATCH_UP = timedelta(hours=1)  # at start, send what fell due since the newest stored event, this far back
MAX_PENDING = 20_000  # calls kept for resending while the server is away
MAX_BATCH = 1000
HTTP_TIMEOUT = 10
EVALUATION = "gen_ai.evaluation.result"
SERVERS = {"openai": "api.openai.com", "anthropic": "api.anthropic.com", "cohere": "api.cohere.com"}


class NothingToSimulate(Exception):
    pass


def key_rotate(workload: Workload) -> tuple[IngestionKey, str]:
    """Revoke the workload's "demo simulator" keys and create a fresh one; return it with its raw value."""
    for key in IngestionKey.objects.filter(workload=workload, name=SIMULATOR_KEY, revoked_at__isnull=True):
        services.key_revoke(key=key, actor=None)
    return services.key_create(workload=workload, name=SIMULATOR_KEY, actor=None)


def _nanos(moment: datetime) -> int:
    return int(moment.timestamp() * 1_000_000_000)


class Feed(abc.ABC):
    """One workload's stream: what is due, converted to what the transport sends, sent."""

    def __init__(self, story: Story, workload: Workload, url: str) -> None:
        self.story = story
        self.workload = workload
        self.url = url.rstrip("/")
        self.traffic = Traffic(story, workload)
        self.key, self.raw = key_rotate(workload)
        newest = Event.objects.filter(workload=workload).aggregate(newest=Max("timestamp"))["newest"]
        now = timezone.now()
        self.last = max(newest, now - CATCH_UP) if newest else now
        self.pending: list[Any] = []
        self.gone = False  # retired, or no longer live

    @property
    def name(self) -> str:
        return self.workload.slug

    def refresh(self) -> str:
        """Follow what happened in the portal: a rollback or promotion, a revoked key, retirement.
        Answer what is worth a line in the log, if anything."""
        workload = Workload.objects.filter(pk=self.workload.pk).first()
        if workload is None or workload.is_retired or workload.live_release_id is None:
            self.gone = True
            return f"{self.name} is retired or has no live release: no more telemetry for it."
        self.workload = workload
        self.traffic.timeline = Timeline.of(workload)
        if not IngestionKey.objects.filter(pk=self.key.pk, revoked_at__isnull=True).exists():
            self.key, self.raw = key_rotate(workload)
            self.rekeyed()
            return f"{self.name}: the simulator's key was revoked; sending with a new one."
        return ""

    def due(self, now: datetime, calls: int | None) -> list[CallRecord]:
        if calls is None:
            records = self.traffic.between(self.last, now)
        else:  # spread over the time since the last round
            rng = random.Random()
            seconds = min((now - self.last).total_seconds(), CATCH_UP.total_seconds())
            records = []
            for _ in range(calls):
                at = now - timedelta(seconds=rng.uniform(0, seconds))
                records += self.traffic.request(rng, at, f"sim-{uuid.uuid4().hex[:24]}")
        self.last = now
        return records

    @abc.abstractmethod
    def queue(self, records: list[CallRecord]) -> None:
        """Hold records for the next flush (OtlpFeed: as spans; NativeFeed: as JSON events)."""

    @abc.abstractmethod
    def flush(self) -> bool:
        """Send what is pending; False if some of it must wait for the next round."""

    def rekeyed(self) -> None:  # noqa: B027 (a hook: most feeds have nothing to do)
        """Called after the key changed."""

    def close(self) -> None:  # noqa: B027
        """Called once at shutdown."""

    def _trim(self) -> None:
        if len(self.pending) > MAX_PENDING:
            del self.pending[: len(self.pending) - MAX_PENDING]


class OtlpFeed(Feed):
    """Spans made by the OpenTelemetry SDK and exported by its OTLP/HTTP exporter. The spans are
    collected in memory and exported by the feed itself, so spans that could not be sent are
    resent, with their ids, in the next round."""

    def __init__(self, story: Story, workload: Workload, url: str) -> None:
        super().__init__(story, workload, url)
        self.memory = InMemorySpanExporter()
        self.providers: dict[str, TracerProvider] = {}
        self.exporter = self._exporter()
        self.pending: list[ReadableSpan] = []

    def _exporter(self) -> OTLPSpanExporter:
        return OTLPSpanExporter(
            endpoint=f"{self.url}/v1/traces", headers={"Authorization": f"Bearer {self.raw}"}, timeout=5
        )

    def rekeyed(self) -> None:
        self.exporter.shutdown()
        self.exporter = self._exporter()

    def _tracer(self, release: str) -> trace.Tracer:
        provider = self.providers.get(release)
        if provider is None:
            resource = Resource.create({
                "service.name": self.story.service, "service.version": release,
                "deployment.environment.name": "production",
            })  # fmt: skip
            provider = TracerProvider(resource=resource, shutdown_on_exit=False)
            provider.add_span_processor(SimpleSpanProcessor(self.memory))
            self.providers[release] = provider
        return provider.get_tracer("coe_portal.demo.simulator")

    def queue(self, records: list[CallRecord]) -> None:
        requests: dict[str, list[CallRecord]] = {}
        for record in records:
            requests.setdefault(record.request, []).append(record)
        for calls in requests.values():
            tracer = self._tracer(calls[0].release)
            root = tracer.start_span(self.story.request_name, kind=SpanKind.SERVER, start_time=_nanos(calls[0].at))
            context = trace.set_span_in_context(root)
            for record in calls:
                self._span(tracer, context, record)
            root.end(end_time=_nanos(calls[-1].end))
        self.pending += self.memory.get_finished_spans()
        self.memory.clear()
        self._trim()

    def _span(self, tracer: trace.Tracer, context: Any, record: CallRecord) -> None:
        call = record.call
        attributes: dict[str, Any] = {
            "gen_ai.operation.name": call.operation, "gen_ai.provider.name": call.provider,
            "gen_ai.request.model": call.model, "gen_ai.response.model": call.response_model,
            "gen_ai.usage.input_tokens": record.input_tokens, "gen_ai.usage.output_tokens": record.output_tokens,
            "server.address": SERVERS.get(call.provider, call.provider),
        }  # fmt: skip
        if record.rating is not None:
            attributes["coe.user_rating"] = record.rating
        if record.error_type:
            attributes["error.type"] = record.error_type
        elif call.operation == "chat":
            attributes["gen_ai.response.finish_reasons"] = ["stop"]
        span = tracer.start_span(f"{call.operation} {call.model}", context=context, kind=SpanKind.CLIENT,
                                 start_time=_nanos(record.at), attributes=attributes)  # fmt: skip
        end = _nanos(record.end)
        if record.quality is not None:
            span.add_event(EVALUATION, {
                "gen_ai.evaluation.name": "relevance", "gen_ai.evaluation.score.value": record.quality,
                "gen_ai.evaluation.score.label": "pass" if record.quality >= 0.7 else "fail",
            }, timestamp=end)  # fmt: skip
        for flag in record.flags:
            span.add_event(EVALUATION, {"gen_ai.evaluation.name": flag, "gen_ai.evaluation.score.label": "flagged"},
                           timestamp=end)  # fmt: skip
        if record.error_type:
            span.set_status(Status(StatusCode.ERROR, record.error_type))
        span.end(end_time=end)

    def flush(self) -> bool:
        while self.pending:
            batch = self.pending[:MAX_BATCH]
            if self.exporter.export(batch) != SpanExportResult.SUCCESS:
                return False
            del self.pending[: len(batch)]
        return True

    def close(self) -> None:
        for provider in self.providers.values():
            provider.shutdown()
        self.exporter.shutdown()


def native_event(record: CallRecord) -> dict[str, Any]:
    """A call in the native JSON shape (API.md "Native telemetry event")."""
    call = record.call
    return {
        "event_id": record.key, "timestamp": record.at.isoformat(), "operation": call.operation,
        "provider": call.provider, "model": call.response_model, "input_tokens": record.input_tokens,
        "output_tokens": record.output_tokens, "latency_ms": round(record.latency_ms, 1),
        "status": "error" if record.error_type else "ok", "error_type": record.error_type or None,
        "release": record.release, "quality_score": record.quality, "user_rating": record.rating,
        "safety_flags": record.flags, "attributes": {"request_id": record.request},
    }  # fmt: skip


class NativeFeed(Feed):
    """The native JSON batch API, posted with the standard library."""

    def queue(self, records: list[CallRecord]) -> None:
        self.pending += [native_event(record) for record in records]
        self._trim()

    def flush(self) -> bool:
        while self.pending:
            batch = self.pending[:MAX_BATCH]
            request = urllib.request.Request(  # noqa: S310 (http(s), checked by Simulator)
                f"{self.url}/api/v1/telemetry/events", data=json.dumps({"events": batch}).encode(), method="POST",
                headers={"Authorization": f"Bearer {self.raw}", "Content-Type": "application/json"},
            )  # fmt: skip
            try:
                with urllib.request.urlopen(request, timeout=HTTP_TIMEOUT) as response:  # noqa: S310
                    status = response.status
            except urllib.error.HTTPError as exc:
                status, detail = exc.code, exc.read(500).decode(errors="replace")
                if status == 400:  # resending will not help
                    logger.warning("%s: batch refused, dropped: %s", self.name, detail)
                    del self.pending[: len(batch)]
                    continue
                return False
            except OSError:  # refused, reset, timed out: the server is away
                return False
            if status >= 300:
                return False
            del self.pending[: len(batch)]
        return True


def server_up(url: str) -> bool:
    """Whether the web server answers at all (any HTTP status will do)."""
    try:
        with urllib.request.urlopen(f"{url.rstrip('/')}/healthz?only=database", timeout=3):  # noqa: S310
            return True
    except urllib.error.HTTPError:
        return True
    except OSError:
        return False


class Simulator:
    def __init__(
        self, *, url: str, interval: float = 5.0, calls: int | None = None, log: Callable[[str], None] = print,
        stop: threading.Event | None = None,
    ) -> None:  # fmt: skip
        if urlsplit(url).scheme not in ("http", "https"):
            raise ValueError(f"Give the portal's http(s) address, not {url!r}.")
        self.url = url.rstrip("/")
        self.interval = interval
        self.calls = calls
        self.log = log
        self.stop = stop or threading.Event()
        self.feeds: list[Feed] = []
        self.rounds = 0

    def start(self) -> None:
        for story, workload in demo_workloads():
            feed_class = OtlpFeed if story.transport == "otlp" else NativeFeed
            self.feeds.append(feed_class(story, workload, self.url))
        if not self.feeds:
            raise NothingToSimulate("No demo workloads to send telemetry for: run `manage.py seed_demo` first.")
        names = ", ".join(f"{feed.name} ({feed.story.transport})" for feed in self.feeds)
        self.log(f"Simulating telemetry to {self.url} every {self.interval:g} s for {names}.")

    def wait_for_server(self) -> bool:
        """Block until the web server answers; False if told to stop first."""
        if server_up(self.url):
            return True
        self.log(f"Waiting for the web server at {self.url} …")
        while not self.stop.wait(2):
            if server_up(self.url):
                self.log("The web server answers; sending.")
                return True
        return False

    def round(self) -> str:
        """Send what fell due since the last round; answer the round's log line."""
        self.rounds += 1
        close_old_connections()
        now = timezone.now()
        try:
            for feed in self.feeds:
                note = "" if feed.gone else feed.refresh()
                if note:
                    self.log(note)
        except DatabaseError as exc:
            return f"round {self.rounds}: the database is unavailable ({exc}); trying again next round"
        counts, total, waiting = [], 0, 0
        for feed in self.feeds:
            if feed.gone:
                continue
            records = feed.due(now, self.calls)
            feed.queue(records)
            feed.flush()
            waiting += len(feed.pending)
            if records:
                total += len(records)
                counts.append(f"{feed.name} {len(records)} ({feed.story.transport})")
        line = f"round {self.rounds}: no calls due"
        if counts:
            line = f"round {self.rounds}: {total} call{'s' * (total != 1)} — {', '.join(counts)}"
        if waiting:
            line += f"; {waiting} waiting to be resent"
        return line

    def run(self, *, once: bool = False) -> None:
        self.start()
        try:
            while not self.stop.is_set():
                if not self.wait_for_server():
                    break
                self.log(self.round())
                if once:
                    break
                self.stop.wait(self.interval)
        finally:
            for feed in self.feeds:
                feed.close()
            self.log("Telemetry simulator stopped.")

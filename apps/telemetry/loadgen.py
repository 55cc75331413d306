"""Synthetic telemetry for the ingestion benchmark (``manage.py bench_ingest``): batches of GenAI
calls as an OpenTelemetry SDK sends them (OTLP protobuf, GenAI semantic conventions) or in the
native JSON shape, and a cheap concurrent sender.

The batches are built and serialized before the clock starts, each with its own span ids (or
event ids), so the senders only write bytes and read answers: on a two-core machine they share
the CPUs with the server and the database, and every cycle they spend is one the server lacks.
Nothing here imports Django; it is plain Python over ``opentelemetry-proto``.
"""

from __future__ import annotations

import http.client
import json
import math
import random
import struct
import threading
import time
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime

from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest
from opentelemetry.proto.common.v1.common_pb2 import AnyValue, KeyValue
from opentelemetry.proto.trace.v1.trace_pb2 import Span, Status

PROTOBUF = "application/x-protobuf"
JSON = "application/json"

# (provider, request model, response model, server): what teams call, priced or not in the catalogue.
MODELS = [
    ("openai", "gpt-4o-mini", "gpt-4o-mini-2024-07-18", "api.openai.com"),
    ("openai", "gpt-4o", "gpt-4o-2024-08-06", "api.openai.com"),
    ("anthropic", "claude-sonnet-4", "claude-sonnet-4", "api.anthropic.com"),
    ("gcp.gemini", "gemini-2.0-flash", "gemini-2.0-flash", "generativelanguage.googleapis.com"),
    ("aws.bedrock", "meta.llama3-1-70b", "meta.llama3-1-70b", "bedrock-runtime.eu-west-1.amazonaws.com"),
]
# The models the benchmark's catalogue prices (the last one stays unpriced on purpose).
PRICED = [
    ("openai", "gpt-4o-mini", ["gpt-4o-mini-2024-07-18"], "0.15", "0.60"),
    ("openai", "gpt-4o", ["gpt-4o-2024-08-06"], "2.50", "10.00"),
    ("anthropic", "claude-sonnet-4", [], "3.00", "15.00"),
    ("google", "gemini-2.0-flash", [], "0.10", "0.40"),
]
FINISH = ["stop", "stop", "stop", "length", "tool_calls"]
ERRORS = ["RateLimitError", "APITimeoutError", "InternalServerError"]


def _kv(key: str, value: object) -> KeyValue:
    if isinstance(value, bool):
        return KeyValue(key=key, value=AnyValue(bool_value=value))
    if isinstance(value, int):
        return KeyValue(key=key, value=AnyValue(int_value=value))
    if isinstance(value, float):
        return KeyValue(key=key, value=AnyValue(double_value=value))
    if isinstance(value, list):
        kv = KeyValue(key=key)
        kv.value.array_value.values.extend(AnyValue(string_value=str(v)) for v in value)
        return kv
    return KeyValue(key=key, value=AnyValue(string_value=str(value)))


@dataclass
class Call:
    """One synthetic GenAI call: what both wire formats are made from."""

    provider: str
    model: str
    response_model: str
    server: str
    start_ns: int
    duration_ns: int
    input_tokens: int
    output_tokens: int
    error: str | None
    finish: str
    temperature: float
    max_tokens: int
    quality: float | None
    rating: int | None


def calls(count: int, *, seed: int = 7, now: datetime | None = None, spread_s: int = 3000) -> list[Call]:
    """``count`` calls started within the last ``spread_s`` seconds: mostly small chats, a tail of
    slow ones, about 2 % errors, a tenth scored by an evaluator."""
    rng = random.Random(seed)
    end_ns = int((now or datetime.now(UTC)).timestamp() * 1e9) - 5 * 10**9
    out = []
    for _ in range(count):
        provider, model, response_model, server = rng.choice(MODELS)
        latency_ms = rng.lognormvariate(6.6, 0.6)  # median ~740 ms
        error = rng.choice(ERRORS) if rng.random() < 0.02 else None
        out.append(
            Call(
                provider=provider, model=model, response_model=response_model, server=server,
                start_ns=end_ns - rng.randrange(spread_s * 10**9), duration_ns=int(latency_ms * 1e6),
                input_tokens=rng.randrange(50, 4000), output_tokens=0 if error else rng.randrange(10, 900),
                error=error, finish=rng.choice(FINISH), temperature=rng.choice([0.0, 0.2, 0.7]),
                max_tokens=rng.choice([256, 1024, 4096]),
                quality=round(rng.betavariate(8, 2), 3) if rng.random() < 0.1 else None,
                rating=rng.choice([-1, 1, 1, 1]) if rng.random() < 0.05 else None,
            )
        )  # fmt: skip
    return out


# --- OTLP protobuf --------------------------------------------------------------------------------


def _span(call: Call) -> Span:
    attributes = {
        "gen_ai.operation.name": "chat",
        "gen_ai.provider.name": call.provider,
        "gen_ai.request.model": call.model,
        "gen_ai.request.temperature": call.temperature,
        "gen_ai.request.max_tokens": call.max_tokens,
        "server.address": call.server,
        "server.port": 443,
    }
    if not call.error:
        attributes.update({
            "gen_ai.response.model": call.response_model,
            "gen_ai.response.id": f"chatcmpl-{call.start_ns:x}",
            "gen_ai.response.finish_reasons": [call.finish],
            "gen_ai.usage.input_tokens": call.input_tokens,
            "gen_ai.usage.output_tokens": call.output_tokens,
        })  # fmt: skip
    else:
        attributes["error.type"] = call.error
    if call.rating is not None:
        attributes["coe.user_rating"] = call.rating
    span = Span(
        name=f"chat {call.model}", kind=Span.SPAN_KIND_CLIENT, start_time_unix_nano=call.start_ns,
        end_time_unix_nano=call.start_ns + call.duration_ns, attributes=[_kv(k, v) for k, v in attributes.items()],
    )  # fmt: skip
    if call.error:
        span.status.code = Status.STATUS_CODE_ERROR
        span.status.message = f"{call.error} from the provider"
    if call.quality is not None:
        event = span.events.add(name="gen_ai.evaluation.result", time_unix_nano=span.end_time_unix_nano)
        event.attributes.extend([_kv("gen_ai.evaluation.name", "relevance"),
                                 _kv("gen_ai.evaluation.score.value", call.quality)])  # fmt: skip
    return span


def otlp_template(batch_calls: list[Call], *, service: str = "bench-assistant", version: str = "1.0.0"):  # type: ignore[no-untyped-def]
    """One ExportTraceServiceRequest: a resource as the Python SDK describes itself, one scope."""
    request = ExportTraceServiceRequest()
    resource_spans = request.resource_spans.add()
    resource_spans.resource.attributes.extend(
        [_kv("service.name", service), _kv("service.version", version), _kv("telemetry.sdk.language", "python"),
         _kv("telemetry.sdk.name", "opentelemetry"), _kv("telemetry.sdk.version", "1.45.2"),
         _kv("deployment.environment.name", "production")]
    )  # fmt: skip
    scope_spans = resource_spans.scope_spans.add()
    scope_spans.scope.name = "opentelemetry.instrumentation.openai_v2"
    scope_spans.scope.version = "2.1b0"
    scope_spans.spans.extend(_span(call) for call in batch_calls)
    return request


def otlp_batches(count: int, size: int = 500, *, first_id: int = 1, seed: int = 7) -> list[bytes]:
    """``count`` serialized requests of ``size`` GenAI spans each; span ids are consecutive from
    ``first_id`` (unique across every batch), each batch one trace."""
    request = otlp_template(calls(size, seed=seed))
    spans = request.resource_spans[0].scope_spans[0].spans
    parent = struct.pack(">Q", 0xFEED0000_00000000 + seed)
    out = []
    next_id = first_id
    for batch in range(count):
        trace_id = struct.pack(">QQ", 0xB0B0_0000_0000_0000 + seed, batch)
        for span in spans:
            span.span_id = struct.pack(">Q", next_id)
            span.trace_id = trace_id
            span.parent_span_id = parent
            next_id += 1
        out.append(request.SerializeToString())
    return out


# --- Native JSON ----------------------------------------------------------------------------------


def _native(call: Call, release: str) -> dict:
    event: dict = {
        "event_id": "",
        "timestamp": datetime.fromtimestamp(call.start_ns / 1e9, tz=UTC).isoformat(),
        "operation": "chat",
        "provider": call.provider,
        "model": call.response_model if not call.error else call.model,
        "input_tokens": call.input_tokens,
        "output_tokens": call.output_tokens,
        "latency_ms": round(call.duration_ns / 1e6, 1),
        "status": "error" if call.error else "ok",
        "release": release,
        "attributes": {"server.address": call.server, "gen_ai.request.temperature": call.temperature},
    }
    if call.error:
        event["error_type"] = call.error
    if call.quality is not None:
        event["quality_score"] = call.quality
    if call.rating is not None:
        event["user_rating"] = call.rating
    return event


def native_batches(count: int, size: int = 500, *, prefix: str = "bench", seed: int = 7) -> list[bytes]:
    """``count`` JSON bodies for ``POST /api/v1/telemetry/events``, event ids unique across all."""
    template = [_native(call, "1.0.0") for call in calls(size, seed=seed)]
    out = []
    for batch in range(count):
        for index, event in enumerate(template):
            event["event_id"] = f"{prefix}-{batch:06d}-{index:04d}"
        out.append(json.dumps({"events": template}, separators=(",", ":")).encode())
    return out


# --- Sending ---------------------------------------------------------------------------------------


@dataclass
class SendResult:
    latencies_ms: list[float] = field(default_factory=list)
    statuses: Counter = field(default_factory=Counter)
    failures: list[str] = field(default_factory=list)
    started: float = 0.0
    finished: float = 0.0
    sent: int = 0

    @property
    def seconds(self) -> float:
        return self.finished - self.started


def send(
    *, host: str, port: int, path: str, bodies: list[bytes], content_type: str, headers: dict[str, str] | None = None,
    concurrency: int = 4, deadline_s: float = 300.0, timeout_s: float = 60.0,
) -> SendResult:  # fmt: skip
    """POST every body once, ``concurrency`` threads each with its own connection (http.client
    reopens it when the server closes after an answer, as gunicorn's sync workers do). Stops
    taking new bodies after ``deadline_s``. Bounded: each body is sent at most once."""
    result = SendResult()
    lock = threading.Lock()
    queue: Iterable[int] = iter(range(len(bodies)))
    base = {"Content-Type": content_type, **(headers or {})}

    def worker() -> None:
        connection = http.client.HTTPConnection(host, port, timeout=timeout_s)
        latencies: list[float] = []
        statuses: Counter = Counter()
        try:
            while True:
                with lock:
                    index = next(queue, None)  # type: ignore[call-overload]
                if index is None or time.perf_counter() - result.started > deadline_s:
                    break
                body = bodies[index]
                start = time.perf_counter()
                try:
                    connection.request("POST", path, body=body, headers={**base, "Content-Length": str(len(body))})
                    response = connection.getresponse()
                    answer = response.read()
                except (OSError, http.client.HTTPException) as exc:
                    connection.close()
                    with lock:
                        result.failures.append(f"{type(exc).__name__}: {exc}")
                    continue
                latencies.append((time.perf_counter() - start) * 1000)
                statuses[response.status] += 1
                if response.status >= 300 and len(result.failures) < 5:
                    with lock:
                        result.failures.append(f"{response.status}: {answer[:200]!r}")
        finally:
            connection.close()
            with lock:
                result.latencies_ms += latencies
                result.statuses.update(statuses)
                result.sent += len(latencies)

    threads = [threading.Thread(target=worker, daemon=True) for _ in range(concurrency)]
    result.started = time.perf_counter()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    result.finished = time.perf_counter()
    return result


def percentile(values: list[float], q: float) -> float | None:
    """Nearest-rank percentile (q in 0–100) of a list; None when empty."""
    if not values:
        return None
    ordered = sorted(values)
    rank = max(1, min(len(ordered), math.ceil(q / 100 * len(ordered))))
    return ordered[rank - 1]

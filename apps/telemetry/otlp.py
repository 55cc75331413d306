"""OTLP/HTTP traces (``POST /v1/traces``) read by the OpenTelemetry GenAI semantic conventions,
old and new attribute names, and OpenInference's.

A span is a GenAI call when it carries a GenAI operation, provider or model attribute (or is an
OpenInference ``LLM`` span). Other spans (HTTP handlers, retrievers, chains) are counted and
dropped. A GenAI span whose values make no sense (negative tokens, no span id, a time outside the
retention window) is rejected and reported in ``partial_success``; the rest of the request is
stored. A body that does not decode is refused whole (400).

Prompt and completion text (``gen_ai.input.messages``, ``llm.input_messages.*``, ``input.value``…)
is never stored: the portal keeps measurements, not content.
"""

from __future__ import annotations

import base64
import binascii
import json
import math
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from google.protobuf import json_format
from google.protobuf.message import DecodeError
from google.rpc import status_pb2
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import (
    ExportTraceServiceRequest,
    ExportTraceServiceResponse,
)
from opentelemetry.proto.trace.v1.trace_pb2 import Status

from apps.core.exceptions import ApplicationError

from .ingest import MAX_TOKENS, EventIn, _in_window, time_window

PROTOBUF = "application/x-protobuf"
JSON = "application/json"

GENAI_MARKERS = (
    "gen_ai.operation.name", "gen_ai.provider.name", "gen_ai.system", "gen_ai.request.model",
    "gen_ai.response.model", "llm.model_name",
)  # fmt: skip
MAPPED = {
    "gen_ai.operation.name", "gen_ai.provider.name", "gen_ai.system", "gen_ai.request.model", "gen_ai.response.model",
    "gen_ai.usage.input_tokens", "gen_ai.usage.output_tokens", "gen_ai.usage.prompt_tokens",
    "gen_ai.usage.completion_tokens", "error.type", "service.version", "llm.model_name", "llm.provider", "llm.system",
    "llm.token_count.prompt", "llm.token_count.completion", "gen_ai.evaluation.name", "gen_ai.evaluation.score.value",
    "gen_ai.evaluation.score.label", "coe.user_rating", "coe.safety_flags", "coe.quality_score",
}  # fmt: skip
CONTENT_PREFIXES = (
    "gen_ai.input.messages", "gen_ai.output.messages", "gen_ai.system_instructions", "gen_ai.prompt",
    "gen_ai.completion", "gen_ai.tool.call.arguments", "gen_ai.tool.call.result", "llm.input_messages",
    "llm.output_messages", "llm.prompts", "llm.prompt_template", "input.value", "output.value",
    "retrieval.documents", "embedding.embeddings",
)  # fmt: skip
SAFETY_EVALUATIONS = {
    "toxicity",
    "pii",
    "jailbreak",
    "prompt_injection",
    "safety",
    "harmful_content",
    "hate",
    "violence",
}
FLAGGED_LABELS = {"fail", "failed", "flagged", "unsafe", "true", "yes", "detected"}
EVALUATION_EVENT = "gen_ai.evaluation.result"
MAX_KEPT_ATTRIBUTES = 32


@dataclass
class OtlpBatch:
    events: list[EventIn] = field(default_factory=list)
    dropped: int = 0  # spans that were not GenAI calls
    rejected: int = 0  # GenAI spans with values that make no sense
    problems: list[str] = field(default_factory=list)

    @property
    def spans(self) -> int:
        return len(self.events) + self.dropped + self.rejected


def _value(any_value: Any) -> Any:
    kind = any_value.WhichOneof("value")
    if kind is None:
        return None
    if kind == "array_value":  # the scalar kinds inline, as in _attributes
        return [
            getattr(v, k) if (k := v.WhichOneof("value")) in _SCALARS else _value(v)
            for v in any_value.array_value.values
        ]
    if kind == "kvlist_value":
        return {kv.key: _value(kv.value) for kv in any_value.kvlist_value.values}
    if kind == "bytes_value":
        return any_value.bytes_value.hex()
    return getattr(any_value, kind)


_SCALARS = frozenset(("string_value", "int_value", "double_value", "bool_value"))


def _attributes(key_values: Any) -> dict[str, Any]:
    # Runs for every attribute of every span: the scalar kinds are read inline (what _value does).
    attributes = {}
    for kv in key_values:
        value = kv.value
        kind = value.WhichOneof("value")
        attributes[kv.key] = getattr(value, kind) if kind in _SCALARS else _value(value)
    return attributes


def decode(body: bytes, content_type: str) -> ExportTraceServiceRequest:
    """Decode a request body; raise ApplicationError (400) if it is not OTLP."""
    message = ExportTraceServiceRequest()
    if content_type == PROTOBUF:
        try:
            message.ParseFromString(body)
        except DecodeError as exc:
            raise ApplicationError("The body is not an OTLP ExportTraceServiceRequest in protobuf.") from exc
        return message
    try:
        data = json.loads(body)
    except (UnicodeDecodeError, ValueError, RecursionError) as exc:  # RecursionError: nested past Python's limit
        raise ApplicationError(f"The body is not JSON: {exc}.") from exc
    try:
        _hex_ids_to_base64(data)
        json_format.ParseDict(data, message, ignore_unknown_fields=True)
    except (json_format.ParseError, TypeError, ValueError, AttributeError, RecursionError) as exc:
        raise ApplicationError(f"The body is not an OTLP ExportTraceServiceRequest in JSON: {exc}") from exc
    return message


def _hex_ids_to_base64(data: Any) -> None:
    """OTLP/JSON writes trace and span ids in hex, where protobuf's JSON mapping expects base64."""
    for resource_spans in _items(data, "resourceSpans", "resource_spans"):
        for scope_spans in _items(resource_spans, "scopeSpans", "scope_spans"):
            for span in _items(scope_spans, "spans", "spans"):
                for name in ("traceId", "spanId", "parentSpanId", "trace_id", "span_id", "parent_span_id"):
                    if isinstance(span.get(name), str):
                        span[name] = _hex_to_base64(span[name], name)
                for link in _items(span, "links", "links"):
                    for name in ("traceId", "spanId", "trace_id", "span_id"):
                        if isinstance(link.get(name), str):
                            link[name] = _hex_to_base64(link[name], name)


def _items(data: Any, camel: str, snake: str) -> list[Any]:
    if not isinstance(data, dict):
        raise ValueError("expected an object")
    items = data.get(camel, data.get(snake)) or []
    if not isinstance(items, list):
        raise ValueError(f"{camel} must be a list")
    return [item for item in items if isinstance(item, dict)]


def _hex_to_base64(value: str, name: str) -> str:
    try:
        return base64.b64encode(binascii.unhexlify(value)).decode()
    except (binascii.Error, ValueError) as exc:
        raise ValueError(f"{name} {value!r} is not hex") from exc


def read(message: ExportTraceServiceRequest) -> OtlpBatch:
    """The GenAI calls in a decoded request, as events; the rest counted."""
    batch = OtlpBatch()
    window = time_window()
    events = batch.events
    attributes_of = _attributes
    event_of = _event
    markers = GENAI_MARKERS
    for resource_spans in message.resource_spans:
        resource = attributes_of(resource_spans.resource.attributes)
        resource_release = resource.get("service.version")
        service = resource.get("service.name")
        kept = {"service.name": str(service)[:200]} if service else {}  # what every span's attributes start with
        for scope_spans in resource_spans.scope_spans:
            for span in scope_spans.spans:
                attrs = attributes_of(span.attributes)
                if attrs.keys().isdisjoint(markers) and attrs.get("openinference.span.kind") != "LLM":  # not GenAI
                    batch.dropped += 1
                    continue
                event, problem = event_of(span, attrs, resource_release, kept, window)
                if problem:
                    batch.rejected += 1
                    if len(batch.problems) < 5:
                        batch.problems.append(problem)
                else:
                    events.append(event)
    return batch


def _first(attrs: dict[str, Any], *names: str) -> Any:
    for name in names:
        value = attrs.get(name)
        if value is not None and value != "":
            return value
    return None


def _tokens(attrs: dict[str, Any], *names: str) -> int | None:
    value = _first(attrs, *names)
    if value is None:
        return 0
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    if isinstance(value, str) and value.isdigit():
        value = int(value)
    if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= MAX_TOKENS:
        return None
    return value


_STATUS_ERROR = Status.STATUS_CODE_ERROR


def _event(
    span: Any, attrs: dict[str, Any], resource_release: Any, service: dict[str, str], window: Any
) -> tuple[Any, Any]:
    # The hot path of OTLP ingestion, once per GenAI span: _first and _tokens are inlined where a
    # single name is read, and the error messages are only formatted when there is an error.
    # ``service`` is what the kept attributes hold after the trace id and span name.
    raw_id = span.span_id
    if len(raw_id) != 8:
        return None, f"span {span.name!r}: span id must be 8 bytes"
    span_id = raw_id.hex()
    start = span.start_time_unix_nano
    if not start:
        return None, f"span {span_id}: no start time"
    moment = datetime.fromtimestamp(start / 1e9, tz=UTC)
    if moment < window[0] or moment > window[1]:
        return None, f"span {span_id}: {_in_window(moment, window)[1].lower()}"  # type: ignore[union-attr]
    input_tokens = attrs.get("gen_ai.usage.input_tokens")
    if type(input_tokens) is not int or not 0 <= input_tokens <= MAX_TOKENS:  # usually a count; _tokens reads the rest
        input_tokens = _tokens(attrs, "gen_ai.usage.input_tokens", "gen_ai.usage.prompt_tokens",
                               "llm.token_count.prompt")  # fmt: skip
    output_tokens = attrs.get("gen_ai.usage.output_tokens")
    if type(output_tokens) is not int or not 0 <= output_tokens <= MAX_TOKENS:
        output_tokens = _tokens(attrs, "gen_ai.usage.output_tokens", "gen_ai.usage.completion_tokens",
                                "llm.token_count.completion")  # fmt: skip
    if input_tokens is None or output_tokens is None:
        return None, f"span {span_id}: token counts must be whole numbers from 0 to 2,000,000,000"
    end = span.end_time_unix_nano
    latency = (end - start) / 1e6 if end >= start else None
    error_type = attrs.get("error.type")
    if error_type == "":
        error_type = None
    status = span.status
    is_error = status.code == _STATUS_ERROR or error_type is not None
    if is_error and not error_type:
        error_type = status.message or "error"
    if span.events or not attrs.keys().isdisjoint(EVALUATION_KEYS):
        quality, flags = _evaluations(span, attrs)
    else:  # what _evaluations finds on a span with no evaluation at all
        quality, flags = None, []
    rating = attrs.get("coe.user_rating")
    release = attrs.get("service.version") or resource_release or ""
    provider = attrs.get("gen_ai.provider.name")
    if provider is None or provider == "":
        provider = _first(attrs, "gen_ai.system", "llm.provider", "llm.system")
    provider = provider or ""
    model = attrs.get("gen_ai.response.model")
    if model is None or model == "":
        model = _first(attrs, "gen_ai.request.model", "llm.model_name")
    model = model or ""
    operation = attrs.get("gen_ai.operation.name")
    kept = {"trace_id": span.trace_id.hex(), "span_name": span.name, **service}
    skipped = _SKIPPED_NAMES
    if len(kept) + len(attrs) <= MAX_KEPT_ATTRIBUTES:
        # Every attribute fits (the usual case): the loop below without its count, and each
        # value's type tested once. Values here are what _attributes reads: str, int, float,
        # bool, None, or the list and dict of arrays and key-value lists.
        for name, value in attrs.items():
            skip = skipped.get(name)
            if skip is None:
                skip = name in MAPPED or name.startswith(CONTENT_PREFIXES)
                if len(skipped) < _SKIPPED_NAMES_MAX:
                    skipped[name] = skip
            if skip:
                continue
            kind = type(value)
            if kind is str:
                kept[name] = value[:500]
            elif kind is float:
                if math.isfinite(value):
                    kept[name] = value
            elif kind is not dict and kind is not list:  # int, bool, None: kept as they are
                kept[name] = value[:500] if isinstance(value, str) else value
    else:
        for name, value in attrs.items():
            if len(kept) >= MAX_KEPT_ATTRIBUTES:
                break
            skip = skipped.get(name)
            if skip is None:
                skip = name in MAPPED or name.startswith(CONTENT_PREFIXES)
                if len(skipped) < _SKIPPED_NAMES_MAX:
                    skipped[name] = skip
            if skip or isinstance(value, (dict, list)):
                continue
            if type(value) is float and not math.isfinite(value):
                continue  # NaN and ±Infinity are not JSON: a database column of JSON refuses them
            kept[name] = value[:500] if isinstance(value, str) else value
    event = EventIn(
        event_key=span_id,
        timestamp=moment,
        operation=str(operation or "chat")[:40],
        provider=str(provider).lower()[:60],
        model_name=str(model)[:120],
        input_tokens=input_tokens,
        output_tokens=output_tokens,
        latency_ms=latency,
        is_error=is_error,
        error_type=str(error_type or "")[:120],
        release=str(release)[:40],
        quality_score=quality,
        user_rating=int(rating) if type(rating) in (int, float) and rating in (-1, 0, 1) else None,
        safety_flags=flags,
        attributes=kept,
    )
    return event, None


# Whether an attribute name is mapped to a column or is content (so not kept), remembered per
# worker: spans repeat the same few dozen names. Bounded, as names come from the senders.
_SKIPPED_NAMES: dict[str, bool] = {}
_SKIPPED_NAMES_MAX = 4096
EVALUATION_KEYS = frozenset((
    "gen_ai.evaluation.name", "gen_ai.evaluation.score.value", "gen_ai.evaluation.score.label", "coe.quality_score",
    "coe.safety_flags",
))  # fmt: skip


def _evaluations(span: Any, attrs: dict[str, Any]) -> tuple[float | None, list[str]]:
    """Evaluation results, on the span itself or as ``gen_ai.evaluation.result`` span events:
    scores in [0, 1] average into the quality score; failed safety evaluations become flags."""
    events = span.events
    if not events and attrs.keys().isdisjoint(EVALUATION_KEYS):
        return None, []  # what the loop below finds on a span with no evaluation at all
    results = [attrs]
    results += [_attributes(event.attributes) for event in events if event.name == EVALUATION_EVENT]
    scores: list[float] = []
    flags: list[str] = []
    for result in results:
        name = str(result.get("gen_ai.evaluation.name") or "").lower()
        score = result.get("gen_ai.evaluation.score.value")
        label = str(result.get("gen_ai.evaluation.score.label") or "").lower()
        if name in SAFETY_EVALUATIONS:
            if label in FLAGGED_LABELS:
                flags.append(name)
            continue
        if isinstance(score, int | float) and not isinstance(score, bool) and 0 <= score <= 1:
            scores.append(float(score))
    explicit = attrs.get("coe.quality_score")
    if isinstance(explicit, int | float) and not isinstance(explicit, bool) and 0 <= explicit <= 1:
        scores = [float(explicit)]
    extra = attrs.get("coe.safety_flags")
    if isinstance(extra, list):
        flags += [str(flag)[:60] for flag in extra if flag]
    elif isinstance(extra, str) and extra:
        flags += [part.strip()[:60] for part in extra.split(",") if part.strip()]
    return (sum(scores) / len(scores) if scores else None), sorted(set(flags))


def response(batch: OtlpBatch, content_type: str) -> bytes:
    """An ExportTraceServiceResponse; ``partial_success`` only when spans were rejected."""
    message = ExportTraceServiceResponse()
    if batch.rejected:
        message.partial_success.rejected_spans = batch.rejected
        message.partial_success.error_message = (
            f"{batch.rejected} GenAI span(s) rejected: " + "; ".join(batch.problems)
        )[:1000]
    return serialize(message, content_type)


def error_status(message: str, code: int = 3) -> status_pb2.Status:
    """A google.rpc.Status (code 3: INVALID_ARGUMENT), the body OTLP/HTTP expects on errors."""
    return status_pb2.Status(code=code, message=message)


def serialize(message: Any, content_type: str) -> bytes:
    if content_type == PROTOBUF:
        return message.SerializeToString()
    return json_format.MessageToJson(message, indent=None).encode()

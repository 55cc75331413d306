"""OTLP/HTTP at /v1/traces: a real OpenTelemetry SDK, protobuf and JSON, conventions old and new."""

from __future__ import annotations

import gzip
import json
import time
from decimal import Decimal

import pytest
from django.test import Client
from google.rpc import status_pb2
from opentelemetry.exporter.otlp.proto.http import Compression
from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import (
    ExportTraceServiceRequest,
    ExportTraceServiceResponse,
)
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import BatchSpanProcessor
from opentelemetry.trace import Status, StatusCode

from apps.telemetry.models import Event, IngestionKey

URL = "/v1/traces"


def genai_span(tracer, *, model="gpt-4o-mini", error=False, **attributes):  # type: ignore[no-untyped-def]
    attrs = {
        "gen_ai.operation.name": "chat", "gen_ai.provider.name": "openai", "gen_ai.request.model": model,
        "gen_ai.response.model": model, "gen_ai.usage.input_tokens": 1000, "gen_ai.usage.output_tokens": 500,
        "gen_ai.input.messages": '[{"role": "user", "content": "a secret prompt"}]',
    }  # fmt: skip
    attrs.update(attributes)
    with tracer.start_as_current_span(f"chat {model}", attributes=attrs) as span:
        time.sleep(0.002)
        if error:
            span.set_attribute("error.type", "RateLimitError")
            span.set_status(Status(StatusCode.ERROR, "429 from the provider"))


@pytest.mark.django_db(transaction=True)
def test_a_real_sdk_sends_spans_that_are_stored_priced_once(live_server, workload, raw_key):
    resource = Resource.create({"service.name": "claims-assistant", "service.version": "1.4.0"})
    provider = TracerProvider(resource=resource)
    exporter = OTLPSpanExporter(endpoint=f"{live_server.url}{URL}", headers={"Authorization": f"Bearer {raw_key}"},
                                compression=Compression.Gzip)  # fmt: skip
    provider.add_span_processor(BatchSpanProcessor(exporter))
    tracer = provider.get_tracer("claims")
    with tracer.start_as_current_span("POST /claims"):  # an HTTP span: counted and dropped
        genai_span(tracer)
        genai_span(tracer, error=True)
        # The deprecated names (gen_ai.system, prompt/completion tokens) and an evaluation event.
        with tracer.start_as_current_span("chat old", attributes={
            "gen_ai.system": "openai", "gen_ai.request.model": "gpt-4o-mini", "gen_ai.usage.prompt_tokens": 10,
            "gen_ai.usage.completion_tokens": 20,
        }) as span:  # fmt: skip
            span.add_event("gen_ai.evaluation.result", {"gen_ai.evaluation.name": "relevance",
                                                        "gen_ai.evaluation.score.value": 0.75})  # fmt: skip
    assert provider.force_flush(10_000)
    provider.shutdown()

    events = {e.input_tokens: e for e in Event.objects.filter(workload=workload)}
    assert len(Event.objects.all()) == 3
    ok, old = events[1000], events[10]
    assert ok.source == "otlp"
    assert ok.release == "1.4.0"
    assert ok.provider == "openai"
    assert ok.operation == "chat"
    assert ok.cost == Decimal("0.00045000")
    assert ok.latency_ms >= 2
    assert old.output_tokens == 20
    assert old.quality_score == 0.75
    assert "gen_ai.input.messages" not in json.dumps(ok.attributes)  # content is never stored
    assert ok.attributes["service.name"] == "claims-assistant"
    errors = [e for e in events.values() if e.is_error]
    assert len(errors) == 1
    assert errors[0].error_type == "RateLimitError"
    key = IngestionKey.objects.get(workload=workload)
    assert key.events_accepted == 3
    assert key.spans_dropped == 1


def _request(span_id: bytes = b"\x01" * 8, **attrs) -> ExportTraceServiceRequest:  # type: ignore[no-untyped-def]
    message = ExportTraceServiceRequest()
    resource_spans = message.resource_spans.add()
    scope = resource_spans.scope_spans.add()
    span = scope.spans.add()
    span.trace_id = b"\x02" * 16
    span.span_id = span_id
    span.name = "chat"
    now = time.time_ns()
    span.start_time_unix_nano = now - 800_000_000
    span.end_time_unix_nano = now
    base = {"gen_ai.operation.name": "chat", "gen_ai.provider.name": "openai", "gen_ai.request.model": "gpt-4o-mini",
            "gen_ai.usage.input_tokens": 100, "gen_ai.usage.output_tokens": 50}  # fmt: skip
    base.update(attrs)
    for name, value in base.items():
        kv = span.attributes.add()
        kv.key = name
        if isinstance(value, str):
            kv.value.string_value = value
        elif isinstance(value, float):
            kv.value.double_value = value
        else:
            kv.value.int_value = value
    return message


def post(raw_key: str, body: bytes, content_type: str, **headers):  # type: ignore[no-untyped-def]
    return Client().post(URL, data=body, content_type=content_type, HTTP_AUTHORIZATION=f"Bearer {raw_key}", **headers)


@pytest.mark.django_db
def test_protobuf_resend_is_stored_once_and_answered_in_protobuf(raw_key, workload):
    body = _request().SerializeToString()
    for _ in range(2):
        response = post(raw_key, body, "application/x-protobuf")
        assert response.status_code == 200
        assert response["Content-Type"] == "application/x-protobuf"
        answer = ExportTraceServiceResponse.FromString(response.content)
        assert not answer.HasField("partial_success")
    assert Event.objects.filter(workload=workload, event_key="0101010101010101").count() == 1


@pytest.mark.django_db
def test_json_with_hex_ids_and_openinference_attributes(raw_key, workload):
    now = time.time_ns()
    version = {"key": "service.version", "value": {"stringValue": "2.0"}}
    body = {"resourceSpans": [{"resource": {"attributes": [version]},
            "scopeSpans": [{"spans": [{
                "traceId": "5b8efff798038103d269b633813fc60c", "spanId": "eee19b7ec3c1b174", "name": "llm",
                "startTimeUnixNano": str(now - 1_000_000_000), "endTimeUnixNano": str(now),
                "status": {"code": 2, "message": "boom"},
                "attributes": [
                    {"key": "openinference.span.kind", "value": {"stringValue": "LLM"}},
                    {"key": "llm.model_name", "value": {"stringValue": "gpt-4o-mini"}},
                    {"key": "llm.provider", "value": {"stringValue": "openai"}},
                    {"key": "llm.token_count.prompt", "value": {"intValue": "300"}},
                    {"key": "llm.token_count.completion", "value": {"intValue": 40}},
                ]}]}]}]}  # fmt: skip
    response = post(raw_key, gzip.compress(json.dumps(body).encode()), "application/json", HTTP_CONTENT_ENCODING="gzip")
    assert response.status_code == 200, response.content
    assert response.json() == {}
    stored = Event.objects.get(workload=workload)
    assert (stored.event_key, stored.input_tokens, stored.output_tokens) == ("eee19b7ec3c1b174", 300, 40)
    assert stored.is_error
    assert stored.error_type == "boom"
    assert stored.release == "2.0"
    assert stored.latency_ms == pytest.approx(1000)


@pytest.mark.django_db
def test_spans_with_impossible_values_are_rejected_in_partial_success(raw_key, workload):
    good = _request()
    bad = _request(span_id=b"\x03" * 8, **{"gen_ai.usage.input_tokens": -5})
    good.resource_spans.extend(bad.resource_spans)
    response = post(raw_key, good.SerializeToString(), "application/x-protobuf")
    answer = ExportTraceServiceResponse.FromString(response.content)
    assert response.status_code == 200
    assert answer.partial_success.rejected_spans == 1
    assert "0303030303030303" in answer.partial_success.error_message
    assert list(Event.objects.values_list("event_key", flat=True)) == ["0101010101010101"]


@pytest.mark.django_db
@pytest.mark.parametrize(
    "tokens",
    [{"gen_ai.usage.input_tokens": 1e300}, {"gen_ai.usage.output_tokens": 3_000_000_000},
     {"gen_ai.usage.input_tokens": float("inf")}, {"llm.token_count.prompt": "99999999999"}],
    ids=["huge-double", "over-32-bits", "infinity", "huge-string"],
)  # fmt: skip
def test_token_counts_beyond_the_column_are_rejected_not_a_500(raw_key, workload, tokens):
    good = _request()
    if "llm.token_count.prompt" in tokens:
        bad = _request(span_id=b"\x03" * 8, **{"gen_ai.usage.input_tokens": ""}, **tokens)
    else:
        bad = _request(span_id=b"\x03" * 8, **tokens)
    good.resource_spans.extend(bad.resource_spans)
    response = post(raw_key, good.SerializeToString(), "application/x-protobuf")
    assert response.status_code == 200
    answer = ExportTraceServiceResponse.FromString(response.content)
    assert answer.partial_success.rejected_spans == 1
    assert "0303030303030303: token counts must be whole numbers from 0 to 2,000,000,000" in (
        answer.partial_success.error_message
    )
    assert list(Event.objects.values_list("event_key", flat=True)) == ["0101010101010101"]


@pytest.mark.django_db
def test_doubles_where_whole_numbers_or_json_are_expected_are_stored_sensibly(raw_key, workload):
    # An SDK may send a rating as a double; NaN and Infinity cannot go into a JSON column.
    attrs = {"coe.user_rating": 1.0, "app.nan": float("nan"), "app.inf": float("inf"), "app.ratio": 0.25}
    response = post(raw_key, _request(**attrs).SerializeToString(), "application/x-protobuf")
    assert response.status_code == 200, response.content
    assert not ExportTraceServiceResponse.FromString(response.content).HasField("partial_success")
    stored = Event.objects.get(workload=workload)
    assert stored.user_rating == 1
    assert stored.attributes["app.ratio"] == 0.25
    assert "app.nan" not in stored.attributes
    assert "app.inf" not in stored.attributes


@pytest.mark.django_db
def test_a_malformed_body_is_refused_whole_with_a_status(raw_key):
    response = post(raw_key, b"\xff\xff not protobuf", "application/x-protobuf")
    assert response.status_code == 400
    status = status_pb2.Status.FromString(response.content)
    assert "not an OTLP" in status.message
    bad_json = post(raw_key, b'{"resourceSpans": [{"scopeSpans": [{"spans": [{"spanId": "zz"}]}]}]}',
                    "application/json")  # fmt: skip
    assert bad_json.status_code == 400
    assert "not hex" in bad_json.json()["message"]
    assert not Event.objects.exists()


@pytest.mark.django_db
def test_auth_and_content_type(raw_key):
    body = _request().SerializeToString()
    assert Client().post(URL, data=body, content_type="application/x-protobuf").status_code == 401
    assert post("coei_nope", body, "application/x-protobuf").status_code == 401
    assert post(raw_key, body, "text/plain").status_code == 415
    assert Client().get(URL, HTTP_AUTHORIZATION=f"Bearer {raw_key}").status_code == 405


@pytest.mark.django_db
def test_other_attributes_are_kept_truncated_without_content_or_mapped_names(raw_key, workload):
    attrs = {"app.route": "/claims", "app.note": "n" * 600, "app.retries": 2,
             "gen_ai.input.messages.0.content": "a secret", "input.value": "a secret too"}  # fmt: skip
    response = post(raw_key, _request(**attrs).SerializeToString(), "application/x-protobuf")
    assert response.status_code == 200, response.content
    stored = Event.objects.get(workload=workload).attributes
    assert stored == {"trace_id": "02" * 16, "span_name": "chat", "app.route": "/claims", "app.note": "n" * 500,
                      "app.retries": 2}  # fmt: skip


@pytest.mark.django_db
def test_at_most_32_attributes_are_kept_the_first_ones_sent(raw_key, workload):
    attrs = {f"app.a{n:02d}": n for n in range(40)}
    response = post(raw_key, _request(**attrs).SerializeToString(), "application/x-protobuf")
    assert response.status_code == 200, response.content
    stored = Event.objects.get(workload=workload).attributes
    assert len(stored) == 32
    assert set(stored) == {"trace_id", "span_name"} | {f"app.a{n:02d}" for n in range(30)}


def test_the_web_workers_freeze_what_they_load_for_the_garbage_collector():
    import gc
    import runpy

    from django.conf import settings

    hooks = runpy.run_path(str(settings.BASE_DIR / "coe_portal" / "gunicorn.py"))
    try:
        hooks["post_worker_init"](None)
        assert gc.get_freeze_count() > 10_000  # Django, the apps and every view module
    finally:
        gc.unfreeze()

"""The demo's telemetry simulator (``manage.py simulate_telemetry``) against a live server: OTLP from
the OpenTelemetry SDK and the native JSON API, through the real endpoints, stored."""

from __future__ import annotations

import socket
import threading
from io import StringIO

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.utils import timezone

from apps.registry import services as registry
from apps.registry.models import Workload
from apps.telemetry import services
from apps.telemetry.demo import SIMULATOR_KEY, demo_workloads
from apps.telemetry.models import Event, IngestionKey
from apps.telemetry.simulator import NativeFeed, Simulator


def _seed_without_history(settings) -> None:  # type: ignore[no-untyped-def]
    settings.DEMO_TELEMETRY_DAYS = 0  # the workloads, releases and keys; no month of history
    call_command("seed_demo", stdout=StringIO())


def _closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.mark.django_db(transaction=True)
def test_one_round_sends_otlp_and_native_traffic_that_is_stored(live_server, settings) -> None:  # type: ignore[no-untyped-def]
    _seed_without_history(settings)
    seeded_keys = set(IngestionKey.objects.filter(name=SIMULATOR_KEY).values_list("pk", flat=True))
    assert not Event.objects.exists()
    out = StringIO()

    call_command("simulate_telemetry", "--url", live_server.url, "--once", "--calls", "10", stdout=out)

    log = out.getvalue()
    assert "round 1: " in log
    assert "Telemetry simulator stopped." in log
    found = demo_workloads()
    assert {story.transport for story, _ in found} == {"otlp", "native"}
    for story, workload in found:
        events = Event.objects.filter(workload=workload)
        assert events.count() >= 10, workload
        assert set(events.values_list("source", flat=True)) == {story.source}
        assert set(events.values_list("release", flat=True)) == {workload.live_release.version}
        assert events.filter(cost__isnull=False).exists()
        # The seed's key was revoked; the simulator's own fresh key sent everything.
        active = IngestionKey.objects.get(workload=workload, name=SIMULATOR_KEY, revoked_at__isnull=True)
        assert active.pk not in seeded_keys
        assert active.events_accepted == events.count()
        if story.transport == "otlp":
            # One root span per request (not a GenAI call: dropped and counted), one span per call.
            assert active.spans_dropped == 10
            assert events.filter(quality_score__isnull=False).exists()  # gen_ai.evaluation.result events
            event = events.first()
            assert event.attributes["service.name"] == story.service
            assert event.operation in {"chat", "embeddings"}
        else:
            assert events.filter(event_key__startswith="sim-").count() == events.count()
    assert IngestionKey.objects.filter(pk__in=seeded_keys, revoked_at__isnull=False).count() == len(seeded_keys)
    # The drifting workload keeps drifting: its calls answer from the new snapshot, slowly.
    drafts = Event.objects.filter(workload__name="Customer Email Reply Drafts", is_error=False)
    assert set(drafts.values_list("model_name", flat=True)) == {"gpt-4o-2024-11-20"}


@pytest.mark.django_db(transaction=True)
def test_calls_that_could_not_be_sent_are_resent_later(live_server, settings) -> None:  # type: ignore[no-untyped-def]
    _seed_without_history(settings)
    story, workload = next((s, w) for s, w in demo_workloads() if s.transport == "native")
    feed = NativeFeed(story, workload, f"http://127.0.0.1:{_closed_port()}")
    records = feed.due(feed.last, calls=3)
    feed.queue(records)

    assert feed.flush() is False  # the server is away: nothing lost
    assert len(feed.pending) == len(records)

    feed.url = live_server.url
    assert feed.flush() is True
    assert not feed.pending
    assert Event.objects.filter(workload=workload).count() == len(records)
    feed.queue(records)  # sent twice: stored once
    assert feed.flush() is True
    assert Event.objects.filter(workload=workload).count() == len(records)


@pytest.mark.django_db(transaction=True)
def test_it_follows_a_rollback_and_a_revoked_key(live_server, settings) -> None:  # type: ignore[no-untyped-def]
    _seed_without_history(settings)
    lines: list[str] = []
    simulator = Simulator(url=live_server.url, calls=2, log=lines.append)
    simulator.start()
    drafts = Workload.objects.get(name="Customer Email Reply Drafts")
    registry.release_rollback(actor=None, release=drafts.releases.get(version="1.1.0"),
                              reason="2.0.1 drifted after the gpt-4o snapshot change.")  # fmt: skip
    feed = next(feed for feed in simulator.feeds if feed.workload == drafts)
    services.key_revoke(key=feed.key, actor=None)
    feed.last = timezone.now()  # as if the last round had just sent everything before now

    lines.append(simulator.round())

    assert any("key was revoked" in line for line in lines)
    assert lines[-1].startswith("round 1: ")
    events = Event.objects.filter(workload=drafts)
    assert events.count() == 2
    assert set(events.values_list("release", "model_name")) == {("1.1.0", "gpt-4o-mini-2024-07-18")}
    for feed in simulator.feeds:
        feed.close()


def test_it_waits_for_the_web_server_and_stops_when_told() -> None:
    stop = threading.Event()
    lines: list[str] = []
    simulator = Simulator(url=f"http://127.0.0.1:{_closed_port()}", log=lines.append, stop=stop)
    threading.Timer(0.5, stop.set).start()

    assert simulator.wait_for_server() is False
    assert [line.split(" at ")[0] for line in lines] == ["Waiting for the web server"]


@pytest.mark.django_db
def test_it_needs_the_demo_workloads_and_a_web_address() -> None:
    with pytest.raises(CommandError, match="seed_demo"):
        call_command("simulate_telemetry", "--once", stdout=StringIO())
    with pytest.raises(CommandError, match="http"):
        call_command("simulate_telemetry", "--url", "ftp://example.org", "--once", stdout=StringIO())

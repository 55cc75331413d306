"""Pull sources against a real HTTP server on 127.0.0.1: cursors, pages, idempotency, failures and
their backoff, the alert, claiming, redirects and the private-address guard, and the tasks."""

from __future__ import annotations

import json
import socket
import threading
from collections.abc import Callable, Iterator
from datetime import timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
from django.utils import timezone

from apps.core.exceptions import ApplicationError
from apps.core.models import AuditEvent
from apps.registry import services as registry
from apps.telemetry import pull, services, tasks
from apps.telemetry.models import Alert, Event, PullSource, RollupPending, Source

pytestmark = pytest.mark.django_db


# --- A workload's event feed, served for real ----------------------------------------------------

Answer = tuple[int, dict[str, str], bytes]


def page(events: list[dict], next_cursor: Any = None) -> Answer:
    body: dict[str, Any] = {"events": events}
    if next_cursor is not None:
        body["next_cursor"] = next_cursor
    return 200, {"Content-Type": "application/json"}, json.dumps(body).encode()


def raw(status: int, body: bytes = b"", **headers: str) -> Answer:
    return status, headers, body


def event(n: int, **overrides: Any) -> dict:
    data = {
        "event_id": f"pulled-{n}", "timestamp": (timezone.now() - timedelta(hours=1)).isoformat(),
        "operation": "chat", "provider": "openai", "model": "gpt-4o-mini", "input_tokens": 100 + n,
        "output_tokens": 50, "latency_ms": 420.0, "status": "ok", "release": "1.0.0",
    }  # fmt: skip
    data.update(overrides)
    return data


class Feed:
    """``GET /events?cursor=…`` answers ``pages[cursor]`` (``""``: no cursor); a page may be an
    answer or a function of the request. Every request is recorded."""

    def __init__(self) -> None:
        self.pages: dict[str, Answer | Callable[[BaseHTTPRequestHandler], Answer | None]] = {}
        self.requests: list[dict[str, Any]] = []
        self.release = threading.Event()  # wakes handlers that hang on purpose
        feed = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                parts = urlsplit(self.path)
                query = parse_qs(parts.query)
                cursor = query.get("cursor", [""])[0]
                feed.requests.append(
                    {"path": parts.path, "query": query, "cursor": cursor, "headers": dict(self.headers)}
                )
                answer = feed.pages.get(cursor, raw(404, b"no such page"))
                if callable(answer):
                    answer = answer(self)
                    if answer is None:  # the function wrote the response itself
                        return
                status, headers, body = answer
                self.send_response(status)
                for name, value in headers.items():
                    self.send_header(name.replace("_", "-"), value)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, format: str, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.port = self.server.server_address[1]
        self.url = f"http://127.0.0.1:{self.port}/events"
        self.thread = threading.Thread(target=self.server.serve_forever, args=(0.05,), daemon=True)

    def __enter__(self) -> Feed:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.release.set()
        self.server.shutdown()
        self.server.server_close()

    @property
    def cursors(self) -> list[str]:
        return [r["cursor"] for r in self.requests]


@pytest.fixture
def feed() -> Iterator[Feed]:
    with Feed() as running:
        yield running


@pytest.fixture(autouse=True)
def _local_sources_allowed(settings):  # type: ignore[no-untyped-def]
    """The feed is plain http on loopback: allowed here as in development; the guard has its tests."""
    settings.TELEMETRY_PULL_ALLOW_HTTP = True
    settings.TELEMETRY_PULL_ALLOW_PRIVATE = True


def make_source(workload, url: str, **fields: Any) -> PullSource:  # type: ignore[no-untyped-def]
    fields.setdefault("name", "events feed")
    fields.setdefault("interval_minutes", 5)
    fields.setdefault("next_run_at", timezone.now())
    header = fields.pop("auth_header", "")
    source = PullSource(workload=workload, url=url, **fields)
    source.auth_header_set(header)
    source.save()
    return source


@pytest.fixture
def source(workload, feed: Feed) -> PullSource:  # type: ignore[no-untyped-def]
    return make_source(workload, feed.url)


def fetch(source: PullSource) -> int:
    stored = pull.source_fetch(source_id=source.pk)
    source.refresh_from_db()
    return stored


# --- Cursors and pages ------------------------------------------------------------------------------


def test_the_first_fetch_sends_no_cursor_and_stores_the_page(workload, feed, source):
    feed.pages[""] = page([event(1), event(2)], "c1")
    feed.pages["c1"] = page([], "c1")

    assert fetch(source) == 2

    assert "cursor" not in feed.requests[0]["query"]
    assert feed.cursors == ["", "c1"]
    assert feed.requests[0]["headers"]["Accept"] == "application/json"
    stored = Event.objects.filter(workload=workload).order_by("event_key")
    assert [e.event_key for e in stored] == ["pulled-1", "pulled-2"]
    assert all(e.source == Source.PULL and e.cost is not None for e in stored)
    assert RollupPending.objects.filter(workload=workload).exists()
    assert source.cursor == "c1"
    assert source.events_pulled == 2
    assert source.consecutive_failures == 0
    assert source.last_error == ""


def test_a_run_resumes_from_the_stored_cursor_and_keeps_the_urls_own_query(workload, feed):
    source = make_source(workload, feed.url + "?team=claims&cursor=stale", cursor="c5")
    feed.pages["c5"] = page([event(5)], "c6")
    feed.pages["c6"] = page([])

    assert fetch(source) == 1

    assert feed.cursors == ["c5", "c6"]
    assert feed.requests[0]["query"] == {"team": ["claims"], "cursor": ["c5"]}
    assert source.cursor == "c6"


def test_several_pages_in_one_run_until_an_empty_page(workload, feed, source):
    feed.pages[""] = page([event(1), event(2)], "c1")
    feed.pages["c1"] = page([event(3)], "c2")
    feed.pages["c2"] = page([event(4), event(5)], "c3")
    feed.pages["c3"] = page([], "c4")  # empty: stop here; the next run resumes where it says

    assert fetch(source) == 5

    assert feed.cursors == ["", "c1", "c2", "c3"]
    assert source.cursor == "c4"
    assert source.events_pulled == 5
    assert Event.objects.filter(workload=workload).count() == 5


def test_a_run_stops_after_max_pages_and_the_next_run_goes_on(workload, feed, source, monkeypatch):
    monkeypatch.setattr(pull, "MAX_PAGES_PER_RUN", 2)
    for n in range(4):
        feed.pages["" if n == 0 else f"c{n}"] = page([event(n)], f"c{n + 1}")
    feed.pages["c4"] = page([])

    assert fetch(source) == 2
    assert source.cursor == "c2"
    assert fetch(source) == 2
    assert feed.cursors == ["", "c1", "c2", "c3"]
    assert source.cursor == "c4"
    assert Event.objects.filter(workload=workload).count() == 4


def test_a_repeated_page_is_stored_once(workload, feed, source):
    """A source that ignores the cursor, or a worker that died after storing a page but before
    moving the cursor: the same events come again and are stored once."""
    same = page([event(1), event(2)], "c1")
    feed.pages[""] = same
    feed.pages["c1"] = same  # the server repeats itself; the cursor does not move: stop

    assert fetch(source) == 2
    assert fetch(source) == 0
    source.cursor = ""  # as if the cursor had never been saved
    source.save(update_fields=["cursor"])
    assert fetch(source) == 0

    assert feed.cursors == ["", "c1", "c1", "", "c1"]
    assert Event.objects.filter(workload=workload).count() == 2
    assert source.events_pulled == 2


def test_the_authorization_header_is_sent_when_set(workload, feed):
    with_auth = make_source(workload, feed.url, name="with auth", auth_header="Bearer s3cret")
    without = make_source(workload, feed.url, name="without auth")
    feed.pages[""] = page([])

    fetch(with_auth)
    fetch(without)

    assert feed.requests[0]["headers"]["Authorization"] == "Bearer s3cret"
    assert "Authorization" not in feed.requests[1]["headers"]


def test_the_authorization_header_is_kept_encrypted(workload, feed, settings):
    source = make_source(workload, feed.url, auth_header="Bearer s3cret")
    stored = PullSource.objects.values_list("auth_header_encrypted", flat=True).get(pk=source.pk)
    assert "s3cret" not in stored
    assert PullSource.objects.get(pk=source.pk).auth_header() == "Bearer s3cret"
    # The secret key rotated the way Django rotates it: the old key kept as a fallback still reads it.
    settings.SECRET_KEY_FALLBACKS = [settings.SECRET_KEY]
    settings.SECRET_KEY = "another-secret-key-" + "x" * 40
    feed.pages[""] = page([])
    fetch(source)
    assert feed.requests[-1]["headers"]["Authorization"] == "Bearer s3cret"


def test_a_header_no_key_can_read_fails_the_fetch_and_says_so(workload, feed, settings):
    source = make_source(workload, feed.url, auth_header="Bearer s3cret")
    settings.SECRET_KEY = "another-secret-key-" + "x" * 40  # replaced, the old one not kept
    feed.pages[""] = page([event(1)])
    assert fetch(source) == 0
    assert feed.requests == []  # nothing sent without the header it should carry
    assert_failed(source, "can no longer be read")
    assert_failed(source, "set it again")


# --- Failures ------------------------------------------------------------------------------------------


def assert_failed(source: PullSource, fragment: str, failures: int = 1) -> None:
    assert fragment in source.last_error
    assert source.consecutive_failures == failures
    assert source.last_error_at is not None
    assert source.last_run_at is not None
    assert source.next_run_at == source.last_run_at + timedelta(minutes=source.interval_minutes) * 2**failures


def test_an_http_error_is_recorded_and_backs_off(workload, feed, source):
    feed.pages[""] = raw(500, b"oops")

    assert fetch(source) == 0

    assert_failed(source, "HTTP 500")
    assert source.last_success_at is None
    assert source.cursor == ""


@pytest.mark.parametrize(
    ("answer", "fragment"),
    [
        (raw(200, b"<html>not json</html>"), "did not answer with JSON"),
        (raw(200, b"\xff\xfe"), "did not answer with JSON"),
        (raw(200, b"[1, 2]"), '{"events": [...]'),
        (raw(200, b'{"next_cursor": "c9"}'), '{"events": [...]'),
        (raw(200, b'{"events": {"0": {}}}'), '{"events": [...]'),
        (page([event(1)], {"not": "a string"}), "next_cursor must be a string"),
        (page([event(1)], True), "next_cursor must be a string"),
        (page([event(1)], "x" * 501), "longer than 500"),
    ],
)
def test_a_malformed_page_is_refused_whole(workload, feed, source, answer, fragment):
    feed.pages[""] = answer

    assert fetch(source) == 0

    assert_failed(source, fragment)
    assert source.cursor == ""
    assert not Event.objects.filter(workload=workload).exists()


def test_a_page_with_an_invalid_event_is_refused_whole_and_the_cursor_stays(workload, feed, source):
    feed.pages[""] = page([event(1), event(2), event(3, model=None, input_tokens=-1)], "c1")

    assert fetch(source) == 0

    assert_failed(source, "event 2")
    assert '"model"' in source.last_error
    assert '"input_tokens"' in source.last_error
    assert source.cursor == ""
    assert not Event.objects.filter(workload=workload).exists()
    assert not RollupPending.objects.filter(workload=workload).exists()


def test_a_failure_after_good_pages_keeps_them_and_resumes_after_them(workload, feed, source):
    feed.pages[""] = page([event(1), event(2)], "c1")
    feed.pages["c1"] = raw(503, b"busy")

    assert fetch(source) == 2

    assert_failed(source, "HTTP 503")
    assert source.cursor == "c1"
    assert source.events_pulled == 2
    feed.pages["c1"] = page([event(3)], "c2")
    feed.pages["c2"] = page([])
    assert fetch(source) == 1
    assert feed.cursors == ["", "c1", "c1", "c2"]
    assert source.events_pulled == 3
    assert source.consecutive_failures == 0


def test_a_refused_connection_is_recorded(workload):
    with socket.socket() as sock:  # a port that was free a moment ago, and nothing listens on it
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    source = make_source(workload, f"http://127.0.0.1:{port}/events")

    assert fetch(source) == 0

    assert_failed(source, "Could not reach the source")


def test_a_source_that_does_not_answer_in_time_is_recorded(workload, feed, source, monkeypatch):
    monkeypatch.setattr(pull, "TIMEOUT_SECONDS", 0.3)

    def hang(handler: BaseHTTPRequestHandler) -> Answer:
        feed.release.wait(10)
        return page([])

    feed.pages[""] = hang

    assert fetch(source) == 0

    assert_failed(source, "Could not reach the source")
    assert "timed out" in source.last_error


def test_an_answer_that_is_not_http_is_recorded(workload, feed, source):
    def garbage(handler: BaseHTTPRequestHandler) -> None:
        handler.wfile.write(b"SSH-2.0-OpenSSH_9.6\r\n\r\n")
        handler.close_connection = True

    feed.pages[""] = garbage

    assert fetch(source) == 0

    assert_failed(source, "not valid HTTP")


def test_an_answer_cut_short_is_recorded(workload, feed, source):
    def short(handler: BaseHTTPRequestHandler) -> None:
        handler.send_response(200)
        handler.send_header("Content-Length", "1000")
        handler.end_headers()
        handler.wfile.write(b'{"events": [')
        handler.close_connection = True

    feed.pages[""] = short

    assert fetch(source) == 0

    assert_failed(source, "not valid HTTP")


def test_a_page_larger_than_the_limit_is_refused(workload, feed, source, settings):
    settings.TELEMETRY_MAX_BODY_BYTES = 100
    feed.pages[""] = page([event(n) for n in range(5)], "c1")

    assert fetch(source) == 0

    assert_failed(source, "larger than 100 bytes")


def test_redirects_are_not_followed(workload, feed, source):
    feed.pages[""] = raw(302, b"", Location=f"http://127.0.0.1:{feed.port}/events?cursor=elsewhere")
    feed.pages["elsewhere"] = page([event(1)])

    assert fetch(source) == 0

    assert_failed(source, "HTTP 302")
    assert feed.cursors == [""]
    assert not Event.objects.filter(workload=workload).exists()


# --- Health, backoff and the alert ----------------------------------------------------------------


def test_backoff_doubles_per_failure_up_to_six_hours_and_a_success_resets_it(workload, feed, source):
    feed.pages[""] = raw(500)
    delays = []
    for _ in range(3):
        fetch(source)
        delays.append(source.next_run_at - source.last_run_at)
    assert delays == [timedelta(minutes=10), timedelta(minutes=20), timedelta(minutes=40)]
    assert source.consecutive_failures == 3
    assert source.last_success_at is None

    PullSource.objects.filter(pk=source.pk).update(consecutive_failures=50)
    source.refresh_from_db()
    fetch(source)
    assert source.next_run_at - source.last_run_at == pull.MAX_BACKOFF

    feed.pages[""] = page([event(1)])
    fetch(source)
    assert source.consecutive_failures == 0
    assert source.last_error == ""
    assert source.last_success_at is not None
    assert source.last_success_at >= source.last_run_at
    assert source.next_run_at == source.last_run_at + timedelta(minutes=5)
    assert source.last_error_at is not None  # when it last failed stays on the panel


def test_the_third_failure_in_a_row_raises_one_alert_and_a_success_closes_it(workload, feed, source, team_member):
    feed.pages[""] = raw(500)
    fetch(source)
    fetch(source)
    assert not Alert.objects.exists()

    fetch(source)
    fetch(source)  # still failing: still one alert

    alert = Alert.objects.get()
    assert alert.kind == Alert.Kind.SOURCE
    assert alert.key == f"source:{source.pk}"
    assert alert.workload == workload
    assert alert.is_open
    assert "events feed" in alert.title
    assert "HTTP 500" in alert.detail
    assert team_member.notifications.filter(title=alert.title).exists()

    feed.pages[""] = page([])
    fetch(source)
    alert.refresh_from_db()
    assert not alert.is_open

    feed.pages[""] = raw(500)
    for _ in range(3):
        fetch(source)
    assert Alert.objects.filter(resolved_at__isnull=True).count() == 1  # failing again: a new alert
    assert Alert.objects.count() == 2


# --- Which sources run ---------------------------------------------------------------------------------


def test_sources_due_claims_each_due_source_once(workload, feed):
    now = timezone.now()
    due = make_source(workload, feed.url, name="due", next_run_at=now - timedelta(minutes=1))
    also_due = make_source(workload, feed.url, name="also due", next_run_at=now, interval_minutes=30)
    make_source(workload, feed.url, name="later", next_run_at=now + timedelta(minutes=10))
    make_source(workload, feed.url, name="off", next_run_at=now - timedelta(hours=1), enabled=False)

    assert sorted(pull.sources_due(now=now)) == sorted([due.pk, also_due.pk])
    assert pull.sources_due(now=now) == []  # a second dispatcher finds them claimed

    also_due.refresh_from_db()
    assert also_due.next_run_at == now + timedelta(minutes=30)
    assert pull.sources_due(now=now + timedelta(minutes=5)) == [due.pk]


def test_a_disabled_source_is_not_fetched(workload, feed, source):
    feed.pages[""] = page([event(1)])
    PullSource.objects.filter(pk=source.pk).update(enabled=False)

    assert fetch(source) == 0

    assert feed.requests == []
    assert source.last_run_at is None


def test_a_retired_workloads_source_is_not_fetched(workload, feed, source, team_member):
    feed.pages[""] = page([event(1)])
    registry.workload_retire(actor=team_member, workload=workload)

    assert fetch(source) == 0

    assert feed.requests == []
    assert not Event.objects.exists()


# --- The private-address guard ------------------------------------------------------------------------


@pytest.mark.parametrize("host", ["127.0.0.1", "localhost"])
def test_loopback_is_refused_unless_the_deployment_allows_it(workload, feed, settings, host):
    settings.TELEMETRY_PULL_ALLOW_PRIVATE = False
    feed.pages[""] = page([event(1)])
    source = make_source(workload, f"http://{host}:{feed.port}/events")

    assert fetch(source) == 0

    assert_failed(source, "resolves to a private address")
    assert host in source.last_error
    assert feed.requests == []


PRIVATE = ["10.1.2.3", "192.168.0.10", "169.254.169.254", "100.64.0.1", "0.0.0.0", "::1", "fd00::5", "::ffff:127.0.0.1"]  # noqa: S104


@pytest.mark.parametrize("address", PRIVATE)
def test_private_addresses_are_refused(workload, settings, monkeypatch, address):
    settings.TELEMETRY_PULL_ALLOW_PRIVATE = False
    family = socket.AF_INET6 if ":" in address else socket.AF_INET

    def resolve(host, *args, **kwargs):  # type: ignore[no-untyped-def]
        return [(family, socket.SOCK_STREAM, 6, "", (address, 443))]

    monkeypatch.setattr(socket, "getaddrinfo", resolve)
    source = make_source(workload, "https://metrics.example.com/events")

    assert fetch(source) == 0

    assert_failed(source, "metrics.example.com resolves to a private address")


@pytest.mark.parametrize("url", ["ftp://127.0.0.1/events", "file:///etc/passwd", "http://127.0.0.1:9/events"])
def test_only_https_is_fetched_and_http_where_allowed(workload, settings, url):
    """Services check the scheme when a source is saved; the admin's URL field takes ftp:// too, and
    a deployment may turn plain http off after sources were registered."""
    settings.TELEMETRY_PULL_ALLOW_HTTP = False
    source = make_source(workload, url)

    assert fetch(source) == 0

    assert_failed(source, "scheme is not allowed here; use https")


def test_a_host_that_does_not_resolve_is_recorded(workload, settings, monkeypatch):
    settings.TELEMETRY_PULL_ALLOW_PRIVATE = False

    def resolve(host, *args, **kwargs):  # type: ignore[no-untyped-def]
        raise socket.gaierror(socket.EAI_NONAME, "Name or service not known")

    monkeypatch.setattr(socket, "getaddrinfo", resolve)
    source = make_source(workload, "https://nowhere.invalid/events")

    assert fetch(source) == 0

    assert_failed(source, "Cannot resolve nowhere.invalid")


# --- Creating a source -----------------------------------------------------------------------------------


def test_source_create_records_a_due_source_and_the_audit_trail(workload, team_member):
    source = services.source_create(
        workload=workload, name="  vendor feed ", url=" https://feed.example.com/events ", interval_minutes=15,
        auth_header="Bearer abc", actor=team_member,
    )  # fmt: skip
    assert source.name == "vendor feed"
    assert source.url == "https://feed.example.com/events"
    assert source.next_run_at <= timezone.now()
    assert source.cursor == ""
    assert source.enabled
    entry = AuditEvent.objects.get(action="pull_source.create")
    assert "Bearer abc" not in json.dumps(entry.changes)


@pytest.mark.parametrize(
    ("fields", "field"),
    [
        ({"url": "ftp://feed.example.com/events"}, "url"),
        ({"url": "feed.example.com/events"}, "url"),
        ({"url": "https://"}, "url"),
        ({"interval_minutes": 0}, "interval_minutes"),
        ({"interval_minutes": 1441}, "interval_minutes"),
        ({"interval_minutes": "5"}, "interval_minutes"),
        ({"name": "  "}, "name"),
    ],
)
def test_source_create_refuses_bad_input(workload, team_member, fields, field):
    data = {"name": "feed", "url": "https://feed.example.com/events", "interval_minutes": 5, **fields}
    with pytest.raises(ApplicationError) as refused:
        services.source_create(workload=workload, actor=team_member, **data)
    assert field in refused.value.field_errors
    assert not PullSource.objects.exists()


def test_source_create_accepts_the_interval_bounds(workload, team_member):
    for minutes in (1, 1440):
        services.source_create(workload=workload, name=f"every {minutes}", url="https://feed.example.com/e",
                               interval_minutes=minutes, actor=team_member)  # fmt: skip
    assert PullSource.objects.count() == 2


def test_plain_http_only_where_the_deployment_allows_it(workload, team_member, settings):
    settings.TELEMETRY_PULL_ALLOW_HTTP = False
    with pytest.raises(ApplicationError) as refused:
        services.source_create(workload=workload, name="feed", url="http://feed.example.com/e", actor=team_member)
    assert "https" in refused.value.field_errors["url"][0]

    settings.TELEMETRY_PULL_ALLOW_HTTP = True
    source = services.source_create(workload=workload, name="feed", url="http://feed.example.com/e", actor=team_member)
    assert source.url.startswith("http://")


def test_source_names_are_unique_per_workload(workload, other_workload, team_member, other_team_member):
    services.source_create(workload=workload, name="feed", url="https://a.example.com/e", actor=team_member)
    with pytest.raises(ApplicationError) as refused:
        services.source_create(workload=workload, name="feed", url="https://b.example.com/e", actor=team_member)
    assert "name" in refused.value.field_errors
    services.source_create(workload=other_workload, name="feed", url="https://a.example.com/e",
                           actor=other_team_member)  # fmt: skip
    assert PullSource.objects.count() == 2


def test_a_retired_workload_takes_no_new_source(workload, team_member):
    workload = registry.workload_retire(actor=team_member, workload=workload)
    with pytest.raises(ApplicationError, match="retired"):
        services.source_create(workload=workload, name="feed", url="https://a.example.com/e", actor=team_member)


# --- The tasks, called in process -----------------------------------------------------------------------


def test_the_dispatcher_queues_one_fetch_per_due_source(workload, feed, monkeypatch):
    due = make_source(workload, feed.url, name="due")
    make_source(workload, feed.url, name="later", next_run_at=timezone.now() + timedelta(hours=1))
    queued: list[int] = []
    monkeypatch.setattr(tasks.source_fetch_task, "delay", queued.append)

    assert tasks.pull_sources_dispatch_task.run() == 1
    assert queued == [due.pk]
    assert tasks.pull_sources_dispatch_task.run() == 0
    assert queued == [due.pk]


def test_the_fetch_task_pulls_and_a_failing_source_does_not_fail_the_task(workload, feed, source):
    feed.pages[""] = page([event(1), event(2)], "c1")
    feed.pages["c1"] = page([])
    assert tasks.source_fetch_task(source.pk) == 2
    assert Event.objects.filter(workload=workload).count() == 2

    feed.pages["c1"] = raw(500)
    assert tasks.source_fetch_task.run(source.pk) == 0  # recorded on the source, not raised: no retry
    source.refresh_from_db()
    assert source.consecutive_failures == 1

    assert tasks.source_fetch_task.run(source.pk + 1000) == 0  # a deleted source: nothing to do


def test_an_update_replaces_or_removes_the_header(workload, feed, team_member):
    source = make_source(workload, feed.url, auth_header="Bearer old")
    services.source_update(source=source, actor=team_member, auth_header=" Bearer new ")
    assert PullSource.objects.get(pk=source.pk).auth_header() == "Bearer new"
    services.source_update(source=source, actor=team_member, auth_header="")
    assert PullSource.objects.get(pk=source.pk).auth_header() == ""
    assert not PullSource.objects.get(pk=source.pk).has_auth_header

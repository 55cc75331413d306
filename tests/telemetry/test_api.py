"""The telemetry API of a workload: ingestion keys, scorecards, pull sources and alerts, as each
persona, through the real services (events stored, rolled up and scored by the real code)."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

import pytest
from django.test import Client
from django.utils import timezone
from rest_framework.test import APIClient

from apps.accounts import services as account_services
from apps.core.models import AuditEvent
from apps.registry import services as registry
from apps.telemetry import services, tasks
from apps.telemetry.alerts import alert_raise
from apps.telemetry.ingest import EventIn, events_store
from apps.telemetry.models import Alert, IngestionKey, PullSource, Scorecard
from apps.telemetry.rollups import rollup_pending
from apps.telemetry.scoring import score_day
from tests.access import PERSONAS

pytestmark = pytest.mark.django_db

EVENTS = "/api/v1/telemetry/events"
TRACES = "/v1/traces"


def api(user=None) -> APIClient:  # type: ignore[no-untyped-def]
    client = APIClient()
    if user is not None:
        client.force_authenticate(user)
    return client


def url(workload, tail: str) -> str:  # type: ignore[no-untyped-def]
    return f"/api/v1/workloads/{workload.slug}/{tail}"


def ingest(raw: str, *event_ids: str, at: datetime | None = None) -> Any:
    at = at or timezone.now() - timedelta(minutes=1)
    events = [{"event_id": event_id, "timestamp": at.isoformat(), "provider": "openai", "model": "gpt-4o-mini",
               "input_tokens": 100, "output_tokens": 50, "latency_ms": 700} for event_id in event_ids]  # fmt: skip
    return Client().post(EVENTS, data=json.dumps({"events": events}), content_type="application/json",
                         HTTP_AUTHORIZATION=f"Bearer {raw}")  # fmt: skip


def expected(persona: str, allowed: set[str]) -> int | None:
    """None when the persona may, else the refusal's status."""
    if persona == "anonymous":
        return 401
    return None if persona in allowed else 403


def check(response: Any, want: int | None, ok: int) -> None:
    assert response.status_code == (ok if want is None else want), getattr(response, "data", response.content)


VIEWERS = {"team_member", "coe_staff", "leader"}
TEAM = {"team_member"}
TEAM_AND_COE = {"team_member", "coe_staff"}


# --- Ingestion keys ----------------------------------------------------------------------------


def test_a_new_key_is_shown_once_and_writes_telemetry(workload, team_member):
    client = api(team_member)
    response = client.post(url(workload, "ingestion-keys/"), {"name": "prod collector"})
    assert response.status_code == 201, response.data
    raw = response.data["key"]
    assert raw.startswith("coei_")
    assert raw.startswith(response.data["hint"])
    assert response.data["name"] == "prod collector"
    assert response.data["created_by"] == "tina"
    assert response.data["is_active"] is True
    assert response.data["revoked_at"] is None

    listing = client.get(url(workload, "ingestion-keys/"))
    assert listing.status_code == 200
    assert raw not in listing.content.decode()
    [row] = listing.data["results"]
    assert "key" not in row
    assert "digest" not in row
    assert IngestionKey.objects.get(pk=row["id"]).digest not in listing.content.decode()

    assert ingest(raw, "e-1", "e-2").status_code == 202
    row = client.get(url(workload, "ingestion-keys/")).data["results"][0]
    assert row["events_accepted"] == 2
    assert row["last_used_at"] is not None


def test_the_key_list_is_paginated_newest_first_revoked_keys_included(workload, team_member):
    first, _ = services.key_create(workload=workload, name="old", actor=team_member)
    services.key_revoke(key=first, actor=team_member)
    services.key_create(workload=workload, name="new", actor=team_member)
    body = api(team_member).get(url(workload, "ingestion-keys/")).data
    assert set(body) == {"count", "next", "previous", "results"}
    assert body["count"] == 2
    assert [k["name"] for k in body["results"]] == ["new", "old"]
    assert [k["is_active"] for k in body["results"]] == [True, False]


@pytest.mark.parametrize("persona", PERSONAS, indirect=True)
def test_who_reads_creates_and_revokes_keys(request, persona, workload, key_pair):
    name = request.node.callspec.params["persona"]
    client = api(persona)
    check(client.get(url(workload, "ingestion-keys/")), expected(name, VIEWERS), 200)
    check(client.post(url(workload, "ingestion-keys/"), {"name": "another"}), expected(name, TEAM), 201)
    check(client.delete(url(workload, f"ingestion-keys/{key_pair[0].pk}/")), expected(name, TEAM_AND_COE), 204)


def test_revoking_keeps_the_key_listed_and_ingestion_refuses_it(workload, team_member, raw_key, key_pair):
    assert ingest(raw_key, "before").status_code == 202
    response = api(team_member).delete(url(workload, f"ingestion-keys/{key_pair[0].pk}/"))
    assert response.status_code == 204
    key = IngestionKey.objects.get(pk=key_pair[0].pk)
    assert key.revoked_at is not None
    assert key.revoked_by == team_member
    row = api(team_member).get(url(workload, "ingestion-keys/")).data["results"][0]
    assert row["is_active"] is False
    assert row["revoked_at"] is not None
    assert ingest(raw_key, "after").status_code == 401
    otlp = Client().post(TRACES, data=b"{}", content_type="application/json", HTTP_AUTHORIZATION=f"Bearer {raw_key}")
    assert otlp.status_code == 401


def test_coe_staff_revoke_a_teams_key_and_revoking_twice_changes_nothing(workload, coe_staff, key_pair):
    client = api(coe_staff)
    assert client.delete(url(workload, f"ingestion-keys/{key_pair[0].pk}/")).status_code == 204
    revoked_at = IngestionKey.objects.get(pk=key_pair[0].pk).revoked_at
    assert client.delete(url(workload, f"ingestion-keys/{key_pair[0].pk}/")).status_code == 204
    assert IngestionKey.objects.get(pk=key_pair[0].pk).revoked_at == revoked_at
    assert AuditEvent.objects.filter(action="ingestion_key.revoke").count() == 1


def test_key_create_and_revoke_are_in_the_audit_trail(workload, team_member, coe_staff):
    client = api(team_member)
    created = client.post(url(workload, "ingestion-keys/"), {"name": "staging"}).data
    key_id = created["id"]
    api(coe_staff).delete(url(workload, f"ingestion-keys/{key_id}/"))
    trail = api(coe_staff).get("/api/v1/audit/", {"action": "ingestion_key."}).data["results"]
    by_action = {entry["action"]: entry for entry in trail}
    assert by_action["ingestion_key.create"]["actor"] == "tina"
    assert by_action["ingestion_key.create"]["changes"] == {"workload": workload.slug, "name": "staging"}
    assert by_action["ingestion_key.revoke"]["actor"] == "cora"
    assert {entry["target_id"] for entry in trail} == {str(key_id)}
    assert created["key"] not in json.dumps(trail)


@pytest.mark.parametrize(
    ("body", "field"),
    [({}, "name"), ({"name": ""}, "name"), ({"name": "x" * 101}, "name"), ({"name": "prod collector"}, "name")],
)
def test_a_bad_key_name_is_a_field_error(workload, team_member, key_pair, body, field):
    response = api(team_member).post(url(workload, "ingestion-keys/"), body, format="json")
    assert response.status_code == 400
    assert field in response.data


def test_a_retired_workload_gets_no_new_keys(workload, team_member):
    registry.workload_retire(actor=team_member, workload=workload)
    response = api(team_member).post(url(workload, "ingestion-keys/"), {"name": "late"})
    assert response.status_code == 400
    assert "retired" in response.data["detail"]


def test_another_workloads_key_is_not_there(workload, other_workload, team_member, other_team_member):
    _theirs, _ = services.key_create(workload=other_workload, name="theirs", actor=other_team_member)
    # Through our workload's URL their key does not exist; through theirs, we may not.
    assert api(team_member).delete(url(workload, f"ingestion-keys/{_theirs.pk}/")).status_code == 404
    assert api(team_member).delete(url(other_workload, f"ingestion-keys/{_theirs.pk}/")).status_code == 403
    assert IngestionKey.objects.get(pk=_theirs.pk).revoked_at is None


def test_a_refused_write_is_403_before_any_lookup(workload, other_team_member, leader):
    assert api(other_team_member).delete(url(workload, "ingestion-keys/999999/")).status_code == 403
    assert api(leader).patch(url(workload, "pull-sources/999999/"), {"enabled": False}).status_code == 403
    assert api(leader).post(url(workload, "alerts/999999/resolve/")).status_code == 403


def test_an_unknown_workload_is_404(team_member, coe_staff):
    for tail in ("ingestion-keys/", "scorecards/", "pull-sources/", "alerts/"):
        assert api(coe_staff).get(f"/api/v1/workloads/no-such-thing/{tail}").status_code == 404
    assert api(team_member).post("/api/v1/workloads/no-such-thing/ingestion-keys/", {"name": "x"}).status_code == 404


def test_people_credentials_are_not_ingestion_keys_and_keys_are_not_people(workload, team_member, raw_key):
    _, token = account_services.token_create(user=team_member, name="cli")
    for header in (f"Bearer {token}", f"Token {token}"):
        response = Client().post(EVENTS, data=json.dumps({"events": []}), content_type="application/json",
                                 HTTP_AUTHORIZATION=header)  # fmt: skip
        assert response.status_code == 401
    signed_in = Client()
    signed_in.force_login(team_member)
    assert signed_in.post(EVENTS, data=json.dumps({"events": []}), content_type="application/json").status_code == 401
    # A key reads and manages nothing: the people's API does not know it.
    as_key = APIClient(HTTP_AUTHORIZATION=f"Bearer {raw_key}")
    assert as_key.get(url(workload, "ingestion-keys/")).status_code == 401
    assert as_key.post(url(workload, "ingestion-keys/"), {"name": "more"}).status_code == 401


# --- Scorecards --------------------------------------------------------------------------------


def store_day(workload, day: date, n: int) -> None:  # type: ignore[no-untyped-def]
    at = datetime.combine(day, time(9), tzinfo=UTC)
    events = [
        EventIn(
            event_key=f"{day}-{i}",
            timestamp=at + timedelta(minutes=i),
            model_name="gpt-4o-mini",
            provider="openai",
            input_tokens=1000,
            output_tokens=500,
            latency_ms=800 + i,
            is_error=i == 0,
            quality_score=0.8,
            user_rating=1,
        )
        for i in range(n)
    ]
    events_store(workload_id=workload.pk, events=events, source="native")


@pytest.fixture
def scored_days(workload) -> list[date]:  # type: ignore[no-untyped-def]
    """Three scored days, oldest first, with 4, 5 and 6 requests."""
    today = timezone.now().date()
    days = [today - timedelta(days=n) for n in (3, 2, 1)]
    for n, day in enumerate(days, start=4):
        store_day(workload, day, n)
    rollup_pending()
    for day in days:
        score_day(workload=workload, day=day)
    return days


def test_scorecards_newest_first_with_every_field(workload, leader, scored_days):
    response = api(leader).get(url(workload, "scorecards/"))
    assert response.status_code == 200
    body = response.json()
    assert body["count"] == 3
    assert body["next"] is None
    assert [card["day"] for card in body["results"]] == [d.isoformat() for d in reversed(scored_days)]
    card = body["results"][0]
    assert card["requests"] == 6
    assert card["errors"] == 1
    assert card["complete"] is True
    assert isinstance(card["cost"], str)
    assert isinstance(card["token_cost"], str)
    assert isinstance(card["value"], str)
    # 6 × (1000 × 0.15 + 500 × 0.60) / 1M
    assert card["token_cost"] == "0.0027"
    assert card["error_rate"] == pytest.approx(1 / 6, abs=1e-4)
    assert isinstance(card["latency_p95_ms"], float)
    assert isinstance(card["quality_score"], float)
    assert isinstance(card["anomalies"], list)
    assert isinstance(card["drift"], dict)
    assert isinstance(card["regression"], dict)
    assert isinstance(card["metrics"], dict)
    model_fields = {f.name for f in Scorecard._meta.get_fields()} - {"id", "workload"}
    assert model_fields <= set(card)


def test_scorecards_filter_by_day(workload, team_member, scored_days):
    client = api(team_member)
    first, second, third = (d.isoformat() for d in scored_days)
    days = lambda **q: [c["day"] for c in client.get(url(workload, "scorecards/"), q).json()["results"]]  # noqa: E731
    assert days(start=second) == [third, second]
    assert days(end=second) == [second, first]
    assert days(start=second, end=second) == [second]
    assert days(start=(scored_days[2] + timedelta(days=30)).isoformat()) == []


@pytest.mark.parametrize(
    ("query", "field"),
    [
        ({"start": "yesterday"}, "start"),
        ({"end": "2026-02-30"}, "end"),
        ({"start": "2026-05-02", "end": "2026-05-01"}, "end"),
    ],
)
def test_a_bad_scorecard_filter_names_the_field(workload, team_member, query, field):
    response = api(team_member).get(url(workload, "scorecards/"), query)
    assert response.status_code == 400
    assert field in response.json()


@pytest.mark.parametrize("persona", PERSONAS, indirect=True)
def test_who_reads_scorecards_and_asks_for_scoring(request, persona, workload, monkeypatch):
    name = request.node.callspec.params["persona"]
    monkeypatch.setattr(tasks.score_now_task, "delay", lambda workload_id: None)
    client = api(persona)
    check(client.get(url(workload, "scorecards/")), expected(name, VIEWERS), 200)
    check(client.post(url(workload, "scorecards/score/")), expected(name, TEAM_AND_COE), 202)


def test_score_now_queues_after_commit_and_scores_today(
    workload, team_member, raw_key, monkeypatch, django_capture_on_commit_callbacks
):
    queued: list[int] = []

    def worker(workload_id: int) -> None:  # what a worker does with the message
        queued.append(workload_id)
        tasks.score_now_task(workload_id)

    monkeypatch.setattr(tasks.score_now_task, "delay", worker)
    assert ingest(raw_key, "now-1", "now-2", at=timezone.now()).status_code == 202
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        response = api(team_member).post(url(workload, "scorecards/score/"))
    assert response.status_code == 202
    assert response.json() == {"detail": "Scoring queued."}
    assert len(callbacks) == 1
    assert queued == [workload.pk]
    today = api(team_member).get(url(workload, "scorecards/")).json()["results"][0]
    assert today["day"] == timezone.now().date().isoformat()
    assert today["requests"] == 2
    assert today["complete"] is False


# --- Pull sources --------------------------------------------------------------------------------

SOURCE = {"name": "claims events", "url": "https://claims.example.com/telemetry", "interval_minutes": 15,
          "auth_header": "Bearer s3cret-value"}  # fmt: skip


@pytest.fixture
def source(workload, team_member) -> PullSource:  # type: ignore[no-untyped-def]
    return services.source_create(workload=workload, actor=team_member, **SOURCE)


def test_a_source_is_created_and_its_header_never_returned(workload, team_member):
    client = api(team_member)
    response = client.post(url(workload, "pull-sources/"), SOURCE, format="json")
    assert response.status_code == 201, response.data
    assert "s3cret" not in response.content.decode()
    assert "auth_header" not in response.data
    assert response.data["has_auth_header"] is True
    assert response.data["enabled"] is True
    assert response.data["interval_minutes"] == 15
    assert response.data["created_by"] == "tina"
    assert PullSource.objects.get(pk=response.data["id"]).auth_header() == "Bearer s3cret-value"
    source_id = response.data["id"]
    for read in (client.get(url(workload, "pull-sources/")), client.get(url(workload, f"pull-sources/{source_id}/"))):
        assert read.status_code == 200
        assert "s3cret" not in read.content.decode()
    assert AuditEvent.objects.filter(action="pull_source.create").count() == 1
    assert "s3cret" not in json.dumps(list(AuditEvent.objects.values_list("changes", flat=True)))


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({**SOURCE, "url": "ftp://claims.example.com/"}, "url"),
        ({**SOURCE, "url": "http://claims.example.com/"}, "url"),
        ({**SOURCE, "interval_minutes": 0}, "interval_minutes"),
        ({**SOURCE, "interval_minutes": 1441}, "interval_minutes"),
        ({**SOURCE, "name": ""}, "name"),
        ({**SOURCE, "consecutive_failures": 0}, "consecutive_failures"),
        ({k: v for k, v in SOURCE.items() if k != "url"}, "url"),
    ],
)
def test_a_bad_source_is_a_field_error(workload, team_member, settings, body, field):
    settings.TELEMETRY_PULL_ALLOW_HTTP = False
    response = api(team_member).post(url(workload, "pull-sources/"), body, format="json")
    assert response.status_code == 400
    assert field in response.data


def test_a_source_name_is_used_once_per_workload(workload, team_member, source):
    response = api(team_member).post(url(workload, "pull-sources/"), SOURCE, format="json")
    assert response.status_code == 400
    assert "name" in response.data


def test_a_source_is_paused_and_resumed_and_only_some_fields_change(workload, coe_staff, source):
    PullSource.objects.filter(pk=source.pk).update(consecutive_failures=3, last_error="timeout")
    client = api(coe_staff)
    detail = url(workload, f"pull-sources/{source.pk}/")
    response = client.patch(detail, {"enabled": False}, format="json")
    assert response.status_code == 200
    assert response.data["enabled"] is False
    response = client.patch(detail, {"enabled": True, "interval_minutes": 30, "auth_header": ""}, format="json")
    assert response.status_code == 200, response.data
    assert response.data["enabled"] is True
    assert response.data["consecutive_failures"] == 0
    assert response.data["interval_minutes"] == 30
    assert response.data["has_auth_header"] is False
    assert PullSource.objects.get(pk=source.pk).auth_header_encrypted == ""
    for field, value in (("name", "renamed"), ("consecutive_failures", 0), ("cursor", ""), ("events_pulled", 1)):
        response = client.patch(detail, {field: value}, format="json")
        assert response.status_code == 400
        assert field in response.data
    response = client.patch(detail, {"url": "not a url"}, format="json")
    assert response.status_code == 400
    assert "url" in response.data
    assert PullSource.objects.get(pk=source.pk).name == "claims events"


def test_a_source_is_removed(workload, team_member, source):
    response = api(team_member).delete(url(workload, f"pull-sources/{source.pk}/"))
    assert response.status_code == 204
    assert not PullSource.objects.filter(pk=source.pk).exists()
    assert AuditEvent.objects.filter(action="pull_source.delete", target_id=str(source.pk)).exists()


@pytest.mark.parametrize("persona", PERSONAS, indirect=True)
def test_who_reads_and_changes_sources(request, persona, workload, source):
    name = request.node.callspec.params["persona"]
    client = api(persona)
    detail = url(workload, f"pull-sources/{source.pk}/")
    check(client.get(url(workload, "pull-sources/")), expected(name, VIEWERS), 200)
    check(client.get(detail), expected(name, VIEWERS), 200)
    new = {**SOURCE, "name": "another"}
    check(client.post(url(workload, "pull-sources/"), new, format="json"), expected(name, TEAM), 201)
    check(client.patch(detail, {"enabled": False}, format="json"), expected(name, TEAM_AND_COE), 200)
    check(client.delete(detail), expected(name, TEAM_AND_COE), 204)


def test_another_workloads_source_is_not_there(workload, other_workload, team_member, other_team_member):
    theirs = services.source_create(workload=other_workload, name="theirs", url="https://bot.example.com/",
                                    actor=other_team_member)  # fmt: skip
    client = api(team_member)
    assert client.get(url(workload, f"pull-sources/{theirs.pk}/")).status_code == 404
    assert client.patch(url(workload, f"pull-sources/{theirs.pk}/"), {"enabled": False}).status_code == 404
    assert client.delete(url(workload, f"pull-sources/{theirs.pk}/")).status_code == 404
    assert client.get(url(other_workload, f"pull-sources/{theirs.pk}/")).status_code == 403
    assert PullSource.objects.get(pk=theirs.pk).enabled is True


# --- Alerts ------------------------------------------------------------------------------------


@pytest.fixture
def alerts(workload) -> tuple[Alert, Alert]:  # type: ignore[no-untyped-def]
    budget = alert_raise(workload=workload, kind=Alert.Kind.BUDGET, key="budget:2026-05", title="Budget 90 % spent")
    drift = alert_raise(workload=workload, kind=Alert.Kind.DRIFT, key="drift:quality", title="Quality drifted",
                        severity=Alert.Severity.CRITICAL)  # fmt: skip
    return budget, drift


def test_alerts_filter_by_open_and_kind(workload, team_member, alerts):
    budget, drift = alerts
    services.alert_resolve(alert=budget, actor=team_member)
    client = api(team_member)
    ids = lambda **q: [a["id"] for a in client.get(url(workload, "alerts/"), q).json()["results"]]  # noqa: E731
    assert ids() == [drift.pk, budget.pk]
    assert ids(open="true") == [drift.pk]
    assert ids(open="false") == [budget.pk]
    assert ids(kind="drift") == [drift.pk]
    assert ids(kind="budget", open="true") == []
    first = client.get(url(workload, "alerts/")).json()["results"][0]
    assert first["kind"] == "drift"
    assert first["severity"] == "critical"
    assert first["is_open"] is True


@pytest.mark.parametrize(("query", "field"), [({"open": "maybe"}, "open"), ({"kind": "weather"}, "kind")])
def test_a_bad_alert_filter_names_the_field(workload, team_member, query, field):
    response = api(team_member).get(url(workload, "alerts/"), query)
    assert response.status_code == 400
    assert field in response.json()


def test_an_alert_is_resolved_once(workload, coe_staff, alerts):
    budget, _ = alerts
    client = api(coe_staff)
    response = client.post(url(workload, f"alerts/{budget.pk}/resolve/"))
    assert response.status_code == 200
    assert response.data["is_open"] is False
    assert response.data["resolved_by"] == "cora"
    again = client.post(url(workload, f"alerts/{budget.pk}/resolve/"))
    assert again.status_code == 200
    assert again.data["resolved_at"] == response.data["resolved_at"]


@pytest.mark.parametrize("persona", PERSONAS, indirect=True)
def test_who_reads_and_resolves_alerts(request, persona, workload, alerts):
    name = request.node.callspec.params["persona"]
    client = api(persona)
    check(client.get(url(workload, "alerts/")), expected(name, VIEWERS), 200)
    check(client.post(url(workload, f"alerts/{alerts[0].pk}/resolve/")), expected(name, TEAM_AND_COE), 200)


def test_another_workloads_alert_is_not_there(workload, other_workload, team_member):
    theirs = alert_raise(workload=other_workload, kind=Alert.Kind.BUDGET, key="budget", title="Over", notify=False)
    assert api(team_member).post(url(workload, f"alerts/{theirs.pk}/resolve/")).status_code == 404
    assert api(team_member).post(url(other_workload, f"alerts/{theirs.pk}/resolve/")).status_code == 403
    assert Alert.objects.get(pk=theirs.pk).is_open

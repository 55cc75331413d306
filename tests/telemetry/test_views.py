"""The workload's Telemetry tab: the latest scorecard, 30 days of charts, alerts, anomalies, drift
and the post-release check, the latest events, ingestion keys and pull sources.

Plain access for every persona is in the permission matrix (tests/telemetry/access_pages.py);
these tests check behaviour. Telemetry goes through the real write path (events_store, rollups,
scoring); other state through the services.
"""

from __future__ import annotations

import json
import re
from datetime import date, timedelta
from decimal import Decimal

import pytest
from django.contrib.messages import get_messages
from django.http import HttpResponse
from django.urls import reverse
from django.utils import timezone

from apps.core.models import AuditEvent
from apps.registry import services as registry
from apps.registry.models import AIModel, Release, ReleaseEvent, Workload
from apps.telemetry import services, tasks
from apps.telemetry.alerts import alert_raise
from apps.telemetry.models import Alert, IngestionKey, PullSource, Scorecard
from apps.telemetry.scoring import score_day

from .helpers import roll, send, send_day

pytestmark = pytest.mark.django_db

HTMX = {"HX-Request": "true"}


def _text(response: HttpResponse) -> str:
    return response.content.decode()


def _messages(response: HttpResponse) -> list[str]:
    return [str(m) for m in get_messages(response.wsgi_request)]


def _tab(workload: Workload) -> str:
    return reverse("telemetry:workload-telemetry", args=[workload.slug])


def _url(name: str, workload: Workload, *args: object) -> str:
    return reverse(f"telemetry:{name}", args=[workload.slug, *args])


def today() -> date:
    return timezone.now().date()


def ago(days: int) -> date:
    return today() - timedelta(days=days)


def scored(workload: Workload, days: range, **kwargs: object) -> list[Scorecard]:
    """Traffic for each day ``days`` ago, rolled up and scored in order, as the workers would."""
    for n in days:
        send_day(workload, ago(n), seed=n, **kwargs)
    roll()
    return [score_day(workload=workload, day=ago(n), evaluate_controls=False) for n in sorted(days, reverse=True)]


def _kpi(text: str, key: str) -> str:
    """One KPI's text, tags stripped, spaces collapsed."""
    match = re.search(rf'<div class="kpi[^"]*" id="kpi-{key}">(.*?)</div>', text, re.S)
    assert match, f"no KPI {key}"
    return " ".join(re.sub(r"<[^>]+>", " ", match.group(1)).split())


def _charts(text: str) -> dict:
    match = re.search(r'<script id="telemetry-charts-data" type="application/json">(.*?)</script>', text, re.S)
    assert match, "no chart data"
    return json.loads(match.group(1))


def _release(workload: Workload, actor, version: str, *, days_ago: int, model) -> Release:  # type: ignore[no-untyped-def]
    release = registry.release_create(actor=actor, workload=workload, version=version, ai_models=[model])
    release = registry.release_promote(actor=actor, release=release)
    when = timezone.now() - timedelta(days=days_ago)
    ReleaseEvent.objects.filter(release=release).update(at=when)  # as if promoted then
    Release.objects.filter(pk=release.pk).update(promoted_at=when)
    return release


@pytest.fixture
def alert(workload) -> Alert:  # type: ignore[no-untyped-def]
    return alert_raise(
        workload=workload, kind=Alert.Kind.BUDGET, key="budget:test:80", title="Claims Assistant has spent 85 %",
        detail="85.00 USD spent against a budget of 100.00.", notify=False,
    )  # fmt: skip


@pytest.fixture
def source(workload, team_member) -> PullSource:  # type: ignore[no-untyped-def]
    return services.source_create(
        workload=workload, name="gateway logs", url="https://gateway.example.com/telemetry", interval_minutes=10,
        auth_header="Bearer s3cret-gateway-token", actor=team_member,
    )  # fmt: skip


@pytest.fixture
def retired(workload, team_member) -> Workload:  # type: ignore[no-untyped-def]
    registry.workload_retire(actor=team_member, workload=workload)
    return Workload.objects.get(pk=workload.pk)


# --- The tab as a page ----------------------------------------------------------------------------


class TestTab:
    def test_full_page_has_the_workload_header_and_tabs(self, client_for, team_member, workload) -> None:
        response = client_for(team_member).get(_tab(workload))
        text = _text(response)
        assert "<html" in text
        assert "<h1>Claims Assistant</h1>" in text
        assert f'id="tab-telemetry" href="{_tab(workload)}"' in text
        assert 'aria-current="page">Telemetry</a>' in text
        assert "telemetry/telemetry.js" in text

    def test_htmx_answers_with_the_tabs_only(self, client_for, team_member, workload) -> None:
        response = client_for(team_member).get(_tab(workload), headers=HTMX)
        text = _text(response)
        assert text.strip().startswith('<div id="workload-tabs">')
        assert "<html" not in text
        assert "<h2>Telemetry</h2>" in text
        assert "HX-Request" in response["Vary"]

    def test_the_registry_tab_leads_here_for_those_who_may_see_it(
        self, client_for, team_member, other_team_member, leader, workload
    ) -> None:
        detail = reverse("registry:workload-detail", args=[workload.slug])
        assert f'hx-get="{_tab(workload)}"' in _text(client_for(team_member).get(detail))
        assert f'hx-get="{_tab(workload)}"' in _text(client_for(leader).get(detail))
        assert 'id="tab-telemetry"' not in _text(client_for(other_team_member).get(detail))

    def test_old_links_to_the_registry_tab_lead_here(self, client_for, team_member, workload) -> None:
        detail = reverse("registry:workload-detail", args=[workload.slug])
        response = client_for(team_member).get(detail, {"tab": "telemetry"})
        assert response.status_code == 302
        assert response["Location"] == _tab(workload)

    def test_another_team_is_refused(self, client_for, other_team_member, workload) -> None:
        assert client_for(other_team_member).get(_tab(workload)).status_code == 403

    def test_an_unknown_workload_is_404(self, client_for, team_member) -> None:
        assert client_for(team_member).get(reverse("telemetry:workload-telemetry", args=["nope"])).status_code == 404


class TestEmptyState:
    def test_it_tells_the_team_how_to_start(self, client_for, team_member, workload) -> None:
        text = _text(client_for(team_member).get(_tab(workload)))
        assert "No telemetry from Claims Assistant yet." in text
        assert 'OTEL_EXPORTER_OTLP_TRACES_ENDPOINT="http://testserver/v1/traces"' in text
        assert "Authorization=Bearer%20${COE_INGESTION_KEY}" in text
        assert "http://testserver/api/v1/telemetry/events" in text
        assert 'data-copy="start-otlp"' in text
        assert '"model": "gpt-4o-mini"' in text  # the workload's own model in the example
        assert "data-chart=" not in text
        assert 'id="no-events"' in text

    def test_events_without_a_scorecard_say_one_is_coming(self, client_for, team_member, workload) -> None:
        send(workload, at=timezone.now() - timedelta(minutes=30), n=3, spread_seconds=60)
        text = _text(client_for(team_member).get(_tab(workload)))
        assert "Telemetry has arrived; the first scorecard is on its way." in text
        assert 'id="event-table"' in text


# --- The scorecard and charts ---------------------------------------------------------------------


class TestScorecard:
    def test_kpis_come_from_the_latest_scorecard(self, client_for, team_member, workload) -> None:
        scored(workload, range(3, 1, -1), n=100)
        send_day(workload, ago(1), n=200, error_rate=0.05, flagged_rate=0.01, latency=2500, seed=1)
        send_day(workload, ago(1), n=4, model="mystery-model", seed=11)
        roll()
        card = score_day(workload=workload, day=ago(1), evaluate_controls=False)
        text = _text(client_for(team_member).get(_tab(workload)))
        assert f"Scorecard of <strong>{card.day.day} {card.day:%b %Y}</strong>" in text
        assert _kpi(text, "requests") == "204 Requests 10 errors"
        assert _kpi(text, "error-rate").startswith("4.9 % Error rate 10 of 204 requests")
        latency = _kpi(text, "latency")
        assert "p95 latency" in latency
        assert "objective 2,000 ms (missed)" in latency
        assert 'class="kpi telemetry-kpi--bad" id="kpi-latency"' in text
        assert _kpi(text, "cost").startswith(f"{card.cost:,.2f} USD Cost on {card.day.day} {card.day:%b}")
        assert "of 100.00 USD this month" in _kpi(text, "budget-burn")
        assert "of the budget" in _kpi(text, "forecast")
        assert _kpi(text, "value").startswith(f"{card.month_to_date_value:,.2f} USD Value month to date")
        assert "ROI" in _kpi(text, "roi")
        assert _kpi(text, "quality").startswith("0.8")
        assert _kpi(text, "safety").startswith("0.98 % Safety-flag rate 2 requests flagged")
        assert _kpi(text, "unpriced") == "4 Unpriced requests their models are not in the catalogue: not in the cost"

    def test_a_workload_in_euros_says_at_what_rate_or_that_there_is_none(
        self, client_for, team_member, coe_staff, workload
    ) -> None:
        workload = registry.workload_update(actor=team_member, workload=workload, currency="EUR")
        send_day(workload, ago(1), n=10)
        roll()
        score_day(workload=workload, day=ago(1), evaluate_controls=False)
        text = _text(client_for(team_member).get(_tab(workload)))
        assert "No exchange rate for EUR" in text
        assert "Ask the CoE to add a rate." in text
        assert "/admin/registry/exchangerate/" in _text(client_for(coe_staff).get(_tab(workload)))
        registry.exchange_rate_add(actor=coe_staff, currency="EUR", effective_from=ago(30), per_usd=Decimal("0.9"))
        score_day(workload=workload, day=ago(1), evaluate_controls=False)
        text = _text(client_for(team_member).get(_tab(workload)))
        assert "No exchange rate" not in text
        assert "shown in EUR at 1 USD = 0.9 EUR" in text
        assert _kpi(text, "cost").split(" ")[1] == "EUR"

    def test_today_is_called_today(self, client_for, team_member, workload) -> None:
        send(workload, at=timezone.now() - timedelta(minutes=30), n=5, spread_seconds=60)
        roll()
        score_day(workload=workload, day=today(), evaluate_controls=False)
        text = _text(client_for(team_member).get(_tab(workload)))
        assert _kpi(text, "cost").split(" USD ")[1].startswith("Cost today")
        assert "(the day is still running)" in text

    def test_charts_show_the_last_30_days(self, client_for, team_member, workload) -> None:
        scored(workload, range(33, 0, -8), n=20)  # 33, 25, 17, 9 and 1 days ago
        text = _text(client_for(team_member).get(_tab(workload)))
        charts = _charts(text)
        assert set(charts) == {"cost", "traffic", "latency", "quality"}
        days = [ago(n).isoformat() for n in (25, 17, 9, 1)]
        assert charts["traffic"]["data"][0]["x"] == days  # the day 33 days ago is left out
        assert charts["traffic"]["data"][0]["y"] == [20, 20, 20, 20]
        names = {trace["name"] for trace in charts["cost"]["data"]}
        assert names == {"Cost", "Budget pace"}
        objective = next(t for t in charts["latency"]["data"] if t["name"] == "p95 objective")
        assert objective["y"] == [2000] * 4
        for name in charts:
            assert f'data-chart="{name}"' in text
        assert 'data-plotly-src="/static/vendor/plotly/plotly-strict-4.1.1.min.js"' in text
        assert "<script>" not in text  # no inline script: the CSP forbids it
        assert 'id="series-table"' in text

    def test_no_budget_no_budget_pace(self, client_for, team_member, workload) -> None:
        Workload.objects.filter(pk=workload.pk).update(monthly_budget=None, objective_p95_latency_ms=None)
        scored(workload, range(2, 0, -1), n=20)
        text = _text(client_for(team_member).get(_tab(workload)))
        charts = _charts(text)
        assert [t["name"] for t in charts["cost"]["data"]] == ["Cost"]
        assert "p95 objective" not in {t["name"] for t in charts["latency"]["data"]}
        assert "no monthly budget set" in _kpi(text, "forecast")
        assert 'id="kpi-budget-burn"' not in text


class TestBehaviour:
    def test_anomalies_are_listed_by_day(self, client_for, team_member, workload) -> None:
        scored(workload, range(15, 1, -1), n=200)
        send_day(workload, ago(1), n=200, error_rate=0.3, seed=99)
        roll()
        score_day(workload=workload, day=ago(1), evaluate_controls=False)
        text = _text(client_for(team_member).get(_tab(workload)))
        anomalies = re.search(r'<ul class="plain-list" id="anomalies">(.*?)</ul>', text, re.S).group(1)
        assert "Error rate up" in anomalies
        assert f"on {ago(1).day} {ago(1):%b}" in anomalies
        assert "against a median of" in anomalies
        # The anomaly also raised an alert, with a Resolve button for the team.
        alert = Alert.objects.get(workload=workload, kind=Alert.Kind.ANOMALY, key__endswith="error_rate")
        assert _url("alert-resolve", workload, alert.pk) in text

    def test_steady_days_show_no_anomaly_and_no_release_to_compare(self, client_for, team_member, workload) -> None:
        scored(workload, range(3, 0, -1), n=50)
        text = _text(client_for(team_member).get(_tab(workload)))
        assert 'id="no-anomalies"' in text
        assert "No release went live in the last 14 days" in text
        assert "No live release to compare against." in text

    def test_drift_shows_the_psi_and_a_verdict(self, client_for, team_member, workload, priced_model) -> None:
        _release(workload, team_member, "1.0.0", days_ago=12, model=priced_model)
        for n in range(11, 7, -1):  # the baseline: the release's first three days
            send_day(workload, ago(n), n=300, latency=600, quality=0.85, seed=n)
        send_day(workload, ago(1), n=300, latency=1800, quality=0.6, seed=1)
        roll()
        card = score_day(workload=workload, day=ago(1), evaluate_controls=False)
        text = _text(client_for(team_member).get(_tab(workload)))
        drift = re.search(r'<div class="card" id="telemetry-drift">(.*?)</div>', text, re.S).group(1)
        assert "Drift from release 1.0.0's baseline" in drift
        assert '<span class="status status--bad">Significant shift</span>' in drift
        assert f"PSI {card.drift_score:.2f}" in drift
        assert f"{card.drift['latency_psi']:.3f}" in drift
        assert f"{card.drift['quality_psi']:.3f}" in drift

    def test_a_worse_release_points_to_the_rollback(self, client_for, team_member, workload, priced_model) -> None:
        old = _release(workload, team_member, "1.0.0", days_ago=10, model=priced_model)
        for n in range(9, 3, -1):
            send_day(workload, ago(n), n=150, release="1.0.0", error_rate=0.01, latency=700, seed=n)
        _release(workload, team_member, "2.0.0", days_ago=3, model=priced_model)
        for n in (2, 1):
            send_day(workload, ago(n), n=150, release="2.0.0", error_rate=0.12, latency=1600, quality=0.6, seed=n)
        roll()
        card = score_day(workload=workload, day=ago(1), evaluate_controls=False)
        assert card.regression["recommend_rollback"]
        text = _text(client_for(team_member).get(_tab(workload)))
        banner = re.search(r'id="rollback-recommended">(.*?)</div>', text, re.S).group(1)
        assert "Release 2.0.0 is clearly worse than 1.0.0: consider rolling back." in banner
        for finding in card.regression["findings"]:
            assert finding in banner
        rollback = reverse("registry:release-list", args=[workload.slug]) + f"#release-{old.pk}"
        assert f'href="{rollback}"' in banner
        assert "Rollback recommended" in text

    def test_a_release_as_good_as_the_last_says_so(self, client_for, team_member, workload, priced_model) -> None:
        _release(workload, team_member, "1.0.0", days_ago=10, model=priced_model)
        for n in range(9, 3, -1):
            send_day(workload, ago(n), n=150, release="1.0.0", seed=n)
        _release(workload, team_member, "1.1.0", days_ago=3, model=priced_model)
        for n in (2, 1):
            send_day(workload, ago(n), n=150, release="1.1.0", seed=n + 50)
        roll()
        score_day(workload=workload, day=ago(1), evaluate_controls=False)
        text = _text(client_for(team_member).get(_tab(workload)))
        assert 'id="rollback-recommended"' not in text
        assert "No regression" in text
        assert "is not clearly worse than 1.0.0" in text


# --- Latest events ------------------------------------------------------------------------------


class TestEvents:
    def test_the_latest_twenty_newest_first_with_unpriced_ones_flagged(self, client_for, team_member, workload) -> None:
        start = timezone.now() - timedelta(hours=3)
        send(workload, at=start, n=25, spread_seconds=3600, error_rate=0.04)
        send(workload, at=start + timedelta(hours=2), n=1, model="mystery-model", seed=3, spread_seconds=1)
        roll()
        text = _text(client_for(team_member).get(_tab(workload)))
        table = re.search(r'<table class="table" id="event-table">(.*?)</table>', text, re.S).group(1)
        rows = re.findall(r"<tr[ >].*?</tr>", table.split("<tbody>")[1], re.S)
        assert len(rows) == 20
        times = re.findall(r'<time datetime="([^"]+)"', table)
        assert times == sorted(times, reverse=True)
        assert "mystery-model" in rows[0]  # the newest
        assert 'class="telemetry-unpriced"' in rows[0]
        assert '<span class="status status--warn">Unpriced</span>' in rows[0]
        assert "0.000450" in rows[1]
        unpriced = re.search(r'id="unpriced-models">(.*?)</div>', text, re.S).group(1)
        assert "<code>mystery-model</code>" in unpriced
        assert "1 request," in unpriced
        assert "Ask the CoE to add them" in unpriced

    def test_a_known_model_without_a_price_then_says_so(self, client_for, team_member, workload) -> None:
        AIModel.objects.create(provider="mistral", model_id="mistral-large", display_name="Mistral Large",
                               slug="mistral-mistral-large")  # fmt: skip
        send(workload, at=timezone.now() - timedelta(hours=2), n=3, model="mistral-large")
        send(workload, at=timezone.now() - timedelta(hours=2), n=1, model="mystery-model", seed=5)
        roll()
        unpriced = re.search(r'id="unpriced-models">(.*?)</div>', _text(client_for(team_member).get(_tab(workload))),
                             re.S).group(1)  # fmt: skip
        known, unknown = (re.search(rf"<code>{name}</code>.*?</li>", unpriced, re.S).group(0)
                          for name in ("mistral-large", "mystery-model"))  # fmt: skip
        assert "in the catalogue, but with no price" in known
        assert "in the catalogue" not in unknown

    def test_the_coe_is_pointed_at_the_catalogue(self, client_for, coe_staff, workload) -> None:
        send(workload, at=timezone.now() - timedelta(hours=2), n=2, model="mystery-model")
        roll()
        text = _text(client_for(coe_staff).get(_tab(workload)))
        assert "Add them to the <a" in text

    def test_unpriced_models_older_than_a_week_are_not_listed(self, client_for, team_member, workload) -> None:
        send_day(workload, ago(9), n=2, model="old-mystery")
        roll()
        text = _text(client_for(team_member).get(_tab(workload)))
        assert 'id="unpriced-models"' not in text


# --- Alerts -----------------------------------------------------------------------------------------


class TestAlerts:
    def test_open_alerts_show_severity_detail_and_resolve(self, client_for, team_member, workload, alert) -> None:
        critical = alert_raise(workload=workload, kind=Alert.Kind.ROLLBACK, key="rollback:2.0.0", notify=False,
                               title="Release 2.0.0 is worse", severity=Alert.Severity.CRITICAL)  # fmt: skip
        text = _text(client_for(team_member).get(_tab(workload)))
        table = re.search(r'<table class="table" id="open-alerts">(.*?)</table>', text, re.S).group(1)
        assert table.index(critical.title) < table.index(alert.title)  # critical first
        assert '<span class="status status--bad">Critical</span>' in table
        assert '<span class="status status--warn">Warning</span>' in table
        assert "85.00 USD spent against a budget of 100.00." in table
        assert _url("alert-resolve", workload, alert.pk) in table
        assert "2 open" in text

    def test_resolving_with_htmx_swaps_the_alerts(self, client_for, team_member, workload, alert) -> None:
        response = client_for(team_member).post(_url("alert-resolve", workload, alert.pk), headers=HTMX)
        text = _text(response)
        assert text.strip().startswith('<section id="telemetry-alerts"')
        assert f"Alert resolved: {alert.title}." in text
        assert 'id="no-open-alerts"' in text
        assert "Resolved in the last 30 days (1)" in text
        assert "by Tina Member" in text
        alert.refresh_from_db()
        assert alert.resolved_by == team_member
        assert alert.resolved_at is not None

    def test_resolving_without_htmx_comes_back_to_the_tab(self, client_for, coe_staff, workload, alert) -> None:
        response = client_for(coe_staff).post(_url("alert-resolve", workload, alert.pk))
        assert response.status_code == 302
        assert response["Location"] == _tab(workload) + "#telemetry-alerts"
        assert _messages(response) == [f"Alert resolved: {alert.title}."]

    def test_an_alert_of_another_workload_is_404(self, client_for, team_member, workload, other_workload) -> None:
        theirs = alert_raise(workload=other_workload, kind=Alert.Kind.BUDGET, key="b", title="Theirs", notify=False)
        response = client_for(team_member).post(_url("alert-resolve", workload, theirs.pk))
        assert response.status_code == 404
        theirs.refresh_from_db()
        assert theirs.is_open

    def test_leadership_reads_alerts_but_cannot_resolve(self, client_for, leader, workload, alert) -> None:
        text = _text(client_for(leader).get(_tab(workload)))
        assert alert.title in text
        assert _url("alert-resolve", workload, alert.pk) not in text
        assert client_for(leader).post(_url("alert-resolve", workload, alert.pk)).status_code == 403


# --- Ingestion keys -------------------------------------------------------------------------------


class TestKeys:
    def test_a_new_key_is_shown_once(self, client_for, team_member, workload) -> None:
        client = client_for(team_member)
        response = client.post(_url("key-create", workload), {"name": "staging app"}, headers=HTMX)
        text = _text(response)
        assert text.strip().startswith('<section id="telemetry-keys"')
        raw = re.search(r'id="new-key-value" value="(coei_[^"]+)"|value="(coei_[^"]+)"', text)
        raw_key = raw.group(1) or raw.group(2)
        key = IngestionKey.objects.get(workload=workload, name="staging app")
        assert key.digest == IngestionKey.digest_of(raw_key)
        assert raw_key.startswith(key.hint)
        assert "Copy it now: it will not be shown again." in text
        assert f'export COE_INGESTION_KEY="{raw_key}"' in text  # the snippet, ready to use
        assert 'id="key-form"' in text
        assert 'value="staging app"' not in text  # a blank form for the next one
        # Never again: not on the page, not in the audit trail.
        assert raw_key not in _text(client.get(_tab(workload)))
        assert f"{key.hint}…" in _text(client.get(_tab(workload)))
        event = AuditEvent.objects.get(action="ingestion_key.create")
        assert raw_key not in json.dumps(event.changes)

    def test_without_htmx_the_page_shows_the_new_key(self, client_for, team_member, workload) -> None:
        response = client_for(team_member).post(_url("key-create", workload), {"name": "staging app"})
        text = _text(response)
        assert response.status_code == 200
        assert "<html" in text
        assert 'data-testid="new-key"' in text

    def test_a_refused_name_stays_with_the_error_beside_it(self, client_for, team_member, workload, key_pair) -> None:
        response = client_for(team_member).post(_url("key-create", workload), {"name": "prod collector"}, headers=HTMX)
        text = _text(response)
        field = re.search(r'<div class="field field--error">(.*?)</div>', text, re.S).group(1)
        assert 'value="prod collector"' in field
        assert "Already in use by an active key." in field
        assert 'data-testid="new-key"' not in text
        assert IngestionKey.objects.filter(workload=workload).count() == 1

    def test_a_name_is_required(self, client_for, team_member, workload) -> None:
        text = _text(client_for(team_member).post(_url("key-create", workload), {"name": " "}, headers=HTMX))
        assert "Name the key." in text
        assert not IngestionKey.objects.filter(workload=workload).exists()

    def test_revoking_with_htmx(self, client_for, team_member, workload, key_pair) -> None:
        key, raw = key_pair
        response = client_for(team_member).post(_url("key-revoke", workload, key.pk), headers=HTMX)
        text = _text(response)
        assert "Key “prod collector” is revoked" in text
        assert '<span class="status status--off">Revoked</span>' in text
        assert _url("key-revoke", workload, key.pk) not in text  # nothing more to revoke
        assert services.key_authenticate(raw=raw) is None

    def test_the_coe_may_revoke_but_not_create(self, client_for, coe_staff, workload, key_pair) -> None:
        key, _ = key_pair
        client = client_for(coe_staff)
        text = _text(client.get(_tab(workload)))
        assert _url("key-revoke", workload, key.pk) in text
        assert 'id="key-form"' not in text
        assert client.post(_url("key-create", workload), {"name": "coe key"}).status_code == 403
        response = client.post(_url("key-revoke", workload, key.pk))
        assert response.status_code == 302
        assert _messages(response) == ["Key “prod collector” is revoked: senders using it are now refused."]

    def test_a_key_of_another_workload_is_404(
        self, client_for, team_member, workload, other_workload, other_team_member
    ) -> None:
        theirs, _ = services.key_create(workload=other_workload, name="theirs", actor=other_team_member)
        assert client_for(team_member).post(_url("key-revoke", workload, theirs.pk)).status_code == 404
        theirs.refresh_from_db()
        assert theirs.is_active

    def test_the_table_shows_use(self, client_for, team_member, workload, raw_key, key_pair) -> None:
        services.key_used(key=key_pair[0], accepted=1234, dropped=5)
        text = _text(client_for(team_member).get(_tab(workload)))
        row = re.search(r'<tr id="key-\d+">(.*?)</tr>', text, re.S).group(1)
        assert "prod collector" in row
        assert "1,234" in row
        assert "not GenAI calls" in row
        assert "by Tina Member" in row


# --- Pull sources -----------------------------------------------------------------------------------


class TestSources:
    def test_adding_a_source_with_htmx(self, client_for, team_member, workload) -> None:
        data = {"name": "gateway logs", "url": "https://gateway.example.com/telemetry", "interval_minutes": "10",
                "auth_header": "Bearer s3cret-gateway-token"}  # fmt: skip
        text = _text(client_for(team_member).post(_url("source-create", workload), data, headers=HTMX))
        assert text.strip().startswith('<section id="telemetry-sources"')
        assert "Pull source “gateway logs” added" in text
        source = PullSource.objects.get(workload=workload)
        assert (source.url, source.interval_minutes, source.auth_header()) == (data["url"], 10, data["auth_header"])
        assert "s3cret-gateway-token" not in text  # write-only
        assert "sends an Authorization header" in text
        assert "Not fetched yet" in text

    def test_the_source_table_shows_health(self, client_for, team_member, workload, source) -> None:
        now = timezone.now()
        PullSource.objects.filter(pk=source.pk).update(
            consecutive_failures=2, last_error="HTTP 502 from the endpoint", last_error_at=now,
            last_success_at=now - timedelta(hours=1), events_pulled=4321, cursor="page-42",
        )  # fmt: skip
        text = _text(client_for(team_member).get(_tab(workload)))
        row = re.search(rf'<tr id="source-{source.pk}">(.*?)</tr>', text, re.S).group(1)
        assert "Failing" in row
        assert "2 times in a row" in row
        assert "HTTP 502 from the endpoint" in row
        assert "4,321" in row
        assert "page-42" in row
        assert "s3cret-gateway-token" not in text
        assert "next_cursor" in text  # the contract is explained

    def test_a_query_string_is_not_shown(self, client_for, leader, workload, team_member) -> None:
        services.source_create(workload=workload, name="with token", actor=team_member,
                               url="https://gateway.example.com/t?token=s3cret-in-url")  # fmt: skip
        text = _text(client_for(leader).get(_tab(workload)))
        assert "https://gateway.example.com/t (query hidden)" in text
        assert "s3cret-in-url" not in text

    def test_a_refused_source_keeps_its_input(self, client_for, team_member, workload, settings) -> None:
        settings.TELEMETRY_PULL_ALLOW_HTTP = False
        data = {"name": "plain", "url": "http://gateway.example.com/t", "interval_minutes": "0", "auth_header": "x"}
        text = _text(client_for(team_member).post(_url("source-create", workload), data, headers=HTMX))
        assert 'value="plain"' in text
        assert 'value="http://gateway.example.com/t"' in text
        url_field = re.search(r'<div class="field field--error">\s*<label for="source-url">(.*?)</div>', text, re.S)
        assert "Plain http is not allowed here; use https." in url_field.group(1)
        assert "give the header again" in text
        assert not PullSource.objects.exists()

    def test_a_bad_interval_is_refused_beside_the_field(self, client_for, team_member, workload) -> None:
        data = {"name": "slow", "url": "https://gateway.example.com/t", "interval_minutes": "5000"}
        text = _text(client_for(team_member).post(_url("source-create", workload), data, headers=HTMX))
        field = re.search(r'<label for="source-interval_minutes">(.*?)</div>', text, re.S).group(1)
        assert "Between 1 and 1440 minutes." in field
        assert 'value="5000"' in field

    def test_a_duplicate_name_is_refused_beside_the_field(self, client_for, team_member, workload, source) -> None:
        data = {"name": "gateway logs", "url": "https://other.example.com/t", "interval_minutes": "5"}
        text = _text(client_for(team_member).post(_url("source-create", workload), data))
        assert "<html" in text  # without htmx, the whole page with the form
        field = re.search(r'<label for="source-name">(.*?)</div>', text, re.S).group(1)
        assert "Already used by another source." in field

    def test_pausing_and_resuming(self, client_for, team_member, workload, source) -> None:
        client = client_for(team_member)
        text = _text(client.post(_url("source-toggle", workload, source.pk), {"enabled": "false"}, headers=HTMX))
        assert "Pull source “gateway logs” paused." in text
        assert '<span class="status status--off">Paused</span>' in text
        source.refresh_from_db()
        assert not source.enabled
        PullSource.objects.filter(pk=source.pk).update(consecutive_failures=4)
        text = _text(client.post(_url("source-toggle", workload, source.pk), {"enabled": "true"}, headers=HTMX))
        assert "resumed" in text
        source.refresh_from_db()
        assert source.enabled
        assert source.consecutive_failures == 0

    def test_a_toggle_without_a_choice_changes_nothing(self, client_for, team_member, workload, source) -> None:
        response = client_for(team_member).post(_url("source-toggle", workload, source.pk), {"enabled": "maybe"})
        assert response.status_code == 302
        assert _messages(response) == ["Choose to pause or resume the source. Nothing changed."]
        source.refresh_from_db()
        assert source.enabled

    def test_deleting(self, client_for, coe_staff, workload, source) -> None:
        response = client_for(coe_staff).post(_url("source-delete", workload, source.pk))
        assert response.status_code == 302
        assert response["Location"] == _tab(workload) + "#telemetry-sources"
        assert _messages(response) == ["Pull source “gateway logs” deleted. The events it brought stay."]
        assert not PullSource.objects.exists()

    def test_a_source_of_another_workload_is_404(
        self, client_for, team_member, workload, other_workload, other_team_member
    ) -> None:
        theirs = services.source_create(workload=other_workload, name="theirs", url="https://x.example.com/t",
                                        actor=other_team_member)  # fmt: skip
        client = client_for(team_member)
        assert client.post(_url("source-toggle", workload, theirs.pk), {"enabled": "false"}).status_code == 404
        assert client.post(_url("source-delete", workload, theirs.pk)).status_code == 404
        assert PullSource.objects.get(pk=theirs.pk).enabled

    def test_the_coe_may_pause_but_not_add(self, client_for, coe_staff, workload, source) -> None:
        text = _text(client_for(coe_staff).get(_tab(workload)))
        assert _url("source-toggle", workload, source.pk) in text
        assert 'id="source-form"' not in text


# --- Scoring on demand, who sees which buttons, retired workloads ------------------------------------


class TestScoreNow:
    def test_it_asks_the_workers_and_says_when(
        self, client_for, team_member, workload, django_capture_on_commit_callbacks
    ) -> None:
        send(workload, at=timezone.now() - timedelta(minutes=30), n=5, spread_seconds=60)
        with django_capture_on_commit_callbacks(execute=False) as callbacks:
            response = client_for(team_member).post(_url("score-now", workload))
        assert len(callbacks) == 1  # the task is enqueued once the request commits
        assert response.status_code == 302
        assert response["Location"] == _tab(workload)
        assert "appear in a minute or so" in _messages(response)[0]
        # What the worker then does: roll up, score today; the tab shows it.
        tasks.score_now_task.apply(kwargs={"workload_id": workload.pk})
        text = _text(client_for(team_member).get(_tab(workload)))
        assert _kpi(text, "requests") == "5 Requests 0 errors"

    def test_with_htmx_the_page_reloads_to_show_the_message(
        self, client_for, coe_staff, workload, django_capture_on_commit_callbacks
    ) -> None:
        with django_capture_on_commit_callbacks(execute=False):
            response = client_for(coe_staff).post(_url("score-now", workload), headers=HTMX)
        assert response["HX-Redirect"] == _tab(workload)


class TestWhoSeesWhat:
    def test_the_team_gets_every_action(self, client_for, team_member, workload, key_pair, source, alert) -> None:
        text = _text(client_for(team_member).get(_tab(workload)))
        for url in (_url("score-now", workload), _url("key-create", workload), _url("source-create", workload),
                    _url("key-revoke", workload, key_pair[0].pk), _url("source-toggle", workload, source.pk),
                    _url("source-delete", workload, source.pk), _url("alert-resolve", workload, alert.pk)):  # fmt: skip
            assert url in text

    def test_leadership_reads_everything_and_changes_nothing(
        self, client_for, leader, workload, key_pair, source, alert
    ) -> None:
        text = _text(client_for(leader).get(_tab(workload)))
        for shown in ("prod collector", "gateway logs", alert.title):
            assert shown in text
        assert 'method="post"' not in text.split('id="tab-panel"')[1]


class TestRetired:
    def test_a_retired_workload_offers_no_create_forms(
        self, client_for, team_member, key_pair, source, retired
    ) -> None:
        text = _text(client_for(team_member).get(_tab(retired)))
        assert 'id="key-form"' not in text
        assert 'id="source-form"' not in text
        assert 'id="score-now"' not in text
        # Revoking and pausing still work: they stop telemetry.
        assert _url("key-revoke", retired, key_pair[0].pk) in text
        assert _url("source-toggle", retired, source.pk) in text

    def test_posting_a_key_anyway_is_refused(self, client_for, team_member, retired) -> None:
        response = client_for(team_member).post(_url("key-create", retired), {"name": "late"})
        assert response.status_code == 302
        assert _messages(response) == ["“Claims Assistant” is retired: it takes no new telemetry. Nothing changed."]
        assert not IngestionKey.objects.filter(workload=retired).exists()

    def test_posting_a_source_anyway_is_refused(self, client_for, team_member, retired) -> None:
        data = {"name": "late", "url": "https://x.example.com/t", "interval_minutes": "5"}
        response = client_for(team_member).post(_url("source-create", retired), data, headers=HTMX)
        assert response["HX-Redirect"] == _tab(retired)
        assert not PullSource.objects.filter(workload=retired).exists()


def test_money_is_in_the_workload_currency(client_for, team_member, workload) -> None:
    Workload.objects.filter(pk=workload.pk).update(currency="EUR", fixed_monthly_run_cost=Decimal("300"))
    scored(workload, range(2, 0, -1), n=20)
    text = _text(client_for(team_member).get(_tab(workload)))
    assert " EUR" in _kpi(text, "cost")
    assert "+ fixed" in _kpi(text, "cost")
    assert "Cost (EUR)" in text

from __future__ import annotations

import json
from datetime import timedelta

import pytest
from django.test import Client, override_settings
from django.urls import reverse
from django.utils import timezone

from apps.core import services
from apps.core.models import Heartbeat, Notification

pytestmark = pytest.mark.django_db


class TestErrorPages:
    def test_unknown_url_shows_the_friendly_404_page(self, client_for, team_member) -> None:
        response = client_for(team_member).get("/no-such-page/")
        assert response.status_code == 404
        assert b"Page not found" in response.content
        assert b"Go to the home page" in response.content

    def test_unknown_api_url_answers_json(self, client_for, team_member) -> None:
        response = client_for(team_member).get("/api/v1/no-such-thing/")
        assert response.status_code == 404
        assert response.json() == {"detail": "There is nothing at this address."}

    @override_settings(ROOT_URLCONF="tests.core.urls_errors")
    def test_denied_page_shows_the_friendly_403_page(self, client_for, team_member) -> None:
        response = client_for(team_member).get("/forbidden/")
        assert response.status_code == 403
        assert b"Not allowed" in response.content

    @override_settings(ROOT_URLCONF="tests.core.urls_errors")
    def test_server_error_shows_the_friendly_500_page(self, team_member) -> None:
        client = Client(raise_request_exception=False)
        client.force_login(team_member)
        response = client.get("/boom/")
        assert response.status_code == 500
        assert b"Something went wrong on our side" in response.content

    @override_settings(ROOT_URLCONF="tests.core.urls_errors")
    def test_api_server_error_answers_json(self) -> None:
        client = Client(raise_request_exception=False)
        response = client.get("/api/v1/boom/")
        assert response.status_code == 500
        assert response.json()["detail"].startswith("Server error")

    @override_settings(ROOT_URLCONF="tests.core.urls_errors")
    def test_application_error_in_a_page_shows_its_message(self, client_for, team_member) -> None:
        response = client_for(team_member).get("/refused/")
        assert response.status_code == 409
        assert b"The model is prohibited for confidential data." in response.content

    @override_settings(ROOT_URLCONF="tests.core.urls_errors")
    def test_application_error_in_an_htmx_request_goes_to_the_message_area(self, client_for, team_member) -> None:
        response = client_for(team_member).get("/refused/", headers={"HX-Request": "true"})
        assert response.status_code == 200
        assert response["HX-Retarget"] == "#messages"
        assert b"The model is prohibited" in response.content


class TestHealth:
    def test_healthy_when_database_broker_and_a_recent_heartbeat(self, client: Client) -> None:
        services.heartbeat_record(name="worker")
        response = client.get(reverse("core:healthz"))
        assert response.status_code == 200
        body = response.json()
        assert body["status"] == "ok"
        assert {name for name, check in body["checks"].items() if check["ok"]} == {"database", "broker", "worker"}

    def test_unhealthy_without_a_worker_heartbeat(self, client: Client) -> None:
        response = client.get(reverse("core:healthz"))
        assert response.status_code == 503
        assert response.json()["checks"]["worker"] == {
            "ok": False,
            "detail": "no worker heartbeat yet",
            "last_seen": None,
        }

    def test_unhealthy_when_the_heartbeat_is_stale(self, client: Client) -> None:
        Heartbeat.objects.create(name="worker", seen_at=timezone.now() - timedelta(minutes=10))
        response = client.get(reverse("core:healthz"))
        assert response.status_code == 503
        assert "last heartbeat" in response.json()["checks"]["worker"]["detail"]

    def test_unhealthy_when_the_broker_is_unreachable(self, client: Client, settings, tmp_path) -> None:
        services.heartbeat_record(name="worker")
        if settings.CELERY_BROKER_URL.startswith("filesystem://"):
            settings.CELERY_BROKER_TRANSPORT_OPTIONS = {
                **settings.CELERY_BROKER_TRANSPORT_OPTIONS,
                "data_folder_in": str(tmp_path / "missing"),
            }
        else:
            from coe_portal.celery import app

            app.conf.broker_url, saved = "redis://127.0.0.1:1/0", app.conf.broker_url
            app.pool.force_close_all()
        try:
            response = client.get(reverse("core:healthz"))
        finally:
            if not settings.CELERY_BROKER_URL.startswith("filesystem://"):
                app.conf.broker_url = saved
                app.pool.force_close_all()
        assert response.status_code == 503
        assert response.json()["checks"]["broker"]["ok"] is False


class TestNotifications:
    def test_list_shows_own_notifications_only(self, client_for, team_member, other_team_member) -> None:
        services.notification_send(recipients=[team_member], title="Policy v2 published")
        services.notification_send(recipients=[other_team_member], title="Not for Tina")
        response = client_for(team_member).get(reverse("core:notification-list"))
        assert b"Policy v2 published" in response.content
        assert b"Not for Tina" not in response.content

    def test_htmx_list_request_gets_only_the_table_partial(self, client_for, team_member) -> None:
        services.notification_send(recipients=[team_member], title="Hello")
        response = client_for(team_member).get(reverse("core:notification-list"), headers={"HX-Request": "true"})
        assert response.content.strip().startswith(b'<div id="notification-table"')
        assert b"<html" not in response.content

    def test_mark_one_read_leaves_the_others(self, client_for, team_member) -> None:
        first, second = services.notification_send(recipients=[team_member], title="A") + services.notification_send(
            recipients=[team_member], title="B"
        )
        response = client_for(team_member).post(reverse("core:notification-mark-read"), {"id": first.pk})
        assert response.status_code == 302
        assert Notification.objects.get(pk=first.pk).is_read
        assert not Notification.objects.get(pk=second.pk).is_read

    def test_htmx_mark_all_read_answers_204_and_triggers_refresh(self, client_for, team_member) -> None:
        services.notification_send(recipients=[team_member], title="A")
        response = client_for(team_member).post(reverse("core:notification-mark-read"), headers={"HX-Request": "true"})
        assert response.status_code == 204
        assert "notifications-changed" in json.loads(response["HX-Trigger"])
        assert not Notification.objects.filter(recipient=team_member, read_at__isnull=True).exists()

    def test_cannot_mark_someone_elses_notification_read(self, client_for, team_member, other_team_member) -> None:
        (theirs,) = services.notification_send(recipients=[other_team_member], title="Theirs")
        client_for(team_member).post(reverse("core:notification-mark-read"), {"id": theirs.pk})
        theirs.refresh_from_db()
        assert not theirs.is_read

    def test_header_badge_counts_unread(self, client_for, team_member) -> None:
        services.notification_send(recipients=[team_member], title="A")
        services.notification_send(recipients=[team_member], title="B")
        response = client_for(team_member).get(reverse("core:notification-badge"))
        assert b'data-unread="2"' in response.content


class TestSections:
    def test_unknown_section_is_404(self, client_for, team_member) -> None:
        assert client_for(team_member).get("/section/nothing/").status_code == 404

    @pytest.mark.parametrize(
        ("section", "url"),
        [("registry", "/registry/"), ("policies", "/governance/"), ("templates", "/library/"),
         ("feedback", "/feedback/"), ("dashboards", "/dashboards/")],
    )  # fmt: skip
    def test_a_built_section_leads_to_its_page(self, client_for, team_member, section, url) -> None:
        response = client_for(team_member).get(f"/section/{section}/")
        assert response.status_code == 302
        assert response["Location"].startswith(url)

    def test_security_headers_on_pages(self, client_for, team_member) -> None:
        response = client_for(team_member).get(reverse("core:home"))
        csp = response["Content-Security-Policy"]
        assert "script-src 'self'" in csp
        assert "unsafe-eval" not in csp
        assert response["X-Frame-Options"] == "DENY"
        assert response["Referrer-Policy"] == "same-origin"
        assert response["Cross-Origin-Opener-Policy"] == "same-origin"


def test_healthz_can_be_narrowed_to_the_web_process_checks(client: Client) -> None:
    response = client.get(reverse("core:healthz"), {"only": "database,broker"})
    assert response.status_code == 200
    assert set(response.json()["checks"]) == {"database", "broker"}


def test_mark_read_ignores_ids_that_are_not_plain_numbers(client_for, team_member) -> None:
    (note,) = services.notification_send(recipients=[team_member], title="A")
    response = client_for(team_member).post(reverse("core:notification-mark-read"), {"id": ["²", "x", str(note.pk)]})
    assert response.status_code == 302
    note.refresh_from_db()
    assert note.is_read

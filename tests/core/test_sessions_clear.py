"""The nightly task that deletes expired sessions' rows (``clearsessions``)."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.conf import settings
from django.contrib.sessions.models import Session
from django.utils import timezone

from apps.core.tasks import sessions_clear_task

pytestmark = pytest.mark.django_db


def test_the_nightly_task_deletes_expired_sessions_only(client, team_member) -> None:  # type: ignore[no-untyped-def]
    client.force_login(team_member)  # a live session
    live = Session.objects.get()
    Session.objects.create(session_key="x" * 32, session_data="", expire_date=timezone.now() - timedelta(seconds=1))
    sessions_clear_task()
    assert list(Session.objects.values_list("session_key", flat=True)) == [live.session_key]
    assert client.get("/").status_code == 200  # still signed in
    assert client.get("/").wsgi_request.user == team_member


def test_beat_runs_it_every_night() -> None:
    entry = settings.CELERY_BEAT_SCHEDULE["sessions-clear"]
    assert entry["task"] == sessions_clear_task.name
    assert entry["schedule"].hour == {3}

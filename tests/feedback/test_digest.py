"""The digest: the right items, once per period, in text and HTML, and never for those who opted out."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from django.core import mail

from apps.feedback import digest, services
from apps.feedback.models import DigestSent

pytestmark = pytest.mark.django_db

MONDAY = datetime(2026, 11, 23, 8, 0, tzinfo=UTC)


def test_periods_are_calendar_weeks_and_days():
    assert digest.period_before(MONDAY, "weekly") == (
        datetime(2026, 11, 16, tzinfo=UTC),
        datetime(2026, 11, 23, tzinfo=UTC),
    )
    assert digest.period_before(MONDAY, "daily") == (
        datetime(2026, 11, 22, tzinfo=UTC),
        datetime(2026, 11, 23, tzinfo=UTC),
    )


@pytest.fixture
def lesson_last_week(coe_staff, team_member):  # type: ignore[no-untyped-def]
    lesson = services.lesson_create(actor=coe_staff, title="Ten-minute runbooks", summary="Keep them short.",
                                    body="We learned.", audience="everyone")  # fmt: skip
    services.lesson_publish(actor=coe_staff, lesson=lesson)
    from apps.feedback.models import LessonDelivery

    LessonDelivery.objects.update(delivered_at=MONDAY - timedelta(days=3))
    return lesson


def test_the_weekly_digest_carries_the_lesson_exactly_once(team_member, coe_staff, lesson_last_week, settings):
    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    team_member.email, coe_staff.email = "tina@example.org", "cora@example.org"
    team_member.save()
    coe_staff.save()
    sent = digest.digests_send_due(now=MONDAY)
    again = digest.digests_send_due(now=MONDAY + timedelta(hours=1))
    assert sent == 2
    assert again == 0
    to_tina = [m for m in mail.outbox if m.to == ["tina@example.org"]]
    assert len(to_tina) == 1
    message = to_tina[0]
    assert message.body.count("Ten-minute runbooks") == 1
    html = message.alternatives[0][0]
    assert html.count("Ten-minute runbooks") == 1
    assert "/feedback/lessons/ten-minute-runbooks/" in message.body
    assert DigestSent.objects.filter(user=team_member, items=1).count() == 1


def test_opted_out_and_empty_digests_send_nothing(team_member, coe_staff, lesson_last_week, settings):
    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    team_member.email, coe_staff.email = "tina@example.org", "cora@example.org"
    team_member.save()
    coe_staff.save()
    digest.preference_set(user=team_member, frequency="never")
    assert digest.digests_send_due(now=MONDAY) == 1
    assert [m.to for m in mail.outbox] == [["cora@example.org"]]
    mail.outbox.clear()
    assert digest.digests_send_due(now=MONDAY + timedelta(days=7)) == 0  # nothing new that week
    assert mail.outbox == []


def test_replies_in_my_threads_are_in_my_digest(team_member, coe_staff, settings):
    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    team_member.email = "tina@example.org"
    team_member.save()
    thread = services.thread_open(actor=team_member, title="How do we cache prompts?", body="?")
    services.post_add(actor=coe_staff, thread=thread, body="Like so.")
    from apps.feedback.models import Post

    Post.objects.update(created_at=MONDAY - timedelta(days=2))
    digest.digests_send_due(now=MONDAY)
    (message,) = [m for m in mail.outbox if m.to == ["tina@example.org"]]
    assert "How do we cache prompts?" in message.body
    assert "cora" in message.body.lower() or coe_staff.display_name in message.body

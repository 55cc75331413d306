"""Feedback's demo data (``manage.py seed_demo``): idempotent, lively, dated like a working CoE's."""

from __future__ import annotations

from datetime import timedelta
from io import StringIO

import pytest
from django.core.management import call_command
from django.utils import timezone

from apps.core.models import AuditEvent, Notification
from apps.feedback import selectors
from apps.feedback.models import Lesson, LessonDelivery, Post, Subject, Thread

pytestmark = pytest.mark.django_db

MODELS = (Thread, Post, Lesson, LessonDelivery, Notification, AuditEvent)


def _seed() -> None:
    call_command("seed_demo", stdout=StringIO())


@pytest.fixture
def seeded(db: None) -> None:
    _seed()


def test_seeding_twice_creates_nothing_new(db: None) -> None:
    _seed()
    first = {model.__name__: model.objects.count() for model in MODELS}
    _seed()
    assert {model.__name__: model.objects.count() for model in MODELS} == first
    assert first["Thread"] >= 10


def test_threads_cover_every_status_kind_and_subject(seeded: None) -> None:
    assert set(Thread.objects.values_list("status", flat=True)) == set(Thread.Status.values)
    assert set(Thread.objects.values_list("kind", flat=True)) == set(Thread.Kind.values)
    assert set(Thread.objects.values_list("subject", flat=True)) == set(Subject.values)
    # The triage queue has new threads, one of them waiting for days.
    new = Thread.objects.filter(status=Thread.Status.NEW)
    assert new.count() >= 2
    assert new.filter(created_at__lt=timezone.now() - timedelta(days=2)).exists()
    assert all(thread.first_response_at is None for thread in new)
    # Addressed threads name the version that addressed them, where there is one.
    addressed = Thread.objects.filter(status=Thread.Status.ADDRESSED)
    assert addressed.filter(addressed_template_version__isnull=False).count() >= 2
    declined = Thread.objects.get(status=Thread.Status.DECLINED)
    assert declined.posts.filter(status_to=Thread.Status.DECLINED).exclude(body="").exists()
    # A moderated post is kept, shown as hidden, with its reason.
    hidden = Post.objects.get(hidden_at__isnull=False)
    assert hidden.hidden_reason
    assert hidden.hidden_by.username == "coe"


def test_everything_carries_its_demo_date(seeded: None) -> None:
    for thread in Thread.objects.all():
        posts = list(thread.posts.order_by("pk").values_list("created_at", flat=True))
        assert posts[0] == thread.created_at
        assert posts == sorted(posts), thread
        assert thread.last_activity_at == posts[-1]
        if thread.first_response_at:
            assert thread.created_at < thread.first_response_at <= thread.last_activity_at
        if thread.closed_at:
            assert thread.status in (Thread.Status.ADDRESSED, Thread.Status.DECLINED)
    times = selectors.response_times()
    assert times.threads == Thread.objects.count()
    assert 1 <= times.median_first_response_hours <= 24
    assert times.median_time_to_addressed_hours >= times.median_first_response_hours
    rated = [row for row in selectors.per_guidance_item() if row["ratings"]]
    assert rated
    assert all(1 <= row["average_rating"] <= 5 for row in rated)
    # Old notifications are read; the last days' are waiting in the inboxes.
    old = Notification.objects.filter(created_at__lt=timezone.now() - timedelta(days=3), title__contains="Lesson")
    assert old.exists()
    assert not old.filter(read_at__isnull=True).exists()
    assert Notification.objects.filter(recipient__username="coe", read_at__isnull=True, title__startswith="New ")


def test_two_lessons_are_published_and_one_is_a_draft(seeded: None) -> None:
    published = Lesson.objects.filter(published_at__isnull=False)
    assert published.count() == 2
    for lesson in published:
        assert lesson.threads.exists()
        assert lesson.deliveries.exists()
        assert lesson.published_at < timezone.now() - timedelta(days=3)
    everyone = published.get(audience=Lesson.Audience.EVERYONE)
    assert everyone.deliveries.count() >= 9  # every demo user
    assert Lesson.objects.filter(published_at__isnull=True).count() == 1

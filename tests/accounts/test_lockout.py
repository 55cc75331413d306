"""Lockout after repeated sign-in failures (django-axes), without telling anyone whether an
account exists: the answers for a real user and a made-up name are the same, byte for byte
once the per-response CSRF token and the typed name are set aside."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from axes.models import AccessAttempt
from axes.utils import reset
from django.conf import settings
from django.test import Client
from django.urls import reverse

from apps.accounts.models import User
from tests.factories import PASSWORD, UserFactory

pytestmark = pytest.mark.django_db

KNOWN = "known.person.k7"
UNKNOWN = "ghost.person.k7"  # the same length: nothing in the page's size tells them apart
ADDRESS = "10.20.30.40"
WRONG = "wrong-password-1"
CSRF_TOKEN = re.compile(r"[A-Za-z0-9]{64}")


@pytest.fixture
def known(db: None) -> User:
    return UserFactory(username=KNOWN)


def attempt(username: str, password: str = WRONG, address: str = ADDRESS) -> tuple[int, str]:
    """One sign-in from ``address``: the status and the page with what differs per request taken out."""
    client = Client(REMOTE_ADDR=address)
    response = client.post(reverse("accounts:login"), {"username": username, "password": password})
    body = CSRF_TOKEN.sub("<csrf>", response.content.decode()).replace(username, "<username>")
    return response.status_code, body


def signs_in(username: str, password: str, address: str = ADDRESS) -> bool:
    client = Client(REMOTE_ADDR=address)
    client.post(reverse("accounts:login"), {"username": username, "password": password})
    return "_auth_user_id" in client.session


class TestSameAnswer:
    def test_wrong_password_and_unknown_user_answer_alike_before_and_after_the_limit(self, known: User) -> None:
        limit = settings.AXES_FAILURE_LIMIT
        known_answers = [attempt(KNOWN) for _ in range(limit + 2)]
        unknown_answers = [attempt(UNKNOWN) for _ in range(limit + 2)]
        assert known_answers == unknown_answers
        statuses = [status for status, _ in known_answers]
        assert statuses == [200] * (limit - 1) + [429] * 3
        assert "did not match" in known_answers[0][1]
        assert "Too many sign-in attempts" in known_answers[-1][1]

    def test_an_inactive_account_answers_like_an_unknown_one(self, known: User) -> None:
        User.objects.filter(pk=known.pk).update(is_active=False)
        assert attempt(KNOWN, PASSWORD) == attempt(UNKNOWN, PASSWORD)

    def test_the_lockout_page_does_not_tell_whether_the_account_exists(self, known: User) -> None:
        for _ in range(settings.AXES_FAILURE_LIMIT):
            attempt(KNOWN)
            attempt(UNKNOWN)
        client = Client(REMOTE_ADDR=ADDRESS)
        page = client.post(reverse("accounts:login"), {"username": KNOWN, "password": "x"}).content.decode()
        assert "Too many sign-in attempts" in page
        assert KNOWN not in page
        lowered = page.lower()
        for telling in ("does not exist", "no such", "unknown user", "not found", "disabled", "inactive"):
            assert telling not in lowered

    def test_an_unknown_name_leaves_the_same_trace_as_a_known_one(self, known: User) -> None:
        """Axes counts failures per name and address whether or not the name is an account."""
        attempt(KNOWN)
        attempt(UNKNOWN)
        counts = dict(AccessAttempt.objects.values_list("username", "failures_since_start"))
        assert counts == {KNOWN: 1, UNKNOWN: 1}


class TestLockout:
    def lock(self, username: str = KNOWN) -> None:
        for _ in range(settings.AXES_FAILURE_LIMIT):
            attempt(username)

    def test_the_right_password_is_refused_while_locked(self, known: User, password: str) -> None:
        self.lock()
        status, body = attempt(KNOWN, password)
        assert status == 429
        assert "Too many sign-in attempts" in body
        assert not signs_in(KNOWN, password)

    def test_the_lock_is_per_address(self, known: User, password: str) -> None:
        self.lock()
        assert signs_in(KNOWN, password, address="10.99.99.99")

    def test_the_lock_ends_after_the_cool_off(self, known: User, password: str) -> None:
        self.lock()
        assert not signs_in(KNOWN, password)
        # The cool-off passes: the failures are now older than AXES_COOLOFF_TIME.
        AccessAttempt.objects.update(
            attempt_time=AccessAttempt.objects.get().attempt_time - settings.AXES_COOLOFF_TIME - timedelta(seconds=1)
        )
        assert signs_in(KNOWN, password)
        # A success clears the failures (AXES_RESET_ON_SUCCESS).
        assert not AccessAttempt.objects.filter(username=KNOWN).exists()

    def test_just_inside_the_cool_off_it_is_still_locked(self, known: User, password: str) -> None:
        self.lock()
        AccessAttempt.objects.update(
            attempt_time=AccessAttempt.objects.get().attempt_time - settings.AXES_COOLOFF_TIME + timedelta(seconds=30)
        )
        assert not signs_in(KNOWN, password)

    def test_staff_can_lift_the_lock(self, known: User, password: str) -> None:
        self.lock()
        assert reset(username=KNOWN) == 1  # what `manage.py axes_reset_username` and the admin do
        assert signs_in(KNOWN, password)

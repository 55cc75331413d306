"""Sessions: a new key at sign-in, idle and absolute timeouts, sign out everywhere, and the
end of a deactivated user's sessions. All against the real session store (the database)."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import pytest
from django.conf import settings
from django.contrib.auth.base_user import AbstractBaseUser
from django.contrib.sessions.backends.db import SessionStore
from django.contrib.sessions.models import Session
from django.test import Client
from django.urls import reverse

from apps.accounts import services
from apps.accounts.middleware import LAST_SEEN, SIGNED_IN_AT
from apps.accounts.models import User
from apps.core.models import AuditEvent

pytestmark = pytest.mark.django_db

ROOT = Path(__file__).resolve().parents[2]


def signed_in(user: User, password: str) -> Client:
    """A client signed in through the real sign-in form."""
    client = Client()
    response = client.post(reverse("accounts:login"), {"username": user.username, "password": password})
    assert response.status_code == 302
    assert response["Location"] == reverse("core:home")
    return client


def session_key(client: Client) -> str:
    return client.cookies[settings.SESSION_COOKIE_NAME].value


def edit_session(client: Client, **values: int) -> None:
    """Change the stored session as time passing would."""
    store = SessionStore(session_key(client))
    for key, value in values.items():
        store[key] = value
    store.save()


def bounced_to_sign_in(response) -> bool:  # type: ignore[no-untyped-def]
    return response.status_code == 302 and response["Location"].startswith(reverse("accounts:login"))


class TestNewSessionAtSignIn:
    def test_sign_in_rotates_the_key_and_the_old_key_is_dead(self, team_member: User, password: str) -> None:
        client = Client()
        before = client.session  # an anonymous visitor's session, or one an attacker planted
        before["probe"] = "set before sign-in"
        before.save()
        old_key = before.session_key
        client.post(reverse("accounts:login"), {"username": team_member.username, "password": password})
        new_key = session_key(client)
        assert new_key != old_key
        assert not Session.objects.filter(session_key=old_key).exists()
        assert client.get(reverse("accounts:profile")).status_code == 200
        # Whoever holds the pre-login key is not signed in.
        attacker = Client()
        attacker.cookies[settings.SESSION_COOKIE_NAME] = old_key
        assert bounced_to_sign_in(attacker.get(reverse("accounts:profile")))
        assert attacker.get("/api/v1/me/").status_code == 401

    def test_sign_in_starts_the_clocks(self, team_member: User, password: str) -> None:
        client = signed_in(team_member, password)
        store = SessionStore(session_key(client))
        assert abs(store[SIGNED_IN_AT] - time.time()) < 5
        assert store[LAST_SEEN] == store[SIGNED_IN_AT]


class TestTimeouts:
    def test_idle_session_is_ended_with_a_message(self, team_member: User, password: str) -> None:
        client = signed_in(team_member, password)
        old_key = session_key(client)
        edit_session(client, **{LAST_SEEN: int(time.time()) - settings.SESSION_IDLE_TIMEOUT - 1})
        response = client.get(reverse("accounts:team-list") + "?q=claims")
        assert bounced_to_sign_in(response)
        assert response["Location"].endswith("?next=%2Faccounts%2Fteams%2F%3Fq%3Dclaims")
        page = client.get(response["Location"])
        assert b"You were signed out after 60 minutes without activity" in page.content
        assert not Session.objects.filter(session_key=old_key).exists()
        assert bounced_to_sign_in(client.get(reverse("accounts:profile")))

    def test_absolute_limit_ends_even_an_active_session(self, team_member: User, password: str) -> None:
        client = signed_in(team_member, password)
        now = int(time.time())
        edit_session(client, **{SIGNED_IN_AT: now - settings.SESSION_ABSOLUTE_TIMEOUT - 1, LAST_SEEN: now})
        response = client.get(reverse("accounts:profile"), follow=True)
        assert response.redirect_chain[-1][0].startswith(reverse("accounts:login"))
        assert b"Your session reached its limit of 12 hours" in response.content

    def test_a_session_just_inside_both_limits_goes_on(self, team_member: User, password: str) -> None:
        client = signed_in(team_member, password)
        now = int(time.time())
        edit_session(
            client,
            **{
                SIGNED_IN_AT: now - settings.SESSION_ABSOLUTE_TIMEOUT + 30,
                LAST_SEEN: now - settings.SESSION_IDLE_TIMEOUT + 30,
            },
        )
        assert client.get(reverse("accounts:profile")).status_code == 200

    def test_expired_session_on_the_api_is_401(self, team_member: User, password: str) -> None:
        client = signed_in(team_member, password)
        assert client.get("/api/v1/me/").status_code == 200
        edit_session(client, **{LAST_SEEN: int(time.time()) - settings.SESSION_IDLE_TIMEOUT - 1})
        response = client.get("/api/v1/me/")
        assert response.status_code == 401
        assert client.get("/api/v1/me/").status_code == 401  # the session is gone, not just refused once

    def test_a_token_still_works_beside_an_expired_session(self, team_member: User, password: str) -> None:
        _, raw = services.token_create(user=team_member, name="CI")
        client = signed_in(team_member, password)
        edit_session(client, **{LAST_SEEN: int(time.time()) - settings.SESSION_IDLE_TIMEOUT - 1})
        assert client.get("/api/v1/me/", headers={"Authorization": f"Token {raw}"}).status_code == 200

    def test_htmx_request_redirects_the_whole_page(self, team_member: User, password: str) -> None:
        client = signed_in(team_member, password)
        edit_session(client, **{LAST_SEEN: int(time.time()) - settings.SESSION_IDLE_TIMEOUT - 1})
        response = client.get(reverse("accounts:team-list"), headers={"HX-Request": "true"})
        assert response["HX-Redirect"] == reverse("accounts:login")

    def test_last_seen_is_written_at_most_once_a_minute(self, team_member: User, password: str) -> None:
        client = signed_in(team_member, password)
        row = Session.objects.get(session_key=session_key(client))
        for _ in range(3):
            assert client.get(reverse("accounts:profile")).status_code == 200
        unchanged = Session.objects.get(session_key=row.session_key)
        assert (unchanged.session_data, unchanged.expire_date) == (row.session_data, row.expire_date)

        a_while_ago = int(time.time()) - 61
        edit_session(client, **{LAST_SEEN: a_while_ago})
        client.get(reverse("accounts:profile"))
        assert SessionStore(session_key(client))[LAST_SEEN] > a_while_ago

    def test_background_polls_are_not_activity(self, team_member: User, password: str) -> None:
        client = signed_in(team_member, password)
        a_while_ago = int(time.time()) - 120
        edit_session(client, **{LAST_SEEN: a_while_ago})
        badge = client.get(reverse("core:notification-badge"), headers={"HX-Request": "true"})
        assert badge.status_code == 200
        assert SessionStore(session_key(client))[LAST_SEEN] == a_while_ago

    def test_a_session_from_before_the_rules_starts_its_clocks(self, team_member: User, password: str) -> None:
        client = signed_in(team_member, password)
        store = SessionStore(session_key(client))
        del store[SIGNED_IN_AT], store[LAST_SEEN]
        store.save()
        assert client.get(reverse("accounts:profile")).status_code == 200
        assert SIGNED_IN_AT in SessionStore(session_key(client))

    @pytest.mark.parametrize(("name", "value"), [("SESSION_IDLE_TIMEOUT", "30"), ("SESSION_ABSOLUTE_TIMEOUT", "ten")])
    def test_a_bad_timeout_fails_at_start(self, name: str, value: str) -> None:
        env = {**os.environ, name: value, "DJANGO_SETTINGS_MODULE": "coe_portal.settings"}
        result = subprocess.run(
            [sys.executable, "-c", "import coe_portal.settings"], cwd=ROOT, env=env, capture_output=True, text=True
        )
        assert result.returncode != 0
        assert "ImproperlyConfigured" in result.stderr
        assert name in result.stderr


class TestSignOutEverywhere:
    def test_ends_every_browsers_session_but_not_tokens(self, team_member: User, password: str) -> None:
        _, raw = services.token_create(user=team_member, name="CI")
        laptop, phone = signed_in(team_member, password), signed_in(team_member, password)
        assert phone.get("/api/v1/me/").status_code == 200

        response = laptop.post(reverse("accounts:logout-everywhere"), follow=True)
        assert response.redirect_chain[-1][0] == reverse("accounts:login")
        assert b"You are signed out everywhere" in response.content
        assert b"personal API tokens still work" in response.content

        assert bounced_to_sign_in(laptop.get(reverse("accounts:profile")))
        assert bounced_to_sign_in(phone.get(reverse("accounts:profile")))
        assert phone.get("/api/v1/me/").status_code == 401
        assert Client().get("/api/v1/me/", headers={"Authorization": f"Token {raw}"}).status_code == 200

        event = AuditEvent.objects.get(action="user.logout_everywhere")
        assert event.actor == team_member
        assert event.target_id == str(team_member.pk)

        # Signing in again works, and only the new session is valid.
        again = signed_in(team_member, password)
        assert again.get(reverse("accounts:profile")).status_code == 200

    def test_other_users_are_not_affected(self, team_member: User, other_team_member: User, password: str) -> None:
        mine, theirs = signed_in(team_member, password), signed_in(other_team_member, password)
        mine.post(reverse("accounts:logout-everywhere"))
        assert theirs.get(reverse("accounts:profile")).status_code == 200

    def test_is_post_only(self, client_for, team_member: User) -> None:
        client = client_for(team_member)
        assert client.get(reverse("accounts:logout-everywhere")).status_code == 405
        assert client.get(reverse("accounts:profile")).status_code == 200

    def test_the_first_generation_keeps_djangos_hash(self, team_member: User) -> None:
        """Sessions signed in before this feature stay valid after the upgrade."""
        assert team_member.session_generation == 0
        assert team_member.get_session_auth_hash() == AbstractBaseUser.get_session_auth_hash(team_member)
        services.sessions_end_everywhere(user=team_member)
        assert team_member.get_session_auth_hash() != AbstractBaseUser.get_session_auth_hash(team_member)

    def test_a_rotated_secret_key_keeps_sessions_of_later_generations(self, settings, team_member: User) -> None:
        services.sessions_end_everywhere(user=team_member)
        old_hash = team_member.get_session_auth_hash()
        old_key = settings.SECRET_KEY
        settings.SECRET_KEY, settings.SECRET_KEY_FALLBACKS = "n" * 60, [old_key]
        assert team_member.get_session_auth_hash() != old_hash
        assert old_hash in list(team_member.get_session_auth_fallback_hash())


class TestDeactivatedUser:
    def test_sessions_end_at_the_next_request(self, team_member: User, password: str) -> None:
        _, raw = services.token_create(user=team_member, name="CI")
        page, api = signed_in(team_member, password), signed_in(team_member, password)
        assert api.get("/api/v1/me/").status_code == 200

        team_member.is_active = False
        team_member.save(update_fields=["is_active"])

        assert bounced_to_sign_in(page.get(reverse("accounts:profile")))
        assert api.get("/api/v1/me/").status_code == 401
        assert Client().get("/api/v1/me/", headers={"Authorization": f"Token {raw}"}).status_code == 401

    def test_a_test_client_session_ends_too(self, client_for, team_member: User) -> None:
        client = client_for(team_member)  # force_login: the session the permission matrix uses
        User.objects.filter(pk=team_member.pk).update(is_active=False)
        assert bounced_to_sign_in(client.get(reverse("accounts:profile")))

    def test_cannot_sign_in_and_gets_the_usual_answer(self, team_member: User, password: str) -> None:
        User.objects.filter(pk=team_member.pk).update(is_active=False)
        response = Client().post(reverse("accounts:login"), {"username": team_member.username, "password": password})
        assert response.status_code == 200
        assert b"Your username and password did not match" in response.content

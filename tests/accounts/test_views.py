from __future__ import annotations

import pytest
from django.test import Client
from django.urls import reverse

from apps.accounts import services
from apps.accounts.models import PersonalToken

pytestmark = pytest.mark.django_db


class TestProfileTokens:
    def test_profile_lists_roles_teams_and_tokens(self, client_for, team_member) -> None:
        services.token_create(user=team_member, name="Notebook")
        response = client_for(team_member).get(reverse("accounts:profile"))
        assert b"Claims Automation" in response.content
        assert b"Notebook" in response.content

    def test_creating_a_token_shows_it_once(self, client_for, team_member) -> None:
        client = client_for(team_member)
        response = client.post(reverse("accounts:token-create"), {"name": "CI", "expires_in_days": "30"})
        assert response.status_code == 200
        raw = response.context["raw_token"]
        assert raw.startswith("coe_")
        assert raw.encode() in response.content
        assert raw.encode() not in client.get(reverse("accounts:profile")).content
        assert PersonalToken.objects.get(user=team_member).expires_at is not None

    def test_htmx_create_answers_with_the_tokens_partial(self, client_for, team_member) -> None:
        response = client_for(team_member).post(
            reverse("accounts:token-create"), {"name": "CI"}, headers={"HX-Request": "true"}
        )
        assert response.content.strip().startswith(b'<section class="card" id="tokens"')
        assert b"Copy it now" in response.content

    def test_blank_name_shows_the_error_and_creates_nothing(self, client_for, team_member) -> None:
        response = client_for(team_member).post(reverse("accounts:token-create"), {"name": ""})
        assert b"This field is required." in response.content
        assert not PersonalToken.objects.exists()

    def test_revoke_own_token(self, client_for, team_member) -> None:
        token, _ = services.token_create(user=team_member, name="CI")
        response = client_for(team_member).post(reverse("accounts:token-revoke", args=[token.pk]))
        assert response.status_code == 302
        token.refresh_from_db()
        assert token.revoked_at is not None

    def test_cannot_revoke_someone_elses_token(self, client_for, team_member, other_team_member) -> None:
        token, _ = services.token_create(user=team_member, name="CI")
        response = client_for(other_team_member).post(reverse("accounts:token-revoke", args=[token.pk]))
        assert response.status_code == 404
        token.refresh_from_db()
        assert token.revoked_at is None


class TestTeams:
    def test_search_filters_and_htmx_gets_the_table(self, client_for, team_member, other_team) -> None:
        response = client_for(team_member).get(
            reverse("accounts:team-list"), {"q": "customer"}, headers={"HX-Request": "true"}
        )
        assert b"Customer Service AI" in response.content
        assert b"Claims Automation" not in response.content
        assert b"<html" not in response.content

    def test_empty_search_says_so(self, client_for, team_member) -> None:
        response = client_for(team_member).get(reverse("accounts:team-list"), {"q": "zzz"})
        assert "No team matches “zzz”.".encode() in response.content

    def test_unknown_team_is_404(self, client_for, team_member) -> None:
        assert client_for(team_member).get(reverse("accounts:team-detail", args=["nope"])).status_code == 404


class TestSignIn:
    def test_sign_in_with_the_form(self, team_member, password) -> None:
        client = Client()
        response = client.post(reverse("accounts:login"), {"username": "tina", "password": password})
        assert response.status_code == 302
        assert response["Location"] == reverse("core:home")

    def test_lockout_after_repeated_failures_looks_the_same_for_unknown_users(self, team_member, settings) -> None:
        def fail(username: str) -> int:
            client = Client(REMOTE_ADDR="10.9.8.7")
            return client.post(reverse("accounts:login"), {"username": username, "password": "wrong"}).status_code

        known = [fail("tina") for _ in range(settings.AXES_FAILURE_LIMIT)]
        unknown = [fail("nobody-here") for _ in range(settings.AXES_FAILURE_LIMIT)]
        assert known == unknown
        assert known[-1] == 429
        assert set(known[:-1]) == {200}
        # Even the right password is refused while locked out.
        locked = Client(REMOTE_ADDR="10.9.8.7").post(
            reverse("accounts:login"), {"username": "tina", "password": "correct-horse-battery-staple"}
        )
        assert locked.status_code == 429
        assert b"Too many sign-in attempts" in locked.content


class TestAdmin:
    def test_coe_staff_open_the_admin(self, client_for, coe_staff) -> None:
        assert client_for(coe_staff).get("/admin/").status_code == 200

    @pytest.mark.parametrize("persona", ["team_member", "leader"], indirect=True)
    def test_others_are_sent_to_the_admin_sign_in(self, client_for, persona) -> None:
        response = client_for(persona).get("/admin/")
        assert response.status_code == 302
        assert response["Location"].startswith("/admin/login/")

    def test_audit_trail_is_read_only_in_the_admin(self, client_for, coe_staff, team_member) -> None:
        services.token_create(user=team_member, name="CI")
        client = client_for(coe_staff)
        assert client.get("/admin/core/auditevent/").status_code == 200
        from apps.core.models import AuditEvent

        event = AuditEvent.objects.get(action="token.create")  # signing in is audited too
        assert client.post(f"/admin/core/auditevent/{event.pk}/delete/", {"post": "yes"}).status_code == 403
        assert AuditEvent.objects.filter(pk=event.pk).exists()

"""Single sign-on with OpenID Connect, end to end: Django's test client drives the portal, and
the portal's backend calls a real provider over HTTP (tests/sso_provider.py): discovery, the
token endpoint, the JWKS and userinfo. Nothing of mozilla-django-oidc or requests is mocked.

The OIDC routes exist only when SSO is on, so the permission matrix (tests/access.py) leaves the
``oidc`` namespace to this module: ``test_oidc_routes_for_every_persona`` is its row.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import pytest
import requests
from axes.models import AccessAttempt
from django.conf import settings
from django.contrib.auth import authenticate
from django.contrib.messages import get_messages
from django.http import HttpResponse
from django.test import Client, RequestFactory
from django.urls import NoReverseMatch, reverse
from rest_framework.test import APIClient

from apps.accounts import services, sso
from apps.accounts.models import Membership, Team, User
from apps.accounts.roles import COE_STAFF
from apps.core.models import AuditEvent

from ..access import PERSONAS
from ..factories import PASSWORD
from ..sso_provider import CLIENT_ID, Provider, running_provider, sso_on

pytestmark = pytest.mark.django_db

CALLBACK = "http://testserver/oidc/callback/"
ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def provider() -> Iterator[Provider]:
    with running_provider() as provider:
        yield provider


@pytest.fixture
def oidc(provider: Provider, roles: None) -> Iterator[Provider]:
    provider.reset()
    provider.redirect_uris = {CALLBACK}
    with sso_on(provider):
        yield provider


def sso_sign_in(client: Client, provider: Provider, *, next_url: str = "") -> HttpResponse:
    """Click "Sign in with single sign-on", let the provider answer over HTTP, come back."""
    start = client.get(reverse("oidc:authenticate"), {"next": next_url} if next_url else {})
    assert start.status_code == 302
    assert start["Location"].startswith(f"{provider.issuer}/authorize?")
    sent = parse_qs(urlsplit(start["Location"]).query)
    assert sent["code_challenge_method"] == ["S256"]  # PKCE
    assert sent["redirect_uri"] == [CALLBACK]
    answer = requests.get(start["Location"], allow_redirects=False, timeout=5)
    assert answer.status_code == 302, answer.text
    back = urlsplit(answer.headers["Location"])
    assert f"{back.scheme}://{back.netloc}{back.path}" == CALLBACK
    return client.get(f"{back.path}?{back.query}")


def signed_in_user(client: Client) -> User | None:
    user_id = client.session.get("_auth_user_id")
    return User.objects.get(pk=user_id) if user_id else None


def team_slugs(user: User) -> set[str]:
    return set(Membership.objects.filter(user=user).values_list("team__slug", flat=True))


def fresh(user: User) -> User:
    return User.objects.get(pk=user.pk)  # role_names and team_ids are cached on the instance


class TestSignIn:
    def test_first_sign_in_creates_the_user_with_roles_and_teams_from_groups(self, oidc: Provider, team) -> None:
        oidc.person.groups = ["coe-staff", "team:claims-automation", "team:no-such-team", "unrelated"]
        client = Client()

        response = sso_sign_in(client, oidc)

        assert response.status_code == 302
        assert response["Location"] == "/"
        user = User.objects.get(email="sam.sso@example.org")
        assert signed_in_user(client) == user
        assert client.session["_auth_user_backend"] == sso.BACKEND  # the OIDC backend signed them in
        assert user.username == "sam.sso@example.org"
        assert (user.first_name, user.last_name) == ("Sam", "Single")
        assert not user.has_usable_password()
        assert user.is_coe_staff
        assert user.is_staff
        assert not user.is_leadership
        assert team_slugs(user) == {"claims-automation"}
        assert not Team.objects.filter(slug="no-such-team").exists()  # unknown teams are not made
        event = AuditEvent.objects.get(action="user.sso_login")
        assert event.actor == user
        assert event.changes == {
            "issuer": oidc.issuer,
            "sub": "user-0001",
            "created": True,
            "groups": ["coe-staff", "team:claims-automation"],
            "roles": [COE_STAFF],
            "teams": ["claims-automation"],
            "unknown_teams": ["no-such-team"],
        }
        # The backend really talked to the provider, over HTTP.
        assert oidc.calls == [
            "GET /.well-known/openid-configuration",
            "GET /authorize",
            "POST /token",
            "GET /jwks",
            "GET /userinfo",
        ]
        home = client.get("/")
        assert home.status_code == 200
        assert b"Welcome, Sam Single" in home.content

    def test_second_sign_in_with_changed_groups_updates_roles_and_teams(self, oidc: Provider, team, other_team) -> None:
        oidc.person.groups = ["coe-staff", "team:claims-automation"]
        sso_sign_in(Client(), oidc)
        user = User.objects.get(email="sam.sso@example.org")
        assert user.is_coe_staff
        assert team_slugs(user) == {"claims-automation"}

        oidc.person.groups = ["leadership", "team:customer-service-ai"]
        client = Client()
        sso_sign_in(client, oidc)

        assert signed_in_user(client) == user  # the same account, found by its email
        user = fresh(user)
        assert not user.is_coe_staff
        assert not user.is_staff
        assert user.is_leadership
        assert team_slugs(user) == {"customer-service-ai"}
        assert User.objects.filter(email="sam.sso@example.org").count() == 1
        actions = list(AuditEvent.objects.order_by("pk").values_list("action", flat=True))
        assert actions.count("user.sso_login") == 2
        assert {"role.revoke", "membership.remove", "role.grant", "membership.set"} <= set(actions)
        assert AuditEvent.objects.filter(action="user.sso_login").latest("pk").changes["created"] is False

    def test_an_existing_account_is_matched_by_verified_email_and_an_owner_stays_owner(
        self, oidc: Provider, team_member: User, team
    ) -> None:
        services.token_create(user=team_member, name="CI")
        oidc.person.email = team_member.email.upper()  # emails match whatever their case
        oidc.person.groups = ["team:claims-automation"]
        client = Client()

        sso_sign_in(client, oidc)

        assert signed_in_user(client) == team_member
        assert User.objects.count() == 1
        team_member = fresh(team_member)
        assert team_member.username == "tina"
        assert team_member.tokens.count() == 1
        assert Membership.objects.get(user=team_member, team=team).role == Membership.Role.OWNER

    def test_next_is_kept_through_the_provider(self, oidc: Provider) -> None:
        response = sso_sign_in(Client(), oidc, next_url="/registry/")
        assert response["Location"] == "/registry/"

    def test_discovery_is_read_once_per_process(self, oidc: Provider) -> None:
        sso_sign_in(Client(), oidc)
        sso_sign_in(Client(), oidc)
        assert oidc.calls.count("GET /.well-known/openid-configuration") == 1
        assert oidc.calls.count("POST /token") == 2

    def test_explicit_endpoints_need_no_discovery(self, provider: Provider, roles: None) -> None:
        provider.reset()
        provider.redirect_uris = {CALLBACK}
        with sso_on(
            provider,
            OIDC_ISSUER="",
            OIDC_OP_AUTHORIZATION_ENDPOINT=f"{provider.issuer}/authorize",
            OIDC_OP_TOKEN_ENDPOINT=f"{provider.issuer}/token",
            OIDC_OP_USER_ENDPOINT=f"{provider.issuer}/userinfo",
            OIDC_OP_JWKS_ENDPOINT=f"{provider.issuer}/jwks",
            OIDC_TOKEN_USE_BASIC_AUTH=False,  # client_secret_post: the provider takes both
        ):
            client = Client()
            sso_sign_in(client, provider)
            assert signed_in_user(client) is not None
        assert "GET /.well-known/openid-configuration" not in provider.calls


class TestMapping:
    def test_people_who_never_used_sso_keep_their_roles_and_teams(
        self, oidc: Provider, coe_staff: User, leader: User, team_member: User
    ) -> None:
        oidc.person.groups = []
        sso_sign_in(Client(), oidc)
        assert fresh(coe_staff).is_coe_staff
        assert fresh(coe_staff).is_staff
        assert fresh(leader).is_leadership
        assert team_slugs(team_member) == {"claims-automation"}

    def test_a_role_without_mapped_groups_is_left_to_the_admin(self, provider: Provider, leader: User, team) -> None:
        provider.reset()
        provider.redirect_uris = {CALLBACK}
        provider.person.email = leader.email
        provider.person.groups = ["team:claims-automation"]
        with sso_on(provider, OIDC_LEADERSHIP_GROUPS=[], OIDC_TEAM_GROUP_PREFIX=""):
            sso_sign_in(Client(), provider)
        leader = fresh(leader)
        assert leader.is_leadership  # no groups map to Leadership: the admin's grant stands
        assert team_slugs(leader) == set()  # no team prefix: teams are not taken from groups
        changes = AuditEvent.objects.get(action="user.sso_login").changes
        assert changes["roles"] == []
        assert "teams" not in changes

    def test_groups_only_in_the_id_token_count_too(self, oidc: Provider) -> None:
        """Entra ID sends groups in the ID token, not from userinfo: the claims are merged."""
        oidc.groups_in = {"id_token"}
        oidc.person.groups = ["leadership"]
        sso_sign_in(Client(), oidc)
        assert User.objects.get(email="sam.sso@example.org").is_leadership

    def test_a_missing_groups_claim_takes_mapped_roles_away(self, oidc: Provider) -> None:
        oidc.person.groups = ["leadership"]
        sso_sign_in(Client(), oidc)
        oidc.groups_in = set()  # the provider stops sending groups
        sso_sign_in(Client(), oidc)
        assert not User.objects.get(email="sam.sso@example.org").is_leadership


class TestRefusals:
    @pytest.mark.parametrize(
        "tamper",
        [
            pytest.param({"nonce": "not-the-nonce-we-sent"}, id="wrong-nonce"),
            pytest.param({"state": "forged-state"}, id="wrong-state"),
            pytest.param({"wrong_key": True}, id="wrong-signature"),
            pytest.param({"aud": "another-client"}, id="wrong-audience"),
            pytest.param({"aud": [CLIENT_ID, "another-client"]}, id="shared-audience-without-azp"),
            pytest.param({"iss": "http://127.0.0.1:1/not-the-issuer"}, id="wrong-issuer"),
            pytest.param({"exp": "an hour ago"}, id="expired"),
            pytest.param({"userinfo_sub": "someone-else"}, id="userinfo-of-another-subject"),
        ],
    )
    def test_a_bad_answer_is_refused_and_no_session_is_made(self, oidc: Provider, tamper: dict) -> None:
        if tamper.get("exp"):
            tamper = {"exp": int(time.time()) - 3600}
        oidc.tamper = tamper
        client = Client()

        response = sso_sign_in(client, oidc)

        assert response.status_code == 302
        assert response["Location"] == reverse("accounts:login")
        assert "_auth_user_id" not in client.session
        assert not User.objects.filter(email="sam.sso@example.org").exists()
        assert not AuditEvent.objects.filter(action="user.sso_login").exists()
        assert [str(m) for m in get_messages(response.wsgi_request)] == [sso.FAILED_MESSAGE]
        assert client.get("/")["Location"].startswith(reverse("accounts:login"))  # still signed out

    def test_unverified_email_cannot_claim_an_account(self, oidc: Provider, team_member: User) -> None:
        oidc.person.email = team_member.email
        oidc.person.email_verified = False
        client = Client()
        response = sso_sign_in(client, oidc)
        assert response["Location"] == reverse("accounts:login")
        assert "_auth_user_id" not in client.session
        assert fresh(team_member).first_name == "Tina"  # not touched

    def test_refused_callbacks_do_not_lock_the_office_out(self, oidc: Provider, team_member: User) -> None:
        """django-axes would count them per address alone (no username): one NAT, everyone locked."""
        oidc.person.email = team_member.email
        oidc.person.email_verified = False
        for _ in range(settings.AXES_FAILURE_LIMIT + 1):
            assert sso_sign_in(Client(), oidc)["Location"] == reverse("accounts:login")
        oidc.person.email_verified = True
        client = Client()
        assert sso_sign_in(client, oidc)["Location"] == "/"
        assert signed_in_user(client) == team_member
        assert not AccessAttempt.objects.exists()

    def test_a_callback_cannot_be_replayed(self, oidc: Provider) -> None:
        client = Client()
        start = client.get(reverse("oidc:authenticate"))
        back = urlsplit(requests.get(start["Location"], allow_redirects=False, timeout=5).headers["Location"])
        assert client.get(f"{back.path}?{back.query}")["Location"] == "/"
        client.logout()
        replay = client.get(f"{back.path}?{back.query}")
        assert replay["Location"] == reverse("accounts:login")
        assert "_auth_user_id" not in client.session

    def test_a_deactivated_account_is_refused(self, oidc: Provider, team_member: User) -> None:
        User.objects.filter(pk=team_member.pk).update(is_active=False)
        oidc.person.email = team_member.email
        oidc.person.groups = ["coe-staff"]
        client = Client()
        assert sso_sign_in(client, oidc)["Location"] == reverse("accounts:login")
        assert "_auth_user_id" not in client.session
        assert not fresh(team_member).is_coe_staff

    def test_two_accounts_with_the_email_are_refused(self, oidc: Provider, team_member: User, leader: User) -> None:
        User.objects.filter(pk=leader.pk).update(email=team_member.email)
        oidc.person.email = team_member.email
        client = Client()
        assert sso_sign_in(client, oidc)["Location"] == reverse("accounts:login")
        assert "_auth_user_id" not in client.session

    def test_a_provider_that_does_not_answer_sends_back_to_sign_in(self, provider: Provider) -> None:
        with sso_on(provider, OIDC_ISSUER="http://127.0.0.1:9/nobody-here", OIDC_TIMEOUT=2):
            client = Client()
            response = client.get(reverse("oidc:authenticate"))
        assert response.status_code == 302
        assert response["Location"] == reverse("accounts:login")
        assert [str(m) for m in get_messages(response.wsgi_request)] == [sso.UNAVAILABLE_MESSAGE]

    def test_a_password_sign_in_is_not_taken_for_an_sso_callback(self, oidc: Provider, team_member: User) -> None:
        """The OIDC backend ignores everything but the callback, even a POST carrying ?code&state."""
        response = Client().post(
            f"{reverse('accounts:login')}?code=x&state=y", {"username": "tina", "password": PASSWORD}
        )
        assert response.status_code == 302
        assert "POST /token" not in oidc.calls


class TestSwitches:
    def test_the_sign_in_page_offers_sso_beside_the_password_form(self, oidc: Provider) -> None:
        page = Client().get(reverse("accounts:login"), {"next": "/registry/"}).content.decode()
        assert "Sign in with single sign-on" in page
        assert 'href="/oidc/authenticate/?next=/registry/"' in page
        assert 'name="password"' in page

    def test_local_login_off_refuses_passwords_but_not_tokens_or_sso(
        self, provider: Provider, team_member: User, coe_staff: User
    ) -> None:
        provider.reset()
        provider.redirect_uris = {CALLBACK}
        backends = [
            "apps.accounts.sso.PasswordlessModelBackend" if path.endswith(".ModelBackend") else path
            for path in settings.AUTHENTICATION_BACKENDS
        ]
        _, raw_token = services.token_create(user=team_member, name="CI")
        earlier = Client()
        earlier.force_login(team_member, backend="django.contrib.auth.backends.ModelBackend")
        with sso_on(provider, LOCAL_LOGIN_ENABLED=False, AUTHENTICATION_BACKENDS=[*backends, sso.BACKEND]):
            # A session signed in with a password before the switch is over.
            assert earlier.get("/")["Location"].startswith(reverse("accounts:login"))
            client = Client()
            page = client.get(reverse("accounts:login")).content.decode()
            assert "Sign in with single sign-on" in page
            assert 'name="password"' not in page
            assert "Or with a local account" not in page

            refused = client.post(reverse("accounts:login"), {"username": "tina", "password": PASSWORD})
            assert refused.status_code == 403
            assert "_auth_user_id" not in client.session
            # No other form (the admin's) can sign in with a password either.
            request = RequestFactory().post("/admin/login/")
            assert authenticate(request, username="tina", password=PASSWORD) is None
            # Permissions still come from groups (the admin's menus).
            assert "accounts.view_team" in sso.PasswordlessModelBackend().get_all_permissions(fresh(coe_staff))

            api = APIClient()
            api.credentials(HTTP_AUTHORIZATION=f"Token {raw_token}")
            me = api.get("/api/v1/me/")
            assert me.status_code == 200
            assert me.json()["username"] == "tina"

            sso_sign_in(client, provider)
            assert signed_in_user(client) is not None

    def test_sso_off_has_no_routes_and_no_button(self, client: Client) -> None:
        assert not settings.SSO_ENABLED
        assert sso.BACKEND not in settings.AUTHENTICATION_BACKENDS
        with pytest.raises(NoReverseMatch):
            reverse("oidc:authenticate")
        assert client.get("/oidc/authenticate/").status_code == 404
        assert client.get("/oidc/callback/").status_code == 404
        page = client.get(reverse("accounts:login")).content.decode()
        assert "single sign-on" not in page
        assert 'name="password"' in page


@pytest.mark.parametrize("persona", PERSONAS, indirect=True)
def test_oidc_routes_for_every_persona(oidc: Provider, persona: User | None) -> None:
    """The permission matrix's row for the oidc namespace: both routes are open to everyone (the
    start sends anyone to the provider; a callback without the provider's answer signs nobody in)."""
    client = Client()
    if persona is not None:
        client.force_login(persona)
    start = client.get(reverse("oidc:authenticate"))
    assert start.status_code == 302
    assert start["Location"].startswith(f"{oidc.issuer}/authorize?")
    assert parse_qs(urlsplit(start["Location"]).query)["client_id"] == [CLIENT_ID]
    callback = client.get(reverse("oidc:callback"))
    assert callback.status_code == 302
    assert callback["Location"] == reverse("accounts:login")
    assert client.post(reverse("oidc:callback")).status_code == 405
    assert signed_in_user(client) == persona


# --- settings.py reads the environment ----------------------------------------------------

_PROBE = """
import json, django
django.setup()
from django.conf import settings
from django.urls import reverse
print(json.dumps({"sso": settings.SSO_ENABLED, "backends": settings.AUTHENTICATION_BACKENDS,
                  "callback": reverse("oidc:callback") if settings.SSO_ENABLED else None}))
"""


def _settings_with(env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    base = {k: v for k, v in os.environ.items() if not k.startswith("OIDC_") and k != "LOCAL_LOGIN_ENABLED"}
    return subprocess.run(
        [sys.executable, "-c", _PROBE],
        env={**base, "DJANGO_SETTINGS_MODULE": "coe_portal.settings", **env},
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


SSO_ENV = {"OIDC_RP_CLIENT_ID": "portal", "OIDC_RP_CLIENT_SECRET": "s3cret", "OIDC_ISSUER": "https://idp.example.org"}


@pytest.mark.parametrize(
    ("env", "expect"),
    [
        pytest.param(SSO_ENV, "sso", id="sso-on"),
        pytest.param({**SSO_ENV, "LOCAL_LOGIN_ENABLED": "false"}, "sso-only", id="local-login-off"),
        pytest.param({"LOCAL_LOGIN_ENABLED": "false"}, "nobody could sign in", id="local-off-without-sso"),
        pytest.param({**SSO_ENV, "OIDC_ISSUER": ""}, "set OIDC_ISSUER, or all the endpoints", id="no-provider"),
        pytest.param(
            {**SSO_ENV, "OIDC_ISSUER": "http://idp.example.org", "OIDC_ALLOW_HTTP": "false"},
            "must be an https:// URL",
            id="plain-http",
        ),
    ],
)
def test_settings_turn_sso_on_from_the_environment(env: dict[str, str], expect: str) -> None:
    result = _settings_with(env)
    if expect in {"sso", "sso-only"}:
        assert result.returncode == 0, result.stderr
        found = json.loads(result.stdout.strip().splitlines()[-1])
        assert found["sso"] is True
        assert found["callback"] == "/oidc/callback/"
        assert found["backends"][-1] == sso.BACKEND
        password_backend = (
            "django.contrib.auth.backends.ModelBackend"
            if expect == "sso"
            else "apps.accounts.sso.PasswordlessModelBackend"
        )
        assert password_backend in found["backends"]
        assert ("django.contrib.auth.backends.ModelBackend" in found["backends"]) is (expect == "sso")
    else:
        assert result.returncode != 0
        assert "ImproperlyConfigured" in result.stderr
        assert expect in result.stderr

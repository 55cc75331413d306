"""Single sign-on with OpenID Connect (the authorization code flow with PKCE), on
mozilla-django-oidc. docs/sso.md tells an operator how to turn it on; settings.py reads it all
from the environment (``# --- Single sign-on (OIDC) ---``).

What the library leaves out and this module adds:

- the ID token's audience and issuer are checked (the library decodes with ``verify_aud`` off),
  and the userinfo answer must be about the ID token's ``sub`` (OpenID Connect Core 5.3.2);
- the endpoints may come from the issuer's discovery document, fetched lazily on the first
  sign-in and kept for the process's life, so a provider that is down stops sign-in, not start-up;
- the provider's groups become the portal's global roles and team memberships at every sign-in,
  through the same services the admin uses (each change audited), plus one ``user.sso_login``
  audit event with the groups applied;
- a failed sign-in (wrong state, nonce, signature, audience, issuer, an expired token, a provider
  that does not answer) ends on the sign-in page with a message and no session, not on a 400 or 500.

People are matched by **email**, not by ``sub``: an account made by CoE staff in the admin (or a
demo user) is the same person when they first come through SSO, with their tokens and history,
and keeping ``sub`` would need a column (a migration) for no gain while one provider is used. The
risk of email matching, someone claiming another's address, is closed by accepting only an email
the provider marks ``email_verified`` (``OIDC_REQUIRE_EMAIL_VERIFIED``), and by refusing an email
that two accounts share.
"""

from __future__ import annotations

import logging
import re
import threading
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

import jwt
import requests
from django.conf import settings
from django.contrib import messages
from django.contrib.auth import get_user_model
from django.contrib.auth.backends import ModelBackend
from django.core.exceptions import PermissionDenied, SuspiciousOperation
from django.db import transaction
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import resolve_url
from django.urls import path
from mozilla_django_oidc.auth import OIDCAuthenticationBackend
from mozilla_django_oidc.views import OIDCAuthenticationCallbackView, OIDCAuthenticationRequestView

from apps.core.services import audit_record

from . import services
from .models import Membership, Team, User
from .roles import COE_STAFF, LEADERSHIP

logger = logging.getLogger(__name__)

BACKEND = "apps.accounts.sso.PortalOIDCBackend"
FAILED_MESSAGE = "Single sign-on did not sign you in. Try again; if it keeps failing, ask the CoE team."
UNAVAILABLE_MESSAGE = "The single sign-on service cannot be reached right now. Try again in a minute."


class ProviderUnavailable(Exception):
    """The provider's discovery document could not be read, or does not describe this issuer."""


@dataclass(frozen=True)
class ProviderEndpoints:
    issuer: str  # "" when only explicit endpoints are configured: then ``iss`` is not checked
    authorization: str
    token: str
    userinfo: str
    jwks: str


_discovered: dict[str, dict[str, Any]] = {}
_discovery_lock = threading.Lock()


def provider_endpoints() -> ProviderEndpoints:
    """The provider's endpoints: explicit settings win, the rest come from discovery."""
    explicit = {
        "authorization": settings.OIDC_OP_AUTHORIZATION_ENDPOINT,
        "token": settings.OIDC_OP_TOKEN_ENDPOINT,
        "userinfo": settings.OIDC_OP_USER_ENDPOINT,
        "jwks": settings.OIDC_OP_JWKS_ENDPOINT,
    }
    if all(explicit.values()) or not settings.OIDC_ISSUER:
        return ProviderEndpoints(issuer=settings.OIDC_ISSUER, **explicit)
    document = _discovery(settings.OIDC_ISSUER)
    discovered = {
        "authorization": document["authorization_endpoint"],
        "token": document["token_endpoint"],
        "userinfo": document["userinfo_endpoint"],
        "jwks": document["jwks_uri"],
    }
    return ProviderEndpoints(issuer=document["issuer"], **{key: explicit[key] or discovered[key] for key in explicit})


def _discovery(issuer: str) -> dict[str, Any]:
    """Read ``<issuer>/.well-known/openid-configuration`` once per process (a restart picks up a
    change at the provider). A failure is not kept: the next sign-in tries again."""
    with _discovery_lock:
        if issuer in _discovered:
            return _discovered[issuer]
        url = issuer.rstrip("/") + "/.well-known/openid-configuration"
        try:
            response = requests.get(
                url, timeout=settings.OIDC_TIMEOUT, verify=getattr(settings, "OIDC_VERIFY_SSL", True)
            )
            response.raise_for_status()
            document = response.json()
        except (requests.RequestException, ValueError) as exc:
            raise ProviderUnavailable(f"discovery at {url} failed: {exc}") from exc
        # OpenID Connect Discovery 4.3: the document must name exactly the issuer asked for.
        if not isinstance(document, dict) or document.get("issuer") != issuer:
            raise ProviderUnavailable(f"discovery at {url} names issuer {document.get('issuer')!r}, not {issuer!r}")
        for key in ("authorization_endpoint", "token_endpoint", "userinfo_endpoint", "jwks_uri"):
            endpoint = document.get(key)
            if not isinstance(endpoint, str) or urlsplit(endpoint).scheme not in _allowed_schemes():
                raise ProviderUnavailable(f"discovery at {url}: {key} is missing or not https: {endpoint!r}")
        _discovered[issuer] = document
        return document


def _allowed_schemes() -> set[str]:
    return {"https", "http"} if settings.OIDC_ALLOW_HTTP else {"https"}


def discovery_forget() -> None:
    """Drop the kept discovery documents (tests; an operator restarts instead)."""
    with _discovery_lock:
        _discovered.clear()


# --- The backend -----------------------------------------------------------------------------


class PortalOIDCBackend(OIDCAuthenticationBackend):
    """Signs people in from the provider's ID token and userinfo, and maps their groups."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        # Not the library's __init__: Django builds a backend for every request with a session
        # (to call get_user), and reading the endpoints may need discovery, an HTTP call. They are
        # read in authenticate(), the only place they are used.
        self.UserModel = get_user_model()
        self.issuer = ""

    def authenticate(self, request: HttpRequest | None, **kwargs: Any) -> User | None:
        # Only the callback view passes a nonce: a password sign-in, or anything else, is not ours.
        if request is None or "nonce" not in kwargs:
            return None
        endpoints = provider_endpoints()
        self.issuer = endpoints.issuer
        self.OIDC_OP_TOKEN_ENDPOINT = endpoints.token
        self.OIDC_OP_USER_ENDPOINT = endpoints.userinfo
        self.OIDC_OP_JWKS_ENDPOINT = endpoints.jwks
        self.OIDC_RP_CLIENT_ID = settings.OIDC_RP_CLIENT_ID
        self.OIDC_RP_CLIENT_SECRET = settings.OIDC_RP_CLIENT_SECRET
        self.OIDC_RP_SIGN_ALGO = settings.OIDC_RP_SIGN_ALGO
        self.OIDC_RP_IDP_SIGN_KEY = None
        return super().authenticate(request, **kwargs)

    def _verify_jws(self, payload: str, key: Any) -> dict[str, Any]:
        """The library's check plus what it leaves out: the token is for this client (``aud``),
        from this provider (``iss``, when the issuer is known), and has an expiry."""
        try:
            algorithm = jwt.get_unverified_header(payload).get("alg")
        except jwt.PyJWTError as exc:
            raise SuspiciousOperation(f"ID token is not a JWT: {exc}") from exc
        if algorithm != self.OIDC_RP_SIGN_ALGO:  # never "none", never HS256 with a public key
            raise SuspiciousOperation(f"ID token signed with {algorithm!r}, expected {self.OIDC_RP_SIGN_ALGO!r}")
        required = ["exp", "iat", "sub", "aud"] + (["iss"] if self.issuer else [])
        try:
            claims = jwt.decode(
                payload,
                key,
                algorithms=[algorithm],
                audience=self.OIDC_RP_CLIENT_ID,
                issuer=self.issuer or None,
                leeway=settings.OIDC_CLOCK_SKEW_SECONDS,
                options={"require": required},
            )
        except jwt.PyJWTError as exc:
            raise SuspiciousOperation(f"ID token refused: {exc}") from exc
        # OpenID Connect Core 3.1.3.7: a token for several audiences must name us as its authorized party.
        if isinstance(claims["aud"], list) and len(claims["aud"]) > 1 and claims.get("azp") != self.OIDC_RP_CLIENT_ID:
            raise SuspiciousOperation("ID token for several audiences without this client as azp")
        return claims

    def get_userinfo(self, access_token: str, id_token: str, payload: dict[str, Any]) -> dict[str, Any]:
        """The userinfo claims over the ID token's: some providers (Entra ID) put the groups only
        in the ID token, others only in userinfo."""
        userinfo = super().get_userinfo(access_token, id_token, payload)
        if not isinstance(userinfo, dict) or userinfo.get("sub") != payload.get("sub"):
            raise SuspiciousOperation("The userinfo answer is about another subject than the ID token.")
        return {**payload, **userinfo}

    def verify_claims(self, claims: dict[str, Any]) -> bool:
        email = claims.get("email")
        if not isinstance(email, str) or "@" not in email:
            logger.warning("SSO sign-in of sub %r refused: no email claim", claims.get("sub"))
            return False
        if settings.OIDC_REQUIRE_EMAIL_VERIFIED and claims.get("email_verified") not in (True, "true"):
            logger.warning("SSO sign-in of %s refused: the provider did not verify the email", email)
            return False
        return True

    def get_username(self, claims: dict[str, Any]) -> str:
        """A readable, unused username: the provider's preferred_username or the email, trimmed
        to the characters Django allows, with a number added when taken."""
        raw = claims.get("preferred_username") or claims["email"]
        base = re.sub(r"[^\w.@+-]", "", str(raw))[:140] or "user"
        candidate, number = base, 1
        while self.UserModel.objects.filter(username__iexact=candidate).exists():
            number += 1
            candidate = f"{base}{number}"
        return candidate

    def create_user(self, claims: dict[str, Any]) -> User:
        user = self.UserModel.objects.create_user(self.get_username(claims), email=claims["email"])  # no password
        return self._signed_in(user, claims, created=True)

    def update_user(self, user: User, claims: dict[str, Any]) -> User:
        if not user.is_active:
            return user  # the callback refuses it; a deactivated account is not touched
        return self._signed_in(user, claims, created=False)

    @transaction.atomic
    def _signed_in(self, user: User, claims: dict[str, Any], *, created: bool) -> User:
        _profile_update(user, claims)
        applied = groups_apply(user=user, groups=_groups(claims), request=self.request)
        audit_record(
            actor=user,
            action="user.sso_login",
            target=user,
            changes={"issuer": claims.get("iss", ""), "sub": claims.get("sub", ""), "created": created, **applied},
            request=self.request,
        )
        return user


def _profile_update(user: User, claims: dict[str, Any]) -> None:
    first = claims.get("given_name") or ""
    last = claims.get("family_name") or ""
    if not (first or last) and claims.get("name"):
        first, _, last = str(claims["name"]).partition(" ")
    fields = {"first_name": str(first)[:150], "last_name": str(last)[:150], "email": claims["email"]}
    if user.email.lower() == fields["email"].lower():
        del fields["email"]  # the same address: keep the spelling the account has
    changed = [name for name, value in fields.items() if value and getattr(user, name) != value]
    for name in changed:
        setattr(user, name, fields[name])
    if changed:
        user.save(update_fields=changed)


def _groups(claims: dict[str, Any]) -> list[str]:
    """The groups claim as a list of strings. A missing claim is no groups (least privilege:
    a provider that stops sending it takes the mapped roles away, it does not freeze them)."""
    value = claims.get(settings.OIDC_GROUPS_CLAIM)
    if value is None:
        if "_claim_names" in claims and settings.OIDC_GROUPS_CLAIM in claims["_claim_names"]:
            logger.warning("SSO: the provider sent a groups overage (too many groups); treated as no groups")
        return []
    if isinstance(value, str):
        value = [value]
    return [str(group) for group in value] if isinstance(value, list) else []


def groups_apply(*, user: User, groups: list[str], request: HttpRequest | None = None) -> dict[str, Any]:
    """Make the user's roles and team memberships what the groups say, for the parts the
    settings map: a role with no groups configured, or teams with no prefix, are left to the
    admin. Only the person signing in is touched; nobody who never signed in with SSO is.
    Returns what was applied, for the audit trail."""
    present = set(groups)
    applied_groups: set[str] = set()
    roles: list[str] = []
    for role, mapped in ((COE_STAFF, settings.OIDC_COE_STAFF_GROUPS), (LEADERSHIP, settings.OIDC_LEADERSHIP_GROUPS)):
        if not mapped:
            continue
        matched = present & set(mapped)
        if matched:
            services.role_grant(user=user, role=role, actor=None, request=request)
            applied_groups |= matched
            roles.append(role)
        else:
            services.role_revoke(user=user, role=role, actor=None, request=request)
    result: dict[str, Any] = {"roles": roles}
    prefix = settings.OIDC_TEAM_GROUP_PREFIX
    if prefix:
        wanted = {group[len(prefix) :]: group for group in present if group.startswith(prefix)}
        teams = list(Team.objects.filter(slug__in=wanted))
        unknown = sorted(set(wanted) - {team.slug for team in teams})
        if unknown:
            logger.warning("SSO: %s is in groups for teams the portal does not have: %s", user, unknown)
        for team in teams:
            applied_groups.add(wanted[team.slug])
            if not Membership.objects.filter(user=user, team=team).exists():  # an owner stays an owner
                services.membership_set(team=team, user=user, role=Membership.Role.MEMBER, actor=None, request=request)
        for membership in Membership.objects.filter(user=user).exclude(team__in=teams).select_related("team"):
            services.membership_remove(team=membership.team, user=user, actor=None, request=request)
        result["teams"] = sorted(team.slug for team in teams)
        result["unknown_teams"] = unknown
    for name in ("role_names", "team_ids"):  # cached on the instance: read them afresh
        user.__dict__.pop(name, None)
    return {"groups": sorted(applied_groups), **result}


def axes_skips_sso_callback(request: HttpRequest, credentials: dict[str, Any] | None) -> bool:
    """django-axes (AXES_WHITELIST_CALLABLE) counts failed sign-ins per username and address. An
    SSO callback has no username, so it would count per address alone: five refused callbacks
    behind one office NAT would lock everybody there out of SSO for the cool-off. Nothing can be
    guessed there (each try needs a fresh code from the provider, which throttles its own
    sign-in), so django-axes leaves the callback alone; passwords and MFA codes are counted."""
    return bool(credentials) and "nonce" in credentials and not credentials.get("username")


class PasswordlessModelBackend(ModelBackend):
    """Django's groups and permissions (the admin's menus) without its password check: what
    AUTHENTICATION_BACKENDS holds when LOCAL_LOGIN_ENABLED is off, so no form signs anyone in
    with a password, the portal's or the admin's."""

    def authenticate(
        self, request: HttpRequest | None, username: str | None = None, password: str | None = None, **kwargs: Any
    ) -> None:
        return None


# --- Views -------------------------------------------------------------------------------------


class SingleSignOnStartView(OIDCAuthenticationRequestView):
    """``GET /oidc/authenticate/?next=…``: remember state, nonce and the PKCE verifier in the
    session and send the browser to the provider (a top-level navigation: no CSP form-action)."""

    def get(self, request: HttpRequest) -> HttpResponse:
        try:
            self.OIDC_OP_AUTH_ENDPOINT = provider_endpoints().authorization
        except ProviderUnavailable as exc:
            logger.warning("SSO unavailable: %s", exc)
            messages.error(request, UNAVAILABLE_MESSAGE)
            return HttpResponseRedirect(resolve_url(settings.LOGIN_URL))
        return super().get(request)


class SingleSignOnCallbackView(OIDCAuthenticationCallbackView):
    """``GET /oidc/callback/?code=…&state=…``: the provider's answer. Any failure ends on the
    sign-in page with a message and no session."""

    # Raised by the library or this module on a bad answer; logged with its reason.
    REFUSALS = (
        SuspiciousOperation,
        ProviderUnavailable,
        requests.RequestException,
        jwt.PyJWTError,
        KeyError,
        ValueError,
    )

    @property
    def failure_url(self) -> str:
        return resolve_url(settings.LOGIN_URL)

    def get(self, request: HttpRequest) -> HttpResponse:
        try:
            return super().get(request)
        except self.REFUSALS as exc:
            logger.warning("SSO sign-in refused: %s: %s", type(exc).__name__, exc)
            return self.login_failure()

    def login_failure(self) -> HttpResponse:
        messages.error(self.request, FAILED_MESSAGE)
        return super().login_failure()


urlpatterns = [
    path("authenticate/", SingleSignOnStartView.as_view(), name="authenticate"),
    path("callback/", SingleSignOnCallbackView.as_view(), name="callback"),
]


class SingleSignOnLoginMixin:
    """For the sign-in view: tells the template whether to show the SSO button and the password
    form, and refuses a password POST when local accounts are switched off (the admin's form is
    refused by PasswordlessModelBackend)."""

    def get_context_data(self, **kwargs: Any) -> dict[str, Any]:
        context = super().get_context_data(**kwargs)  # type: ignore[misc]
        context["sso_enabled"] = settings.SSO_ENABLED
        context["local_login_enabled"] = settings.LOCAL_LOGIN_ENABLED
        return context

    def post(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        if not settings.LOCAL_LOGIN_ENABLED:
            raise PermissionDenied("Password sign-in is switched off: sign in with single sign-on.")
        return super().post(request, *args, **kwargs)  # type: ignore[misc]

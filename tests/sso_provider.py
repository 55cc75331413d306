"""A small, real OpenID Connect provider for the SSO tests: an HTTP server on 127.0.0.1 in a
thread, with discovery, /authorize, /token (an RS256 ID token signed with a key made at start),
/userinfo and /jwks. The portal's backend talks to it over HTTP, as it would to Keycloak.

The person "signed in at the provider" is ``provider.person``: /authorize answers at once with a
code for them, as a provider does when its own session is still open. ``provider.tamper`` breaks
the next answer on purpose (a wrong nonce, audience, issuer, signature, an expired token...), for
the tests that the portal refuses it.

``sso_on(provider)`` switches the portal's SSO on for a test: the settings settings.py would make
from the environment, and coe_portal/urls.py read again so its ``oidc/`` routes appear.
"""

from __future__ import annotations

import base64
import hashlib
import importlib
import json
import secrets
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlencode, urlsplit

import jwt
from cryptography.hazmat.primitives.asymmetric import rsa
from django.conf import settings
from django.test import override_settings
from django.urls import clear_url_caches
from jwt.algorithms import RSAAlgorithm

from apps.accounts import sso

CLIENT_ID = "coe-portal"
CLIENT_SECRET = "provider-test-secret"


@dataclass
class Person:
    sub: str = "user-0001"
    email: str = "sam.sso@example.org"
    email_verified: bool = True
    given_name: str = "Sam"
    family_name: str = "Single"
    groups: list[str] = field(default_factory=list)

    def claims(self) -> dict[str, Any]:
        return {
            "sub": self.sub,
            "email": self.email,
            "email_verified": self.email_verified,
            "given_name": self.given_name,
            "family_name": self.family_name,
            "name": f"{self.given_name} {self.family_name}",
            "preferred_username": self.email,
            "groups": list(self.groups),
        }


class Provider:
    def __init__(self) -> None:
        self.key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        self.other_key = rsa.generate_private_key(public_exponent=65537, key_size=2048)  # "wrong signature"
        self.kid = secrets.token_hex(4)
        self.person = Person()
        self.tamper: dict[str, Any] = {}
        self.groups_in = {"userinfo"}  # where the groups claim goes: "userinfo", "id_token" (Entra ID's way)
        self.codes: dict[str, dict[str, Any]] = {}
        self.access_tokens: dict[str, Person] = {}
        self.calls: list[str] = []  # "METHOD /path" of every request received
        self.redirect_uris: set[str] = set()
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), _handler(self))
        self.issuer = f"http://127.0.0.1:{self._server.server_address[1]}"
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    def start(self) -> Provider:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()

    def reset(self) -> None:
        self.person, self.tamper, self.groups_in = Person(), {}, {"userinfo"}
        self.codes.clear()
        self.access_tokens.clear()
        self.calls.clear()

    # --- what the endpoints answer ---

    def discovery(self) -> dict[str, Any]:
        return {
            "issuer": self.issuer,
            "authorization_endpoint": f"{self.issuer}/authorize",
            "token_endpoint": f"{self.issuer}/token",
            "userinfo_endpoint": f"{self.issuer}/userinfo",
            "jwks_uri": f"{self.issuer}/jwks",
            "response_types_supported": ["code"],
            "subject_types_supported": ["public"],
            "id_token_signing_alg_values_supported": ["RS256"],
            "code_challenge_methods_supported": ["S256"],
            "token_endpoint_auth_methods_supported": ["client_secret_basic", "client_secret_post"],
        }

    def jwks(self) -> dict[str, Any]:
        jwk = RSAAlgorithm.to_jwk(self.key.public_key(), as_dict=True)
        return {"keys": [{**jwk, "kid": self.kid, "alg": "RS256", "use": "sig"}]}

    def authorize(self, query: dict[str, str]) -> tuple[int, dict[str, str], Any]:
        if query.get("client_id") != CLIENT_ID or query.get("response_type") != "code":
            return 400, {}, {"error": "unauthorized_client"}
        redirect_uri = query.get("redirect_uri", "")
        if redirect_uri not in self.redirect_uris:
            return 400, {}, {"error": "invalid_request", "error_description": f"unregistered {redirect_uri}"}
        code = secrets.token_urlsafe(24)
        self.codes[code] = {
            "person": self.person,
            "nonce": self.tamper.get("nonce", query.get("nonce")),
            "redirect_uri": redirect_uri,
            "code_challenge": query.get("code_challenge"),
            "scope": query.get("scope", ""),
        }
        state = self.tamper.get("state", query.get("state", ""))
        return 302, {"Location": f"{redirect_uri}?{urlencode({'code': code, 'state': state})}"}, None

    def token(self, form: dict[str, str], authorization: str) -> tuple[int, dict[str, str], Any]:
        client_id, client_secret = form.get("client_id"), form.get("client_secret")
        if authorization.startswith("Basic "):
            client_id, _, client_secret = base64.b64decode(authorization[6:]).decode().partition(":")
        if client_id != CLIENT_ID or client_secret != CLIENT_SECRET:
            return 401, {}, {"error": "invalid_client"}
        grant = self.codes.pop(form.get("code", ""), None)  # a code works once
        if form.get("grant_type") != "authorization_code" or grant is None:
            return 400, {}, {"error": "invalid_grant"}
        if form.get("redirect_uri") != grant["redirect_uri"]:
            return 400, {}, {"error": "invalid_grant", "error_description": "redirect_uri differs"}
        if grant["code_challenge"]:  # PKCE, S256 (RFC 7636 4.6)
            verifier = form.get("code_verifier", "")
            digest = base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).rstrip(b"=").decode()
            if digest != grant["code_challenge"]:
                return 400, {}, {"error": "invalid_grant", "error_description": "PKCE verification failed"}
        person: Person = grant["person"]
        now = int(time.time())
        claims = {
            "iss": self.tamper.get("iss", self.issuer),
            "aud": self.tamper.get("aud", CLIENT_ID),
            "sub": person.sub,
            "iat": now,
            "exp": self.tamper.get("exp", now + 300),
            "nonce": grant["nonce"],
            "email": person.email,
            "email_verified": person.email_verified,
        }
        if "id_token" in self.groups_in:
            claims["groups"] = list(person.groups)
        key = self.other_key if self.tamper.get("wrong_key") else self.key
        id_token = jwt.encode(claims, key, algorithm="RS256", headers={"kid": self.kid})
        access_token = secrets.token_urlsafe(24)
        self.access_tokens[access_token] = person
        body = {"access_token": access_token, "token_type": "Bearer", "expires_in": 300, "id_token": id_token}
        return 200, {"Cache-Control": "no-store"}, body

    def userinfo(self, authorization: str) -> tuple[int, dict[str, str], Any]:
        person = self.access_tokens.get(authorization.removeprefix("Bearer "))
        if not authorization.startswith("Bearer ") or person is None:
            return 401, {"WWW-Authenticate": 'Bearer error="invalid_token"'}, {"error": "invalid_token"}
        claims = person.claims()
        if "userinfo" not in self.groups_in:
            del claims["groups"]
        if "userinfo_sub" in self.tamper:
            claims["sub"] = self.tamper["userinfo_sub"]
        return 200, {}, claims


def _handler(provider: Provider) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def log_message(self, format: str, *args: Any) -> None:  # quiet test output
            pass

        def _answer(self, status: int, headers: dict[str, str], body: Any) -> None:
            payload = b"" if body is None else json.dumps(body).encode()
            self.send_response(status)
            for name, value in headers.items():
                self.send_header(name, value)
            if body is not None:
                self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(payload)))
            self.end_headers()
            self.wfile.write(payload)

        def do_GET(self) -> None:
            parts = urlsplit(self.path)
            provider.calls.append(f"GET {parts.path}")
            query = {key: values[0] for key, values in parse_qs(parts.query).items()}
            if parts.path == "/.well-known/openid-configuration":
                self._answer(200, {}, provider.discovery())
            elif parts.path == "/jwks":
                self._answer(200, {}, provider.jwks())
            elif parts.path == "/authorize":
                self._answer(*provider.authorize(query))
            elif parts.path == "/userinfo":
                self._answer(*provider.userinfo(self.headers.get("Authorization", "")))
            else:
                self._answer(404, {}, {"error": "not_found"})

        def do_POST(self) -> None:
            parts = urlsplit(self.path)
            provider.calls.append(f"POST {parts.path}")
            length = int(self.headers.get("Content-Length") or 0)
            form = {key: values[0] for key, values in parse_qs(self.rfile.read(length).decode()).items()}
            if parts.path == "/token":
                self._answer(*provider.token(form, self.headers.get("Authorization", "")))
            else:
                self._answer(404, {}, {"error": "not_found"})

    return Handler


@contextmanager
def running_provider() -> Iterator[Provider]:
    provider = Provider().start()
    try:
        yield provider
    finally:
        provider.stop()


def _urls_reload() -> None:
    importlib.reload(importlib.import_module(settings.ROOT_URLCONF))
    clear_url_caches()


@contextmanager
def sso_on(provider: Provider, **overrides: Any) -> Iterator[None]:
    """The portal as settings.py makes it with OIDC_ISSUER, OIDC_RP_CLIENT_ID and
    OIDC_RP_CLIENT_SECRET in the environment (tests/accounts/test_sso.py checks that settings.py
    really does), plus ``overrides``."""
    backends = [*settings.AUTHENTICATION_BACKENDS, sso.BACKEND]
    values: dict[str, Any] = {
        "SSO_ENABLED": True,
        "OIDC_ISSUER": provider.issuer,
        "OIDC_RP_CLIENT_ID": CLIENT_ID,
        "OIDC_RP_CLIENT_SECRET": CLIENT_SECRET,
        "OIDC_ALLOW_HTTP": True,
        "OIDC_COE_STAFF_GROUPS": ["coe-staff"],
        "OIDC_LEADERSHIP_GROUPS": ["leadership"],
        "OIDC_TEAM_GROUP_PREFIX": "team:",
        "AUTHENTICATION_BACKENDS": backends,
        "AXES_WHITELIST_CALLABLE": "apps.accounts.sso.axes_skips_sso_callback",
        **overrides,
    }
    sso.discovery_forget()
    with override_settings(**values):
        _urls_reload()
        try:
            yield
        finally:
            sso.discovery_forget()
    _urls_reload()

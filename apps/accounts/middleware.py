"""Session lifetime: an idle timeout and an absolute timeout, on top of Django's sessions.

Django rotates the session key at sign-in (``login()`` calls ``cycle_key()``) and ends a
session whose password hash or session generation changed (``User.get_session_auth_hash``);
what it lacks is "signed out after an hour without activity" and "signed in at most twelve
hours, however active". The sign-in time and the last request's time live in the session
itself, so the rules work the same with any session store and need no table of their own.

Last-seen is written at most once a minute: a session write per request would turn every
page view into a database write. Background polls (the notification badge, every 60 s) do
not count as activity, or an open tab would never go idle.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from functools import cached_property
from typing import Any
from urllib.parse import urlencode

from django.conf import settings
from django.contrib import messages
from django.contrib.auth import logout
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, resolve_url
from django.urls import NoReverseMatch, reverse
from django_htmx.http import HttpResponseClientRedirect

SIGNED_IN_AT = "_signed_in_at"
LAST_SEEN = "_last_seen"
LAST_SEEN_GRANULARITY = 60  # seconds; the idle timeout is exact to within this
# Requests a page makes by itself, not because someone did something.
PASSIVE_URL_NAMES = ("core:notification-badge",)
# Answered as an API: the request carries on signed out, and DRF says 401 unless another
# credential (a personal token) is there.
API_PREFIXES = ("/api/", "/v1/")


def session_stamp(sender: Any, request: HttpRequest | None, user: Any, **kwargs: Any) -> None:
    """``user_logged_in`` receiver: the session starts its clocks at sign-in.

    A signal, because it is the one hook every way of signing in shares: the password form,
    the MFA step, single sign-on, the admin and the test client's ``force_login``. A user who
    signs in again on the same browser gets fresh clocks (``login()`` keeps the session's
    data when the user is the same).
    """
    if request is None or not hasattr(request, "session"):
        return
    now = int(time.time())
    request.session[SIGNED_IN_AT] = now
    request.session[LAST_SEEN] = now


class SessionTimeoutMiddleware:
    """Ends a session that has been idle for ``SESSION_IDLE_TIMEOUT`` seconds or signed in for
    ``SESSION_ABSOLUTE_TIMEOUT`` seconds. Pages are sent to sign in with a message (htmx gets
    ``HX-Redirect``, so the whole page goes); the API carries on signed out, so a request on a
    session alone gets 401. Must come after AuthenticationMiddleware and MessageMiddleware."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    @cached_property
    def passive_paths(self) -> frozenset[str]:
        paths = set()
        for name in PASSIVE_URL_NAMES:
            try:
                paths.add(reverse(name))
            except NoReverseMatch:  # pragma: no cover - an app left out of a deployment
                continue
        return frozenset(paths)

    def __call__(self, request: HttpRequest) -> HttpResponse:
        if request.user.is_authenticated:
            expired = self._check(request)
            if expired:
                return self._expire(request, expired)
        return self.get_response(request)

    def _check(self, request: HttpRequest) -> str:
        """Why the session is over ("idle" or "absolute"), or "" if it is not; notes activity."""
        session = request.session
        now = int(time.time())
        signed_in_at = session.get(SIGNED_IN_AT)
        if not isinstance(signed_in_at, int):
            # A session from before these rules: its clocks start now.
            session[SIGNED_IN_AT] = session[LAST_SEEN] = now
            return ""
        last_seen = session.get(LAST_SEEN, signed_in_at)
        if now - signed_in_at >= settings.SESSION_ABSOLUTE_TIMEOUT:
            return "absolute"
        if now - last_seen >= settings.SESSION_IDLE_TIMEOUT:
            return "idle"
        if now - last_seen >= LAST_SEEN_GRANULARITY and request.path not in self.passive_paths:
            session[LAST_SEEN] = now
        return ""

    def _expire(self, request: HttpRequest, reason: str) -> HttpResponse:
        logout(request)  # flushes the session (new key, no data) and makes the user anonymous
        if request.path.startswith(API_PREFIXES):
            return self.get_response(request)
        if reason == "idle":
            minutes = max(1, settings.SESSION_IDLE_TIMEOUT // 60)
            text = f"You were signed out after {minutes} minutes without activity. Sign in again to go on."
        else:
            hours = settings.SESSION_ABSOLUTE_TIMEOUT / 3600
            text = f"Your session reached its limit of {hours:g} hours. Sign in again to go on."
        messages.info(request, text)
        login_url = resolve_url(settings.LOGIN_URL)
        if request.headers.get("HX-Request") == "true":  # HtmxMiddleware comes later in the chain
            return HttpResponseClientRedirect(login_url)
        if request.method == "GET":
            return redirect(f"{login_url}?{urlencode({'next': request.get_full_path()})}")
        return redirect(login_url)

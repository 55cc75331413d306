"""Secrets kept at rest: encrypted with Fernet (AES-128-CBC + HMAC-SHA256, from ``cryptography``) under a
key derived from ``SECRET_KEY`` and a purpose, so a copy of the database alone gives none of them away.

Keys derived from ``SECRET_KEY_FALLBACKS`` still decrypt, so the secret key can be rotated the way Django
rotates it; a secret key replaced without a fallback leaves what was stored unreadable (``decrypt`` answers
None, and each caller says what to do then). Each purpose has its own key: a value encrypted for one cannot
be passed off as another's.
"""

from __future__ import annotations

import base64

from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from django.conf import settings
from django.utils.crypto import salted_hmac


def _fernet(purpose: str, secret_key: str | bytes) -> Fernet:
    raw = salted_hmac(purpose, "fernet", secret=secret_key, algorithm="sha256").digest()
    return Fernet(base64.urlsafe_b64encode(raw))


def _fernets(purpose: str) -> MultiFernet:
    keys = [settings.SECRET_KEY, *getattr(settings, "SECRET_KEY_FALLBACKS", [])]
    return MultiFernet([_fernet(purpose, key) for key in keys])


def encrypt(text: str, *, purpose: str) -> str:
    """``text`` encrypted for ``purpose`` (a dotted name, e.g. "apps.accounts.mfa.totp-secret"), as text."""
    return _fernets(purpose).encrypt(text.encode()).decode()


def decrypt(stored: str, *, purpose: str) -> str | None:
    """What ``encrypt`` was given, or None when no current or fallback SECRET_KEY can read it."""
    try:
        return _fernets(purpose).decrypt(stored.encode()).decode()
    except InvalidToken:
        return None

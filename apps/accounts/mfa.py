"""Time-based one-time passwords (TOTP, RFC 6238) with the standard library, and the secret's
encryption at rest.

TOTP is HOTP (RFC 4226) over the number of 30-second steps since the Unix epoch. Every
authenticator app (Google Authenticator, Microsoft Authenticator, 1Password, FreeOTP, ...)
speaks the defaults used here: HMAC-SHA1, 6 digits, 30 seconds. Implemented here rather than
with a library because it is twenty lines and the RFC's test vectors pin it down
(tests/accounts/test_mfa.py).

The shared secret is stored encrypted (``apps.core.crypto``: Fernet, AES-128-CBC + HMAC-SHA256,
under a key derived from ``SECRET_KEY``): a copy of the database alone
does not give away anyone's second factor. Keys derived from ``SECRET_KEY_FALLBACKS`` still
decrypt, so the secret key can be rotated the way Django rotates it; a secret key that is
replaced without a fallback makes every enrolled secret unreadable (the users then sign in
with their password only after CoE staff remove their device in the admin, see the README).
"""

from __future__ import annotations

import base64
import hmac
import secrets
import struct
import time
from urllib.parse import quote, urlencode

from apps.core import crypto

STEP_SECONDS = 30
DIGITS = 6
SECRET_BYTES = 20  # 160 bits, the size RFC 4226 recommends for HMAC-SHA1
# Codes of the step before and after the current one are accepted too: clocks drift, and
# people type slowly.
WINDOW_STEPS = 1

_KEY_SALT = "apps.accounts.mfa.totp-secret"


def hotp(key: bytes, counter: int, *, digits: int = DIGITS, digest: str = "sha1") -> str:
    """RFC 4226: the code for one counter value (dynamic truncation of an HMAC)."""
    mac = hmac.new(key, struct.pack(">Q", counter), digest).digest()
    offset = mac[-1] & 0x0F
    number = struct.unpack(">I", mac[offset : offset + 4])[0] & 0x7FFFFFFF
    return str(number % 10**digits).zfill(digits)


def time_step(at: float, *, step: int = STEP_SECONDS) -> int:
    """The number of whole steps since the Unix epoch at ``at`` (seconds)."""
    return int(at // step)


def totp(
    key: bytes, at: float | None = None, *, step: int = STEP_SECONDS, digits: int = DIGITS, digest: str = "sha1"
) -> str:
    """RFC 6238: the code at time ``at`` (now when None)."""
    return hotp(key, time_step(time.time() if at is None else at, step=step), digits=digits, digest=digest)


def verify(key: bytes, code: str, *, at: float | None = None, after_step: int | None = None) -> int | None:
    """The time step ``code`` belongs to, within the window around ``at``, or None.

    Steps up to and including ``after_step`` (the last step used) are refused, so a code
    works once: an onlooker cannot replay it within its 90 seconds.
    """
    code = "".join(code.split())
    if len(code) != DIGITS or not code.isdigit():
        return None
    now_step = time_step(time.time() if at is None else at)
    for candidate in range(now_step - WINDOW_STEPS, now_step + WINDOW_STEPS + 1):
        if after_step is not None and candidate <= after_step:
            continue
        # Compare every candidate in constant time; the loop is short and fixed.
        if hmac.compare_digest(hotp(key, candidate), code):
            return candidate
    return None


def secret_generate() -> str:
    """A new shared secret, base32 without padding (what people type into an app)."""
    return base64.b32encode(secrets.token_bytes(SECRET_BYTES)).decode().rstrip("=")


def secret_key_bytes(secret: str) -> bytes:
    """The HMAC key of a base32 secret (spaces and case forgiven, padding restored)."""
    cleaned = "".join(secret.split()).upper()
    return base64.b32decode(cleaned + "=" * (-len(cleaned) % 8))


def secret_display(secret: str) -> str:
    """The secret in groups of four, easier to copy by hand."""
    return " ".join(secret[i : i + 4] for i in range(0, len(secret), 4))


def otpauth_uri(*, secret: str, account: str, issuer: str) -> str:
    """The ``otpauth://`` URI authenticator apps read from a QR code or a link."""
    label = quote(f"{issuer}:{account}", safe="")
    params = urlencode(
        {"secret": secret, "issuer": issuer, "algorithm": "SHA1", "digits": DIGITS, "period": STEP_SECONDS},
        quote_via=quote,
    )
    return f"otpauth://totp/{label}?{params}"


def qr_svg_data_uri(uri: str) -> str:
    """The URI as a QR code, an SVG ``data:`` URI (the CSP allows ``img-src data:``); made here,
    not by a web service, so the secret never leaves the portal."""
    import segno

    return segno.make(uri, error="m").svg_data_uri(scale=5, border=2)


def secret_encrypt(secret: str) -> str:
    return crypto.encrypt(secret, purpose=_KEY_SALT)


def secret_decrypt(stored: str) -> str | None:
    """The secret, or None when no current or fallback SECRET_KEY can read it."""
    return crypto.decrypt(stored, purpose=_KEY_SALT)

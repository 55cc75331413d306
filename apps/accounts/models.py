from __future__ import annotations

import hashlib
from collections.abc import Iterator
from functools import cached_property

from django.conf import settings
from django.contrib.auth.models import AbstractUser
from django.db import models
from django.utils.crypto import salted_hmac

from apps.core.models import TimeStampedModel

from .roles import COE_STAFF, LEADERSHIP


class User(AbstractUser):
    """The portal's user. Global roles are groups (see roles.py); team roles are memberships."""

    email = models.EmailField("email address", blank=True, db_index=True)
    # Raised by "sign out everywhere": it is part of the session hash Django checks on every
    # request, so every session signed in before the raise stops verifying at once, in every
    # browser, whatever the session store (see get_session_auth_hash).
    session_generation = models.PositiveIntegerField(default=0, editable=False)

    class Meta(AbstractUser.Meta):
        swappable = "AUTH_USER_MODEL"

    def _session_hash(self, secret: str | bytes | None = None) -> str:
        if self.session_generation == 0:
            # Django's own hash: sessions from before this field existed stay valid.
            return self._get_session_auth_hash(secret=secret)
        return salted_hmac(
            "apps.accounts.models.User.get_session_auth_hash",
            f"{self.password}\x00{self.session_generation}",
            secret=secret,
            algorithm="sha256",
        ).hexdigest()

    def get_session_auth_hash(self) -> str:
        """Django's HMAC of the password hash, plus the session generation: a new password or a
        "sign out everywhere" ends the other sessions (django.contrib.auth.get_user flushes a
        session whose stored hash no longer matches)."""
        return self._session_hash()

    def get_session_auth_fallback_hash(self) -> Iterator[str]:
        for fallback_secret in settings.SECRET_KEY_FALLBACKS:
            yield self._session_hash(secret=fallback_secret)

    @property
    def display_name(self) -> str:
        return self.get_full_name() or self.username

    @cached_property
    def role_names(self) -> frozenset[str]:
        return frozenset(self.groups.values_list("name", flat=True))

    @cached_property
    def team_ids(self) -> frozenset[int]:
        """The teams this user is in, read once per request (permission checks use it per row)."""
        return frozenset(self.memberships.values_list("team_id", flat=True))

    @property
    def is_coe_staff(self) -> bool:
        return COE_STAFF in self.role_names

    @property
    def is_leadership(self) -> bool:
        return LEADERSHIP in self.role_names


class Team(TimeStampedModel):
    name = models.CharField(max_length=120, unique=True)
    slug = models.SlugField(max_length=120, unique=True)
    description = models.TextField(blank=True)
    contact_email = models.EmailField(blank=True, help_text="Where the team can be reached.")
    members = models.ManyToManyField(settings.AUTH_USER_MODEL, through="Membership", related_name="teams")

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


class Membership(TimeStampedModel):
    class Role(models.TextChoices):
        OWNER = "owner", "Team owner"
        MEMBER = "member", "Member"

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="memberships")
    team = models.ForeignKey(Team, on_delete=models.CASCADE, related_name="memberships")
    role = models.CharField(max_length=10, choices=Role.choices, default=Role.MEMBER)

    class Meta:
        ordering = ["team__name", "user__username"]
        constraints = [models.UniqueConstraint(fields=["user", "team"], name="membership_unique_user_team")]

    def __str__(self) -> str:
        return f"{self.user} in {self.team} ({self.get_role_display()})"


class PersonalToken(models.Model):
    """A personal API token. Only its SHA-256 digest is kept; the token is shown once.

    Tokens carry 256 bits of randomness, so a fast hash is enough (as GitHub does): nobody can
    guess one to match a leaked digest.
    """

    PREFIX = "coe_"

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="tokens")
    name = models.CharField(max_length=100, help_text="What the token is for, e.g. 'CI pipeline'.")
    digest = models.CharField(max_length=64, unique=True)
    hint = models.CharField(max_length=12, help_text="The first characters, to tell tokens apart.")
    created_at = models.DateTimeField(auto_now_add=True)
    expires_at = models.DateTimeField(null=True, blank=True)
    last_used_at = models.DateTimeField(null=True, blank=True)
    revoked_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"{self.name} ({self.hint}…)"

    @staticmethod
    def digest_of(raw: str) -> str:
        return hashlib.sha256(raw.encode()).hexdigest()

    @property
    def is_active(self) -> bool:
        from django.utils import timezone

        if self.revoked_at is not None:
            return False
        return self.expires_at is None or self.expires_at > timezone.now()


class TotpDevice(models.Model):
    """A user's authenticator app (TOTP, RFC 6238): the second step of a password sign-in.

    The shared secret is kept encrypted (``mfa.secret_encrypt``), never in plain text. A device
    is not used at sign-in until confirmed with a code, so a half-finished enrolment cannot
    lock anyone out. ``last_used_step`` makes each code single-use.
    """

    user = models.OneToOneField(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="totp_device")
    secret_encrypted = models.TextField(editable=False)
    created_at = models.DateTimeField(auto_now_add=True)
    confirmed_at = models.DateTimeField(null=True, blank=True)
    last_used_step = models.BigIntegerField(null=True, blank=True, editable=False)

    class Meta:
        verbose_name = "authenticator app (MFA)"
        verbose_name_plural = "authenticator apps (MFA)"

    def __str__(self) -> str:
        state = "on" if self.confirmed_at else "being set up"
        return f"MFA of {self.user} ({state})"

    @property
    def is_confirmed(self) -> bool:
        return self.confirmed_at is not None

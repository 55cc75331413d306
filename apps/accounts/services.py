"""Every write of the accounts app. Each change an auditor cares about is audited here."""

from __future__ import annotations

import secrets
from datetime import timedelta

from django.contrib.auth.models import Group, Permission
from django.db import transaction
from django.db.models import F, Q
from django.http import HttpRequest
from django.utils import timezone
from django.utils.text import slugify

from apps.core.exceptions import ApplicationError
from apps.core.services import audit_record

from . import mfa
from .models import Membership, PersonalToken, Team, TotpDevice, User
from .roles import COE_STAFF, GLOBAL_ROLES

TOKEN_LAST_USED_GRANULARITY = timedelta(minutes=1)
MAX_ACTIVE_TOKENS = 20


def roles_ensure() -> dict[str, Group]:
    """Create the global role groups, and give CoE staff the admin permissions they need."""
    groups = {name: Group.objects.get_or_create(name=name)[0] for name in GLOBAL_ROLES}
    coe_perms = Permission.objects.filter(
        content_type__app_label="accounts",
        codename__in=[
            "view_user",
            "change_user",
            "view_team",
            "add_team",
            "change_team",
            "view_membership",
            "add_membership",
            "change_membership",
            "delete_membership",
            "view_totpdevice",  # reset the second factor of someone who lost their phone
            "delete_totpdevice",
        ],
    ) | Permission.objects.filter(content_type__app_label="core", codename="view_auditevent")
    groups[COE_STAFF].permissions.add(*coe_perms)
    return groups


@transaction.atomic
def role_grant(*, user: User, role: str, actor: User | None, request: HttpRequest | None = None) -> None:
    if role not in GLOBAL_ROLES:
        raise ApplicationError(f"Unknown role {role!r}; choose one of: {', '.join(GLOBAL_ROLES)}.")
    group = roles_ensure()[role]
    if user.groups.filter(pk=group.pk).exists():
        return
    user.groups.add(group)
    if role == COE_STAFF and not user.is_staff:
        user.is_staff = True  # CoE staff use the admin
        user.save(update_fields=["is_staff"])
    audit_record(actor=actor, action="role.grant", target=user, changes={"role": role}, request=request)


@transaction.atomic
def role_revoke(*, user: User, role: str, actor: User | None, request: HttpRequest | None = None) -> None:
    group = Group.objects.filter(name=role).first()
    if group is None or not user.groups.filter(pk=group.pk).exists():
        return
    user.groups.remove(group)
    if role == COE_STAFF and user.is_staff and not user.is_superuser:
        user.is_staff = False
        user.save(update_fields=["is_staff"])
    audit_record(actor=actor, action="role.revoke", target=user, changes={"role": role}, request=request)


@transaction.atomic
def team_create(
    *,
    name: str,
    actor: User | None,
    slug: str = "",
    description: str = "",
    contact_email: str = "",
    request: HttpRequest | None = None,
) -> Team:
    name = name.strip()
    if not name:
        raise ApplicationError("A team needs a name.", field_errors={"name": ["This field is required."]})
    slug = slugify(slug or name)
    if not slug:
        raise ApplicationError(
            "The slug must contain letters or digits.", field_errors={"slug": ["Use letters, digits and hyphens."]}
        )
    if Team.objects.filter(name__iexact=name).exists():
        raise ApplicationError(
            "A team with this name exists.", field_errors={"name": ["A team with this name exists."]}
        )
    if Team.objects.filter(slug=slug).exists():
        raise ApplicationError(
            "A team with this slug exists.", field_errors={"slug": ["A team with this slug exists."]}
        )
    team = Team.objects.create(name=name, slug=slug, description=description, contact_email=contact_email)
    audit_record(actor=actor, action="team.create", target=team, changes={"name": name}, request=request)
    return team


@transaction.atomic
def membership_set(
    *, team: Team, user: User, role: str, actor: User | None, request: HttpRequest | None = None
) -> Membership:
    if role not in Membership.Role.values:
        raise ApplicationError(f"Unknown team role {role!r}.", field_errors={"role": ["Choose owner or member."]})
    membership, created = Membership.objects.get_or_create(team=team, user=user, defaults={"role": role})
    if not created and membership.role != role:
        membership.role = role
        membership.save(update_fields=["role", "updated_at"])
    elif not created:
        return membership
    audit_record(
        actor=actor,
        action="membership.set",
        target=team,
        changes={"user": user.get_username(), "role": role},
        request=request,
    )
    return membership


@transaction.atomic
def membership_remove(*, team: Team, user: User, actor: User | None, request: HttpRequest | None = None) -> None:
    deleted, _ = Membership.objects.filter(team=team, user=user).delete()
    if deleted:
        audit_record(
            actor=actor,
            action="membership.remove",
            target=team,
            changes={"user": user.get_username()},
            request=request,
        )


@transaction.atomic
def token_create(
    *, user: User, name: str, expires_in_days: int | None = None, request: HttpRequest | None = None
) -> tuple[PersonalToken, str]:
    """Create a token; return it with the raw value, which is never stored and shown once."""
    name = name.strip()
    if not name:
        raise ApplicationError("Give the token a name.", field_errors={"name": ["This field is required."]})
    if expires_in_days is not None and not 1 <= expires_in_days <= 365:
        raise ApplicationError(
            "Expiry must be between 1 and 365 days.",
            field_errors={"expires_in_days": ["Choose between 1 and 365 days, or no expiry."]},
        )
    active = PersonalToken.objects.filter(user=user, revoked_at__isnull=True).count()
    if active >= MAX_ACTIVE_TOKENS:
        raise ApplicationError(f"You already have {active} active tokens; revoke one first.")
    raw = PersonalToken.PREFIX + secrets.token_urlsafe(32)
    token = PersonalToken.objects.create(
        user=user,
        name=name,
        digest=PersonalToken.digest_of(raw),
        hint=raw[: len(PersonalToken.PREFIX) + 6],
        expires_at=timezone.now() + timedelta(days=expires_in_days) if expires_in_days else None,
    )
    audit_record(actor=user, action="token.create", target=token, changes={"name": name}, request=request)
    return token, raw


@transaction.atomic
def token_revoke(*, token: PersonalToken, actor: User, request: HttpRequest | None = None) -> PersonalToken:
    if token.revoked_at is None:
        token.revoked_at = timezone.now()
        token.save(update_fields=["revoked_at"])
        audit_record(actor=actor, action="token.revoke", target=token, request=request)
    return token


def token_authenticate(*, raw: str) -> PersonalToken | None:
    """The active token for a raw value, or None. Records last use, at most once a minute."""
    if not raw.startswith(PersonalToken.PREFIX):
        return None
    token = (
        PersonalToken.objects.select_related("user")
        .filter(digest=PersonalToken.digest_of(raw), revoked_at__isnull=True)
        .first()
    )
    if token is None or not token.is_active or not token.user.is_active:
        return None
    now = timezone.now()
    if token.last_used_at is None or now - token.last_used_at > TOKEN_LAST_USED_GRANULARITY:
        PersonalToken.objects.filter(pk=token.pk).update(last_used_at=now)
        token.last_used_at = now
    return token


def user_ensure(
    *, username: str, password: str, first_name: str = "", last_name: str = "", email: str = ""
) -> tuple[User, bool]:
    """Get or create a user; the password is set only on creation (demo data stays re-runnable)."""
    user, created = User.objects.get_or_create(
        username=username, defaults={"first_name": first_name, "last_name": last_name, "email": email}
    )
    if created:
        user.set_password(password)
        user.save(update_fields=["password"])
    return user, created


# --- Sessions and MFA ------------------------------------------------------------------------


@transaction.atomic
def sessions_end_everywhere(*, user: User, request: HttpRequest | None = None) -> None:
    """End every session of ``user``, in every browser, this one included.

    Raises the user's session generation, which is part of the hash Django checks against each
    session on every request (``User.get_session_auth_hash``): sessions signed in before it
    are flushed at their next request, whatever the session store. Personal API tokens are
    untouched: they are revoked one by one, on purpose.
    """
    User.objects.filter(pk=user.pk).update(session_generation=F("session_generation") + 1)
    user.refresh_from_db(fields=["session_generation"])
    audit_record(actor=user, action="user.logout_everywhere", target=user, request=request)


def _mfa_code_error() -> ApplicationError:
    return ApplicationError(
        "That code is not right. Enter the 6-digit code your authenticator app shows now.",
        field_errors={"code": ["That code is not right, or was already used."]},
    )


def _mfa_code_spend(*, device: TotpDevice, code: str) -> bool:
    """Check ``code`` against the device and spend it, so it cannot be used again.

    The conditional UPDATE settles a race: of two requests with the same code, one wins.
    """
    secret = mfa.secret_decrypt(device.secret_encrypted)
    if secret is None:
        return False
    step = mfa.verify(mfa.secret_key_bytes(secret), code, after_step=device.last_used_step)
    if step is None:
        return False
    spent = (
        TotpDevice.objects.filter(pk=device.pk)
        .filter(Q(last_used_step__isnull=True) | Q(last_used_step__lt=step))
        .update(last_used_step=step)
    )
    if spent:
        device.last_used_step = step
    return bool(spent)


def mfa_code_check(*, user: User, code: str) -> bool:
    """The sign-in step: is ``code`` a fresh, right code of the user's confirmed device?"""
    device = TotpDevice.objects.filter(user=user, confirmed_at__isnull=False).first()
    return device is not None and _mfa_code_spend(device=device, code=code)


@transaction.atomic
def mfa_enrol_start(*, user: User) -> tuple[TotpDevice, str]:
    """A new, unconfirmed authenticator secret for ``user``; returns it with the secret.

    Starting again replaces an unconfirmed secret. A confirmed one must be turned off first
    (with a code), so someone at an unlocked screen cannot silently move the second factor.
    """
    if TotpDevice.objects.filter(user=user, confirmed_at__isnull=False).exists():
        raise ApplicationError("Two-step sign-in is already on. Turn it off first to set up another app.")
    secret = mfa.secret_generate()
    device, _ = TotpDevice.objects.update_or_create(
        user=user,
        defaults={"secret_encrypted": mfa.secret_encrypt(secret), "confirmed_at": None, "last_used_step": None},
    )
    return device, secret


@transaction.atomic
def mfa_confirm(*, user: User, code: str, request: HttpRequest | None = None) -> TotpDevice:
    """Turn two-step sign-in on, once the user proves the app shows the right codes."""
    device = TotpDevice.objects.select_for_update().filter(user=user, confirmed_at__isnull=True).first()
    if device is None:
        raise ApplicationError("Start setting up two-step sign-in first.")
    if not _mfa_code_spend(device=device, code=code):
        raise _mfa_code_error()
    device.confirmed_at = timezone.now()
    device.save(update_fields=["confirmed_at"])
    audit_record(actor=user, action="user.mfa_enable", target=user, request=request)
    return device


@transaction.atomic
def mfa_disable(*, user: User, code: str, request: HttpRequest | None = None) -> None:
    """Turn two-step sign-in off; a current code is needed, not just the open session."""
    device = TotpDevice.objects.select_for_update().filter(user=user, confirmed_at__isnull=False).first()
    if device is None:
        raise ApplicationError("Two-step sign-in is not on.")
    if not _mfa_code_spend(device=device, code=code):
        raise _mfa_code_error()
    device.delete()
    audit_record(actor=user, action="user.mfa_disable", target=user, request=request)

"""Sign-in, sign-out and failed sign-in go to the audit trail. Django announces them with signals
(the login view, ``logout()``, ``authenticate()``), so thin receivers are the one place to hear
them; the writing is ``services.audit_record``. No password is ever recorded: a failed attempt
keeps only the username that was typed."""

from __future__ import annotations

from typing import Any

from django.contrib.auth import get_user_model
from django.contrib.auth.signals import user_logged_in, user_logged_out, user_login_failed
from django.dispatch import receiver
from django.http import HttpRequest

from .services import audit_record

USERNAME_MAX = 150


@receiver(user_logged_in, dispatch_uid="core.audit.sign_in")
def audit_sign_in(sender: Any, request: HttpRequest | None, user: Any, **kwargs: Any) -> None:
    audit_record(actor=user, action="auth.login", target=user, request=request)


@receiver(user_logged_out, dispatch_uid="core.audit.sign_out")
def audit_sign_out(sender: Any, request: HttpRequest | None, user: Any, **kwargs: Any) -> None:
    if user is not None and user.is_authenticated:
        audit_record(actor=user, action="auth.logout", target=user, request=request)


@receiver(user_login_failed, dispatch_uid="core.audit.sign_in_failed")
def audit_sign_in_failed(
    sender: Any, credentials: dict[str, Any], request: HttpRequest | None = None, **kwargs: Any
) -> None:
    """Also sent for attempts refused by the lockout (django-axes). The account, if the username is
    one, becomes the entry's object, so the trail of that person shows who tried to get in."""
    model = get_user_model()
    username = str(credentials.get(model.USERNAME_FIELD) or credentials.get("username") or "")[:USERNAME_MAX]
    account = model._default_manager.filter(**{model.USERNAME_FIELD: username}).first() if username else None
    audit_record(
        actor=None,
        actor_repr="anonymous",
        action="auth.login_failed",
        target=account,
        changes={"username": username},
        request=request,
    )

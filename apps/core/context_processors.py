from __future__ import annotations

from typing import Any

from django.conf import settings
from django.http import HttpRequest

from . import selectors


def portal(request: HttpRequest) -> dict[str, Any]:
    user = getattr(request, "user", None)
    signed_in = bool(user and user.is_authenticated)
    return {
        "site_name": settings.SITE_NAME,
        "unread_count": selectors.notification_unread_count(user=user) if signed_in else 0,
    }

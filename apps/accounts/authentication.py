from __future__ import annotations

from rest_framework import exceptions
from rest_framework.authentication import TokenAuthentication

from . import services
from .models import PersonalToken, User


class PersonalTokenAuthentication(TokenAuthentication):
    """``Authorization: Token <token>`` with a personal token (stored as a digest)."""

    keyword = "Token"

    def authenticate_credentials(self, key: str) -> tuple[User, PersonalToken]:
        token = services.token_authenticate(raw=key)
        if token is None:
            raise exceptions.AuthenticationFailed("Invalid, expired or revoked token.")
        return token.user, token

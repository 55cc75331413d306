"""Personas every test can ask for, by name (STYLE.md): coe_staff, team_member,
other_team_member, leader, anonymous; and their teams."""

from __future__ import annotations

import os

import pytest
from django.core.cache import cache
from django.test import Client

from apps.accounts.models import Membership, Team, User
from apps.accounts.roles import COE_STAFF, LEADERSHIP
from apps.accounts.services import roles_ensure

from .factories import PASSWORD, MembershipFactory, TeamFactory, UserFactory

# Playwright's sync API runs an event loop in the test thread; the ORM calls made by fixtures
# in that thread are still synchronous and safe.
os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")


def pytest_configure(config: pytest.Config) -> None:
    from django.conf import settings

    # Hashing test passwords with PBKDF2 would cost a third of a second per user.
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    # The other apps' demo tests seed the demo; a month of telemetry would cost each of them a minute.
    # tests/telemetry/test_demo.py turns it back on for itself.
    settings.DEMO_TELEMETRY_DAYS = 0
    # The suite sends far more than a person would; tests/core/test_api_hardening.py sets real limits.
    from rest_framework.settings import api_settings

    settings.REST_FRAMEWORK = {
        **settings.REST_FRAMEWORK,
        "DEFAULT_THROTTLE_RATES": {"person": "100000/min", "anonymous": "100000/min"},
    }
    api_settings.reload()


PERSONAS = ("anonymous", "team_member", "other_team_member", "coe_staff", "leader")


@pytest.fixture(autouse=True)
def _clear_cache() -> None:
    cache.clear()


@pytest.fixture
def password() -> str:
    return PASSWORD


@pytest.fixture
def roles(db: None) -> None:
    roles_ensure()


@pytest.fixture
def team(db: None) -> Team:
    return TeamFactory(name="Claims Automation", slug="claims-automation")


@pytest.fixture
def other_team(db: None) -> Team:
    return TeamFactory(name="Customer Service AI", slug="customer-service-ai")


@pytest.fixture
def team_member(team: Team) -> User:
    user = UserFactory(username="tina", first_name="Tina", last_name="Member")
    MembershipFactory(user=user, team=team, role=Membership.Role.OWNER)
    return user


@pytest.fixture
def other_team_member(other_team: Team) -> User:
    user = UserFactory(username="otto", first_name="Otto", last_name="Other")
    MembershipFactory(user=user, team=other_team, role=Membership.Role.OWNER)
    return user


@pytest.fixture
def coe_staff(roles: None) -> User:
    return UserFactory(username="cora", first_name="Cora", last_name="Staff", roles=[COE_STAFF], is_staff=True)


@pytest.fixture
def leader(roles: None) -> User:
    return UserFactory(username="lee", first_name="Lee", last_name="Leader", roles=[LEADERSHIP])


@pytest.fixture
def anonymous() -> None:
    return None


@pytest.fixture
def persona(request: pytest.FixtureRequest) -> User | None:
    """Indirect parametrisation: ``@pytest.mark.parametrize("persona", PERSONAS, indirect=True)``."""
    return request.getfixturevalue(request.param)


@pytest.fixture
def client_for(db: None):  # type: ignore[no-untyped-def]
    """A test client signed in as the given user (or anonymous for None)."""

    def make(user: User | None) -> Client:
        client = Client()
        if user is not None:
            client.force_login(user)
        return client

    return make

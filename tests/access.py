"""The permission matrix: who may do what, for every page and every API operation.

``test_permission_matrix.py`` walks the URL conf and the OpenAPI schema and fails when a route
is missing here, so a new view or endpoint cannot slip past; then it tries each one as every
persona and checks the answer. Add your routes here when you add them.

Expectations: OK (2xx/3xx that is not a bounce to sign-in), LOGIN (pages: redirect to sign-in;
API: 401), DENIED (403), HIDDEN (404: not there, or not yours to see), SIGNED_OUT (sign-out's
redirect to the sign-in page), UNAUTHORIZED (401 on a page as on the API, signed in or not: the
route takes no session or personal token, only a credential of its own, a workload's ingestion key).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

OK, LOGIN, DENIED, HIDDEN = "ok", "login", "denied", "hidden"
SIGNED_OUT = "signed-out"  # a redirect to the sign-in page is the right answer
UNAUTHORIZED = "unauthorized"  # 401 for everyone: people's sessions and tokens are not ingestion keys
PERSONAS = ("anonymous", "team_member", "other_team_member", "coe_staff", "leader")


def everyone(expect: str) -> dict[str, str]:
    return dict.fromkeys(PERSONAS, expect)


SIGNED_IN = {**everyone(OK), "anonymous": LOGIN}
PUBLIC = everyone(OK)
COE_ONLY = {**everyone(DENIED), "anonymous": LOGIN, "coe_staff": OK}
COE_AND_LEADERSHIP = {**COE_ONLY, "leader": OK}


@dataclass
class Route:
    """One route: for each method, what each persona gets. ``kwargs`` and ``data`` take the
    test world (personas and their objects) and return URL kwargs or a request body."""

    expect: dict[str, dict[str, str]]
    kwargs: Callable[[Any], dict[str, Any]] = field(default=lambda world: {})
    data: Callable[[Any, str], dict[str, Any]] = field(default=lambda world, persona: {})


def _own_token(world: Any) -> dict[str, Any]:
    return {"pk": world.team_member_token.pk}


def _team(world: Any) -> dict[str, Any]:
    return {"slug": world.team.slug}


# Pages and other non-API views, by URL name.
PAGES: dict[str, Route] = {
    "core:home": Route({"GET": SIGNED_IN}),
    "core:healthz": Route({"GET": PUBLIC}),
    "core:favicon": Route({"GET": PUBLIC}),
    "core:notification-list": Route({"GET": SIGNED_IN}),
    "core:notification-mark-read": Route({"POST": SIGNED_IN}),
    "core:notification-badge": Route({"GET": SIGNED_IN}),
    "core:section": Route({"GET": SIGNED_IN}, kwargs=lambda w: {"section": "dashboards"}),
    "core:audit-list": Route({"GET": COE_AND_LEADERSHIP}),
    "core:audit-export": Route({"GET": COE_AND_LEADERSHIP}),
    "accounts:login": Route({"GET": PUBLIC}),
    "accounts:logout": Route({"POST": everyone(SIGNED_OUT)}),
    "accounts:profile": Route({"GET": SIGNED_IN}),
    "accounts:token-create": Route({"POST": SIGNED_IN}, data=lambda w, p: {"name": f"token of {p}"}),
    "accounts:token-revoke": Route(
        {"POST": {**everyone(HIDDEN), "anonymous": LOGIN, "team_member": OK}}, kwargs=_own_token
    ),
    "accounts:team-list": Route({"GET": SIGNED_IN}),
    "accounts:team-detail": Route({"GET": SIGNED_IN}, kwargs=_team),
    "api-schema": Route({"GET": PUBLIC}),
    "api-docs": Route({"GET": PUBLIC}),
}

# Each app's routes live beside its tests (tests/<app>/access.py) and are merged at the end.

# URL names the matrix leaves to their own tests, with the reason.
PAGES_EXEMPT_NAMESPACES = {
    "admin": "Django admin: its own staff check, tested in tests/core/test_admin.py",
    "api": "API routes: checked per operation from the OpenAPI schema below",
    "oidc": "SSO routes, there only when OIDC_RP_CLIENT_ID is set: every persona in tests/accounts/test_sso.py",
}


def _new_team(world: Any, persona: str) -> dict[str, Any]:
    return {"name": f"New team by {persona}"}


# API operations, by "METHOD path" as the OpenAPI schema names them.
API: dict[str, Route] = {
    "GET /api/v1/me/": Route({"GET": SIGNED_IN}),
    "GET /api/v1/teams/": Route({"GET": SIGNED_IN}),
    "POST /api/v1/teams/": Route({"POST": COE_ONLY}, data=_new_team),
    "GET /api/v1/teams/{slug}/": Route({"GET": SIGNED_IN}, kwargs=_team),
    "GET /api/v1/audit/": Route({"GET": COE_AND_LEADERSHIP}),
}


BUILDERS: list[Callable[[Any], None]] = []  # each app's objects for the matrix's world


def _merge() -> None:
    import importlib

    # Each module may define PAGES, API and build(world); builders run in this order.
    for name in (
        "tests.registry.access",
        "tests.library.access",
        "tests.library.access_pages",
        "tests.library.access_api",
        "tests.registry.access_adoption",
        "tests.governance.access",
        "tests.governance.access_pages",
        "tests.governance.access_pages_compliance",
        "tests.governance.access_api",
        "tests.telemetry.access_api",
        "tests.telemetry.access_pages",
        "tests.feedback.access_api",
        "tests.feedback.access_pages",
        "tests.dashboards.access",
        "tests.accounts.access_sessions",
    ):
        try:
            module = importlib.import_module(name)
        except ModuleNotFoundError as exc:
            if exc.name != name:
                raise
            continue
        if hasattr(module, "build"):
            BUILDERS.append(module.build)
        for route in getattr(module, "PAGES", {}):
            if route in PAGES:
                raise AssertionError(f"{route} is in two access tables")
        PAGES.update(getattr(module, "PAGES", {}))
        API.update(getattr(module, "API", {}))


_merge()

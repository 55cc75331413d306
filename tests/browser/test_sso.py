"""Single sign-on in a real browser: Chromium follows the portal's redirect to a real OpenID
Connect provider (tests/sso_provider.py) and back, and the portal's backend fetches the tokens
from it over HTTP."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from playwright.sync_api import Page, expect
from pytest_django.live_server_helper import LiveServer

from apps.accounts.models import Team, User

from ..sso_provider import Provider, running_provider, sso_on


@pytest.fixture
def provider(live_server: LiveServer, roles: None) -> Iterator[Provider]:
    with running_provider() as provider:
        provider.redirect_uris = {f"{live_server.url}/oidc/callback/"}
        with sso_on(provider):
            yield provider


def test_sign_in_with_single_sign_on_lands_on_home_signed_in(
    page: Page, live_server: LiveServer, team: Team, provider: Provider
) -> None:
    provider.person.groups = ["team:claims-automation", "leadership"]

    page.goto("/accounts/login/")
    expect(page.get_by_label("Password")).to_be_visible()  # local accounts stay on by default
    page.get_by_role("link", name="Sign in with single sign-on").click()

    expect(page).to_have_url(f"{live_server.url}/")
    expect(page.get_by_role("heading", level=1)).to_have_text("Welcome, Sam Single")
    expect(page.locator(".usernav__name")).to_have_text("Sam Single")
    expect(page.get_by_role("region", name="Your teams")).to_contain_text("Claims Automation")
    expect(page.get_by_role("region", name="Portfolio")).to_be_visible()  # Leadership, from the groups
    assert {"GET /authorize", "POST /token", "GET /jwks", "GET /userinfo"} <= set(provider.calls)
    assert User.objects.get(email="sam.sso@example.org").is_leadership

"""Personal API tokens on the profile page: create (htmx), shown once, used, revoked."""

from __future__ import annotations

import json
import re
import urllib.error
import urllib.request

from playwright.sync_api import Dialog, Page, expect
from pytest_django.live_server_helper import LiveServer

from apps.accounts.models import PersonalToken, User

from .conftest import sign_in


def api_me(live_server: LiveServer, token: str) -> tuple[int, dict]:
    """GET /api/v1/me/ with the token and nothing else (no browser cookies)."""
    request = urllib.request.Request(  # noqa: S310 (http on our live server)
        f"{live_server.url}/api/v1/me/",
        headers={"Authorization": f"Token {token}", "Accept": "application/json"},
    )
    try:
        with urllib.request.urlopen(request, timeout=10) as response:  # noqa: S310
            return response.status, json.load(response)
    except urllib.error.HTTPError as error:
        with error:
            return error.code, json.load(error)


def open_profile(page: Page, live_server: LiveServer, user: User) -> None:
    sign_in(page, live_server, user)
    page.locator(".usernav__name").click()
    expect(page).to_have_url(f"{live_server.url}/accounts/profile/")
    expect(page.get_by_role("heading", level=1)).to_have_text(user.display_name)
    expect(page.get_by_role("heading", name="Personal API tokens")).to_be_visible()


def test_token_is_shown_once_works_on_the_api_and_stops_working_once_revoked(
    page: Page, live_server: LiveServer, team_member: User
) -> None:
    open_profile(page, live_server, team_member)
    tokens = page.locator("#tokens")
    expect(tokens).to_contain_text("You have no tokens.")

    page.get_by_role("textbox", name="Name", exact=True).fill("CI pipeline")
    page.get_by_role("button", name="Create token").click()

    # htmx swapped the section in place: still the profile page, the secret shown once.
    expect(tokens.get_by_role("status")).to_contain_text("Token “CI pipeline” created.")
    secret = page.get_by_test_id("new-token")
    expect(secret).to_be_visible()
    expect(secret).to_have_value(re.compile(r"^coe_[\w-]{40,}$"))
    raw = secret.input_value()
    assert raw.startswith("coe_")
    expect(page).to_have_url(f"{live_server.url}/accounts/profile/")

    row = tokens.get_by_role("row").filter(has_text="CI pipeline")
    expect(row).to_have_count(1)
    expect(row).to_contain_text("Active")
    expect(row).to_contain_text(raw[:10] + "…")
    expect(row.get_by_role("cell").nth(3)).to_have_text("never")  # last used
    expect(page.get_by_role("textbox", name="Name", exact=True)).to_have_value("")  # the form is ready for another

    # Reloading never shows the value again, but the token is still listed.
    page.reload()
    expect(page.get_by_test_id("new-token")).to_have_count(0)
    expect(page.locator("main")).not_to_contain_text(raw)
    expect(tokens.get_by_role("row").filter(has_text="CI pipeline")).to_contain_text("Active")

    status, body = api_me(live_server, raw)
    assert status == 200, body
    assert body["username"] == team_member.username

    # The use is recorded.
    page.reload()
    expect(row.get_by_role("cell").nth(3)).not_to_have_text("never")

    dialogs: list[str] = []

    def accept(dialog: Dialog) -> None:
        dialogs.append(dialog.message)
        dialog.accept()

    page.on("dialog", accept)
    row.get_by_role("button", name="Revoke").click()

    expect(row).to_contain_text("Revoked")
    expect(row).not_to_contain_text("Active")
    expect(row.get_by_role("button", name="Revoke")).to_have_count(0)
    assert dialogs == ["Revoke “CI pipeline”? Programs using it will stop working."]
    expect(page).to_have_url(f"{live_server.url}/accounts/profile/")

    status, body = api_me(live_server, raw)
    assert status == 401, body
    assert "username" not in body


def test_dismissing_the_revoke_confirmation_keeps_the_token_active(
    page: Page, live_server: LiveServer, team_member: User
) -> None:
    open_profile(page, live_server, team_member)
    page.get_by_role("textbox", name="Name", exact=True).fill("notebook")
    page.get_by_role("button", name="Create token").click()
    raw = page.get_by_test_id("new-token").input_value()

    page.on("dialog", lambda dialog: dialog.dismiss())
    row = page.locator("#tokens").get_by_role("row").filter(has_text="notebook")
    row.get_by_role("button", name="Revoke").click()

    # The one-time value is still on screen: nothing was sent, nothing swapped.
    expect(page.get_by_test_id("new-token")).to_have_value(raw)
    expect(row).to_contain_text("Active")
    assert api_me(live_server, raw)[0] == 200


def test_token_with_empty_name_shows_validation_error_and_creates_nothing(
    page: Page, live_server: LiveServer, team_member: User
) -> None:
    open_profile(page, live_server, team_member)

    page.get_by_role("button", name="Create token").click()

    tokens = page.locator("#tokens")
    error = tokens.locator(".field--error").filter(has=page.get_by_role("textbox", name="Name", exact=True))
    expect(error.get_by_role("alert")).to_have_text("This field is required.")
    expect(tokens).to_contain_text("You have no tokens.")
    expect(page.get_by_test_id("new-token")).to_have_count(0)
    expect(page).to_have_url(f"{live_server.url}/accounts/profile/")
    assert not PersonalToken.objects.filter(user=team_member).exists()

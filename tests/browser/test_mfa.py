"""Two-step sign-in and signing out everywhere, in a real browser: enrol by reading the key
from the page (as a person types it into an app), sign in with password and code, and end a
second browser's session from the first."""

from __future__ import annotations

import re
import time

from playwright.sync_api import Browser, Page, expect
from pytest_django.live_server_helper import LiveServer

from apps.accounts import mfa
from apps.accounts.models import TotpDevice, User
from tests.factories import PASSWORD

from .conftest import BrowserErrors, sign_in


def code_for(secret: str, *, ahead: int = 0) -> str:
    """What the authenticator app shows now (``ahead`` steps later: a code works once)."""
    return mfa.totp(mfa.secret_key_bytes(secret), time.time() + ahead * mfa.STEP_SECONDS)


def test_enrol_sign_in_with_code_and_sign_out_everywhere(
    page: Page, browser: Browser, live_server: LiveServer, team_member: User, browser_errors: BrowserErrors
) -> None:
    # A second browser (the phone left signed in somewhere), signed in before anything changes.
    other = browser.new_context(base_url=live_server.url)
    other_page = other.new_page()
    try:
        sign_in(other_page, live_server, team_member)

        # Enrol: the key is on the page, as a person would copy it into an app.
        sign_in(page, live_server, team_member)
        page.goto("/accounts/profile/")
        panel = page.locator("#mfa")
        expect(panel).to_contain_text("Off")
        panel.get_by_role("button", name="Set up two-step sign-in").click()
        expect(panel).to_contain_text("Being set up")
        expect(panel.get_by_role("img", name="QR code of the authenticator link below")).to_be_visible()
        secret = page.get_by_test_id("mfa-secret").input_value().replace(" ", "")
        expect(page.get_by_test_id("mfa-uri")).to_have_attribute(
            "href", re.compile(rf"^otpauth://totp/.*secret={secret}")
        )
        panel.get_by_label("Code from your authenticator app").fill(code_for(secret))
        panel.get_by_role("button", name="Turn on two-step sign-in").click()
        expect(page.locator("#messages")).to_contain_text("Two-step sign-in is on")
        expect(panel).to_contain_text("On")
        assert TotpDevice.objects.get(user=team_member).is_confirmed

        # Sign out, then in: the password alone is not enough.
        page.get_by_role("button", name="Sign out", exact=True).click()
        expect(page.get_by_role("heading", name="Sign in", level=1)).to_be_visible()
        page.get_by_label("Username").fill(team_member.username)
        page.get_by_label("Password").fill(PASSWORD)
        page.get_by_role("button", name="Sign in").click()
        expect(page.get_by_role("heading", name="Enter your code", level=1)).to_be_visible()
        expect(page.locator(".usernav__name")).to_have_count(0)
        page.get_by_label("Code from your authenticator app").fill("000000")
        page.get_by_role("button", name="Verify and sign in").click()
        expect(page.locator(".field--error")).to_contain_text("That code is not right")
        page.get_by_label("Code from your authenticator app").fill(code_for(secret, ahead=1))
        page.get_by_role("button", name="Verify and sign in").click()
        expect(page.locator(".usernav__name")).to_have_text(team_member.display_name)

        # The other browser is still signed in; sign out everywhere ends it.
        other_page.goto("/accounts/profile/")
        expect(other_page.locator(".usernav__name")).to_have_text(team_member.display_name)
        page.goto("/accounts/profile/")
        expect(page.locator("#sessions")).to_contain_text("Personal API tokens are not affected")
        page.locator("#sessions").get_by_role("button", name="Sign out everywhere").click()
        expect(page.get_by_role("heading", name="Sign in", level=1)).to_be_visible()
        expect(page.locator("#messages")).to_contain_text("You are signed out everywhere")

        other_page.goto("/accounts/profile/")
        expect(other_page).to_have_url(re.compile(r"/accounts/login/\?next=/accounts/profile/$"))
        expect(other_page.get_by_role("heading", name="Sign in", level=1)).to_be_visible()
    finally:
        other.close()

"""Pages outside the portal's own templates, reached from its links: the admin and the API
docs. They must work under the portal's Content-Security-Policy too."""

from __future__ import annotations

from playwright.sync_api import Page, expect
from pytest_django.live_server_helper import LiveServer

from apps.accounts.models import User

from .conftest import BrowserErrors, sign_in


def test_coe_staff_admin_link_opens_site_administration(
    page: Page, live_server: LiveServer, coe_staff: User, browser_errors: BrowserErrors
) -> None:
    sign_in(page, live_server, coe_staff)

    page.get_by_role("navigation", name="Main").get_by_role("link", name="Admin").click()

    expect(page).to_have_url(f"{live_server.url}/admin/")
    expect(page).to_have_title("Site administration | CoE Portal admin")
    expect(page.get_by_role("heading", level=1)).to_have_text("Site administration")
    expect(page.get_by_role("link", name="CoE Portal administration")).to_be_visible()
    expect(page.get_by_role("link", name="Teams").first).to_be_visible()


def test_footer_api_link_opens_api_docs_listing_the_me_endpoint(
    page: Page, live_server: LiveServer, team_member: User
) -> None:
    sign_in(page, live_server, team_member)

    page.get_by_role("contentinfo").get_by_role("link", name="API").click()

    expect(page).to_have_url(f"{live_server.url}/api/docs/")
    expect(page).to_have_title("CoE Portal API")
    # Swagger UI draws the operations with JavaScript: seeing them proves it ran under the CSP.
    expect(page.get_by_role("heading", name="CoE Portal API")).to_be_visible()
    expect(page.locator(".opblock-summary-path", has_text="/api/v1/me/")).to_be_visible()

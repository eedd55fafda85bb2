"""Zero Content-Security-Policy violations in Chromium, the admin included.

The page's own CSP header (Django's ContentSecurityPolicyMiddleware, nonces) is enforced by the
browser; violations are caught two ways: a `securitypolicyviolation` listener installed by an
init script (which CSP does not apply to) and reporting through an exposed binding, and console
messages mentioning the policy. JavaScript errors (`pageerror`) are collected too: a blocked
script would otherwise just leave the page half-working.
"""

import re

import pytest
from playwright.sync_api import Page, expect

from customer_data.models import CustomerData
from tests.browser.conftest import BROWSER_DB, CspWatch
from tests.factories import PASSWORD, CustomerDataFactory

pytestmark = [pytest.mark.browser, BROWSER_DB]


class Watched:
    """A page with its CSP watch and its JavaScript errors."""

    def __init__(self, page: Page) -> None:
        self.page = page
        self.csp = CspWatch(page)
        self.errors: list[str] = []
        page.on("pageerror", lambda error: self.errors.append(f"{page.url}: {error}"))
        self.visited: list[str] = []

    def visit(self, path: str) -> None:
        response = self.page.goto(path)
        assert response is not None, path
        assert response.status == 200, (path, response.status)
        policy = response.header_value("content-security-policy") or ""
        assert re.search(r"script-src [^;]*'nonce-", policy), (path, policy)
        assert "unsafe-inline" not in policy, (path, policy)
        self.page.wait_for_load_state("load")
        self.csp.settle()
        self.visited.append(path)

    def assert_clean(self) -> None:
        # Reports of violations after the load (e.g. by scripts) arrive over the binding.
        self.csp.settle()
        assert self.visited
        report = f"CSP violations on {self.visited}:\n{self.csp.report()}"
        assert not self.csp.violations, report
        assert not self.csp.console, report
        assert not self.errors, f"JavaScript errors: {self.errors}"


@pytest.fixture
def watched(viewer):
    def _watched(user=None, **context_args) -> Watched:
        return Watched(viewer(user, **context_args))

    return _watched


@pytest.fixture
def owner_data(demo_users) -> CustomerData:
    return CustomerDataFactory(user=demo_users["member"], full=True)


def test_the_watch_catches_a_violation(watched, demo_users) -> None:
    """Control: an inline style and a foreign image are reported, so zero below means zero."""
    page = watched(demo_users["member"])
    page.visit("/")
    with page.page.expect_console_message(lambda m: "Content Security Policy" in m.text):
        page.page.evaluate(
            """() => {
              const style = document.createElement("style");
              style.textContent = "body { color: red; }";
              document.head.append(style);
              const img = document.createElement("img");
              img.src = "https://example.invalid/pixel.png";
              document.body.append(img);
            }"""
        )
    html = page.page.locator("html")
    for directive in ("style-src-elem", "img-src"):
        expect(html).to_have_attribute("data-csp-directives", re.compile(rf"\b{directive}\b"))
    page.csp.settle()
    directives = {v["directive"] for v in page.csp.violations}
    assert {"style-src-elem", "img-src"} <= directives, page.csp.report()
    assert page.csp.console


def test_login_and_admin_login(watched) -> None:
    page = watched()
    page.visit("/accounts/login/")
    page.page.get_by_role("button", name="Anmelden", exact=True).last.click()
    expect(page.page.locator(".invalid-feedback").first).to_be_visible()
    page.visit("/admin/login/")
    expect(page.page.locator("#login-form")).to_be_visible()
    page.assert_clean()


def test_owner_profile_tab_and_public_profile(watched, demo_users, owner_data) -> None:
    page = watched(demo_users["member"])
    page.visit("/settings/profile/")
    # The scripts ran (they are nonce'd): the menu opens and the switch shows its warning.
    page.page.locator("#avatar-menu-button").click()
    expect(page.page.locator("#avatar-menu-list")).to_be_visible()
    page.page.get_by_role("switch").uncheck()
    expect(page.page.locator("[data-withdraw-warning]")).to_be_visible()
    page.visit("/members/member/")
    expect(page.page.locator(".customer-panel dl")).to_be_visible()
    page.visit("/settings/privacy/")
    page.visit("/settings/privacy/preview/")
    page.assert_clean()


def test_ring_page_and_directory_as_mitgestalter(watched, demo_users, owner_data) -> None:
    page = watched(demo_users["expert"])
    page.visit("/members/member/")
    expect(page.page.locator(".customer-panel .fill-ring")).to_be_visible()
    page.visit("/members/")
    page.assert_clean()


def test_team_views_and_customer_data_admin(watched, demo_users, owner_data) -> None:
    page = watched(demo_users["team"])
    page.visit("/members/member/")
    expect(page.page.locator(".customer-panel dl")).to_be_visible()
    page.visit("/members/")
    page.visit("/admin/")
    page.visit("/admin/customer_data/customerdata/")
    expect(page.page.locator("#result_list")).to_be_visible()
    page.visit(f"/admin/customer_data/customerdata/{owner_data.pk}/change/")
    expect(page.page.locator(".customer-value").first).to_be_visible()
    page.assert_clean()


def test_admin_login_form_as_team(watched, demo_users) -> None:
    """The admin's own login form, used for real, then the customer-data changelist."""
    page = watched()
    page.visit("/admin/login/?next=/admin/customer_data/customerdata/")
    page.page.get_by_label("Benutzername").fill("team")
    page.page.get_by_label("Passwort").fill(PASSWORD)
    with page.page.expect_navigation():
        page.page.get_by_role("button", name="Anmelden").click()
    expect(page.page).to_have_url(re.compile(r"/admin/customer_data/customerdata/$"))
    page.assert_clean()

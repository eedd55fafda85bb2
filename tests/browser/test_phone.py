"""On a phone: at 320 and 390 px every page fits the screen, the header is one bar, the avatar
menu works without JavaScript, the consent switch is big enough to tap, and axe-core finds
nothing at either width.

"Fits" is what a person sees: `document.documentElement.scrollWidth <= window.innerWidth`, so
nothing scrolls sideways (a table may still scroll inside its own labelled region).
"""

import re
from collections.abc import Callable

import pytest
from django.template.loader import render_to_string
from django.test import Client
from playwright.sync_api import Page, Route, expect

from tests.browser.conftest import BROWSER_DB, screenshot
from tests.browser.test_accessibility import audit, axe_source  # noqa: F401 (fixtures)
from tests.factories import (
    CUSTOMER_NUMBER,
    CustomerDataFactory,
    PersonalDataAccessFactory,
    UserFactory,
)

pytestmark = [pytest.mark.browser, BROWSER_DB]

WIDTHS = [320, 390]
# The bar's height on a phone: 4rem plus the 4 px magenta line, with a pixel to spare.
ONE_BAR = 69

# What each viewer reaches, by path (the settings tabs and the directory for members).
PAGES = {
    None: ["/", "/accounts/login/", "/members/", "/members/member/", "/hilfe/kundendaten/"],
    "member": [
        "/",
        "/settings/profile/",
        "/settings/preferences/",
        "/settings/privacy/",
        "/settings/privacy/preview/",
        "/members/",
        "/members/member/",
        "/members/expert/",
    ],
    "expert": ["/members/", "/members/?fill=incomplete", "/members/member/", "/members/regular/"],
    "guide": ["/members/", "/members/member/"],
    "team": ["/members/", "/members/member/", "/members/team/"],
    "cm": ["/members/", "/members/member/"],
}

# Against the phone's width itself: a mobile browser zooms out to fit a page that is too wide,
# and then `window.innerWidth` grows with it.
OVERFLOW = """(width) => {
  const wide = [...document.querySelectorAll("body *")]
    .filter((el) => el.getBoundingClientRect().right > width + 0.5)
    .filter((el) => !el.closest("[data-scroll-region]"))
    .slice(0, 5)
    .map((el) => `${el.tagName.toLowerCase()}.${[...el.classList].join(".")}`);
  const scroll = document.documentElement.scrollWidth;
  return {scroll, width: Math.min(width, window.innerWidth), wide};
}"""


def fits(page: Page, label: str) -> str | None:
    """None when the page fits its width, else what sticks out."""
    page.wait_for_load_state("load")
    found = page.evaluate(OVERFLOW, page.viewport_size["width"])
    if found["scroll"] <= found["width"]:
        return None
    return f"{label}: {found['scroll']} px wide at {found['width']} px ({', '.join(found['wide'])})"


@pytest.fixture
def phone(viewer) -> Callable[..., Page]:
    def _phone(user=None, width: int = 390, **context_args) -> Page:
        return viewer(
            user,
            viewport={"width": width, "height": 740},
            is_mobile=True,
            has_touch=True,
            device_scale_factor=1,
            **context_args,
        )

    return _phone


@pytest.fixture
def full_community(demo_users) -> dict:
    """The demo members, `member` with all three values and a staff view in her access log,
    and a second page of members for the directory's pager."""
    CustomerDataFactory(user=demo_users["member"], full=True)
    CustomerDataFactory(user=demo_users["expert"], customer_number=CUSTOMER_NUMBER)
    UserFactory.create_batch(50)
    PersonalDataAccessFactory(viewer=demo_users["team"], subject=demo_users["member"])
    return demo_users


@pytest.mark.parametrize("width", WIDTHS)
def test_no_page_scrolls_sideways(phone, full_community, audit, width) -> None:  # noqa: F811
    problems: list[str] = []
    for username, paths in PAGES.items():
        page = phone(full_community.get(username), width=width)
        for path in paths:
            page.goto(path)
            label = f"{path} as {username or 'visitor'} at {width} px"
            problems.append(fits(page, label))
            audit(page, label)
            slug = re.sub(r"[^a-z0-9]+", "-", path).strip("-") or "home"
            screenshot(page, f"phone-{width}/{username or 'visitor'}-{slug}", full_page=False)
        page.context.close()
    assert not [problem for problem in problems if problem], "\n".join(filter(None, problems))
    if width == 390:
        expert = phone(full_community["expert"], width=width)
        expert.goto("/members/")
        screenshot(
            expert, "readme/handy-mitgliederliste", section=expert.locator("tbody tr").nth(2)
        )
    member = phone(full_community["member"], width=width)
    # The profile tab with the fields shown and with errors, and the erase confirmation.
    member.goto("/settings/profile/")
    member.locator("[name=customer-customer_number]").fill("12ab")
    with member.expect_navigation():
        member.get_by_role("button", name="Speichern", exact=True).click()
    problems.append(fits(member, f"profile tab with an error at {width} px"))
    audit(member, f"profile tab with an error at {width} px")
    member.goto("/settings/privacy/")
    member.get_by_role("button", name="Kundendaten jetzt löschen").click()
    expect(member.get_by_role("button", name="Ja, Kundendaten löschen")).to_be_visible()
    problems.append(fits(member, f"erase confirmation at {width} px"))
    audit(member, f"erase confirmation at {width} px")
    screenshot(member, f"phone-{width}-erase-confirmation")
    member.goto("/members/?page=2")
    problems.append(fits(member, f"directory page 2 at {width} px"))
    assert not [problem for problem in problems if problem], "\n".join(filter(None, problems))


def serve(page: Page, path: str, html: str, status: int) -> None:
    """Answer `path` with a page rendered by Django elsewhere (the live server's static files
    still load): for the error pages a browser cannot easily provoke."""

    def fulfil(route: Route) -> None:
        route.fulfill(status=status, body=html, content_type="text/html; charset=utf-8")

    page.route(re.compile(re.escape(path) + "$"), fulfil)


@pytest.mark.parametrize("width", WIDTHS)
def test_error_pages_fit_a_phone(phone, demo_users, settings, audit, width) -> None:  # noqa: F811
    settings.DEBUG = False
    problems: list[str] = []
    page = phone(width=width)
    page.goto("/members/nobody/")
    expect(page.get_by_role("heading", level=1)).to_be_visible()
    problems.append(fits(page, f"404 at {width} px"))
    audit(page, f"404 at {width} px")
    bad_request = Client(raise_request_exception=False).get("/", HTTP_HOST="evil.example")
    serve(page, "/bad-request", bad_request.text, 400)
    page.goto("/bad-request")
    problems.append(fits(page, f"400 at {width} px"))
    audit(page, f"400 at {width} px")
    for name, status in (("500", 500), ("503", 503)):
        html = render_to_string(f"errors/{name}.html", {"retry_after": 30})
        serve(page, f"/error-{name}", html, status)
        page.goto(f"/error-{name}")
        problems.append(fits(page, f"{name} at {width} px"))
        audit(page, f"{name} at {width} px")

    team = phone(demo_users["team"], width=width)
    team.goto("/admin/auth/user/")
    expect(team.get_by_role("heading", level=1)).to_be_visible()
    problems.append(fits(team, f"403 at {width} px"))
    audit(team, f"403 at {width} px")

    member = phone(demo_users["member"], width=width)
    member.goto("/settings/preferences/")
    member.context.clear_cookies(name="csrftoken")
    with member.expect_navigation():
        member.get_by_role("button", name="Speichern", exact=True).click()
    expect(member.locator("h1")).to_contain_text("zu lange offen")
    problems.append(fits(member, f"CSRF failure at {width} px"))
    audit(member, f"CSRF failure at {width} px")
    assert not [problem for problem in problems if problem], "\n".join(filter(None, problems))


# --- The header ---------------------------------------------------------------------------------


def header_parts(page: Page) -> dict:
    return page.evaluate(
        """() => {
      const box = (selector) => {
        const el = document.querySelector(selector);
        if (!el) return null;
        const r = el.getBoundingClientRect();
        return {top: r.top, bottom: r.bottom, left: r.left, right: r.right, height: r.height};
      };
      return {
        header: box(".site-header"),
        brand: box(".brand"),
        nav: box(".site-nav"),
        language: box(".language-switch"),
        avatar: box(".avatar-menu__button"),
        login: box(".site-header .login-link"),
        width: window.innerWidth,
      };
    }"""
    )


def assert_one_bar(parts: dict, end: str) -> None:
    """Logo, "Mitglieder", the language switch and the avatar or "Anmelden" side by side on one
    row, the last one at the right edge."""
    assert parts["header"]["height"] <= ONE_BAR, parts
    row = [parts["brand"], parts["nav"], parts["language"], parts[end]]
    middles = [(part["top"] + part["bottom"]) / 2 for part in row]
    assert max(middles) - min(middles) <= 8, ("not on one row", parts)
    lefts = [part["left"] for part in row]
    assert lefts == sorted(lefts), ("out of order", parts)
    assert parts["width"] - parts[end]["right"] <= 24, ("not at the right edge", parts)


@pytest.mark.parametrize("width", WIDTHS)
@pytest.mark.parametrize("javascript", [True, False], ids=["js", "no-js"])
def test_header_is_one_bar(phone, demo_users, width, javascript) -> None:
    member = phone(demo_users["member"], width=width, java_script_enabled=javascript)
    member.goto("/settings/profile/")
    assert_one_bar(header_parts(member), "avatar")
    screenshot(member, f"phone-{width}-header-{'js' if javascript else 'no-js'}", full_page=False)
    visitor = phone(width=width, java_script_enabled=javascript)
    visitor.goto("/")
    assert_one_bar(header_parts(visitor), "login")


def test_avatar_menu_without_javascript_is_a_disclosure(phone, demo_users) -> None:
    page = phone(demo_users["member"], width=320, java_script_enabled=False)
    page.goto("/")
    menu = page.locator("#avatar-menu-list")
    expect(menu).to_be_hidden()
    height = header_parts(page)["header"]["height"]
    page.get_by_text("Menü von Mia Mitglied").locator("..").tap()
    expect(menu).to_be_visible()
    # It opens over the page, inside the screen, and the header keeps its height.
    assert header_parts(page)["header"]["height"] == height
    box = menu.bounding_box()
    assert box is not None
    assert box["x"] >= 0
    assert box["x"] + box["width"] <= 320
    with page.expect_navigation():
        menu.get_by_role("link", name="Meine Einstellungen").tap()
    expect(page).to_have_url(re.compile(r"/settings/profile/$"))


# --- The consent switch -------------------------------------------------------------------------


def test_consent_switch_is_easy_to_tap_and_aligned(phone, demo_users) -> None:
    page = phone(demo_users["member2"], width=320)
    page.goto("/settings/profile/")
    switch = page.get_by_role("switch")
    target = page.locator("label.consent-switch__target")
    box = target.bounding_box()
    assert box is not None
    assert box["width"] >= 44, box
    assert box["height"] >= 44, box
    # Tapping anywhere in the target toggles the switch: near its far corners too.
    expect(switch).not_to_be_checked()
    target.tap(position={"x": box["width"] - 3, "y": box["height"] - 3})
    expect(switch).to_be_checked()
    target.tap(position={"x": 3, "y": 3})
    expect(switch).not_to_be_checked()
    geometry = page.evaluate(
        """() => {
      const rect = (selector) => document.querySelector(selector).getBoundingClientRect();
      const input = rect("[role=switch]"), label = rect(".consent-switch__label"),
            help = rect(".consent-switch__help");
      return {input, label, help};
    }"""
    )
    middle = lambda r: (r["top"] + r["bottom"]) / 2  # noqa: E731
    line = geometry["label"]
    # The label's first line sits beside the switch; the help text starts under the label.
    assert abs((line["top"] + min(line["height"], 24) / 2) - middle(geometry["input"])) <= 6
    assert abs(geometry["help"]["left"] - geometry["label"]["left"]) <= 1
    screenshot(page, "phone-320-consent-switch", section=page.locator(".customer-data"))
    page.set_viewport_size({"width": 390, "height": 740})
    screenshot(page, "readme/handy-kundendaten", section=page.locator(".consent-switch"))


# --- Errors at a glance, and the language button by keyboard ------------------------------------


def test_error_summary_takes_the_focus_and_leads_to_each_field(phone, demo_users) -> None:
    page = phone(demo_users["member2"], width=390)
    page.goto("/settings/profile/")
    page.get_by_role("switch").tap()
    page.locator("[name=customer-customer_number]").fill("12ab")
    page.locator("[name=customer-mobile_number]").fill("12")
    with page.expect_navigation():
        page.get_by_role("button", name="Speichern", exact=True).click()
    box = page.locator("[data-error-summary]")
    expect(box).to_be_focused()
    expect(box).to_have_accessible_name("Bitte prüfe 2 Angaben:")
    screenshot(page, "phone-390-error-summary", full_page=False)
    box.get_by_role("link", name=re.compile("^Handynummer")).tap()
    expect(page.locator("[name=customer-mobile_number]")).to_be_focused()
    # Each field still has its own message.
    expect(page.locator(".invalid-feedback")).to_have_count(2)


def test_language_button_by_keyboard(viewer, demo_users) -> None:
    page = viewer(demo_users["member"])
    page.goto("/members/")
    button = page.get_by_role("button", name="English")
    for _ in range(6):
        page.keyboard.press("Tab")
        if button.evaluate("element => element === document.activeElement"):
            break
    expect(button).to_be_focused()
    with page.expect_navigation():
        page.keyboard.press("Enter")
    expect(page).to_have_url(re.compile(r"/members/$"))
    expect(page.locator("html")).to_have_attribute("lang", "en")
    expect(page.get_by_role("heading", level=1)).to_have_text("Members")
    page.get_by_role("button", name="Deutsch").click()
    expect(page.locator("html")).to_have_attribute("lang", "de")


@pytest.mark.parametrize("width", WIDTHS)
def test_staff_admin_pages_fit_a_phone(phone, full_community, width) -> None:
    """The pages the two staff roles reach in the admin (its lists scroll inside themselves)."""
    problems: list[str | None] = []
    for username in ("team", "cm"):
        page = phone(full_community[username], width=width)
        for path in (
            "/admin/",
            "/admin/customer_data/customerdata/",
            "/admin/customer_data/personaldataaccess/",
            "/admin/community/structurechange/",
        ):
            page.goto(path)
            problems.append(fits(page, f"{path} as {username} at {width} px"))
        page.goto("/admin/customer_data/customerdata/")
        with page.expect_navigation():
            page.locator("#result_list a").first.click()
        problems.append(fits(page, f"the customer-data page as {username} at {width} px"))
    assert not [problem for problem in problems if problem], "\n".join(filter(None, problems))

"""The member journey in a real browser, with screenshots: log in, open the avatar menu (mouse,
keyboard, touch), switch consent on, fill the three fields and watch the ring, see what others
see, switch consent off again; and the Profil tab without JavaScript.

Full-page screenshots of the main states go to test-artifacts/screenshots/; viewport-sized ones
for the README go to test-artifacts/screenshots/readme/ (copied by hand to docs/screenshots/).
"""

import re

import pytest
from playwright.sync_api import Page, expect

from customer_data.models import CustomerData
from tests.browser.conftest import BROWSER_DB, PHONE, login, screenshot
from tests.factories import CUSTOMER_NUMBER, FURTHER_INFO, MOBILE_NUMBER_SHOWN, TYPED

pytestmark = [pytest.mark.browser, BROWSER_DB]

# The sample values as a member types them, and as the pages show them after saving.
NUMBER, NUMBER_STORED = TYPED["customer_number"], CUSTOMER_NUMBER
MOBILE, MOBILE_SHOWN = TYPED["mobile_number"], MOBILE_NUMBER_SHOWN
INFO = FURTHER_INFO
RING_TEXT = re.compile(r"^\s*(\d+) % Profildaten ausgefüllt\s*$")


def ring(page: Page, scope: str = "main"):
    return page.locator(f"{scope} .fill-ring").first


def expect_ring(page: Page, percent: int, filled: int, scope: str = "main") -> None:
    meter = ring(page, scope)
    expect(meter).to_have_role("meter")
    expect(meter.locator(".fill-ring__text")).to_have_text(f"{percent} % Profildaten ausgefüllt")
    expect(meter).to_have_attribute("aria-valuenow", str(percent))
    expect(meter).to_have_attribute("aria-valuetext", f"{filled} von 3 Feldern ausgefüllt")


def save(page: Page) -> None:
    """Click "Speichern" and wait for the page that the redirect after saving loads."""
    with page.expect_navigation():
        page.get_by_role("button", name="Speichern", exact=True).click()
    expect(page.locator(".messages")).to_contain_text("gespeichert", ignore_case=True)


def test_member_journey(viewer, demo_users) -> None:
    # --- Log in through the form.
    page = viewer()
    login(page, "member")
    menu_button = page.locator("#avatar-menu-button")
    menu = page.locator("#avatar-menu-list")
    disclosure = page.locator("details.avatar-menu")
    expect(menu_button).to_have_accessible_name("Menü von Mia Mitglied")
    expect(disclosure).not_to_have_attribute("open", "")
    expect(menu).to_be_hidden()
    screenshot(page, "01-home-logged-in")

    # --- The avatar menu with the mouse: opens, shows three entries, closes on a click outside.
    menu_button.click()
    expect(menu).to_be_visible()
    expect(disclosure).to_have_attribute("open", "")
    expect(menu.get_by_role("link", name="Mein Profil")).to_be_visible()
    expect(menu.get_by_role("link", name="Meine Einstellungen")).to_be_visible()
    expect(menu.get_by_role("button", name="Abmelden")).to_be_visible()
    expect(menu.get_by_role("link", name="Mein Profil")).not_to_be_focused()
    screenshot(page, "02-avatar-menu-open")
    page.mouse.click(640, 600)
    expect(menu).to_be_hidden()
    expect(disclosure).not_to_have_attribute("open", "")

    # --- The avatar menu with the keyboard: Tab to the button, Enter opens and focuses the
    # first entry, arrows move (and wrap), Escape closes and returns focus, Space opens.
    page.reload()  # start from the top of the page, as a keyboard user would
    for _ in range(8):
        page.keyboard.press("Tab")
        if page.evaluate("document.activeElement.id") == "avatar-menu-button":
            break
    expect(menu_button).to_be_focused()
    page.keyboard.press("Enter")
    expect(menu).to_be_visible()
    expect(menu.get_by_role("link", name="Mein Profil")).to_be_focused()
    page.keyboard.press("ArrowDown")
    expect(menu.get_by_role("link", name="Meine Einstellungen")).to_be_focused()
    page.keyboard.press("ArrowDown")
    expect(menu.get_by_role("button", name="Abmelden")).to_be_focused()
    page.keyboard.press("ArrowDown")
    expect(menu.get_by_role("link", name="Mein Profil")).to_be_focused()
    page.keyboard.press("ArrowUp")
    expect(menu.get_by_role("button", name="Abmelden")).to_be_focused()
    page.keyboard.press("Escape")
    expect(menu).to_be_hidden()
    expect(menu_button).to_be_focused()
    expect(disclosure).not_to_have_attribute("open", "")
    page.keyboard.press("Space")
    expect(menu.get_by_role("link", name="Mein Profil")).to_be_focused()
    page.keyboard.press("ArrowDown")

    # --- "Meine Einstellungen" (by keyboard) opens the Profil tab.
    with page.expect_navigation():
        page.keyboard.press("Enter")
    expect(page).to_have_url(re.compile(r"/settings/profile/$"))
    expect(page.get_by_role("link", name="Profil", exact=True)).to_have_attribute(
        "aria-current", "page"
    )
    switch = page.get_by_role("switch", name=re.compile("Kundendaten"))
    fields = page.locator("[data-consent-fields]")
    inputs = [
        page.locator("[name=customer-customer_number]"),
        page.locator("[name=customer-mobile_number]"),
        page.locator("[name=customer-further_info]"),
    ]
    expect(switch).not_to_be_checked()
    expect(fields).to_be_hidden()
    expect_ring(page, 0, 0)
    screenshot(page, "03-profile-consent-off")

    # --- Switching on shows the three fields at once, without a reload.
    navigations: list[str] = []
    page.on("framenavigated", lambda frame: navigations.append(frame.url))
    page.evaluate("window.__sameDocument = true")
    switch.check()
    expect(switch).to_be_checked()
    expect(fields).to_be_visible()
    for field in inputs:
        expect(field).to_be_visible()
        expect(field).to_be_editable()
    expect(page.get_by_label("Kundennummer")).to_be_visible()
    expect(page.get_by_label("Handynummer")).to_be_visible()
    expect(page.get_by_label("Weitere Informationen")).to_be_visible()
    assert navigations == []
    assert page.evaluate("window.__sameDocument") is True
    screenshot(page, "04-profile-consent-on-fields-shown")

    # --- Two of three → Speichern → 67 %.
    inputs[0].fill(NUMBER)
    inputs[1].fill(MOBILE)
    save(page)
    expect(switch).to_be_checked()
    expect(fields).to_be_visible()
    expect(inputs[0]).to_have_value(NUMBER_STORED)  # normalised: digits only
    expect(inputs[1]).to_have_value(MOBILE_SHOWN)
    expect_ring(page, 67, 2)
    screenshot(page, "05-profile-two-of-three-67")
    screenshot(page, "readme/profil-67-prozent", section=page.locator(".customer-data"))

    # --- The third → 100 %.
    inputs[2].fill(INFO)
    save(page)
    expect_ring(page, 100, 3)
    expect(inputs[2]).to_have_value(INFO)
    screenshot(page, "06-profile-complete-100")

    # --- Someone else's view of that profile: a Mitgestalter sees only the ring ...
    expert = viewer(demo_users["expert"])
    expert.goto("/members/member/")
    panel = expert.locator(".customer-panel")
    expect(panel).to_be_visible()
    expect_ring(expert, 100, 3, scope=".customer-panel")
    expect(panel.locator("dl, dt, dd")).to_have_count(0)
    body = expert.locator("body").inner_text()
    for value in (NUMBER_STORED, "1234567", "A-99172"):
        assert value not in body
    assert "Kundennummer" not in body
    screenshot(expert, "07-mitgestalter-sees-ring-only")
    screenshot(expert, "readme/mitgestalter-sieht-nur-den-ring", section=panel)

    # --- ... and the Telekom hilft Team sees the values.
    team = viewer(demo_users["team"])
    team.goto("/members/member/")
    values = team.locator(".customer-panel dl")
    expect(values).to_be_visible()
    expect(values.locator("dt")).to_have_text(
        ["Kundennummer", "Handynummer", "Weitere Informationen"]
    )
    expect(values.locator("dd")).to_have_text([NUMBER_STORED, MOBILE_SHOWN, INFO])
    expect_ring(team, 100, 3, scope=".customer-panel")
    screenshot(team, "08-team-sees-values")

    # --- Switching off warns first (no reload), then Speichern erases: fields gone, 0 %.
    warning = page.locator("[data-withdraw-warning]")
    expect(warning).to_be_hidden()
    navigations.clear()
    page.evaluate("window.__sameDocument = true")
    switch.uncheck()
    expect(warning).to_be_visible()
    expect(warning).to_have_attribute("role", "alert")
    expect(warning).to_contain_text("endgültig gelöscht")
    expect(fields).to_be_hidden()
    assert navigations == []
    assert page.evaluate("window.__sameDocument") is True
    screenshot(page, "09-withdraw-warning")
    screenshot(page, "readme/widerruf-warnung", section=page.locator(".customer-data"))
    save(page)
    expect(page.locator(".messages")).to_contain_text("Kundendaten wurden gelöscht")
    expect(switch).not_to_be_checked()
    expect(fields).to_be_hidden()
    expect(warning).to_be_hidden()
    expect_ring(page, 0, 0)
    screenshot(page, "10-withdrawn-0")
    # Gone for real: switching on again shows empty fields, and nothing is stored.
    switch.check()
    for field in inputs:
        expect(field).to_have_value("")
    stored = CustomerData.objects.get(user=demo_users["member"])
    assert (stored.filled_count, stored.consent) == (0, False)

    # The team's view of the profile no longer has any value.
    team.reload()
    expect(team.locator(".customer-panel dl")).to_have_count(0)
    expect(team.locator(".customer-panel")).to_contain_text("Keine Kundendaten hinterlegt.")
    expect_ring(team, 0, 0, scope=".customer-panel")


def test_avatar_menu_by_touch_on_a_phone(viewer, demo_users) -> None:
    phone = viewer(
        demo_users["member"], viewport=PHONE, is_mobile=True, has_touch=True, device_scale_factor=1
    )
    phone.goto("/")
    menu = phone.locator("#avatar-menu-list")
    expect(menu).to_be_hidden()
    phone.locator("#avatar-menu-button").tap()
    expect(menu).to_be_visible()
    expect(phone.locator("details.avatar-menu")).to_have_attribute("open", "")
    box = menu.bounding_box()
    assert box is not None
    assert box["x"] >= 0, "the menu opens off-screen"
    assert box["x"] + box["width"] <= PHONE["width"], "the menu opens off-screen"
    screenshot(phone, "11-phone-avatar-menu")
    screenshot(phone, "readme/handy-avatar-menue", full_page=False)
    phone.touchscreen.tap(100, 650)  # anywhere outside the menu
    expect(menu).to_be_hidden()
    phone.locator("#avatar-menu-button").tap()
    with phone.expect_navigation():
        menu.get_by_role("link", name="Meine Einstellungen").tap()
    expect(phone).to_have_url(re.compile(r"/settings/profile/$"))
    phone.get_by_role("switch").tap()
    expect(phone.locator("[data-consent-fields]")).to_be_visible()


def test_profile_tab_works_without_javascript(viewer, demo_users) -> None:
    """Progressive enhancement: without JS the fields appear after saving the switch on."""
    page = viewer(demo_users["member"], java_script_enabled=False)
    page.goto("/settings/profile/")
    switch = page.get_by_role("switch", name=re.compile("Kundendaten"))
    switch.check()
    save(page)
    expect(switch).to_be_checked()
    page.locator("[name=customer-customer_number]").fill(NUMBER)
    save(page)
    expect_ring(page, 33, 1)
    switch.uncheck()
    page.get_by_role("button", name="Speichern", exact=True).click()
    # Without JS the warning comes from the server; a second "Speichern" confirms it.
    expect(page.locator("[data-withdraw-warning]")).to_be_visible()
    expect_ring(page, 33, 1)
    save(page)
    expect_ring(page, 0, 0)

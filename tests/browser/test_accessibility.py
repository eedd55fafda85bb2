"""Accessibility in a real browser: axe-core at WCAG 2.2 AA on every page of the journey (the
admin excluded), name/role/state of the switch and the ring, keyboard use and visible focus.

axe-core comes from the npm package (node_modules/axe-core, see package.json). It is injected
with `page.evaluate`, which the page's Content-Security-Policy does not apply to, so the pages
are tested under their real CSP.
"""

import re
from collections.abc import Callable

import pytest
from playwright.sync_api import Page, expect

from tests.browser.conftest import BROWSER_DB, ROOT
from tests.factories import CUSTOMER_NUMBER, PASSWORD, TYPED, VALUES, CustomerDataFactory

pytestmark = [pytest.mark.browser, BROWSER_DB]

AXE_PATH = ROOT / "node_modules" / "axe-core" / "axe.min.js"
AXE_OPTIONS = {
    "runOnly": {
        "type": "tag",
        "values": ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "wcag22aa"],
    },
    "resultTypes": ["violations"],
}
AXE_RUN = """async (options) => {
  const results = await window.axe.run(document, options);
  return results.violations.map((v) => ({
    id: v.id,
    impact: v.impact,
    help: v.help,
    nodes: v.nodes.map((n) => ({target: n.target.join(" "), summary: n.failureSummary})),
  }));
}"""


@pytest.fixture(scope="session")
def axe_source() -> str:
    if not AXE_PATH.exists():
        pytest.fail(f"{AXE_PATH} is missing: run `npm ci` (axe-core is a devDependency)")
    return AXE_PATH.read_text(encoding="utf-8")


@pytest.fixture
def audit(axe_source: str) -> Callable[[Page, str], None]:
    """`audit(page, label)` runs axe on the page as it is now; the test fails at its end."""
    found: dict[str, list[dict]] = {}

    def _audit(page: Page, label: str) -> None:
        page.wait_for_load_state("load")
        if not page.evaluate("() => typeof window.axe === 'object'"):
            page.evaluate(axe_source)
        found[label] = page.evaluate(AXE_RUN, AXE_OPTIONS)

    yield _audit
    report = [
        f"{label}: [{v['impact']}] {v['id']} ({v['help']})\n"
        + "\n".join(f"    {n['target']}: {n['summary']}" for n in v["nodes"])
        for label, violations in found.items()
        for v in violations
    ]
    assert found, "no page was audited"
    assert not report, "axe-core found WCAG 2.2 AA violations:\n" + "\n".join(report)


@pytest.fixture
def owner_with_data(demo_users):
    """member (Mia Mitglied) with all three values stored (test fixtures only)."""
    owner = demo_users["member"]
    CustomerDataFactory(user=owner, full=True)
    return owner


# --- axe-core on every page of the journey ------------------------------------------------------


def test_axe_anonymous_pages(viewer, audit) -> None:
    page = viewer()
    page.goto("/")
    audit(page, "home (anonymous)")
    page.goto("/accounts/login/")
    audit(page, "login")
    page.get_by_role("button", name="Anmelden", exact=True).last.click()
    expect(page.locator(".invalid-feedback").first).to_be_visible()
    audit(page, "login with errors")


def test_axe_profile_tab_off_on_and_with_a_validation_error(viewer, demo_users, audit) -> None:
    page = viewer(demo_users["member2"])
    page.goto("/settings/profile/")
    expect(page.get_by_role("switch")).not_to_be_checked()
    audit(page, "profile tab, switch off")
    page.get_by_role("switch").check()
    expect(page.locator("[data-consent-fields]")).to_be_visible()
    audit(page, "profile tab, switch on")
    page.locator("[name=customer-customer_number]").fill("12ab")
    page.locator("[name=customer-mobile_number]").fill("12")
    with page.expect_navigation():
        page.get_by_role("button", name="Speichern", exact=True).click()
    expect(page.locator(".invalid-feedback")).to_have_count(2)
    audit(page, "profile tab, validation errors")


def test_axe_owner_pages(viewer, demo_users, owner_with_data, audit) -> None:
    # One staff view first, so that the Datenschutz tab has an access log to show.
    viewer(demo_users["team"]).goto("/members/member/")
    page = viewer(owner_with_data)
    page.goto("/")
    audit(page, "home (member)")
    page.locator("#avatar-menu-button").click()
    expect(page.locator("#avatar-menu-list")).to_be_visible()
    audit(page, "home, avatar menu open")
    page.goto("/settings/profile/")
    audit(page, "profile tab, 100 %")
    page.get_by_role("switch").uncheck()
    expect(page.locator("[data-withdraw-warning]")).to_be_visible()
    audit(page, "profile tab, withdrawal warning")
    page.goto("/settings/preferences/")
    audit(page, "preferences tab")
    page.goto("/settings/privacy/")
    expect(page.get_by_role("table").first).to_be_visible()
    audit(page, "privacy tab")
    page.get_by_role("link", name="So sehen Mitglieder ab Rang Mitgestalter mein Profil").click()
    expect(page).to_have_url(re.compile(r"/settings/privacy/preview/$"))
    audit(page, "privacy preview")
    page.goto("/settings/privacy/")
    page.get_by_role("button", name="Kundendaten jetzt löschen").click()
    expect(page.get_by_role("button", name="Ja, Kundendaten löschen")).to_be_visible()
    audit(page, "erase confirmation")
    page.goto("/members/member/")
    audit(page, "public profile (owner)")
    page.goto("/members/")
    audit(page, "directory (member)")


@pytest.mark.parametrize("username", ["expert", "team"])
def test_axe_other_viewers(viewer, demo_users, owner_with_data, audit, username) -> None:
    page = viewer(demo_users[username])
    page.goto("/members/member/")
    expect(page.locator(".customer-panel")).to_be_visible()
    audit(page, f"public profile ({username})")
    page.goto("/members/")
    expect(page.get_by_role("table")).to_be_visible()
    nav = page.get_by_role("navigation", name="Hauptnavigation")
    expect(nav.get_by_role("link", name="Mitglieder")).to_have_attribute("aria-current", "page")
    audit(page, f"directory ({username})")
    page.goto("/members/?q=%00&sort=nonsense")
    audit(page, f"directory with an invalid query ({username})")


# --- Name, role and state of the switch and the ring --------------------------------------------


def computed_ax(page: Page, selector: str) -> dict:
    """Chromium's computed accessibility node for `selector` (what a screen reader gets)."""
    cdp = page.context.new_cdp_session(page)
    try:
        root = cdp.send("DOM.getDocument", {"depth": 0})["root"]["nodeId"]
        node = cdp.send("DOM.querySelector", {"nodeId": root, "selector": selector})
        tree = cdp.send(
            "Accessibility.getPartialAXTree", {"nodeId": node["nodeId"], "fetchRelatives": False}
        )
    finally:
        cdp.detach()
    ax = tree["nodes"][0]
    return {
        "role": ax["role"]["value"],
        "name": ax.get("name", {}).get("value", ""),
        "description": ax.get("description", {}).get("value", ""),
        "value": ax.get("value", {}).get("value"),
        **{prop["name"]: prop["value"].get("value") for prop in ax.get("properties", [])},
    }


def test_switch_announces_name_role_and_state(viewer, demo_users) -> None:
    page = viewer(demo_users["member2"])
    page.goto("/settings/profile/")
    switch = page.get_by_role("switch", name="Kundendaten für den Kundenservice speichern")
    expect(switch).to_have_role("switch")
    expect(switch).to_have_accessible_description(re.compile(r"^Ich willige ein"))
    expect(switch).to_have_attribute("aria-controls", "customer-data-fields")
    ax = computed_ax(page, "[role=switch]")
    assert (ax["role"], ax["name"], ax["checked"]) == (
        "switch",
        "Kundendaten für den Kundenservice speichern",
        "false",
    )
    assert "Ausschalten und Speichern löscht die Daten" in ax["description"]
    switch.focus()
    page.keyboard.press("Space")
    expect(switch).to_be_checked()
    assert computed_ax(page, "[role=switch]")["checked"] == "true"
    snapshot = page.locator("section.customer-data").aria_snapshot()
    assert '- switch "Kundendaten für den Kundenservice speichern" [checked]' in snapshot


@pytest.mark.parametrize(("percent", "filled"), [(0, 0), (33, 1), (67, 2), (100, 3)])
def test_ring_announces_name_role_and_value(viewer, demo_users, percent, filled) -> None:
    owner = demo_users["member"]
    if filled:
        CustomerDataFactory(user=owner, **dict(list(VALUES.items())[:filled]))
    page = viewer(owner)
    page.goto("/settings/profile/")
    meter = page.locator("main .fill-ring")
    expect(meter).to_have_role("meter")
    expect(meter).to_have_accessible_name("Profildaten ausgefüllt")
    expect(meter).to_have_attribute("aria-valuetext", f"{filled} von 3 Feldern ausgefüllt")
    expect(meter).to_have_attribute("aria-valuemin", "0")
    expect(meter).to_have_attribute("aria-valuemax", "100")
    expect(meter.locator(".fill-ring__text")).to_have_text(f"{percent} % Profildaten ausgefüllt")
    ax = computed_ax(page, "main .fill-ring")
    assert (ax["role"], ax["name"], ax["value"]) == ("meter", "Profildaten ausgefüllt", percent)
    # The drawing itself is decoration: hidden from assistive technology.
    expect(meter.locator("svg")).to_have_attribute("aria-hidden", "true")


# --- Keyboard and visible focus -----------------------------------------------------------------

FOCUS_STYLE = r"""() => {
  const el = document.activeElement;
  if (!el || el === document.body) return null;
  const style = getComputedStyle(el);
  const label = el.tagName.toLowerCase() + (el.id ? "#" + el.id : "") +
    (el.name ? "[name=" + el.name + "]" : "") + " " + (el.innerText || el.value || "").slice(0, 30);
  // A box-shadow ring counts if it is not faint (Bootstrap's own rings are 25 % blue).
  const shadow = style.boxShadow.match(/rgba?\(([^)]*)\)[^,]*?(\d+(?:\.\d+)?)px(?:,|$)/);
  const alpha = shadow ? (shadow[1].split(",")[3] === undefined ? 1 : parseFloat(shadow[1].split(",")[3])) : 0;
  return {
    label: label.trim(),
    outline: style.outlineStyle !== "none" && parseFloat(style.outlineWidth) >= 2,
    shadow: alpha >= 0.5 && shadow !== null && parseFloat(shadow[2]) >= 2,
    style: style.outlineStyle + " " + style.outlineWidth + " / " + style.boxShadow,
  };
}"""


def tab_through(page: Page, limit: int = 60) -> list[dict]:
    """From the skip link (the first stop), press Tab until focus leaves the page or comes round
    again; return the focus style of every stop. (Starting there also skips an autofocus.)"""
    page.keyboard.press("Shift+Tab")  # a keyboard interaction, so focus rings show from here
    page.locator(".skip-link").focus()
    stops: list[dict] = [page.evaluate(FOCUS_STYLE)]
    for _ in range(limit):
        page.keyboard.press("Tab")
        stop = page.evaluate(FOCUS_STYLE)
        if stop is None or stop["label"] == stops[0]["label"]:
            break
        stops.append(stop)
    return stops


@pytest.mark.parametrize(
    "path",
    [
        "/",
        "/settings/profile/",
        "/settings/preferences/",
        "/settings/privacy/",
        "/members/",
        "/members/member/",
    ],
)
def test_focus_is_visible_on_every_stop(viewer, owner_with_data, path) -> None:
    page = viewer(owner_with_data)
    page.goto(path)
    stops = tab_through(page)
    assert len(stops) >= 4, stops
    invisible = [f"{s['label']}: {s['style']}" for s in stops if not (s["outline"] or s["shadow"])]
    assert not invisible, f"focus not visible on {path}: {invisible}"
    assert stops[0]["label"].startswith("a Zum Inhalt springen")


def test_login_page_focus_is_visible(viewer) -> None:
    page = viewer()
    page.goto("/accounts/login/")
    stops = tab_through(page)
    invisible = [f"{s['label']}: {s['style']}" for s in stops if not (s["outline"] or s["shadow"])]
    assert not invisible
    assert any("[name=username]" in s["label"] for s in stops), stops


def test_skip_link_is_visible_when_focused_and_moves_focus_to_main(viewer, demo_users) -> None:
    page = viewer(demo_users["member"])
    page.goto("/settings/profile/")
    skip = page.get_by_role("link", name="Zum Inhalt springen")
    page.keyboard.press("Tab")
    expect(skip).to_be_focused()
    expect(skip).to_be_in_viewport()
    box = skip.bounding_box()
    assert box is not None
    assert box["width"] > 20
    assert box["height"] > 10
    page.keyboard.press("Enter")
    expect(page.locator("main")).to_be_focused()


def test_profile_tab_by_keyboard_only(viewer, demo_users) -> None:
    """Log in, reach the switch, switch on, fill, save, fix an error: no mouse at all."""
    page = viewer()
    page.goto("/accounts/login/")
    page.get_by_label("Benutzername").focus()
    page.keyboard.type("member2")
    page.keyboard.press("Tab")
    page.keyboard.type(PASSWORD)
    with page.expect_navigation():
        page.keyboard.press("Enter")
    page.goto("/settings/profile/")
    switch = page.get_by_role("switch")
    for _ in range(40):
        page.keyboard.press("Tab")
        if page.evaluate("document.activeElement.getAttribute('role')") == "switch":
            break
    expect(switch).to_be_focused()
    page.keyboard.press("Space")
    expect(page.locator("[data-consent-fields]")).to_be_visible()
    page.keyboard.press("Tab")
    expect(page.locator("[name=customer-customer_number]")).to_be_focused()
    page.keyboard.type("12ab")  # wrong: letters
    page.keyboard.press("Tab")
    page.keyboard.type(TYPED["mobile_number"])
    with page.expect_navigation():
        page.keyboard.press("Enter")  # submits the form
    # After the error the summary has the focus; Tab and Enter on its link reach the field,
    # which announces its error.
    expect(page.locator("[data-error-summary]")).to_be_focused()
    page.keyboard.press("Tab")
    expect(page.get_by_role("link", name=re.compile("^Kundennummer: "))).to_be_focused()
    page.keyboard.press("Enter")
    number = page.locator("[name=customer-customer_number]")
    expect(number).to_be_focused()
    expect(number).to_have_attribute("aria-invalid", "true")
    expect(number).to_have_accessible_description(re.compile("nur Ziffern"))
    page.keyboard.press("ControlOrMeta+a")
    page.keyboard.type(CUSTOMER_NUMBER)
    with page.expect_navigation():
        page.keyboard.press("Enter")
    expect(page.locator("main .fill-ring__text")).to_have_text("67 % Profildaten ausgefüllt")


def test_login_errors_take_the_focus(viewer) -> None:
    page = viewer()
    page.goto("/accounts/login/")
    with page.expect_navigation():
        page.get_by_role("button", name="Anmelden", exact=True).last.click()
    expect(page.get_by_label("Benutzername")).to_be_focused()
    expect(page.get_by_label("Benutzername")).to_have_attribute("aria-invalid", "true")

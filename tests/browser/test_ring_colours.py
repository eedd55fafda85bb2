"""The fill ring's colours read as progress, not as alarm: no red for a partly filled profile;
every state's arc at 3:1 and its text at 4.5:1 against what is behind it (WCAG 1.4.11, 1.4.3);
and the states stay apart without colour (the count or the check mark inside, the text)."""

import colorsys

import pytest
from playwright.sync_api import Page

from tests.browser.conftest import BROWSER_DB
from tests.factories import CUSTOMER_NUMBER, MOBILE_NUMBER, CustomerDataFactory, UserFactory

pytestmark = [pytest.mark.browser, BROWSER_DB]

# Colours as the browser computed them, and the first opaque background behind each ring.
COLOURS = """() => [...document.querySelectorAll(".fill-ring")].map((ring) => {
  const rgb = (value) => value.match(/[\\d.]+/g).slice(0, 4).map(Number);
  const behind = (el) => {
    for (; el; el = el.parentElement) {
      const colour = rgb(getComputedStyle(el).backgroundColor);
      if (colour.length < 4 || colour[3] === 1) return colour.slice(0, 3);
    }
    return [255, 255, 255];
  };
  const arc = ring.querySelector(".fill-ring__value") || ring.querySelector(".fill-ring__track");
  return {
    state: [...ring.classList].find((name) => name.startsWith("fill-ring--")),
    arc: rgb(getComputedStyle(arc).stroke).slice(0, 3),
    text: rgb(getComputedStyle(ring.querySelector(".fill-ring__text")).color).slice(0, 3),
    background: behind(ring),
    inside: ring.querySelector(".fill-ring__check") ? "check" : ring.querySelector(".fill-ring__count").textContent,
    label: ring.querySelector(".fill-ring__text").textContent.trim(),
  };
})"""


def luminance(rgb: list[float]) -> float:
    def channel(value: float) -> float:
        value /= 255
        return value / 12.92 if value <= 0.04045 else ((value + 0.055) / 1.055) ** 2.4

    red, green, blue = (channel(value) for value in rgb)
    return 0.2126 * red + 0.7152 * green + 0.0722 * blue


def contrast(one: list[float], other: list[float]) -> float:
    light, dark = sorted((luminance(one), luminance(other)), reverse=True)
    return (light + 0.05) / (dark + 0.05)


def is_reddish(rgb: list[float]) -> bool:
    """Red to magenta-red, saturated: what reads as an error."""
    hue, _, saturation = colorsys.rgb_to_hls(*(value / 255 for value in rgb))
    return saturation > 0.35 and (hue * 360 < 30 or hue * 360 > 320)


def rings_on(page: Page, path: str) -> dict[str, dict]:
    page.goto(path)
    return {ring["state"]: ring for ring in page.evaluate(COLOURS)}


def test_each_state_reads_as_progress_with_enough_contrast(viewer, demo_users) -> None:
    for name, values in {
        "ring-a-0": {},
        "ring-b-33": {"customer_number": CUSTOMER_NUMBER},
        "ring-c-67": {"customer_number": CUSTOMER_NUMBER, "mobile_number": MOBILE_NUMBER},
    }.items():
        CustomerDataFactory(user=UserFactory(username=name, display_name=name), **values)
    CustomerDataFactory(
        user=UserFactory(username="ring-d-100", display_name="ring-d-100"), full=True
    )
    page = viewer(demo_users["expert"])
    rings = rings_on(page, "/members/?q=ring-")
    profile = rings_on(page, "/members/ring-b-33/")
    assert set(rings) == {"fill-ring--empty", "fill-ring--low", "fill-ring--mid", "fill-ring--full"}

    for ring in [*rings.values(), *profile.values()]:
        assert contrast(ring["arc"], ring["background"]) >= 3, ring
        assert contrast(ring["text"], ring["background"]) >= 4.5, ring
    for state in ("fill-ring--low", "fill-ring--mid"):
        assert not is_reddish(rings[state]["arc"]), rings[state]
        assert not is_reddish(rings[state]["text"]), rings[state]
    # Apart without colour: what is inside the ring and what its text says.
    assert [(ring["inside"], ring["label"]) for ring in rings.values()] == [
        ("0", "0 % Profildaten ausgefüllt"),
        ("1", "33 % Profildaten ausgefüllt"),
        ("2", "67 % Profildaten ausgefüllt"),
        ("check", "100 % Profildaten ausgefüllt"),
    ]


def test_the_reddish_check_itself_tells_red_from_blue() -> None:
    assert is_reddish([192, 57, 43])  # the 33 % ring's red before
    assert is_reddish([177, 0, 91])  # magenta-dark
    assert not is_reddish([0, 115, 159])  # progress blue
    assert not is_reddish([29, 107, 47])  # green

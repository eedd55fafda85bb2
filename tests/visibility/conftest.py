"""Fixtures for the visibility tests: an owner with all three values stored."""

import re

import pytest

from tests.factories import CUSTOMER_NUMBER, MOBILE_NUMBER, MOBILE_NUMBER_SHOWN, CustomerDataFactory

# Every form in which a stored value could leak into a response: the customer number whole and
# as typed, the mobile number stored and shown, the order number from the further information,
# and the prefix of an encrypted token.
LEAK_MARKERS = [
    CUSTOMER_NUMBER,
    "4711 0815",
    MOBILE_NUMBER,
    "1701234567",
    MOBILE_NUMBER_SHOWN,
    "A-99172",
    "gAAAAA",
]
RING_MARKER = "Profildaten ausgefüllt"


@pytest.fixture
def owner_data(people):
    return CustomerDataFactory(user=people["owner"], full=True)


def leaks(text: str) -> list[str]:
    return [marker for marker in LEAK_MARKERS if marker in text]


def urls_with_values(html: str) -> tuple[list[str], list[str]]:
    """The page's `tel:` links, and every other URL (href, src, action) that carries a stored
    value in any form, its digits included."""
    urls = re.findall(r'(?:href|src|action)="([^"]*)"', html)
    dialled = [url for url in urls if url.startswith("tel:")]
    leaking = [
        url
        for url in urls
        if url not in dialled
        and (
            leaks(url)
            or "1701234567" in re.sub(r"\D", "", url)
            or CUSTOMER_NUMBER in re.sub(r"\D", "", url)
        )
    ]
    return dialled, leaking

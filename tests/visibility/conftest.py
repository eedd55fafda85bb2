"""Fixtures for the visibility tests: an owner with all three values stored."""

import pytest

from tests.helpers import store_customer_data

NUMBER = "4711081512"
MOBILE_E164 = "+491701234567"
INFO = "Rückruf bitte ab 18 Uhr, Auftrag A-99172"
# Every form in which a value could leak into a response.
LEAK_MARKERS = [NUMBER, "4711 0815", MOBILE_E164, "1701234567", "0170 1234567", "A-99172", "gAAAAA"]
RING_MARKER = "Profildaten ausgefüllt"


@pytest.fixture
def owner_data(people):
    owner = people["owner"]
    return store_customer_data(
        owner, customer_number=NUMBER, mobile_number=MOBILE_E164, further_info=INFO
    )


def leaks(text: str) -> list[str]:
    return [marker for marker in LEAK_MARKERS if marker in text]

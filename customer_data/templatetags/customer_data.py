"""The fill ring, rendered the same way everywhere."""

from typing import Any

from django import template

from customer_data.models import FIELD_COUNT, CustomerData
from customer_data.normalise import format_phone_number

register = template.Library()

# Ring geometry: a circle of circumference 100 (pathLength) so dash lengths are percentages.
STATES = {0: "empty", 1: "low", 2: "mid", 3: "full"}


@register.inclusion_tag("customer_data/_fill_ring.html")
def fill_ring(data: CustomerData | None, size: str = "") -> dict[str, Any]:
    """The ring and "NN % Profildaten ausgefüllt" for `data` (None reads as 0 %).

    Reads only `filled_count` and consent, never an encrypted column.
    """
    filled = data.effective_filled if isinstance(data, CustomerData) else 0
    percent = round(100 * filled / FIELD_COUNT)
    return {
        "filled": filled,
        "total": FIELD_COUNT,
        "percent": percent,
        "state": STATES[filled],
        "size": size,
    }


@register.filter
def phone(value: str | None) -> str:
    """A stored E.164 number in a readable national or international format."""
    return format_phone_number(value) if value else ""

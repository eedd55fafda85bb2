"""The fill ring, rendered the same way everywhere."""

from typing import Any

from django import template

from customer_data.models import FIELD_COUNT, CustomerData, fill_percentage
from customer_data.normalise import format_phone_number

register = template.Library()

STATES = {0: "empty", 1: "low", 2: "mid", 3: "full"}


@register.inclusion_tag("customer_data/_fill_ring.html")
def fill_ring(data: CustomerData | int | None, size: str = "") -> dict[str, Any]:
    """The ring and "NN % Profildaten ausgefüllt" for `data` (None reads as 0 %), or for a
    number of counted fields already worked out (see `models.counted_fields`).

    Reads only `filled_count` and consent, never an encrypted column.
    """
    if isinstance(data, CustomerData):
        filled = data.counted_fields
    else:
        filled = data if isinstance(data, int) and 0 <= data <= FIELD_COUNT else 0
    return {
        "filled": filled,
        "total": FIELD_COUNT,
        "percent": fill_percentage(filled),
        "state": STATES[filled],
        "size": size,
    }


@register.filter
def phone(value: str | None) -> str:
    """A stored E.164 number in a readable national or international format."""
    return format_phone_number(value) if value else ""

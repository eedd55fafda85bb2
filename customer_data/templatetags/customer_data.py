"""The fill ring, rendered the same way everywhere."""

from django import template
from django.conf import settings
from django.template.loader import render_to_string
from django.utils.safestring import SafeString
from django.utils.translation import get_language

from customer_data.models import FIELD_COUNT, CustomerData
from customer_data.normalise import format_phone_number

register = template.Library()

# Ring geometry: a circle of circumference 100 (pathLength) so dash lengths are percentages.
STATES = {0: "empty", 1: "low", 2: "mid", 3: "full"}


# The ring's markup depends only on (fields filled, size, language): four states, so each is
# rendered from the partial once per process and reused (directory pages show 50 rings).
_rendered: dict[tuple[int, str, str], SafeString] = {}


@register.simple_tag
def fill_ring(data: CustomerData | int | None, size: str = "") -> SafeString:
    """The ring and "NN % Profildaten ausgefüllt" for `data` (None reads as 0 %), or for a
    number of filled fields already worked out (see `models.effective_filled`).

    Reads only `filled_count` and consent, never an encrypted column.
    """
    if isinstance(data, CustomerData):
        filled = data.effective_filled
    else:
        filled = data if isinstance(data, int) and 0 <= data <= FIELD_COUNT else 0
    key = (filled, size, get_language() or "")
    html = _rendered.get(key)
    if html is None:
        context = {
            "filled": filled,
            "total": FIELD_COUNT,
            "percent": round(100 * filled / FIELD_COUNT),
            "state": STATES[filled],
            "size": size,
        }
        html = render_to_string("customer_data/_fill_ring.html", context)
        if not settings.DEBUG:  # templates may change under the development server
            _rendered[key] = html
    return html


@register.filter
def phone(value: str | None) -> str:
    """A stored E.164 number in a readable national or international format."""
    return format_phone_number(value) if value else ""

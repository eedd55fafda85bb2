"""The fill ring, rendered the same way everywhere, and the policy's sentences."""

from typing import Any

from django import template
from django.utils.functional import Promise
from django.utils.html import format_html
from django.utils.safestring import SafeString
from django.utils.translation import gettext_lazy as _

from customer_data.models import FIELD_COUNT, CustomerData, PersonalDataAccess, fill_percentage
from customer_data.normalise import format_phone_number, tel_uri
from customer_data.permissions import AUDIENCE_NAMES, Audience, PolicyRow

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


@register.simple_tag
def phone_link(value: str | None) -> SafeString | str:
    """A stored number as a link that dials it: E.164 in the `tel:` target, the readable
    format as its text (`<a href="tel:+491701234567">0170 1234567</a>`)."""
    if not value:
        return ""
    return format_html('<a href="{}">{}</a>', tel_uri(value), format_phone_number(value))


@register.simple_tag
def policy_sentence(row: PolicyRow) -> SafeString:
    """One line of "Wer sieht diese Daten?" as a whole sentence, the audience set in bold."""
    before, _, after = row.pattern.partition("%(who)s")
    return format_html("{}<strong>{}</strong>{}", before, row.who, after)


# What the member reads about a staff search that found them by a number (the access log).
FOUND_BY_SENTENCES: dict[str, Promise] = {
    PersonalDataAccess.Channel.SEARCH_CUSTOMER_NUMBER: _(
        "%(who)s hat dich über deine Kundennummer gefunden."
    ),
    PersonalDataAccess.Channel.SEARCH_MOBILE_NUMBER: _(
        "%(who)s hat dich über deine Handynummer gefunden."
    ),
}
# The roles that can search, in the order the policy names them.
SEARCHING_ROLES = (Audience.TELEKOM_HILFT_TEAM, Audience.COMMUNITY_MANAGEMENT)


@register.simple_tag
def found_by_sentence(access: PersonalDataAccess) -> str:
    """For an access-log row of a staff search that found the member: who found them, by the
    role the viewer held at the time, and by which number ("Das Telekom hilft Team hat dich
    über deine Handynummer gefunden."). "" for any other row. Reads only the row."""
    sentence = FOUND_BY_SENTENCES.get(access.channel)
    if sentence is None:
        return ""
    roles = [who for who in SEARCHING_ROLES if who.value in access.viewer_roles]
    who = str(AUDIENCE_NAMES[roles[0]]) if roles else access.viewer_name or str(_("Jemand"))
    return str(sentence) % {"who": who}
